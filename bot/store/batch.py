"""Apply a batch of writes in one transaction: the SQL behind the single writer.

This runs in the writer process (``bot.store.write_worker``), which owns the
write connection and has a core of its own. A whole batch is one transaction,
so a quiz night with a thousand people answering at once costs a handful of
commits, not a thousand; each table's rows go in one ``executemany``, and
finishing runs is set-based (a few statements for any number of runs).
Operations in one batch were all pending at the same time, so applying them
grouped by kind (users, runs, answers, finishes, ...) is a valid order for them.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.store.migrations import apply_migrations
from bot.store.ops import (
    AnswerRow,
    EnsureGuild,
    EnsureUser,
    FinishRun,
    MakePrivate,
    Op,
    ResetScores,
    SetMeta,
    SetRoundState,
    StartRun,
)
from bot.store.records import ALL_LESSONS, ALL_TIME

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA cache_size = -65536",
)
"""``synchronous=FULL``: in WAL mode NORMAL already survives a killed process but
may lose the last commits on a power cut, and an answer the user was told is
recorded must be on disk. Group commit makes that one fsync per batch.

A 64 MiB page cache (SQLite's default is 2 MiB) keeps the indexes every answer
touches in memory: a third less CPU per answer in the writer at quiz-night sizes.
SQLite allocates the pages only as it uses them."""


def connect(path: Path) -> sqlite3.Connection:
    """Open a write connection to ``path`` with the store's pragmas (autocommit mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
    except BaseException:
        conn.close()
        raise
    return conn


def prepare(path: Path) -> tuple[int, int]:
    """Create and migrate the database; return its highest run and answer ids."""
    conn = connect(path)
    try:
        apply_migrations(conn, label=str(path))
        run_id = conn.execute("SELECT coalesce(max(id), 0) FROM quiz_runs").fetchone()[0]
        answer_id = conn.execute("SELECT coalesce(max(id), 0) FROM answers").fetchone()[0]
    finally:
        conn.close()
    return int(run_id), int(answer_id)


def insert_rows(conn: sqlite3.Connection, insert: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run ``insert`` once per row, in order (nothing for no rows)."""
    if rows:
        conn.executemany(insert, rows)


INSERT_USER = """
INSERT INTO users (id, name, updated_at) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
WHERE name != excluded.name
"""
INSERT_GUILD = "INSERT OR IGNORE INTO guilds (id, created_at) VALUES (?, ?)"
INSERT_RUN = """
INSERT INTO quiz_runs (id, kind, guild_id, channel_id, owner_id, lesson_id, questions, seconds,
                       started_at, private, quiz_version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
UPDATE_ROUND = "UPDATE quiz_runs SET message_id = ?, current_question = ? WHERE id = ?"
# An AnswerRow is ``(answer_id, *AnswerRecord)``; numbered parameters pick the
# columns out of it, so a batch of answers is one executemany with no Python per row.
INSERT_ANSWER = """
INSERT INTO answers (id, run_id, user_id, question_index, choice, correct, hint_used,
                     answer_ms, points, created_at)
VALUES (?1, ?2, ?5, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
"""
BUMP_CHOICE = """
INSERT INTO choice_counts (guild_id, lesson_id, question_index, choice, count)
VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count
"""
COMPLETED = "SELECT 1 FROM lesson_completions WHERE guild_id = ? AND user_id = ? AND lesson_id = ?"
OPEN_PERSONAL = """
SELECT id FROM quiz_runs
WHERE guild_id = ? AND owner_id = ? AND lesson_id = ? AND kind = 'personal' AND finished_at IS NULL
  AND (quiz_version IS NULL OR quiz_version IS ?)
ORDER BY id DESC LIMIT 1
"""
"""The latest unfinished run of the same quiz: one whose questions a content change
rewrote cannot be gone on with (another key would grade it), so it is passed over."""
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
CLAIM_COMPLETIONS = """
INSERT OR IGNORE INTO lesson_completions (guild_id, user_id, lesson_id, run_id, completed_at)
VALUES (?, ?, ?, ?, ?)
"""
MARK_DONE = """
INSERT OR IGNORE INTO lessons_done (guild_id, user_id, lesson_id, finished_at) VALUES (?, ?, ?, ?)
"""
CLAIMED = """
SELECT json_group_array(c.run_id) FROM json_each(?) AS j JOIN lesson_completions AS c
ON c.guild_id = json_extract(j.value, '$[0]') AND c.user_id = json_extract(j.value, '$[1]')
   AND c.lesson_id = json_extract(j.value, '$[2]') AND c.run_id = json_extract(j.value, '$[3]')
"""
COUNTED_RUNS = """
SELECT r.id, r.counts_for_leaderboard FROM json_each(?) AS j JOIN quiz_runs AS r
ON r.id = j.value AND r.finished_at IS NOT NULL
"""
MARK_COUNTED = """
UPDATE quiz_runs SET counts_for_leaderboard = 1 WHERE id IN (SELECT value FROM json_each(?))
"""
ADD_SCORE = """
INSERT INTO scores (guild_id, lesson_id, week, user_id, points) VALUES (?, ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET points = points + excluded.points
"""
ADD_USER_STATS = """
INSERT INTO user_stats (guild_id, user_id, runs, answered, correct) VALUES (?, ?, 1, ?, ?)
ON CONFLICT DO UPDATE SET runs = runs + 1, answered = answered + excluded.answered,
                          correct = correct + excluded.correct
"""
ADD_QUESTION_STATS = """
INSERT INTO user_question_stats (guild_id, user_id, lesson_id, question_index, attempts, misses)
VALUES (?, ?, ?, ?, 1, ?)
ON CONFLICT DO UPDATE SET attempts = attempts + 1, misses = misses + excluded.misses
"""
# In an UPDATE's SET every column reads the old row, so both CASEs see the old last_day.
TOUCH_STREAK = """
INSERT INTO streaks (guild_id, user_id, current, best, last_day) VALUES (?, ?, 1, 1, ?)
ON CONFLICT DO UPDATE SET
    current = CASE WHEN excluded.last_day <= last_day THEN current
                   WHEN excluded.last_day = last_day + 1 THEN current + 1 ELSE 1 END,
    best = max(best, CASE WHEN excluded.last_day <= last_day THEN current
                          WHEN excluded.last_day = last_day + 1 THEN current + 1 ELSE 1 END),
    last_day = max(last_day, excluded.last_day)
"""
SET_META = """
INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""


def apply_batch(conn: sqlite3.Connection, ops: list[Op]) -> list[object]:
    """Apply ``ops`` in one transaction and return each op's result.

    If the transaction fails, roll it back and apply the ops again one at a
    time, so one bad op (say a duplicate answer) fails alone and the others
    are still recorded. A result that is an exception belongs to its op.
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
    return _apply_one_by_one(conn, ops)


def _apply_one_by_one(conn: sqlite3.Connection, ops: list[Op]) -> list[object]:
    """Apply each op under a savepoint of its own, all in one transaction.

    One transaction, so one fsync: a transaction per op would cost a batch of
    thousands as many fsyncs, and a quiz night's answers would wait behind one
    duplicate. A savepoint rolls back only its op's statements. An error after
    which SQLite itself rolled the whole transaction back (disk full, I/O) makes
    ``ROLLBACK TO`` fail too: then the whole batch fails with it, as nothing of
    it is on disk.
    """
    outcomes: list[object] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            conn.execute("SAVEPOINT one_op")
            try:
                outcomes.extend(_write(conn, [op]))
            except Exception as exc:
                conn.execute("ROLLBACK TO one_op")
                outcomes.append(exc)
            conn.execute("RELEASE one_op")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _write(conn: sqlite3.Connection, ops: list[Op]) -> list[object]:
    """Write ``ops`` grouped by kind inside the open transaction; return their results."""
    users: dict[int, tuple[int, str, int]] = {}
    guilds: dict[int, tuple[int, int]] = {}
    runs: list[tuple[object, ...]] = []
    rounds: list[tuple[int | None, int | None, int]] = []
    answers: list[AnswerRow] = []
    finishes: list[FinishRun] = []
    others: list[Op] = []
    resumed: dict[int, int] = {}  # id(op) -> the unfinished run it continues
    opened: dict[tuple[int, int, str], int] = {}  # personal runs this batch creates
    # Runs this batch closes are finished for any start beside them (finishes are applied
    # after starts): going on with one would hand back a run that is closing.
    closing = {op.finish.run_id for op in ops if isinstance(op, FinishRun)}
    for op in ops:
        if type(op) is tuple:
            answers.append(op)
        elif isinstance(op, EnsureUser):
            users[op.user_id] = (op.user_id, op.name, op.at)
        elif isinstance(op, EnsureGuild):
            guilds[op.guild_id] = (op.guild_id, op.at)
        elif isinstance(op, StartRun):
            r = op.run
            if op.resume and r.kind == "personal":
                key = (r.guild_id, r.owner_id, r.lesson_id)
                earlier = opened.get(key) or _open_personal_run(conn, key, r.quiz_version)
                if earlier is not None and earlier not in closing:
                    resumed[id(op)] = earlier
                    continue
                opened[key] = op.run_id
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
                    r.private,
                    r.quiz_version,
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
    if answers:
        conn.executemany(INSERT_ANSWER, answers)
        choices = Counter((a[2], a[3], a[6], a[7]) for a in answers)
        conn.executemany(BUMP_CHOICE, [(*key, n) for key, n in choices.items()])
    counted = _finish(conn, finishes) if finishes else {}
    for op in others:
        if isinstance(op, ResetScores):
            conn.execute("DELETE FROM scores WHERE guild_id = ?", (op.guild_id,))
            conn.execute("DELETE FROM lesson_completions WHERE guild_id = ?", (op.guild_id,))
        elif isinstance(op, SetMeta):
            conn.execute(SET_META, (op.key, op.value))
        elif isinstance(op, MakePrivate):
            conn.execute("UPDATE quiz_runs SET private = 1 WHERE id = ?", (op.run_id,))
        else:
            raise TypeError(f"unknown write {op!r}")
    results: list[object] = []
    for op in ops:
        if type(op) is tuple:
            results.append(op[0])
        elif isinstance(op, StartRun):
            run_id = resumed.get(id(op), op.run_id)
            if op.check_completion:
                r = op.run
                done = conn.execute(COMPLETED, (r.guild_id, r.owner_id, r.lesson_id)).fetchone()
                results.append((run_id, done is not None, id(op) in resumed))
            else:
                results.append(run_id)
        elif isinstance(op, FinishRun):
            results.append(counted[id(op)])
        else:
            results.append(None)
    return results


def _open_personal_run(
    conn: sqlite3.Connection, key: tuple[int, int, str], version: str | None
) -> int | None:
    """Return the owner's latest unfinished personal run of the lesson's quiz, if any."""
    row = conn.execute(OPEN_PERSONAL, (*key, version)).fetchone()
    return None if row is None else int(row[0])


def _json_ids(conn: sqlite3.Connection, sql: str, rows: Sequence[Any]) -> set[int]:
    """Run a query that returns one JSON array of ids; return them as a set."""
    found = conn.execute(sql, (json.dumps(rows),)).fetchone()[0]
    return set(json.loads(found))


def _finish(conn: sqlite3.Connection, finishes: list[FinishRun]) -> dict[int, bool]:
    """Close runs and add their totals; return, per op id, whether its run counts.

    Set-based (a handful of statements for any number of finishes), with the
    same outcome as finishing the runs one by one in order: a run finished
    already adds nothing, and of several runs claiming the same lesson for the
    same user only the first claim counts. Finishing is idempotent, result
    included: a repeat reports whether the run counted when it was closed, so
    a finish whose confirmation was lost with a writer can simply be sent again.
    """
    firsts: dict[int, FinishRun] = {}
    for op in finishes:
        firsts.setdefault(op.finish.run_id, op)  # a second finish of a run adds nothing
    open_runs = _json_ids(conn, OPEN_RUNS, list(firsts))
    closing = [op for run_id, op in firsts.items() if run_id in open_runs]
    finished_before = [run_id for run_id in firsts if run_id not in open_runs]
    run_counts: dict[int, bool] = {}
    if finished_before:
        found = conn.execute(COUNTED_RUNS, (json.dumps(finished_before),)).fetchall()
        run_counts.update((run_id, bool(flag)) for run_id, flag in found)
    if closing:
        run_counts.update(_close(conn, closing))
    return {id(op): run_counts.get(op.finish.run_id, False) for op in finishes}


def _close(conn: sqlite3.Connection, closing: list[FinishRun]) -> dict[int, bool]:
    """Close the open runs of ``closing`` and add their totals; return, per run id, if it counts."""
    counted: dict[int, bool] = {}
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
        insert_rows(conn, MARK_DONE, [(g, u, lesson, at) for g, u, lesson, _, at in claims])
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
        counted[f.run_id] = counts
        for p in f.players:
            if counts:
                for lesson in (ALL_LESSONS, f.lesson_id):
                    for week in (ALL_TIME, f.week):
                        scores.append((f.guild_id, lesson, week, p.user_id, p.points))
            streaks.append((f.guild_id, p.user_id, f.day))
            if f.kind == "review":
                # Its questions were missed moments ago and their answers just shown:
                # counting them would inflate accuracy and hide the hardest questions.
                continue
            stats.append((f.guild_id, p.user_id, p.answered, p.correct))
            for index, right in p.questions:
                questions.append((f.guild_id, p.user_id, f.lesson_id, index, 0 if right else 1))
    insert_rows(conn, ADD_SCORE, scores)
    insert_rows(conn, ADD_USER_STATS, stats)
    insert_rows(conn, ADD_QUESTION_STATS, questions)
    insert_rows(conn, TOUCH_STREAK, streaks)
    return counted
