"""Tests of timed channel rounds: one answer per user, the close, results, recovery."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.errors import OptionError
from bot.lessons.model import Lesson
from bot.quiz.errors import (
    AlreadyAnsweredError,
    AnswerNotRecordedError,
    NoRoundRunningError,
    QuestionClosedError,
    RoundAlreadyRunningError,
    RoundOverError,
)
from bot.quiz.results import RoundAnswerReceipt
from bot.quiz.service import QuizService
from bot.store.database import Store
from bot.store.records import RunFinish, WriteNotConfirmedError
from bot.store.writer import WorkerProcess
from tests.unit.quiz.conftest import FakeClock, lost_answer
from tests.unit.store.processes import writer_dies_after_committing

GUILD = 42
CHANNEL = 500
HOST = 9


async def start(service: QuizService, lesson: Lesson, seconds: int = 20) -> int:
    """Start a round in CHANNEL and return its run id."""
    game = await service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, seconds)
    return game.run_id


def answers_in_db(store: Store, run_id: int) -> list[tuple[int, int, str]]:
    """Return (user, question, choice) of every committed answer of a run."""
    with sqlite3.connect(store.path) as db:
        rows = db.execute(
            "SELECT user_id, question_index, choice FROM answers WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        return [tuple(r) for r in rows]


async def test_one_round_per_channel(service: QuizService, lesson: Lesson) -> None:
    """A second round in the same channel is refused, also when both start at once."""
    outcomes = await asyncio.gather(
        service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 20),
        service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 20),
        return_exceptions=True,
    )
    assert sum(isinstance(o, RoundAlreadyRunningError) for o in outcomes) == 1
    other = await service.start_round(GUILD, CHANNEL + 1, HOST, "Host", lesson, 20)
    assert service.round_in(CHANNEL + 1) is other


async def test_round_seconds_are_bounded(service: QuizService, lesson: Lesson) -> None:
    """A round window outside 10-120 seconds is an option error."""
    with pytest.raises(OptionError):
        await service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 5)
    with pytest.raises(OptionError):
        await service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 121)


async def test_each_user_answers_once_even_concurrently(
    service: QuizService, store: Store, lesson: Lesson
) -> None:
    """Two simultaneous presses by one user record one answer; the other is refused."""
    run_id = await start(service, lesson)
    await service.open_question(run_id)
    outcomes = await asyncio.gather(
        service.answer_round(run_id, 1, "Ann", "A"),
        service.answer_round(run_id, 1, "Ann", "B"),
        return_exceptions=True,
    )
    assert sum(isinstance(o, RoundAnswerReceipt) for o in outcomes) == 1
    assert sum(isinstance(o, AlreadyAnsweredError) for o in outcomes) == 1
    with pytest.raises(AlreadyAnsweredError, match="already answered"):
        await service.answer_round(run_id, 1, "Ann", "C")
    assert answers_in_db(store, run_id) == [(1, 0, "A")]


async def test_answer_after_close_or_timeout_is_refused(
    service: QuizService, clock: FakeClock, lesson: Lesson
) -> None:
    """An answer after the close, after the window, or to a stale question is refused."""
    run_id = await start(service, lesson, seconds=10)
    with pytest.raises(QuestionClosedError):
        await service.answer_round(run_id, 1, "Ann", "A")  # nothing open yet
    await service.open_question(run_id)
    clock.advance(10.5)
    with pytest.raises(QuestionClosedError, match="closed"):
        await service.answer_round(run_id, 1, "Ann", "A")
    await service.close_question(run_id)
    with pytest.raises(QuestionClosedError):
        await service.answer_round(run_id, 2, "Bob", "A")
    await service.open_question(run_id)
    with pytest.raises(QuestionClosedError):
        await service.answer_round(run_id, 2, "Bob", "A", position=0)


async def test_simultaneous_last_second_answers_are_counted_once_and_never_lost(
    service: QuizService, store: Store, lesson: Lesson
) -> None:
    """Answers racing the close are either counted once (and stored) or refused, never lost."""
    run_id = await start(service, lesson)
    await service.open_question(run_id)
    before = [service.answer_round(run_id, u, f"u{u}", "AB"[u % 2]) for u in range(25)]
    after = [service.answer_round(run_id, u, f"u{u}", "A") for u in range(25, 50)]
    outcomes = await asyncio.gather(
        *before, service.close_question(run_id), *after, return_exceptions=True
    )
    receipts = [o for o in outcomes if isinstance(o, RoundAnswerReceipt)]
    refused = [o for o in outcomes if isinstance(o, QuestionClosedError)]
    result = outcomes[25]
    assert len(receipts) == 25 and len(refused) == 25
    assert not isinstance(result, BaseException) and not isinstance(result, RoundAnswerReceipt)
    assert result.total == 25
    assert dict(result.counts) == {"A": 13, "B": 12, "C": 0, "D": 0}
    assert sorted(u for u, _, _ in answers_in_db(store, run_id)) == list(range(25))


async def test_question_result_and_standings(
    service: QuizService, store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """Results show the answer, the option counts and the fastest; standings rank the round."""
    run_id = await start(service, lesson, seconds=20)
    await service.set_round_message(run_id, 777)
    opened = await service.open_question(run_id)
    assert (opened.number, opened.total, opened.question_index) == (1, 3, 0)
    clock.advance(4)
    await service.answer_round(run_id, 2, "Bob", "A")
    clock.advance(2)
    await service.answer_round(run_id, 1, "Ann", "A")
    await service.answer_round(run_id, 3, "Cy", "C")
    first = await service.close_question(run_id)
    assert first.correct_choice.letter == "A"
    assert dict(first.counts) == {"A": 2, "B": 0, "C": 1, "D": 0}
    assert first.fastest is not None and (first.fastest.user_id, first.fastest.answer_ms) == (
        2,
        4000,
    )
    assert first.points[2] > first.points[1] > first.points[3] == 0
    await service.open_question(run_id)
    clock.advance(1)
    await service.answer_round(run_id, 1, "Ann", "B")
    standings = await service.finish_round(run_id)  # closes the open question too
    assert standings.message_id == 777
    assert [(s.rank, s.user_id) for s in standings.standings] == [(1, 1), (2, 2), (3, 3)]
    assert standings.standings[0].correct == 2
    assert standings.asked == 2  # the two questions put up, answered or not
    board = await service.leaderboard(GUILD)
    assert [(e.user_id, e.points) for e in board] == [
        (s.user_id, s.points) for s in standings.standings if s.points
    ] + [(3, 0)]
    assert service.round_in(CHANNEL) is None
    with pytest.raises(NoRoundRunningError):
        await service.open_question(run_id)
    with pytest.raises(RoundOverError, match="this round has ended"):
        await service.answer_round(run_id, 1, "Ann", "A", 1)  # a press on its last question


async def test_unfinished_round_is_closed_after_a_restart(
    tmp_path: Path, clock: FakeClock, lesson: Lesson
) -> None:
    """A round left open by a restart is closed with its committed answers and scored once."""
    path = tmp_path / "quiz.db"
    async with Store.open(path) as store:
        before = QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)
        run_id = await start(before, lesson)
        await before.set_round_message(run_id, 4242)
        await before.open_question(run_id)
        await before.answer_round(run_id, 1, "Ann", "A")
        await before.answer_round(run_id, 2, "Bob", "B")
    async with Store.open(path) as store:
        after = QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)
        recovered = await after.recover_unfinished_rounds()
        assert len(recovered) == 1
        result = recovered[0]
        assert (result.run_id, result.channel_id, result.message_id) == (run_id, CHANNEL, 4242)
        assert [(s.user_id, s.name, s.answered) for s in result.standings] == [
            (1, "Ann", 1),
            (2, "Bob", 1),
        ]
        assert result.standings[0].points > 100
        assert await after.recover_unfinished_rounds() == []
        board = await after.leaderboard(GUILD)
        assert [e.user_id for e in board] == [1, 2]
        again = await after.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 20)
        assert again.run_id != run_id


async def test_the_question_open_at_a_crash_is_counted_unless_its_key_changed(
    tmp_path: Path, clock: FakeClock, lesson: Lesson
) -> None:
    """The open question's result comes from its stored answers; after a restart with a new
    key for it, none is shown (it would mark one answer right and name another the fastest)."""
    path = tmp_path / "quiz.db"
    async with Store.open(path) as store:
        before = QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)
        run_id = await start(before, lesson)
        await before.open_question(run_id)
        await before.set_round_message(run_id, 4242)  # the question's message, as posted
        clock.advance(2)
        await before.answer_round(run_id, 1, "Ann", "A")
        clock.advance(1)
        await before.answer_round(run_id, 2, "Bob", "A")
        await before.answer_round(run_id, 3, "Cy", "C")
    new_key = dataclasses.replace(lesson.quiz[0], answer="C")
    changed = dataclasses.replace(lesson, quiz=(new_key, *lesson.quiz[1:]))
    for served, expected in ((lesson, True), (changed, False)):
        copy = tmp_path / f"copy-{expected}.db"
        shutil.copy(path, copy)
        async with Store.open(copy) as store:
            after = QuizService(
                store, lessons={lesson.id: served}.get, clock=clock.monotonic, wall_ms=clock.wall_ms
            )
            (result,) = await after.recover_unfinished_rounds()
        if not expected:
            assert result.interrupted is None
            continue
        shown = result.interrupted
        assert shown is not None and shown.correct_choice.letter == "A"
        assert dict(shown.counts) == {"A": 2, "B": 0, "C": 1, "D": 0}
        assert shown.fastest is not None and shown.fastest.name == "Ann"
        assert (result.total, result.asked) == (len(lesson.quiz), 1)


async def left_open(
    path: Path, clock: FakeClock, lesson: Lesson, *, elsewhere: bool = False
) -> int:
    """Leave a round open in CHANNEL (u7 answered its first question), as a process that
    stopped would; with ``elsewhere``, one in the next channel too. Return CHANNEL's run id."""
    async with Store.open(path) as store:
        service = QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)
        old = await start(service, lesson)
        await service.open_question(old)
        await service.answer_round(old, 7, "u7", "A")
        if elsewhere:
            await service.start_round(GUILD, CHANNEL + 1, HOST, "Host", lesson, 20)
    return old


async def test_a_round_left_open_is_closed_by_the_next_start_in_its_channel(
    tmp_path: Path, clock: FakeClock, lesson: Lesson
) -> None:
    """The database refuses a second open round in a channel: a start there closes the old one
    from its stored answers first, and hands its results over to be shown."""
    path = tmp_path / "quiz.db"
    old = await left_open(path, clock, lesson, elsewhere=True)
    async with Store.open(path) as store:
        fresh = QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)
        game = await fresh.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 20)
        assert [s.run_id for s in game.closed_before] == [old]
        assert [(s.name, s.answered) for s in game.closed_before[0].standings] == [("u7", 1)]
        assert game.run_id != old and fresh.round_in(CHANNEL) is game
        # Only that channel's: the other channel's leftover waits for the recovery.
        assert [s.channel_id for s in await fresh.recover_unfinished_rounds()] == [CHANNEL + 1]


async def test_a_start_racing_the_start_up_recovery_closes_the_old_round_once(
    tmp_path: Path, clock: FakeClock, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start-up recovery is closing the channel's old round when a new one is started
    there: the start waits for it and starts; the old round is closed and shown once."""
    path = tmp_path / "quiz.db"
    old = await left_open(path, clock, lesson)
    async with Store.open(path) as store:
        fresh = QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)
        real_finish = store.finish_run
        finishing = asyncio.Event()

        async def slow_finish(finish: RunFinish) -> bool:
            finishing.set()
            await asyncio.sleep(0.3)  # the window in which the new round is started
            return await real_finish(finish)

        monkeypatch.setattr(store, "finish_run", slow_finish)
        recovery = asyncio.ensure_future(fresh.recover_unfinished_rounds())
        await finishing.wait()
        game = await fresh.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 20)
        recovered = await recovery
        assert [s.run_id for s in recovered] == [old] and game.closed_before == ()
        assert fresh.round_in(CHANNEL) is game and game.run_id != old


async def test_a_recovery_that_cannot_close_one_round_still_returns_the_others(
    tmp_path: Path, clock: FakeClock, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One left-over round cannot be closed: it stays open for the next try, and the rounds
    closed meanwhile (one a waiting start counts on being shown) are still returned."""
    path = tmp_path / "quiz.db"
    old = await left_open(path, clock, lesson, elsewhere=True)
    async with Store.open(path) as store:
        fresh = QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)
        real_finish = store.finish_run
        finishing = asyncio.Event()

        async def finish(done: RunFinish) -> bool:
            if done.run_id != old:
                raise WriteNotConfirmedError("the writer process stopped")
            finishing.set()
            await asyncio.sleep(0.3)  # a start in its channel comes meanwhile, and waits
            return await real_finish(done)

        monkeypatch.setattr(store, "finish_run", finish)
        recovery = asyncio.ensure_future(fresh.recover_unfinished_rounds())
        await finishing.wait()
        game = await fresh.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 20)
        assert [s.run_id for s in await recovery] == [old] and game.closed_before == ()
        left = [u.channel_id for u in await store.unfinished_rounds() if u.run_id != game.run_id]
        assert left == [CHANNEL + 1]


async def test_finish_racing_a_close_counts_the_last_question_once(
    service: QuizService, store: Store, lesson: Lesson
) -> None:
    """A finish racing the timer's close waits for its tally; a second finish is refused."""
    run_id = await start(service, lesson)
    await service.open_question(run_id)
    answers = [service.answer_round(run_id, u, f"u{u}", "A") for u in range(1, 6)]
    outcomes = await asyncio.gather(
        *answers,
        service.close_question(run_id),
        service.finish_round(run_id),
        service.finish_round(run_id),
        return_exceptions=True,
    )
    standings = outcomes[6]
    assert not isinstance(standings, BaseException)
    assert isinstance(outcomes[7], NoRoundRunningError)
    assert [s.answered for s in standings.standings] == [1] * 5
    board = await service.leaderboard(GUILD)
    assert sorted(e.user_id for e in board) == [1, 2, 3, 4, 5]
    assert all(e.points > 100 for e in board)


async def test_a_close_cancelled_while_answers_commit_still_counts_them(
    service: QuizService, lesson: Lesson
) -> None:
    """A shutdown cancelling the close mid-wait leaves no committed answer out of the finish."""
    run_id = await start(service, lesson)
    await service.open_question(run_id)
    answers = [
        asyncio.ensure_future(service.answer_round(run_id, u, f"u{u}", "A")) for u in range(1, 6)
    ]
    await asyncio.sleep(0)  # every answer accepted and its write queued
    closer = asyncio.ensure_future(service.close_question(run_id))
    await asyncio.sleep(0)  # closed, and waiting for those writes
    assert not any(a.done() for a in answers)
    closer.cancel()
    standings = await service.finish_round(run_id)
    assert [s.answered for s in standings.standings] == [1] * 5
    assert all(a.result().recorded for a in answers)
    board = await service.leaderboard(GUILD)
    assert sorted(e.user_id for e in board) == [1, 2, 3, 4, 5]


async def test_a_round_answer_the_store_lost_can_be_given_again(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lost answer is reported, not counted, and the player may press again while open."""
    run_id = await start(service, lesson)
    await service.open_question(run_id)
    real = store.record_answer

    monkeypatch.setattr(store, "record_answer", lost_answer)
    with pytest.raises(AnswerNotRecordedError):
        await service.answer_round(run_id, 7, "u7", "A")
    monkeypatch.setattr(store, "record_answer", real)
    receipt = await service.answer_round(run_id, 7, "u7", "A")
    assert receipt.recorded
    result = await service.close_question(run_id)
    assert result.total == 1 and result.counts["A"] == 1


async def test_a_round_answer_committed_as_the_writer_died_is_confirmed_and_counted(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer died between committing the answer and saying so: it counts, once."""
    run_id = await start(service, lesson)
    await service.open_question(run_id)
    await writer_dies_after_committing(store, monkeypatch)
    receipt = await service.answer_round(run_id, 7, "u7", "B")
    assert receipt.recorded
    monkeypatch.setattr(WorkerProcess, "MODULE", "bot.store.write_worker")
    with pytest.raises(AlreadyAnsweredError):
        await service.answer_round(run_id, 7, "u7", "A")
    result = await service.close_question(run_id)
    assert result.total == 1 and result.counts["B"] == 1
    standings = await service.finish_round(run_id)
    assert [(s.user_id, s.answered) for s in standings.standings] == [(7, 1)]


async def test_a_round_finish_the_writer_lost_is_sent_again_and_counts_once(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer died after committing the round's finish: standings come back, added once."""
    run_id = await start(service, lesson)
    await service.open_question(run_id)
    await service.answer_round(run_id, 7, "u7", "A")
    await service.close_question(run_id)
    await writer_dies_after_committing(store, monkeypatch, "finish", once=True)
    standings = await service.finish_round(run_id)
    assert list(store.path.parent.glob("died-once-*"))
    assert [(s.user_id, s.answered) for s in standings.standings] == [(7, 1)]
    board = await service.leaderboard(GUILD)
    assert [e.user_id for e in board] == [7]
    assert board[0].points == standings.standings[0].points
