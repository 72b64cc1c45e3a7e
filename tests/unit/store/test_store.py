"""Tests of the store: committed writes, group commit, uniqueness, indexed boards, backup."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest

from bot.store import batch
from bot.store.database import LEADERBOARD, RANK_OF, Store
from bot.store.ops import answer_row
from bot.store.records import (
    ALL_LESSONS,
    ALL_TIME,
    AnswerRecord,
    ConflictError,
    PlayerTotals,
    RunFinish,
    RunStart,
)
from tests.unit.store.processes import writer_dies_after_committing

GUILD = 7


def answer(run_id: int, user_id: int, question: int, choice: str = "A") -> AnswerRecord:
    """Build an answer record for a test lesson whose right answer is A."""
    return AnswerRecord(
        run_id, GUILD, "lesson", user_id, f"user{user_id}", question, choice, choice == "A",
        False, 1500, 100 if choice == "A" else 0, 1_700_000_000_000,
    )  # fmt: skip


async def new_run(store: Store, owner: int = 1) -> int:
    """Create a personal run and return its id."""
    return await store.start_run(
        RunStart("personal", GUILD, owner, f"user{owner}", "lesson", (0, 1, 2), 0)
    )


async def test_recorded_answer_is_visible_to_another_connection(store: Store) -> None:
    """Once record_answer returns, an independent connection sees the answer."""
    run_id = await new_run(store)
    answer_id = await store.record_answer(answer(run_id, 1, 0, "B"))
    with sqlite3.connect(store.path) as db:
        row = db.execute("SELECT run_id, choice FROM answers WHERE id = ?", (answer_id,))
        assert row.fetchone() == (run_id, "B")


async def test_concurrent_writes_share_transactions(store: Store) -> None:
    """Many answers submitted at once are committed in far fewer transactions."""
    run_id = await new_run(store)
    batches_before, _ = store.write_batches
    ids = await asyncio.gather(*(store.record_answer(answer(run_id, u, 0)) for u in range(200)))
    batches, _ = store.write_batches
    assert len(set(ids)) == 200
    assert batches - batches_before < 20


async def test_duplicate_answer_fails_alone(store: Store) -> None:
    """A second answer to the same question is a ConflictError; its batch-mates are kept."""
    run_id = await new_run(store)
    await store.record_answer(answer(run_id, 1, 0))
    outcomes = await asyncio.gather(
        store.record_answer(answer(run_id, 2, 0)),
        store.record_answer(answer(run_id, 1, 0, "C")),
        store.record_answer(answer(run_id, 3, 0)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], ConflictError)
    assert all(isinstance(o, int) for o in (outcomes[0], outcomes[2]))
    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT user_id, choice FROM answers ORDER BY user_id").fetchall()
        counts = db.execute("SELECT count FROM choice_counts WHERE question_index = 0")
        assert counts.fetchall() == [(3,)]
    assert rows == [(1, "A"), (2, "A"), (3, "A")]


async def test_one_bad_write_in_a_batch_costs_one_more_transaction_not_one_per_write(
    store: Store,
) -> None:
    """The batch is applied again op by op under savepoints: one COMMIT (one fsync) in all."""
    run_id = await new_run(store)
    for user in range(50):  # the users, known to the database
        await store.record_answer(answer(run_id, user, 1))
    conn = batch.connect(store.path)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        rows = [answer_row(1000 + user, answer(run_id, user, 0)) for user in range(50)]
        twice = answer_row(999, answer(run_id, 7, 0, "C"))  # user 7 answers question 0 again
        outcomes = batch.apply_batch(conn, [*rows[:25], twice, *rows[25:]])
    finally:
        conn.close()
    assert isinstance(outcomes[25], sqlite3.IntegrityError)
    assert outcomes[:25] + outcomes[26:] == [1000 + user for user in range(50)]
    assert statements.count("COMMIT") == 1  # the first try rolled back, then one more
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*) FROM answers WHERE question_index = 0").fetchone() == (
            50,
        )
        counts = db.execute("SELECT choice, count FROM choice_counts WHERE question_index = 0")
        assert counts.fetchall() == [("A", 50)]


async def test_answer_to_a_missing_run_is_refused(store: Store) -> None:
    """Foreign keys are on: an answer to a run that does not exist is not stored."""
    with pytest.raises(sqlite3.IntegrityError):
        await store.record_answer(answer(12345, 1, 0))


async def test_display_names_follow_the_latest(store: Store) -> None:
    """The stored display name is the latest one seen."""
    run_id = await new_run(store)
    await store.record_answer(answer(run_id, 5, 0))
    await store.remember_user(5, "New Name")
    assert await store.user_name(5) == "New Name"
    assert await store.user_name(6) is None


async def test_meta_round_trips(store: Store) -> None:
    """Meta keys can be set, read and overwritten; a missing key is None."""
    assert await store.get_meta("command_hash") is None
    await store.set_meta("command_hash", "abc")
    await store.set_meta("command_hash", "def")
    assert await store.get_meta("command_hash") == "def"


async def test_leaderboard_reads_use_the_ranking_index(store: Store) -> None:
    """The board and rank queries search an index; they never scan scores or answers."""
    with sqlite3.connect(store.path) as db:
        for sql, params in ((LEADERBOARD, (1, "", 0, 10)), (RANK_OF, (1, "", 0, 1))):
            plan = " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, params))
            assert "answers" not in plan
            assert "SCAN s" not in plan and "SCAN o" not in plan, plan
            assert "USING" in plan


async def test_backup_is_a_consistent_copy(store: Store, tmp_path: Path) -> None:
    """A backup taken while the store is open holds every committed answer."""
    run_id = await new_run(store)
    await asyncio.gather(*(store.record_answer(answer(run_id, u, 1)) for u in range(20)))
    dest = tmp_path / "backups" / "copy.db"
    await store.backup(dest)
    with sqlite3.connect(dest) as db:
        assert db.execute("SELECT count(*) FROM answers").fetchone() == (20,)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with pytest.raises(ValueError):
        await store.backup(store.path)


async def test_ids_continue_after_reopening(tmp_path: Path) -> None:
    """Run and answer ids keep increasing across a restart."""
    path = tmp_path / "quiz.db"
    async with Store.open(path) as first:
        run_id = await new_run(first)
        answer_id = await first.record_answer(answer(run_id, 1, 0))
    store = await Store.open(path)
    try:
        assert await new_run(store) > run_id
        assert await store.record_answer(answer(run_id, 1, 1)) > answer_id
    finally:
        await store.close()


async def test_finishes_in_one_batch_match_finishing_one_by_one(store: Store) -> None:
    """Of two runs finished in one transaction only the first counts; a repeat adds nothing.

    The repeat reports how its run counted, like the first finish did.
    """
    first, second = await new_run(store), await new_run(store)
    player = PlayerTotals(1, 300, 3, 3, ((0, True), (1, True), (2, True)))

    def finish(run_id: int) -> RunFinish:
        return RunFinish(run_id, "personal", GUILD, "lesson", 1, 0, 5, (player,))

    counted = await asyncio.gather(
        store.finish_run(finish(first)),
        store.finish_run(finish(second)),
        store.finish_run(finish(first)),
    )
    assert counted == [True, False, True]
    assert await store.finish_run(finish(first)) and not await store.finish_run(finish(second))
    top = await store.leaderboard(GUILD, "lesson", 0)
    assert [(e.user_id, e.points) for e in top] == [(1, 300)]
    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT id, counts_for_leaderboard, score FROM quiz_runs ORDER BY id")
        assert rows.fetchall() == [(first, 1, 300), (second, 0, 300)]


async def test_snowflake_sized_ids_round_trip_exactly(store: Store) -> None:
    """Discord ids near 2**63 come back from the database unchanged."""
    big = 1_234_567_890_123_456_789
    run_id = await store.start_run(RunStart("personal", big, big, "big", "lesson", (0,), 0))
    record = answer(run_id, big, 0)._replace(guild_id=big)
    answer_id = await store.record_answer(record)
    with sqlite3.connect(store.path) as db:
        row = db.execute("SELECT user_id FROM answers WHERE id = ?", (answer_id,)).fetchone()
        assert row == (big,)
        assert db.execute("SELECT id FROM guilds WHERE id = ?", (big,)).fetchone() == (big,)


async def test_a_personal_run_learns_at_its_start_whether_the_lesson_was_done(
    store: Store,
) -> None:
    """start_personal_run says whether a counted run exists, as of its own transaction."""
    run = RunStart("personal", GUILD, 1, "ann", "lesson", (0,), 0)
    first, done_before, resumed = await store.start_personal_run(run)
    assert not done_before and not resumed
    player = PlayerTotals(1, 100, 1, 1, ((0, True),))
    assert await store.finish_run(RunFinish(first, "personal", GUILD, "lesson", 1, 0, 5, (player,)))
    second, done_before, resumed = await store.start_personal_run(run)
    assert done_before and second > first and not resumed
    assert await store.has_completed(GUILD, 1, "lesson")
    _, other_lesson_done, _ = await store.start_personal_run(
        RunStart("personal", GUILD, 1, "ann", "other", (0,), 0)
    )
    assert not other_lesson_done
    await store.reset_scores(GUILD)
    third, done_before, resumed = await store.start_personal_run(run)
    assert not done_before and (third, resumed) == (second, True)  # second is unfinished


async def test_a_personal_start_continues_the_owners_unfinished_run_of_the_lesson(
    store: Store,
) -> None:
    """An unfinished run is continued, also by two starts in one batch; not another
    user's, lesson's or server's, not a review; and not when asked for a new one."""
    run = RunStart("personal", GUILD, 1, "ann", "lesson", (0, 1), 0)
    (a, _, a_resumed), (b, _, b_resumed) = await asyncio.gather(
        store.start_personal_run(run), store.start_personal_run(run)
    )
    assert a == b and (a_resumed, b_resumed) == (False, True)
    others = [
        dataclasses.replace(run, owner_id=2),
        dataclasses.replace(run, lesson_id="other"),
        dataclasses.replace(run, guild_id=GUILD + 1),
    ]
    for other in others:
        run_id, _, resumed = await store.start_personal_run(other)
        assert run_id != a and not resumed
    review = await store.start_run(dataclasses.replace(run, kind="review"))
    assert review != a
    fresh, _, resumed = await store.start_personal_run(run, resume=False)
    assert fresh > a and not resumed
    latest, _, resumed = await store.start_personal_run(run)
    assert (latest, resumed) == (fresh, True)  # the latest unfinished one
    v1, _, _ = await store.start_personal_run(dataclasses.replace(run, quiz_version="v1"))
    assert v1 == fresh  # a run from before versions were kept goes on with any
    other = dataclasses.replace(run, lesson_id="versioned", quiz_version="v1")
    first, _, _ = await store.start_personal_run(other)
    changed, _, resumed = await store.start_personal_run(
        dataclasses.replace(other, quiz_version="v2")
    )
    assert changed != first and not resumed  # its quiz was rewritten: passed over
    again, _, resumed = await store.start_personal_run(other)
    assert (again, resumed) == (first, True)


async def test_a_start_beside_the_finish_of_its_open_run_opens_a_new_one(store: Store) -> None:
    """A start queued with the finish of the run it would go on with gets a new run: it is
    not handed back a run that its own transaction closes."""
    run = RunStart("personal", GUILD, 1, "ann", "lesson", (0,), 0)
    open_run, _, _ = await store.start_personal_run(run)
    player = PlayerTotals(1, 100, 1, 1, ((0, True),))
    finish = RunFinish(open_run, "personal", GUILD, "lesson", 1, 0, 5, (player,))
    counted, (started, _, resumed) = await asyncio.gather(
        store.finish_run(finish), store.start_personal_run(run)
    )
    assert counted and started != open_run and not resumed


async def test_of_two_overlapping_runs_the_first_finished_counts(store: Store) -> None:
    """Two runs open at once (one started without going on with the other): whichever
    finishes first claims the lesson, the other is practice, whatever their order."""
    run = RunStart("personal", GUILD, 1, "ann", "lesson", (0,), 0)
    slow, _, _ = await store.start_personal_run(run)
    fast, _, resumed = await store.start_personal_run(run, resume=False)
    assert fast > slow and not resumed
    player = PlayerTotals(1, 100, 1, 1, ((0, True),))
    assert await store.finish_run(RunFinish(fast, "personal", GUILD, "lesson", 1, 0, 5, (player,)))
    assert not await store.finish_run(
        RunFinish(slow, "personal", GUILD, "lesson", 2, 0, 5, (player,))
    )


async def test_a_reset_lost_with_its_writer_is_sent_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer dies after committing a reset: it is sent once more (it is idempotent)."""
    player = PlayerTotals(1, 100, 1, 1, ((0, True),))
    run, _, _ = await store.start_personal_run(
        RunStart("personal", GUILD, 1, "ann", "lesson", (0,), 0)
    )
    await store.finish_run(RunFinish(run, "personal", GUILD, "lesson", 1, 0, 5, (player,)))
    await writer_dies_after_committing(store, monkeypatch, "reset", once=True)
    await asyncio.wait_for(store.reset_scores(GUILD), 30)
    assert list(store.path.parent.glob("died-once-*")), "no writer died at the reset"
    assert await store.leaderboard(GUILD, ALL_LESSONS, ALL_TIME) == []
