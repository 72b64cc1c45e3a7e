"""The single writer: every write goes through one task that commits waiting writes together.

Callers hand an operation to ``Writer.submit`` and await a future that resolves
only after the transaction holding it has been COMMITted (with
``synchronous=FULL``, after the WAL is fsynced), so "recorded" always means
"on disk". While one batch is being written, new operations queue up and go
into the next transaction together (group commit): a quiz night with a thousand
people answering at once costs a handful of commits, not a thousand.

The write connection is a plain ``sqlite3`` connection owned by one dedicated
thread; a whole batch is applied in one hop to that thread, each table's rows
in a few multi-row statements (aiosqlite would cost one thread hop per
statement, and ``executemany`` one GIL hand-off per row). Operations
in one batch were all pending at the same time, so applying them grouped by
kind (users, runs, answers, finishes, ...) is a valid order for them.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from bot.store.records import (
    ALL_LESSONS,
    ALL_TIME,
    AnswerRecord,
    ConflictError,
    RunFinish,
    RunStart,
)

log = logging.getLogger(__name__)

MAX_BATCH = 4096
"""The most operations in one transaction, so one commit's latency stays bounded."""


@dataclass(slots=True, eq=False)
class Op:
    """A write waiting for its transaction; ``future`` resolves after COMMIT."""

    future: asyncio.Future[Any] = field(init=False, repr=False)


@dataclass(slots=True, eq=False)
class EnsureUser(Op):
    """Insert or rename a user."""

    user_id: int
    name: str
    at: int


@dataclass(slots=True, eq=False)
class EnsureGuild(Op):
    """Insert a guild if it is new."""

    guild_id: int
    at: int


@dataclass(slots=True, eq=False)
class StartRun(Op):
    """Create a quiz run with an id chosen by the store."""

    run_id: int
    run: RunStart


@dataclass(slots=True, eq=False)
class SetRoundState(Op):
    """Remember a round's message and open question, for recovery after a restart."""

    run_id: int
    message_id: int | None
    current_question: int | None


@dataclass(slots=True, eq=False)
class RecordAnswer(Op):
    """Insert one answer and bump its choice count."""

    answer_id: int
    answer: AnswerRecord


@dataclass(slots=True, eq=False)
class FinishRun(Op):
    """Close a run and add its players' totals to scores, stats and streaks."""

    finish: RunFinish


@dataclass(slots=True, eq=False)
class ResetScores(Op):
    """Delete a guild's leaderboard scores and first-completion marks."""

    guild_id: int


@dataclass(slots=True, eq=False)
class SetMeta(Op):
    """Set a key in the meta table."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class BulkInsert:
    """An INSERT whose VALUES list is repeated for many rows in one statement.

    One statement per 256 rows (instead of one ``executemany`` step per row)
    means the writer thread drops and re-takes the GIL a few times per batch,
    not once per row; under load the event loop holds the GIL most of the
    time, and every re-take can wait up to the interpreter's switch interval.
    """

    head: str
    row: str
    tail: str = ""

    def sql(self, rows: int) -> str:
        """Return the statement for ``rows`` rows (cached by sqlite3 per distinct text)."""
        return f"{self.head} VALUES {', '.join([self.row] * rows)} {self.tail}"


# Chunk sizes keep the distinct statement texts (and so sqlite3's cache) small and
# stay under SQLite's bound-parameter limit (999 before 3.32, 32766 since).
CHUNKS = (256, 64, 16, 4, 1) if sqlite3.sqlite_version_info >= (3, 32) else (64, 16, 4, 1)


def insert_rows(
    conn: sqlite3.Connection, insert: BulkInsert, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` with as few statements as the chunk sizes allow."""
    done = 0
    for size in CHUNKS:
        if len(rows) - done < size:
            continue
        sql = insert.sql(size)
        while len(rows) - done >= size:
            conn.execute(sql, list(chain.from_iterable(rows[done : done + size])))
            done += size


INSERT_USER = BulkInsert(
    "INSERT INTO users (id, name, updated_at)",
    "(?, ?, ?)",
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at "
    "WHERE name != excluded.name",
)
INSERT_GUILD = BulkInsert("INSERT OR IGNORE INTO guilds (id, created_at)", "(?, ?)")
INSERT_RUN = BulkInsert(
    "INSERT INTO quiz_runs (id, kind, guild_id, channel_id, owner_id, lesson_id, questions, "
    "seconds, started_at)",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
)
UPDATE_ROUND = "UPDATE quiz_runs SET message_id = ?, current_question = ? WHERE id = ?"
INSERT_ANSWER = BulkInsert(
    "INSERT INTO answers (id, run_id, user_id, question_index, choice, correct, hint_used, "
    "answer_ms, points, created_at)",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
)
BUMP_CHOICE = BulkInsert(
    "INSERT INTO choice_counts (guild_id, lesson_id, question_index, choice, count)",
    "(?, ?, ?, ?, ?)",
    "ON CONFLICT DO UPDATE SET count = count + excluded.count",
)
CLAIM_COMPLETION = """
INSERT OR IGNORE INTO lesson_completions (guild_id, user_id, lesson_id, run_id, completed_at)
VALUES (?, ?, ?, ?, ?)
"""
FINISH_RUN = """
UPDATE quiz_runs SET finished_at = ?, score = ?, answered = ?, correct = ?,
                     counts_for_leaderboard = ?, current_question = NULL
WHERE id = ? AND finished_at IS NULL
"""
ADD_SCORE = BulkInsert(
    "INSERT INTO scores (guild_id, lesson_id, week, user_id, points)",
    "(?, ?, ?, ?, ?)",
    "ON CONFLICT DO UPDATE SET points = points + excluded.points",
)
ADD_USER_STATS = BulkInsert(
    "INSERT INTO user_stats (guild_id, user_id, runs, answered, correct)",
    "(?, ?, 1, ?, ?)",
    "ON CONFLICT DO UPDATE SET runs = runs + 1, answered = answered + excluded.answered, "
    "correct = correct + excluded.correct",
)
ADD_QUESTION_STATS = BulkInsert(
    "INSERT INTO user_question_stats (guild_id, user_id, lesson_id, question_index, attempts, "
    "misses)",
    "(?, ?, ?, ?, 1, ?)",
    "ON CONFLICT DO UPDATE SET attempts = attempts + 1, misses = misses + excluded.misses",
)
# In an UPDATE's SET every column reads the old row, so both CASEs see the old last_day.
TOUCH_STREAK = BulkInsert(
    "INSERT INTO streaks (guild_id, user_id, current, best, last_day)",
    "(?, ?, 1, 1, ?)",
    """ON CONFLICT DO UPDATE SET
    current = CASE WHEN excluded.last_day <= last_day THEN current
                   WHEN excluded.last_day = last_day + 1 THEN current + 1 ELSE 1 END,
    best = max(best, CASE WHEN excluded.last_day <= last_day THEN current
                          WHEN excluded.last_day = last_day + 1 THEN current + 1 ELSE 1 END),
    last_day = max(last_day, excluded.last_day)""",
)
SET_META = """
INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""


def apply_batch(conn: sqlite3.Connection, ops: list[Op]) -> list[object]:
    """Apply ``ops`` in one transaction and return each op's result.

    If the transaction fails, roll it back and apply each op in a transaction
    of its own, so one bad op (say a duplicate answer) fails alone and the
    others are still recorded. A result that is an exception belongs to its op.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
        results = _write(conn, ops)
        conn.execute("COMMIT")
        return results
    except Exception:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if len(ops) == 1:
            raise
    outcomes: list[object] = []
    for op in ops:
        try:
            outcomes.extend(apply_batch(conn, [op]))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _write(conn: sqlite3.Connection, ops: list[Op]) -> list[object]:
    """Write ``ops`` grouped by kind inside the open transaction; return their results."""
    users: dict[int, tuple[int, str, int]] = {}
    guilds: dict[int, tuple[int, int]] = {}
    runs: list[tuple[object, ...]] = []
    rounds: list[tuple[int | None, int | None, int]] = []
    answers: list[tuple[object, ...]] = []
    choices: Counter[tuple[int, str, int, str]] = Counter()
    finishes: list[FinishRun] = []
    others: list[Op] = []
    for op in ops:
        if type(op) is RecordAnswer:
            a = op.answer
            answers.append(
                (
                    op.answer_id,
                    a.run_id,
                    a.user_id,
                    a.question_index,
                    a.choice,
                    a.correct,
                    a.hint_used,
                    a.answer_ms,
                    a.points,
                    a.created_at,
                )
            )
            choices[(a.guild_id, a.lesson_id, a.question_index, a.choice)] += 1
        elif isinstance(op, EnsureUser):
            users[op.user_id] = (op.user_id, op.name, op.at)
        elif isinstance(op, EnsureGuild):
            guilds[op.guild_id] = (op.guild_id, op.at)
        elif isinstance(op, StartRun):
            r = op.run
            runs.append(
                (
                    op.run_id,
                    r.kind,
                    r.guild_id,
                    r.channel_id,
                    r.owner_id,
                    r.lesson_id,
                    ",".join(map(str, r.questions)),
                    r.seconds,
                    r.started_at,
                )
            )
        elif isinstance(op, SetRoundState):
            rounds.append((op.message_id, op.current_question, op.run_id))
        elif isinstance(op, FinishRun):
            finishes.append(op)
        else:
            others.append(op)
    insert_rows(conn, INSERT_USER, list(users.values()))
    insert_rows(conn, INSERT_GUILD, list(guilds.values()))
    insert_rows(conn, INSERT_RUN, runs)
    if rounds:
        conn.executemany(UPDATE_ROUND, rounds)
    insert_rows(conn, INSERT_ANSWER, answers)
    insert_rows(conn, BUMP_CHOICE, [(*key, n) for key, n in choices.items()])
    counted = _finish(conn, finishes) if finishes else {}
    for op in others:
        if isinstance(op, ResetScores):
            conn.execute("DELETE FROM scores WHERE guild_id = ?", (op.guild_id,))
            conn.execute("DELETE FROM lesson_completions WHERE guild_id = ?", (op.guild_id,))
        elif isinstance(op, SetMeta):
            conn.execute(SET_META, (op.key, op.value))
        else:
            raise TypeError(f"unknown write {op!r}")
    results: list[object] = []
    for op in ops:
        if type(op) is RecordAnswer:
            results.append(op.answer_id)
        elif isinstance(op, StartRun):
            results.append(op.run_id)
        elif isinstance(op, FinishRun):
            results.append(counted[id(op)])
        else:
            results.append(None)
    return results


def _finish(conn: sqlite3.Connection, finishes: list[FinishRun]) -> dict[int, bool]:
    """Close runs and add their totals; return, per op id, whether the run counted."""
    counted: dict[int, bool] = {}
    scores: list[tuple[int, str, int, int, int]] = []
    stats: list[tuple[int, int, int, int]] = []
    questions: list[tuple[int, int, str, int, int]] = []
    streaks: list[tuple[int, int, int]] = []
    seen: set[int] = set()
    for op in finishes:
        f = op.finish
        if f.run_id in seen:
            counted[id(op)] = False
            continue
        seen.add(f.run_id)
        total = sum(p.points for p in f.players)
        answered = sum(p.answered for p in f.players)
        correct = sum(p.correct for p in f.players)
        counts = f.kind == "round"
        closed = conn.execute(
            FINISH_RUN, (f.finished_at, total, answered, correct, counts, f.run_id)
        )
        if closed.rowcount != 1:  # finished already (say, twice after a restart): add nothing
            counted[id(op)] = False
            continue
        if f.kind == "personal" and f.players:
            owner = f.players[0].user_id
            claim = conn.execute(
                CLAIM_COMPLETION, (f.guild_id, owner, f.lesson_id, f.run_id, f.finished_at)
            )
            if claim.rowcount == 1:
                counts = True
                conn.execute(
                    "UPDATE quiz_runs SET counts_for_leaderboard = 1 WHERE id = ?", (f.run_id,)
                )
        counted[id(op)] = counts
        for p in f.players:
            if counts:
                for lesson in (ALL_LESSONS, f.lesson_id):
                    for week in (ALL_TIME, f.week):
                        scores.append((f.guild_id, lesson, week, p.user_id, p.points))
            stats.append((f.guild_id, p.user_id, p.answered, p.correct))
            streaks.append((f.guild_id, p.user_id, f.day))
            for index, right in p.questions:
                questions.append((f.guild_id, p.user_id, f.lesson_id, index, 0 if right else 1))
    insert_rows(conn, ADD_SCORE, scores)
    insert_rows(conn, ADD_USER_STATS, stats)
    insert_rows(conn, ADD_QUESTION_STATS, questions)
    insert_rows(conn, TOUCH_STREAK, streaks)
    return counted


class Writer:
    """Own the write connection and commit queued operations in groups."""

    def __init__(self, conn: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self._conn = conn
        self._executor = executor
        self._pending: list[Op] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.on_committed: Callable[[list[Op], list[object]], None] | None = None
        self.batches = 0
        self.ops_written = 0

    @property
    def connection(self) -> sqlite3.Connection:
        """Return the write connection (use it only from the writer's thread)."""
        return self._conn

    def start(self) -> None:
        """Start the writer task in the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="store-writer")

    def submit(self, *ops: Op) -> asyncio.Future[Any]:
        """Queue ``ops`` for the next transaction; return the last op's future."""
        if self._closing:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        for op in ops:
            op.future = loop.create_future()
        self._pending.extend(ops)
        self._wakeup.set()
        return ops[-1].future

    async def close(self) -> None:
        """Write everything still queued, then stop the task."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            try:
                outcomes = await loop.run_in_executor(
                    self._executor, apply_batch, self._conn, batch
                )
            except BaseException as exc:  # the whole batch failed: every caller hears of it
                log.exception("store write failed")
                for op in batch:
                    if not op.future.done():
                        op.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            self.batches += 1
            self.ops_written += len(batch)
            if self.on_committed is not None:
                self.on_committed(batch, outcomes)
            for op, outcome in zip(batch, outcomes, strict=True):
                if op.future.done():  # the caller gave up waiting; the write stands
                    continue
                if isinstance(outcome, sqlite3.IntegrityError) and "UNIQUE" in str(outcome):
                    op.future.set_exception(ConflictError(str(outcome)))
                elif isinstance(outcome, BaseException):
                    op.future.set_exception(outcome)
                else:
                    op.future.set_result(outcome)
