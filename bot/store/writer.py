"""The single writer: every write is queued here and committed in groups by a writer process.

Callers hand an op to ``Writer.submit`` and await a future that resolves only
after the transaction holding it has been COMMITted (with ``synchronous=FULL``,
after the WAL is fsynced), so "recorded" always means "on disk". While one
batch is being written, new ops queue up and go into the next transaction
together (group commit): a quiz night with a thousand people answering at once
costs a handful of commits, not a thousand.

The SQL runs in a child process (``bot.store.write_worker``), not a thread: a
thread shares the GIL with the event loop, so the bot could never use more
than one core, and every SQLite call made the loop and the writer trade the
GIL back and forth. Here the loop only pickles a batch (in C) and reads one
reply per batch. If the worker dies, the answers it held are looked up in the
database once it is gone: an answer it committed before dying is confirmed
after all (so a user is never told "not recorded" about an answer that is on
disk and then refused as a duplicate when they press again). An answer not on
disk, and every op that may be applied twice, is sent once more to a new
worker, ahead of anything queued since; a run's start fails with
``WriterStoppedError``, as does anything held by a second dying worker, and
every answer held if the lookup itself fails (none is known either way).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pickle
import site
import sqlite3
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bot
from bot.store.ops import (
    EnsureGuild,
    EnsureUser,
    FinishRun,
    MakePrivate,
    Op,
    ResetScores,
    SetMeta,
    SetRoundState,
)
from bot.store.records import ConflictError, WriteNotConfirmedError
from bot.store.write_worker import HEADER, READY

log = logging.getLogger(__name__)

COMMITTED_ANSWERS = "SELECT id FROM answers WHERE id IN (SELECT value FROM json_each(?))"

MAX_BATCH = 4096
"""The most operations in one transaction, so one commit's latency stays bounded."""

MAX_IN_FLIGHT = 2
"""Batches sent to the worker and not yet committed: while it commits one, the next waits
in the pipe, so the worker never idles waiting for the bot to read a reply and send more."""

RESOLVE_CHUNK = 64
"""Futures resolved per event-loop iteration after a commit.

Resolving a thousand at once would wake a thousand callers in one iteration,
and every timer due meanwhile (a demo's ``asyncio.sleep``) would wait behind
them; in chunks, timers get their turn between chunks.
"""

RESENDABLE = (
    EnsureUser,
    EnsureGuild,
    SetRoundState,
    MakePrivate,
    FinishRun,
    ResetScores,
    SetMeta,
)
"""Ops that may be applied twice with the effect of once, so a writer that died holding
them (having committed them or not) is simply sent them again, before any newer write
(their order matters: a reset after a finish is not a reset before it). Finishing is
idempotent, result included (``bot.store.batch._finish``). A run's start is not: it is
not sent again."""

START_TIMEOUT = 30.0
"""Seconds the worker may take to start and open the database."""

PACKAGE_ROOT = str(Path(bot.__file__).resolve().parents[1])
"""The folder this ``bot`` package was imported from."""

STOP_TIMEOUT = 30.0
"""Seconds the worker may take to finish its last batch and exit once its input ends."""


class WriterStoppedError(WriteNotConfirmedError):
    """The writer process died with writes in hand; they were not confirmed."""


def worker_environment() -> dict[str, str]:
    """Return the writer process's environment: ours, and a path to this very ``bot`` package.

    An installed package is found in site-packages anyway (and putting
    site-packages on PYTHONPATH would put it before the standard library); a
    checkout run from elsewhere (the benchmarks, a test's subprocess) is not,
    so its folder goes first on PYTHONPATH.
    """
    env = dict(os.environ)
    installed = {
        str(Path(p).resolve()) for p in (*site.getsitepackages(), site.getusersitepackages())
    }
    if PACKAGE_ROOT not in installed:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


def _fail(futures: list[asyncio.Future[Any]], exc: BaseException) -> None:
    """Fail every future still waiting with ``exc`` (a cancellation becomes a stopped writer)."""
    failure = exc if isinstance(exc, Exception) else WriterStoppedError("cancelled")
    for future in futures:
        if not future.done():
            future.set_exception(failure)


def committed_answers(path: Path, answer_ids: list[int]) -> set[int]:
    """Return which of ``answer_ids`` are in the database at ``path`` (a blocking read)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(COMMITTED_ANSWERS, (json.dumps(answer_ids),)).fetchall()
    finally:
        conn.close()
    return {row[0] for row in rows}


def consume(future: asyncio.Future[Any]) -> None:
    """Mark a helper op's outcome as seen; the op its caller awaits carries any failure."""
    if not future.cancelled():
        future.exception()


class WorkerProcess:
    """The bot's end of one writer process: send a batch, read its outcomes."""

    MODULE = "bot.store.write_worker"
    """The module the writer process runs (the tests run one that dies on cue)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        self._requests = process.stdin
        self._replies = process.stdout
        self.in_flight: deque[tuple[list[Op], list[asyncio.Future[Any]]]] = deque()
        """Batches sent and not yet answered, oldest first (the worker answers in order)."""

    @property
    def pid(self) -> int:
        """Return the worker's process id."""
        return self._process.pid

    @classmethod
    async def spawn(cls, path: Path) -> WorkerProcess:
        """Start a worker for the database at ``path`` (already migrated) and wait until ready."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            cls.MODULE,
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=worker_environment(),
            start_new_session=True,  # a terminal's Ctrl-C goes to the bot, which drains first
        )
        worker = cls(process)
        try:
            hello = await asyncio.wait_for(worker._receive(), START_TIMEOUT)
        except BaseException:
            await worker.kill()
            raise
        if hello != READY:
            await worker.stop()
            if isinstance(hello, BaseException):
                raise hello
            raise WriterStoppedError(f"the writer process said {hello!r} instead of ready")
        return worker

    async def _receive(self) -> object:
        try:
            head = await self._replies.readexactly(HEADER.size)
            (size,) = HEADER.unpack(head)
            body = await self._replies.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            code = self._process.returncode
            raise WriterStoppedError(
                f"the writer process (pid {self.pid}) stopped"
                + ("" if code is None else f" with exit code {code}")
            ) from exc
        try:
            return pickle.loads(body)
        except Exception as exc:  # a garbled frame: nothing more it says can be trusted
            raise WriterStoppedError(
                f"the writer process (pid {self.pid}) sent a reply that cannot be read: {exc}"
            ) from exc

    async def send(self, ops: list[Op], futures: list[asyncio.Future[Any]]) -> None:
        """Send ``ops`` to be committed in one transaction; ``receive`` gets the outcomes."""
        body = pickle.dumps(ops, protocol=pickle.HIGHEST_PROTOCOL)
        self.in_flight.append((ops, futures))
        try:
            self._requests.write(HEADER.pack(len(body)) + body)
            await self._requests.drain()
        except ConnectionError as exc:
            raise WriterStoppedError(f"the writer process (pid {self.pid}) stopped") from exc

    async def receive(self) -> tuple[list[Op], list[asyncio.Future[Any]], list[object]]:
        """Wait for the oldest batch in flight to be committed; return it with its outcomes."""
        outcomes = await self._receive()
        ops, futures = self.in_flight[0]
        if not isinstance(outcomes, list) or len(outcomes) != len(ops):
            # Still in flight, so the batch is settled with the others the worker held.
            raise WriterStoppedError(f"the writer process sent {type(outcomes).__name__}")
        self.in_flight.popleft()
        return ops, futures, outcomes

    def alive(self) -> bool:
        """Return whether the worker process still exists.

        A worker that died while the event loop was not running (the console
        waits for input between commands) has not been noticed by its reply
        task yet; asyncio's child watcher thread has reaped it, though, so the
        process id is gone.
        """
        if self._process.returncode is not None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    async def stop(self) -> None:
        """End the worker's input and wait for it to exit (killing it if it hangs)."""
        if self._process.returncode is None:
            self._requests.close()
            try:
                await asyncio.wait_for(self._process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.error("the writer process (pid %d) did not exit; killing it", self.pid)
                await self.kill()
        else:
            self._requests.close()

    async def kill(self) -> None:
        """Kill the worker and reap it."""
        if self._process.returncode is None:
            # It may have exited already, its exit not yet reported to the loop:
            # then there is nothing to kill, and wait() below still reaps it.
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        self._requests.close()
        await self._process.wait()


class Writer:
    """Queue writes and have a writer process commit them in groups."""

    def __init__(self, path: Path) -> None:
        """Prepare a writer for the (migrated) database at ``path``; ``start`` it in a loop."""
        self._path = path
        self._pending: list[Op] = []
        self._futures: list[asyncio.Future[Any]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._reaping: set[asyncio.Task[None]] = set()
        self._resets = 0
        """ResetScores ops in the queue: each goes in a batch of its own (``_next_batch``)."""
        self._sent_again: set[asyncio.Future[Any]] = set()
        """Futures of ops already sent once more after a writer died: not again."""
        self._worker: WorkerProcess | None = None
        self._loop = asyncio.get_running_loop()
        self.on_committed: Callable[[list[Op], list[object]], None] | None = None
        self.batches = 0
        self.ops_written = 0

    @property
    def worker_pid(self) -> int | None:
        """Return the writer process's id, or None between workers."""
        return None if self._worker is None else self._worker.pid

    async def start(self) -> None:
        """Start the writer process and the task that feeds it."""
        self._worker = await WorkerProcess.spawn(self._path)
        self._task = self._loop.create_task(self._run(), name="store-writer")

    def submit(self, *ops: Op) -> asyncio.Future[Any]:
        """Queue ``ops`` for the next transaction; return the last op's future.

        The other ops' failures are marked seen: the last op's caller hears of
        any failure through its own op, which is in the same transaction.
        """
        futures = [self.submit_one(op) for op in ops]
        self._resets += sum(type(op) is ResetScores for op in ops)
        for helper in futures[:-1]:
            helper.add_done_callback(consume)
        return futures[-1]

    def submit_one(self, op: Op) -> asyncio.Future[Any]:
        """Queue one op for the next transaction; return its future (the hot path)."""
        if self._closing:
            raise RuntimeError("the store is closed")
        future = self._loop.create_future()
        self._pending.append(op)
        self._futures.append(future)
        self._wakeup.set()
        return future

    async def close(self) -> None:
        """Write everything still queued, then stop the task and the writer process."""
        self._closing = True
        self._wakeup.set()
        try:
            if self._task is not None:
                await self._task
        finally:
            if self._worker is not None:
                worker, self._worker = self._worker, None
                await worker.stop()
            if self._receiver is not None:
                await self._receiver
            if self._reaping:
                await asyncio.gather(*self._reaping, return_exceptions=True)
            if self._pending:
                # Nothing sends any more (this close was cancelled, say, and a dying
                # worker's writes were queued again meanwhile): their callers hear so.
                _fail(self._futures, WriterStoppedError("the store closed before writing it"))
                self._pending.clear()
                self._futures.clear()

    async def _run(self) -> None:
        """Send batches: a new one as soon as ops wait and fewer than MAX_IN_FLIGHT are out."""
        while True:
            if self._worker is None and self._reaping:
                # A worker died with writes in hand: settle them first (some go back to
                # the head of the queue), so that no newer batch overtakes them.
                await asyncio.wait(list(self._reaping))
                continue
            worker = self._worker
            in_flight = 0 if worker is None else len(worker.in_flight)
            if not self._pending or in_flight >= MAX_IN_FLIGHT:
                if self._closing and not self._pending and not in_flight:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch, futures = self._next_batch()
            sending: WorkerProcess | None = None
            try:
                sending = await self._running_worker()
                await sending.send(batch, futures)
            except BaseException as exc:
                if sending is not None and isinstance(exc, WriterStoppedError):
                    # In flight when it stopped: settled with every other batch it held.
                    self._lost(sending, exc)
                else:  # never sent: every caller of the batch hears of it
                    _fail(futures, exc)
                if not isinstance(exc, Exception):
                    raise
                continue

    def _next_batch(self) -> tuple[list[Op], list[asyncio.Future[Any]]]:
        """Take the next transaction's ops off the queue: up to MAX_BATCH, a reset on its own.

        A batch's ops are applied grouped by kind (``bot.store.batch``), finishes
        before resets: a reset sharing a batch with a finish queued after it would
        wipe that finish's points. Alone, it commits before whatever follows it.
        """
        size = min(len(self._pending), MAX_BATCH)
        if self._resets:
            kinds = [type(op) for op in self._pending[:size]]
            if ResetScores in kinds:
                first = kinds.index(ResetScores)
                size = first or 1
                if first == 0:
                    self._resets -= 1
        batch = self._pending[:size]
        futures = self._futures[:size]
        del self._pending[:size]
        del self._futures[:size]
        return batch, futures

    async def _running_worker(self) -> WorkerProcess:
        """Return the writer process, starting a new one if the last one died."""
        worker = self._worker
        if worker is not None and not worker.in_flight and not worker.alive():
            # Died while idle: nothing of this batch was sent, so nothing is lost.
            self._lost(worker, WriterStoppedError(f"the writer process (pid {worker.pid}) stopped"))
        if self._worker is None:
            await self._reaped()
            self._worker = await WorkerProcess.spawn(self._path)
            log.warning("started a new writer process (pid %d)", self._worker.pid)
        if self._receiver is None:
            self._receiver = self._loop.create_task(
                self._receive(self._worker), name="store-writer-replies"
            )
        return self._worker

    async def _reaped(self) -> None:
        """Wait for the last worker's reply task to finish failing what it held."""
        if self._receiver is not None:
            await self._receiver

    async def _receive(self, worker: WorkerProcess) -> None:
        """Resolve each batch's futures as the worker reports its commit."""
        try:
            while True:
                batch, futures, outcomes = await worker.receive()
                self.batches += 1
                self.ops_written += len(batch)
                if self.on_committed is not None:
                    self.on_committed(batch, outcomes)
                self._resolve(futures, outcomes, 0)
                self._wakeup.set()
        except WriterStoppedError as exc:
            if worker.in_flight or not self._closing:
                self._lost(worker, exc)
        finally:
            self._receiver = None
            self._wakeup.set()

    def _lost(self, worker: WorkerProcess | None, exc: WriterStoppedError) -> None:
        """Settle every batch ``worker`` held (none had its reply yet); let a new worker start."""
        if worker is None or (self._worker is not worker and not worker.in_flight):
            return  # already handled: the sender and the reply task both saw it stop
        held = list(worker.in_flight)
        worker.in_flight.clear()
        if self._worker is worker:
            self._worker = None
        if held:
            settling = self._settle(worker, held, exc)
        else:
            log.warning("%s; the next write starts a new one", exc)
            settling = worker.kill()
        task = self._loop.create_task(settling)
        self._reaping.add(task)  # the loop keeps only a weak reference to tasks
        task.add_done_callback(self._reaping.discard)

    async def _settle(
        self,
        worker: WorkerProcess,
        held: list[tuple[list[Op], list[asyncio.Future[Any]]]],
        exc: WriterStoppedError,
    ) -> None:
        """Once ``worker`` is gone, settle what it held: confirm, send once more, or fail.

        The worker may have died between a COMMIT and its reply. Only after it
        has exited can nothing more be committed, so only then does a lookup by
        answer id (the store chose the ids) tell what is on disk: an answer
        found is confirmed. An answer not found, and an op that may be applied
        twice (``RESENDABLE``), is sent once more, so a crash of the writer
        costs its callers a delay, not an error; once only, so an op that kills
        the writer is not sent forever. Every other op fails with ``exc``.
        """
        answers = {
            op[0]: future
            for ops, futures in held
            for op, future in zip(ops, futures, strict=True)
            if type(op) is tuple
        }
        committed: set[int] | None = None
        try:
            await worker.kill()
            committed = (
                await asyncio.to_thread(committed_answers, self._path, list(answers))
                if answers
                else set()
            )
        except Exception as lookup:  # unknown, so unconfirmed: the callers hear it failed
            log.error("could not check what the stopped writer committed: %s", lookup)
        finally:
            resend = self._settle_held(held, committed, exc)
            log.error(
                "%s; of the %d write(s) it held, %d answer(s) were committed and are "
                "confirmed, %d write(s) are sent again, the rest failed",
                exc,
                sum(len(futures) for _, futures in held),
                len(committed or ()),
                len(resend),
            )

    def _settle_held(
        self,
        held: list[tuple[list[Op], list[asyncio.Future[Any]]]],
        committed: set[int] | None,
        exc: WriterStoppedError,
    ) -> list[Op]:
        """Confirm the committed answers, queue what may be sent again, fail the rest.

        ``committed`` is None if the lookup failed: then no answer is known
        either way, and all of them fail (sent again, one on disk would be
        refused as a duplicate). Return the ops queued again.
        """
        ops_again: list[Op] = []
        futures_again: list[asyncio.Future[Any]] = []
        failing: list[asyncio.Future[Any]] = []
        for ops, futures in held:
            for op, future in zip(ops, futures, strict=True):
                if future.done():
                    continue
                if type(op) is tuple:
                    if committed is not None and op[0] in committed:
                        future.set_result(op[0])
                        continue
                    again = committed is not None
                else:
                    again = isinstance(op, RESENDABLE)
                if not again or future in self._sent_again:
                    failing.append(future)
                    continue
                self._sent_again.add(future)
                future.add_done_callback(self._sent_again.discard)
                ops_again.append(op)
                futures_again.append(future)
        _fail(failing, exc)
        # First in line, in their order: they were due before anything queued since,
        # and ``_run`` takes no new batch until this settling is done.
        self._pending[:0] = ops_again
        self._futures[:0] = futures_again
        self._resets += sum(type(op) is ResetScores for op in ops_again)
        if ops_again:
            self._wakeup.set()
        return ops_again

    def _resolve(
        self, futures: list[asyncio.Future[Any]], outcomes: list[object], start: int
    ) -> None:
        """Resolve one chunk of a committed batch's futures; schedule the next chunk."""
        end = start + RESOLVE_CHUNK
        for future, outcome in zip(futures[start:end], outcomes[start:end], strict=True):
            if future.done():  # the caller gave up waiting; the write stands
                continue
            if not isinstance(outcome, BaseException):
                future.set_result(outcome)
            elif isinstance(outcome, sqlite3.IntegrityError) and "UNIQUE" in str(outcome):
                future.set_exception(ConflictError(str(outcome)))
            else:
                log.error("store write failed: %s: %s", type(outcome).__name__, outcome)
                future.set_exception(outcome)
        if end < len(futures):
            self._loop.call_soon(self._resolve, futures, outcomes, end)
