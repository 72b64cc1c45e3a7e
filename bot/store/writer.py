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
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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

RESOLVE_CHUNK = 64
"""Futures resolved per event-loop iteration after a commit.

Resolving a thousand at once would wake a thousand callers in one iteration,
and every timer due meanwhile (a demo's ``asyncio.sleep``) would wait behind
them; in chunks, timers get their turn between chunks.
"""


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


def json_insert(head: str, row: str, tail: str = "") -> str:
    """Return an INSERT that takes all its rows as one JSON array (one ``?``).

    ``row`` is a VALUES row such as ``"(?, ?, 1, ?)"``; each ``?`` becomes the
    next element of a JSON row. One statement per table per batch matters
    because the writer thread gives up the GIL around every SQLite call and
    must win it back from the event loop afterwards: under load each re-take
    can wait a whole switch interval (5 ms), so a batch costs about 5 ms per
    statement, however few rows each carries. Decoding the rows happens
    inside SQLite, with the GIL released.
    """
    columns: list[str] = []
    position = 0
    for part in row.strip()[1:-1].split(","):
        if part.strip() == "?":
            columns.append(f"json_extract(j.value, '$[{position}]')")
            position += 1
        else:
            columns.append(part.strip())
    return f"{head} SELECT {', '.join(columns)} FROM json_each(?) AS j WHERE true {tail}"


def insert_rows(conn: sqlite3.Connection, insert: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (in order) with one statement."""
    if rows:
        conn.execute(insert, (json.dumps(rows),))


INSERT_USER = json_insert(
    "INSERT INTO users (id, name, updated_at)",
    "(?, ?, ?)",
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at "
    "WHERE name != excluded.name",
)
INSERT_GUILD = json_insert("INSERT OR IGNORE INTO guilds (id, created_at)", "(?, ?)")
INSERT_RUN = json_insert(
    "INSERT INTO quiz_runs (id, kind, guild_id, channel_id, owner_id, lesson_id, questions, "
    "seconds, started_at)",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
)
UPDATE_ROUND = "UPDATE quiz_runs SET message_id = ?, current_question = ? WHERE id = ?"
INSERT_ANSWER = json_insert(
    "INSERT INTO answers (id, run_id, user_id, question_index, choice, correct, hint_used, "
    "answer_ms, points, created_at)",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
)
BUMP_CHOICE = json_insert(
    "INSERT INTO choice_counts (guild_id, lesson_id, question_index, choice, count)",
    "(?, ?, ?, ?, ?)",
    "ON CONFLICT DO UPDATE SET count = count + excluded.count",
)
OPEN_RUNS = """
SELECT json_group_array(r.id) FROM json_each(?) AS j JOIN quiz_runs AS r
ON r.id = j.value AND r.finished_at IS NULL
"""
FINISH_RUNS = """
UPDATE quiz_runs SET finished_at = json_extract(j.value, '$[1]'),
                     score = json_extract(j.value, '$[2]'),
                     answered = json_extract(j.value, '$[3]'),
                     correct = json_extract(j.value, '$[4]'),
                     counts_for_leaderboard = json_extract(j.value, '$[5]'),
                     current_question = NULL
FROM json_each(?) AS j
WHERE quiz_runs.id = json_extract(j.value, '$[0]')
"""
CLAIM_COMPLETIONS = json_insert(
    "INSERT OR IGNORE INTO lesson_completions (guild_id, user_id, lesson_id, run_id, completed_at)",
    "(?, ?, ?, ?, ?)",
)
CLAIMED = """
SELECT json_group_array(c.run_id) FROM json_each(?) AS j JOIN lesson_completions AS c
ON c.guild_id = json_extract(j.value, '$[0]') AND c.user_id = json_extract(j.value, '$[1]')
   AND c.lesson_id = json_extract(j.value, '$[2]') AND c.run_id = json_extract(j.value, '$[3]')
"""
MARK_COUNTED = """
UPDATE quiz_runs SET counts_for_leaderboard = 1 WHERE id IN (SELECT value FROM json_each(?))
"""
ADD_SCORE = json_insert(
    "INSERT INTO scores (guild_id, lesson_id, week, user_id, points)",
    "(?, ?, ?, ?, ?)",
    "ON CONFLICT DO UPDATE SET points = points + excluded.points",
)
ADD_USER_STATS = json_insert(
    "INSERT INTO user_stats (guild_id, user_id, runs, answered, correct)",
    "(?, ?, 1, ?, ?)",
    "ON CONFLICT DO UPDATE SET runs = runs + 1, answered = answered + excluded.answered, "
    "correct = correct + excluded.correct",
)
ADD_QUESTION_STATS = json_insert(
    "INSERT INTO user_question_stats (guild_id, user_id, lesson_id, question_index, attempts, "
    "misses)",
    "(?, ?, ?, ?, 1, ?)",
    "ON CONFLICT DO UPDATE SET attempts = attempts + 1, misses = misses + excluded.misses",
)
# In an UPDATE's SET every column reads the old row, so both CASEs see the old last_day.
TOUCH_STREAK = json_insert(
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


def _json_ids(conn: sqlite3.Connection, sql: str, rows: Sequence[Any]) -> set[int]:
    """Run a query that returns one JSON array of ids; return them as a set."""
    found = conn.execute(sql, (json.dumps(rows),)).fetchone()[0]
    return set(json.loads(found))


def _finish(conn: sqlite3.Connection, finishes: list[FinishRun]) -> dict[int, bool]:
    """Close runs and add their totals; return, per op id, whether the run counted.

    Set-based (a handful of statements for any number of finishes), with the
    same outcome as finishing the runs one by one in order: a run finished
    already adds nothing, and of several runs claiming the same lesson for the
    same user only the first claim counts.
    """
    counted: dict[int, bool] = {id(op): False for op in finishes}
    firsts: dict[int, FinishRun] = {}
    for op in finishes:
        firsts.setdefault(op.finish.run_id, op)  # a second finish of a run adds nothing
    open_runs = _json_ids(conn, OPEN_RUNS, list(firsts))
    closing = [op for run_id, op in firsts.items() if run_id in open_runs]
    if not closing:
        return counted
    rows: list[tuple[int, int, int, int, int, bool]] = []
    claims: list[tuple[int, int, str, int, int]] = []
    for op in closing:
        f = op.finish
        rows.append(
            (
                f.run_id,
                f.finished_at,
                sum(p.points for p in f.players),
                sum(p.answered for p in f.players),
                sum(p.correct for p in f.players),
                f.kind == "round",
            )
        )
        if f.kind == "personal" and f.players:
            claims.append((f.guild_id, f.players[0].user_id, f.lesson_id, f.run_id, f.finished_at))
    conn.execute(FINISH_RUNS, (json.dumps(rows),))
    claimed: set[int] = set()
    if claims:
        insert_rows(conn, CLAIM_COMPLETIONS, claims)
        claimed = _json_ids(conn, CLAIMED, claims)
        if claimed:
            conn.execute(MARK_COUNTED, (json.dumps(list(claimed)),))
    scores: list[tuple[int, str, int, int, int]] = []
    stats: list[tuple[int, int, int, int]] = []
    questions: list[tuple[int, int, str, int, int]] = []
    streaks: list[tuple[int, int, int]] = []
    for op in closing:
        f = op.finish
        counts = f.kind == "round" or f.run_id in claimed
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
        """Take over ``conn``; create it inside the running loop the writer will serve."""
        self._conn = conn
        self._executor = executor
        self._pending: list[Op] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self.on_committed: Callable[[list[Op], list[object]], None] | None = None
        self.batches = 0
        self.ops_written = 0

    @property
    def connection(self) -> sqlite3.Connection:
        """Return the write connection (use it only from the writer's thread)."""
        return self._conn

    def start(self) -> None:
        """Start the writer task in the running loop."""
        self._task = self._loop.create_task(self._run(), name="store-writer")

    def submit(self, *ops: Op) -> asyncio.Future[Any]:
        """Queue ``ops`` for the next transaction; return the last op's future."""
        if self._closing:
            raise RuntimeError("the store is closed")
        for op in ops:
            op.future = self._loop.create_future()
        self._pending.extend(ops)
        self._wakeup.set()
        return ops[-1].future

    def submit_one(self, op: Op) -> asyncio.Future[Any]:
        """Queue one op for the next transaction; return its future (the hot path)."""
        if self._closing:
            raise RuntimeError("the store is closed")
        future = op.future = self._loop.create_future()
        self._pending.append(op)
        self._wakeup.set()
        return future

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
            self._resolve(batch, outcomes, 0)

    def _resolve(self, batch: list[Op], outcomes: list[object], start: int) -> None:
        """Resolve one chunk of a committed batch's futures; schedule the next chunk."""
        end = start + RESOLVE_CHUNK
        for op, outcome in zip(batch[start:end], outcomes[start:end], strict=True):
            future = op.future
            if future.done():  # the caller gave up waiting; the write stands
                continue
            if not isinstance(outcome, BaseException):
                future.set_result(outcome)
            elif isinstance(outcome, sqlite3.IntegrityError) and "UNIQUE" in str(outcome):
                future.set_exception(ConflictError(str(outcome)))
            else:
                future.set_exception(outcome)
        if end < len(batch):
            self._loop.call_soon(self._resolve, batch, outcomes, end)
