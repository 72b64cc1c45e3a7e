"""The writer process: owns the write connection and commits each batch it is sent.

Run by ``bot.store.writer`` as ``python -m bot.store.write_worker DATABASE``.
SQLite work and the Python that feeds it run here, on their own core and under
their own GIL, so the bot's event loop never waits for the writer to hand the
GIL back (in a thread, every SQLite call cost the loop a GIL hand-off).

The protocol is length-prefixed pickles over stdin and stdout: the bot sends a
list of ops (``bot.store.ops``), the worker answers with one outcome per op (a
result, or the exception that op met) after COMMIT returned. The first frame
the worker sends says it is ready, or why it could not open the database. At
end of input (the bot closed the pipe, or died) it finishes the batch in hand
and exits; it ignores SIGINT and SIGTERM so that a Ctrl-C or a service
manager's stop reaches the bot, which drains the queue before closing the pipe.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
from pathlib import Path
from typing import BinaryIO

from bot.store.batch import apply_batch, connect

HEADER = struct.Struct(">I")
"""Each frame is its length (4 bytes, big-endian) and then that many bytes of pickle."""

READY = "ready"


def read_frame(stream: BinaryIO) -> bytes | None:
    """Return the next frame's body, or None at end of input."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: BinaryIO, value: object) -> None:
    """Send ``value`` as one frame."""
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def portable(outcome: object) -> object:
    """Return ``outcome``, or a RuntimeError that says the same if it cannot be pickled."""
    if not isinstance(outcome, BaseException):
        return outcome
    try:
        pickle.loads(pickle.dumps(outcome))
    except Exception:
        return RuntimeError(f"{type(outcome).__name__}: {outcome}")
    return outcome


def serve(path: Path, requests: BinaryIO, replies: BinaryIO) -> None:
    """Open the database, say so, then commit batches until ``requests`` ends."""
    try:
        conn = connect(path)
    except Exception as exc:
        write_frame(replies, portable(exc))
        return
    try:
        write_frame(replies, READY)
        while (body := read_frame(requests)) is not None:
            ops = pickle.loads(body)
            try:
                outcomes = apply_batch(conn, ops)
            except Exception as exc:  # a batch of one that failed: that op's outcome
                outcomes = [exc] * len(ops)
            write_frame(replies, [portable(o) for o in outcomes])
    finally:
        conn.close()


def main() -> None:
    """Serve the database named on the command line over stdin and stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Replies get a private copy of stdout; anything else printing to stdout
    # (a stray warning) goes to stderr instead of corrupting the frames.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        serve(Path(sys.argv[1]), sys.stdin.buffer, replies)
    except BrokenPipeError:
        pass  # the bot is gone; whatever was committed stays committed
    finally:
        with contextlib.suppress(BrokenPipeError):
            replies.close()


if __name__ == "__main__":
    main()
