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
import sqlite3
import struct
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO

from bot.store.batch import apply_batch, connect

HEADER = struct.Struct(">I")
"""Each frame is its length (4 bytes, big-endian) and then that many bytes of pickle."""

READY = "ready"

CHECKPOINT_INTERVAL = 0.2
"""The least time between two WAL checkpoints, in seconds."""


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


class Checkpointer:
    """Copy the WAL back into the database in a thread of its own, off the commit path.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL
    pages, which under a quiz night's load made one batch in ten take three
    times as long. A PASSIVE checkpoint never blocks the writer; SQLite releases
    the GIL while it copies, so the worker's main thread keeps committing.
    """

    def __init__(self, path: Path, min_interval: float = CHECKPOINT_INTERVAL) -> None:
        self._path = path
        self._min_interval = min_interval
        self._dirty = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def committed(self) -> None:
        """Note that the WAL has new frames to checkpoint."""
        self._dirty.set()

    def stop(self) -> None:
        """Stop the thread after its current checkpoint (closing the database checkpoints)."""
        self._stopping = True
        self._dirty.set()
        self._thread.join()

    def _run(self) -> None:
        conn = connect(self._path)
        try:
            while True:
                self._dirty.wait()
                if self._stopping:
                    return
                self._dirty.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the next commit tries again
                    print(f"studybot writer: checkpoint failed: {exc}", file=sys.stderr)
                time.sleep(self._min_interval)
        finally:
            conn.close()


def serve(path: Path, requests: BinaryIO, replies: BinaryIO) -> None:
    """Open the database, say so, then commit batches until ``requests`` ends."""
    try:
        conn = connect(path)
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # the Checkpointer does it
    except Exception as exc:
        write_frame(replies, portable(exc))
        return
    checkpointer = Checkpointer(path)
    checkpointer.start()
    try:
        write_frame(replies, READY)
        while (body := read_frame(requests)) is not None:
            ops = pickle.loads(body)
            try:
                outcomes = apply_batch(conn, ops)
            except Exception as exc:  # a batch of one that failed: that op's outcome
                outcomes = [exc] * len(ops)
            checkpointer.committed()
            write_frame(replies, [portable(o) for o in outcomes])
    finally:
        checkpointer.stop()
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
