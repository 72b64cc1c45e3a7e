"""Tests of the writer process: its own session, restarts after a crash, clean exits."""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from bot.store import batch
from bot.store import writer as writer_module
from bot.store.database import Store
from bot.store.ops import (
    EnsureGuild,
    EnsureUser,
    FinishRun,
    ResetScores,
    SetMeta,
    SetRoundState,
    StartRun,
    answer_row,
)
from bot.store.records import (
    ALL_LESSONS,
    ALL_TIME,
    AnswerRecord,
    PlayerTotals,
    RunFinish,
    RunStart,
)
from bot.store.write_worker import HEADER, Checkpointer, portable, read_frame, write_frame
from bot.store.writer import WorkerProcess, WriterStoppedError
from tests.unit.store.processes import (
    gone,
    kill_writer,
    wait_gone,
    writer_dies_after_committing,
)

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def answer(run_id: int, user: int) -> AnswerRecord:
    return AnswerRecord(run_id, 1, "lesson", user, f"user{user}", 0, "A", True, False, 5, 100, 0)


async def test_writer_runs_in_its_own_session_so_ctrl_c_reaches_only_the_bot(
    store: Store,
) -> None:
    """A terminal's Ctrl-C goes to the bot, which drains the queue; the writer never sees it."""
    pid = store.writer_pid
    assert pid is not None and pid != os.getpid()
    assert os.getsid(pid) != os.getsid(0)


async def test_closing_the_store_ends_the_writer_process(tmp_path: Path) -> None:
    """No writer outlives its store."""
    store = await Store.open(tmp_path / "quiz.db")
    pid = store.writer_pid
    assert pid is not None and not gone(pid)
    await store.close()
    assert await wait_gone(pid)


async def test_a_writer_killed_while_idle_is_replaced_on_the_next_write(store: Store) -> None:
    """The next write after the writer died starts a new one and is committed."""
    run_id = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 5, 20))
    first = await kill_writer(store)
    answer_id = await asyncio.wait_for(store.record_answer(answer(run_id, 2)), 30)
    assert store.writer_pid not in (None, first)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT user_id FROM answers WHERE id = ?", (answer_id,)).fetchone() == (
            2,
        )


async def test_a_writer_killed_mid_stream_loses_no_answer(store: Store) -> None:
    """Every answer is confirmed and stored exactly once: looked up, or sent again; none hangs."""
    run_id = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 6, 20))
    first = store.writer_pid
    assert first is not None
    killed = False

    async def answerer(user: int) -> int | BaseException:
        nonlocal killed
        await asyncio.sleep(0.0005 * (user % 400))
        if user == 200 and not killed:
            killed = True
            os.kill(first, signal.SIGKILL)
        try:
            return await asyncio.wait_for(store.record_answer(answer(run_id, user)), 30)
        except WriterStoppedError as exc:
            return exc

    outcomes = await asyncio.gather(*(answerer(user) for user in range(2, 802)))
    confirmed = {
        o: user for o, user in zip(outcomes, range(2, 802), strict=True) if isinstance(o, int)
    }
    assert killed
    # Those it held were committed (and are confirmed by a lookup) or are sent once more.
    assert len(confirmed) == 800, [o for o in outcomes if not isinstance(o, int)][:3]
    with sqlite3.connect(store.path) as db:
        stored = dict(db.execute("SELECT id, user_id FROM answers"))
    # Confirmed means stored, and stored means confirmed: an answer committed just
    # before the kill was looked up and confirmed, not reported as lost.
    assert stored == confirmed
    # The store keeps working with a new writer.
    later = await asyncio.wait_for(store.record_answer(answer(run_id, 900)), 30)
    assert isinstance(later, int)
    assert store.writer_pid not in (None, first)


async def test_an_answer_committed_just_before_the_writer_died_is_confirmed_after_all(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies between COMMIT and its reply: the answer is on disk, so it is confirmed."""
    run_id = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 9, 20))
    await writer_dies_after_committing(store, monkeypatch)
    answer_id = await asyncio.wait_for(store.record_answer(answer(run_id, 2)), 30)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT user_id FROM answers WHERE id = ?", (answer_id,)).fetchone() == (
            2,
        )
    monkeypatch.setattr(WorkerProcess, "MODULE", "bot.store.write_worker")
    later = await asyncio.wait_for(store.record_answer(answer(run_id, 3)), 30)
    assert later == answer_id + 1


async def test_an_answer_lost_before_its_commit_is_sent_again_and_recorded_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies before committing an answer: a new worker gets it once more."""
    run_id = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 9, 20))
    await writer_dies_after_committing(store, monkeypatch, once=True, before=True)
    answer_id = await asyncio.wait_for(store.record_answer(answer(run_id, 2)), 30)
    assert list(store.path.parent.glob("died-once-*")), "no writer died at the answer"
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT id, user_id FROM answers").fetchall() == [(answer_id, 2)]


async def test_a_write_that_kills_every_writer_is_sent_again_once_then_fails(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An op whose batch kills the worker each time is not sent forever."""
    run_id = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 9, 20))
    await writer_dies_after_committing(store, monkeypatch, before=True)
    with pytest.raises(WriterStoppedError):
        await asyncio.wait_for(store.record_answer(answer(run_id, 2)), 30)
    monkeypatch.setattr(WorkerProcess, "MODULE", "bot.store.write_worker")
    assert isinstance(await asyncio.wait_for(store.record_answer(answer(run_id, 3)), 30), int)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT user_id FROM answers").fetchall() == [(3,)]


async def test_a_run_start_lost_with_its_writer_fails_and_is_not_sent_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting a run twice would make two runs: a lost start fails, and a new one works."""
    await store.set_meta("warm", "1")  # a writer at work, for the helper to kill
    await writer_dies_after_committing(store, monkeypatch, "start", once=True, before=True)
    start = RunStart("round", 1, 1, "host", "lesson", (0,), 0, 9, 20)
    with pytest.raises(WriterStoppedError):
        await asyncio.wait_for(store.start_run(start), 30)
    run_id = await asyncio.wait_for(store.start_run(start), 30)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT id FROM quiz_runs").fetchall() == [(run_id,)]


async def test_a_reset_queued_with_a_later_finish_commits_first(store: Store) -> None:
    """A reset and a finish sent right after it share no transaction (a batch applies
    finishes before resets): the finish's points are not wiped by the reset before it."""
    run = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 9, 20))
    player = PlayerTotals(5, 100, 1, 1, ((0, True),))
    await asyncio.gather(
        store.reset_scores(1),
        store.finish_run(RunFinish(run, "round", 1, "lesson", 1, 0, 5, (player,))),
    )
    assert [e.user_id for e in await store.leaderboard(1, ALL_LESSONS, ALL_TIME)] == [5]


@pytest.mark.parametrize("one_op_batches", [False, True])
async def test_writes_sent_again_after_a_writer_death_keep_their_order(
    store: Store, monkeypatch: pytest.MonkeyPatch, one_op_batches: bool
) -> None:
    """The writer dies before committing a reset; a finish queued after it (in the next
    batch, or waiting for the new writer) is not overtaken by it: its points stay."""
    run = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 9, 20))
    await writer_dies_after_committing(store, monkeypatch, "reset", once=True, before=True)
    if one_op_batches:
        monkeypatch.setattr(writer_module, "MAX_BATCH", 1)
    reset = asyncio.ensure_future(store.reset_scores(1))
    if not one_op_batches:
        await asyncio.sleep(0.01)  # the reset's batch taken; a worker starting for it
    meta = asyncio.ensure_future(store.set_meta("x", "1"))
    player = PlayerTotals(5, 100, 1, 1, ((0, True),))
    finish = asyncio.ensure_future(
        store.finish_run(RunFinish(run, "round", 1, "lesson", 1, 0, 5, (player,)))
    )
    await asyncio.wait_for(asyncio.gather(reset, meta, finish), 30)
    assert list(store.path.parent.glob("died-once-*")), "no writer died at the reset"
    assert finish.result() is True
    assert [e.user_id for e in await store.leaderboard(1, ALL_LESSONS, ALL_TIME)] == [5]


async def test_a_finish_lost_with_a_writer_during_close_is_still_written(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer dies while the store closes: the finish it held is sent again, and the
    close still ends."""
    run = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 9, 20))
    await writer_dies_after_committing(store, monkeypatch, "finish", once=True, before=True)
    player = PlayerTotals(5, 100, 1, 1, ((0, True),))
    finish = asyncio.ensure_future(
        store.finish_run(RunFinish(run, "round", 1, "lesson", 1, 0, 5, (player,)))
    )
    await asyncio.sleep(0)
    await asyncio.wait_for(store.close(), 30)
    assert finish.result() is True
    assert list(store.path.parent.glob("died-once-*")), "no writer died at the finish"
    with sqlite3.connect(store.path) as db:
        finished = db.execute("SELECT finished_at FROM quiz_runs WHERE id = ?", (run,))
        assert finished.fetchone()[0] is not None


async def test_a_cancelled_close_fails_what_is_still_queued_instead_of_leaving_it_waiting(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() cut short (a second Ctrl-C) while a new writer starts: every write still
    queued hears it was not written; none waits for ever."""
    await store.set_meta("warm", "1")
    await kill_writer(store)

    async def never_starts(path: Path) -> WorkerProcess:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setattr(WorkerProcess, "spawn", never_starts)
    monkeypatch.setattr(writer_module, "MAX_BATCH", 1)
    writes = [asyncio.ensure_future(store.set_meta(f"k{i}", "v")) for i in range(3)]
    await asyncio.sleep(0.05)  # the first is taken, waiting for a writer; two are queued
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(store.close(), 0.2)
    outcomes = await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), 5)
    assert all(isinstance(o, WriterStoppedError) for o in outcomes), outcomes


class ExitedProcess:
    """A worker process that has exited, its exit not yet reported to the loop."""

    returncode = None
    pid = 4242

    def __init__(self) -> None:
        self.stdin = io.BytesIO()
        self.stdout = io.BytesIO()
        self.waited = False

    def kill(self) -> None:
        raise ProcessLookupError  # what asyncio raises for a process already gone

    async def wait(self) -> int:
        self.waited = True
        return -9


async def test_killing_a_worker_that_already_exited_just_reaps_it() -> None:
    """kill() on a worker that died first reaps it instead of raising.

    A dead worker's answers are looked up once it is reaped; a kill that
    raised skipped that lookup and failed answers that were committed.
    """
    process = ExitedProcess()
    await WorkerProcess(process).kill()  # type: ignore[arg-type]
    assert process.waited and process.stdin.closed


class TalkingProcess(ExitedProcess):
    """A worker process whose replies are the bytes given."""

    def __init__(self, replies: bytes) -> None:
        super().__init__()
        self.stdout = asyncio.StreamReader()  # type: ignore[assignment]
        self.stdout.feed_data(replies)


@pytest.mark.parametrize(
    "reply",
    [b"\x00\x00\x00\x03abc", HEADER.pack(len(pickle.dumps("ready"))) + pickle.dumps("ready")],
)
async def test_a_reply_that_cannot_be_read_keeps_its_batch_in_flight(reply: bytes) -> None:
    """A garbled or wrong reply stops the worker with its batch still held, to be settled."""
    worker = WorkerProcess(TalkingProcess(reply))  # type: ignore[arg-type]
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    worker.in_flight.append(([SetMeta("k", "v")], [future]))
    with pytest.raises(WriterStoppedError):
        await worker.receive()
    assert len(worker.in_flight) == 1 and not future.done()


async def test_a_database_the_writer_cannot_open_is_reported_by_its_own_error(
    tmp_path: Path,
) -> None:
    """The worker's startup failure arrives in the bot as the same sqlite3 error."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        await WorkerProcess.spawn(folder)


def test_frames_round_trip_and_unpicklable_errors_become_runtime_errors() -> None:
    """Outcomes cross the pipe whole; an exception that cannot be pickled keeps its message."""
    stream = io.BytesIO()
    write_frame(stream, [1, "two", sqlite3.IntegrityError("UNIQUE constraint failed")])
    stream.seek(0)
    body = read_frame(stream)
    assert body is not None and read_frame(stream) is None

    class LocalError(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(f"{a}+{b}")

    converted = portable(LocalError(1, 2))
    assert isinstance(converted, RuntimeError) and "LocalError: 1+2" in str(converted)
    same = sqlite3.IntegrityError("x")
    assert portable(same) is same
    assert portable(5) == 5


def test_the_checkpointer_copies_the_wal_into_the_database(tmp_path: Path) -> None:
    """With automatic checkpoints off, the Checkpointer thread moves committed pages home."""
    path = tmp_path / "quiz.db"
    batch.prepare(path)
    conn = batch.connect(path)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    size_before = path.stat().st_size
    checkpointer = Checkpointer(path, min_interval=0.01)
    checkpointer.start()
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [(f"k{i}", "x" * 200) for i in range(2000)],
        )
        conn.execute("COMMIT")
        checkpointer.committed()
        deadline = time.monotonic() + 10
        while path.stat().st_size <= size_before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.stat().st_size > size_before
    finally:
        checkpointer.stop()
        conn.close()


async def test_a_writer_that_cannot_be_restarted_fails_the_write_and_tries_again_later(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed restart fails that batch (no caller waits forever); the next write retries."""
    run_id = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 7, 20))
    await kill_writer(store)
    real = WorkerProcess.spawn

    async def refuse(path: Path) -> WorkerProcess:
        raise WriterStoppedError("the writer process could not start (test)")

    monkeypatch.setattr(WorkerProcess, "spawn", refuse)
    with pytest.raises(WriterStoppedError, match="could not start"):
        await asyncio.wait_for(store.record_answer(answer(run_id, 2)), 30)
    monkeypatch.setattr(WorkerProcess, "spawn", real)
    assert isinstance(await asyncio.wait_for(store.record_answer(answer(run_id, 3)), 30), int)


def test_a_writer_that_died_while_the_loop_slept_is_replaced_without_losing_the_write(
    tmp_path: Path,
) -> None:
    """The console runs its loop only during commands; the next answer still just works."""

    async def open_store() -> Store:
        return await Store.open(tmp_path / "quiz.db")

    with asyncio.Runner() as runner:
        store = runner.run(open_store())
        try:
            run_id = runner.run(
                store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 8, 20))
            )
            first = store.writer_pid
            assert first is not None
            os.kill(first, signal.SIGKILL)  # while no loop is running to notice
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # until asyncio's watcher thread has reaped it
                try:
                    os.kill(first, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)

            async def answer_once() -> int:
                return await asyncio.wait_for(store.record_answer(answer(run_id, 2)), 30)

            assert isinstance(runner.run(answer_once()), int)
            assert store.writer_pid not in (None, first)
        finally:
            runner.run(store.close())


def test_every_write_crosses_the_pipe_whole() -> None:
    """Each kind of op pickles to an equal copy (they are pickled field by field)."""
    players = (PlayerTotals(1, 150, 2, 1, ((0, True), (3, False))),)
    written = [
        answer_row(9, answer(4, 2)),
        EnsureUser(2, "ann", 5),
        EnsureGuild(1, 5),
        StartRun(4, RunStart("round", 1, 2, "ann", "lesson", (0, 3), 5, 77, 20), True),
        SetRoundState(4, 1234, None),
        FinishRun(RunFinish(4, "round", 1, "lesson", 6, 7, 8, players)),
        ResetScores(1),
        SetMeta("heartbeat", "1.5"),
    ]
    copies = pickle.loads(pickle.dumps(written, protocol=pickle.HIGHEST_PROTOCOL))
    assert [repr(c) for c in copies] == [repr(w) for w in written]
    assert [type(c) for c in copies] == [type(w) for w in written]
