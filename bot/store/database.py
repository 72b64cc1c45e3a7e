"""The SQLite store behind the quiz: migrations on open, one writer process, aiosqlite reads.

``Store`` is the only place with SQL. Writes go through the single ``Writer``
(group commit in a writer process: a caller's future resolves after COMMIT);
reads go through an aiosqlite connection of their own, which in WAL mode never
waits for the writer. The database runs with ``synchronous=FULL``: in WAL mode NORMAL
already survives a killed process (SIGKILL) but may lose the last commits on a
power cut or OS crash, and the contract is that an answer the user was told is
recorded is on disk. Group commit makes the extra fsync one per batch, not one
per answer.

One process owns a database file at a time: run and answer ids are handed out
by this process (so a batch needs no round trip per row).
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import sqlite3
import time
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO, cast

import aiosqlite

from bot.store.batch import prepare
from bot.store.lock import check_database_path, lock_database, unlock_database
from bot.store.ops import (
    EnsureGuild,
    EnsureUser,
    FinishRun,
    MakePrivate,
    Op,
    ResetScores,
    SetMeta,
    SetRoundState,
    StartRun,
    answer_row,
)
from bot.store.records import (
    AnswerRecord,
    AnswersExport,
    LeaderboardEntry,
    MissedQuestion,
    PlayerTotals,
    QuestionStats,
    RunFinish,
    RunStart,
    SavedAnswer,
    SavedRun,
    UnfinishedRound,
    UserStats,
)
from bot.store.writer import Writer

log = logging.getLogger(__name__)

LEADERBOARD = """
SELECT s.user_id, coalesce(u.name, s.user_id), s.points
FROM scores AS s LEFT JOIN users AS u ON u.id = s.user_id
WHERE s.guild_id = ? AND s.lesson_id = ? AND s.week = ?
ORDER BY s.points DESC, s.user_id
LIMIT ?
"""
RANK_OF = """
SELECT coalesce(u.name, s.user_id), s.points,
       (SELECT count(*) FROM scores AS o
        WHERE o.guild_id = s.guild_id AND o.lesson_id = s.lesson_id AND o.week = s.week
          AND o.points > s.points)
FROM scores AS s LEFT JOIN users AS u ON u.id = s.user_id
WHERE s.guild_id = ? AND s.lesson_id = ? AND s.week = ? AND s.user_id = ?
"""
EXPORT = """
SELECT a.id, a.created_at, r.id, r.kind, r.lesson_id, a.question_index, a.user_id,
       coalesce(u.name, ''), a.choice, a.correct, a.hint_used, a.answer_ms, a.points,
       r.counts_for_leaderboard
FROM quiz_runs AS r
JOIN answers AS a ON a.run_id = r.id
LEFT JOIN users AS u ON u.id = a.user_id
WHERE r.guild_id = ?
ORDER BY a.id
"""
EXPORT_HEADER = (
    "answer_id",
    "answered_at_utc",
    "run_id",
    "run_kind",
    "lesson_id",
    "question_number",
    "user_id",
    "user_name",
    "choice",
    "correct",
    "hint_used",
    "answer_ms",
    "points",
    "run_counted_for_leaderboard",
)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _csv_cell(value: object) -> object:
    """Return ``value`` safe for a spreadsheet: text starting with = + - @ is quoted.

    Leading spaces first: a spreadsheet may drop them and read the formula after.
    """
    if isinstance(value, str) and (
        value[:1] in ("\t", "\r") or value.lstrip()[:1] in ("=", "+", "-", "@")
    ):
        return "'" + value
    return value


def backup_database(source: Path, dest: Path) -> None:
    """Copy a consistent snapshot of ``source`` into ``dest`` with SQLite's backup API.

    Needs no store: a plain reader, so it runs beside the bot that owns the
    database (WAL lets it read while the bot writes). A destination that cannot
    be written raises ValueError naming it, so the source is not blamed.
    """
    if dest.resolve() == source.resolve():
        raise ValueError("the backup destination is the database itself")
    if dest.is_dir():
        raise ValueError(f"{dest} is a folder; give a file path, e.g. {dest / 'studybot.db'}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(dest)
    except (OSError, sqlite3.Error) as exc:
        raise ValueError(f"cannot write {dest}: {exc}") from None
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the source's own errors
            try:
                src.backup(dst)
            except sqlite3.Error as exc:  # the source read fine: the destination is the problem
                raise ValueError(f"cannot write {dest}: {exc}") from None
        finally:
            src.close()
    finally:
        dst.close()


class _Opening:
    """What ``Store.open`` returns: await it, or use it with ``async with``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._store: Store | None = None

    def __await__(self) -> Generator[Any, None, Store]:
        return Store._create(self._path).__await__()

    async def __aenter__(self) -> Store:
        self._store = await Store._create(self._path)
        return self._store

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.close()


class Store:
    """The quiz database: explicit methods, no SQL outside this package."""

    def __init__(
        self,
        path: Path,
        writer: Writer,
        reader: aiosqlite.Connection,
        last_run_id: int,
        last_answer_id: int,
        lock: TextIO | None = None,
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._last_run_id = last_run_id
        self._last_answer_id = last_answer_id
        self._names: dict[int, str] = {}
        self._guilds: set[int] = {0}
        self._closed = False
        self._lock = lock  # this process's claim on the database (bot.store.lock)
        writer.on_committed = self._remember_committed

    @staticmethod
    def open(path: Path) -> _Opening:
        """Open (creating and migrating) the database at ``path``.

        Use ``async with Store.open(path) as store:`` or ``store = await
        Store.open(path)`` followed by ``await store.close()``.
        """
        return _Opening(path)

    @classmethod
    async def _create(cls, path: Path) -> Store:
        path = Path(path)
        # Before the folder is made: a file where a folder should be is named as such.
        await asyncio.to_thread(check_database_path, path)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        lock = await asyncio.to_thread(lock_database, path)  # before reading the ids it hands out
        try:
            last_run, last_answer = await asyncio.to_thread(prepare, path)
            writer = Writer(path)
            await writer.start()
            try:
                reader = await aiosqlite.connect(path)
                await reader.execute("PRAGMA query_only = ON")
            except BaseException:
                await writer.close()
                raise
        except BaseException:
            unlock_database(lock)
            raise
        return cls(path, writer, reader, last_run, last_answer, lock)

    async def close(self) -> None:
        """Write everything queued, then stop the writer and close the read connection."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._writer.close()
        finally:
            try:
                await self._reader.close()
            finally:
                unlock_database(self._lock)

    def _remember_committed(self, ops: list[Op], outcomes: list[object]) -> None:
        for op, outcome in zip(ops, outcomes, strict=True):
            if type(op) is tuple or isinstance(outcome, BaseException):
                continue  # an answer (the most common op) or a failed write
            if isinstance(op, EnsureUser):
                self._names[op.user_id] = op.name
            elif isinstance(op, EnsureGuild):
                self._guilds.add(op.guild_id)

    def _user_op(self, user_id: int, name: str, at: int) -> EnsureUser | None:
        if self._names.get(user_id) == name:
            return None
        return EnsureUser(user_id, name, at)

    def _submit(self, *ops: Op | None) -> asyncio.Future[Any]:
        return self._writer.submit(*(op for op in ops if op is not None))

    async def _write(self, *ops: Op | None) -> Any:
        return await self._submit(*ops)

    # --- writes -----------------------------------------------------------------

    async def start_run(self, run: RunStart) -> int:
        """Create a quiz run and return its id once committed.

        Raise ``ConflictError`` if it is a round and the channel already has one open.
        """
        return cast(int, await self._start(run, check_completion=False))

    async def start_personal_run(
        self, run: RunStart, *, resume: bool = True
    ) -> tuple[int, bool, bool]:
        """Start a personal quiz run; return its id, whether its owner had completed the
        lesson, and whether the run is an unfinished one of theirs, continued.

        With ``resume``, an unfinished personal run of the owner's for the lesson
        in the guild is continued rather than a second one opened. Both checks (a
        counted run makes the new run practice) are made in the transaction that
        creates the run, so two quick starts continue one run, not open two.
        """
        run_id, completed, resumed = await self._start(run, check_completion=True, resume=resume)
        return int(run_id), bool(completed), bool(resumed)

    def _start(
        self, run: RunStart, *, check_completion: bool, resume: bool = False
    ) -> asyncio.Future[Any]:
        self._last_run_id += 1
        guild = None if run.guild_id in self._guilds else EnsureGuild(run.guild_id, run.started_at)
        user = self._user_op(run.owner_id, run.owner_name, run.started_at)
        start = StartRun(self._last_run_id, run, check_completion, resume)
        return self._submit(guild, user, start)

    async def set_round_state(
        self, run_id: int, *, message_id: int | None, current_question: int | None
    ) -> None:
        """Store a round's message id and open question (position), for recovery."""
        await self._write(SetRoundState(run_id, message_id, current_question))

    async def make_private(self, run_id: int) -> None:
        """Mark a run private (a start asking for privacy continued it), once committed."""
        await self._write(MakePrivate(run_id))

    def record_answer(self, answer: AnswerRecord) -> asyncio.Future[int]:
        """Queue one answer; the returned future gives its id once its transaction is committed.

        Await the future (``await store.record_answer(a)``). It raises
        ``ConflictError`` if the user already answered that question of that run.
        The answer is queued when this returns, so it is written even if the
        caller stops waiting; a plain future (no task) keeps the hot path cheap.
        """
        self._last_answer_id += 1
        if self._names.get(answer.user_id) == answer.user_name:
            return self._writer.submit_one(answer_row(self._last_answer_id, answer))
        user = EnsureUser(answer.user_id, answer.user_name, answer.created_at)
        return self._submit(user, answer_row(self._last_answer_id, answer))

    async def finish_run(self, finish: RunFinish) -> bool:
        """Close a run and add its totals; return whether it counted for the leaderboard.

        Finishing is idempotent, result included, so the writer sends a finish
        lost with a worker that died once more.
        """
        return cast(bool, await self._write(FinishRun(finish)))

    async def reset_scores(self, guild_id: int) -> None:
        """Delete a guild's leaderboard scores, so every lesson's next run counts again.

        Deleting twice deletes nothing more, so a lost reset is sent once more too.
        """
        await self._write(ResetScores(guild_id))

    async def set_meta(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` in the meta table."""
        await self._write(SetMeta(key, value))

    async def remember_user(self, user_id: int, name: str) -> None:
        """Store a user's latest display name."""
        op = self._user_op(user_id, name, _now_ms())
        if op is not None:
            await self._write(op)

    # --- reads ------------------------------------------------------------------

    async def _fetchall(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        rows = await self._reader.execute_fetchall(sql, params)
        return cast(list[tuple[Any, ...]], list(rows))

    async def _fetchone(self, sql: str, params: tuple[object, ...]) -> tuple[Any, ...] | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def get_meta(self, key: str) -> str | None:
        """Return the meta value for ``key``, or None."""
        row = await self._fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def user_name(self, user_id: int) -> str | None:
        """Return the latest display name stored for ``user_id``."""
        row = await self._fetchone("SELECT name FROM users WHERE id = ?", (user_id,))
        return None if row is None else str(row[0])

    async def has_completed(self, guild_id: int, user_id: int, lesson_id: str) -> bool:
        """Return whether the user already has a counted run of the lesson in the guild."""
        row = await self._fetchone(
            "SELECT 1 FROM lesson_completions WHERE guild_id = ? AND user_id = ? AND lesson_id = ?",
            (guild_id, user_id, lesson_id),
        )
        return row is not None

    async def leaderboard(
        self, guild_id: int, lesson_id: str, week: int, limit: int = 10
    ) -> list[LeaderboardEntry]:
        """Return the top ``limit`` scores of a board (an index range read)."""
        rows = await self._fetchall(LEADERBOARD, (guild_id, lesson_id, week, limit))
        entries: list[LeaderboardEntry] = []
        for position, (user_id, name, points) in enumerate(rows, start=1):
            rank = entries[-1].rank if entries and entries[-1].points == points else position
            entries.append(LeaderboardEntry(rank, int(user_id), str(name), int(points)))
        return entries

    async def rank_of(
        self, guild_id: int, user_id: int, lesson_id: str, week: int
    ) -> LeaderboardEntry | None:
        """Return the user's entry on a board (even far below the top), or None if absent."""
        row = await self._fetchone(RANK_OF, (guild_id, lesson_id, week, user_id))
        if row is None:
            return None
        name, points, above = row
        return LeaderboardEntry(int(above) + 1, user_id, str(name), int(points))

    async def user_stats(
        self, guild_id: int, user_id: int, today: int, hardest: int = 3
    ) -> UserStats:
        """Return a user's progress in a guild; a streak not touched since yesterday is 0."""
        totals = await self._fetchone(
            "SELECT runs, answered, correct FROM user_stats WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        streak = await self._fetchone(
            "SELECT current, best, last_day FROM streaks WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        done = await self._fetchone(
            "SELECT count(*) FROM lessons_done WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        missed = await self._fetchall(
            "SELECT lesson_id, question_index, attempts, misses FROM user_question_stats "
            "WHERE guild_id = ? AND user_id = ? AND misses > 0 "
            "ORDER BY misses DESC, CAST(misses AS REAL) / attempts DESC, lesson_id, "
            "question_index LIMIT ?",
            (guild_id, user_id, hardest),
        )
        runs, answered, correct = totals or (0, 0, 0)
        current, best, last_day = streak or (0, 0, -2)
        if last_day < today - 1:
            current = 0
        return UserStats(
            guild_id=guild_id,
            user_id=user_id,
            name=await self.user_name(user_id),
            lessons_done=int(done[0]) if done else 0,
            runs=int(runs),
            answered=int(answered),
            correct=int(correct),
            current_streak=int(current),
            best_streak=int(best),
            hardest=tuple(MissedQuestion(str(a), int(b), int(c), int(d)) for a, b, c, d in missed),
        )

    async def question_stats(self, guild_id: int, lesson_id: str) -> list[QuestionStats]:
        """Return, per question of the lesson answered in the guild, each option's count."""
        rows = await self._fetchall(
            "SELECT question_index, choice, count FROM choice_counts "
            "WHERE guild_id = ? AND lesson_id = ? ORDER BY question_index, choice",
            (guild_id, lesson_id),
        )
        by_question: dict[int, dict[str, int]] = {}
        for index, choice, count in rows:
            by_question.setdefault(int(index), {})[str(choice)] = int(count)
        return [QuestionStats(index, counts) for index, counts in by_question.items()]

    async def export_answers_csv(self, guild_id: int) -> AnswersExport:
        """Return every answer given in the guild as CSV text (header row first)."""
        rows = await self._fetchall(EXPORT, (guild_id,))
        return AnswersExport(await asyncio.to_thread(self._format_csv, rows), len(rows))

    @staticmethod
    def _format_csv(rows: list[tuple[Any, ...]]) -> str:
        out = io.StringIO()
        # CRLF, as RFC 4180 has it: the writer then quotes any cell holding a \r or
        # a \n (with "\n" alone, a \r in a name went out bare and split its row).
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(EXPORT_HEADER)
        for row in rows:
            answered_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row[1] / 1000))
            cells = [row[0], answered_at, *row[2:5], row[5] + 1, *row[6:]]
            writer.writerow([_csv_cell(c) for c in cells])
        return out.getvalue()

    async def unfinished_rounds(self) -> list[UnfinishedRound]:
        """Return every round left open, with its players' totals from the recorded answers."""
        rounds = await self._fetchall(
            "SELECT id, guild_id, channel_id, message_id, owner_id, lesson_id, questions, "
            "current_question, started_at FROM quiz_runs "
            "WHERE kind = 'round' AND finished_at IS NULL ORDER BY id",
            (),
        )
        found: list[UnfinishedRound] = []
        for run_id, guild, channel, message, owner, lesson, questions, current, started in rounds:
            answers = await self._fetchall(
                "SELECT a.user_id, coalesce(u.name, a.user_id), a.question_index, a.correct, "
                "a.points, a.choice, a.answer_ms "
                "FROM answers AS a LEFT JOIN users AS u ON u.id = a.user_id "
                "WHERE a.run_id = ? ORDER BY a.id",
                (run_id,),
            )
            order = tuple(int(q) for q in str(questions).split(",") if q)
            position = None if current is None else int(current)
            open_index = order[position] if position is not None and position < len(order) else None
            per_user: dict[int, list[tuple[int, bool, int]]] = {}
            names: dict[int, str] = {}
            open_answers: list[tuple[int, str, bool, int]] = []
            for user_id, name, index, correct, points, choice, answer_ms in answers:
                per_user.setdefault(int(user_id), []).append((int(index), bool(correct), points))
                names[int(user_id)] = str(name)
                if int(index) == open_index:
                    open_answers.append((int(user_id), str(choice), bool(correct), int(answer_ms)))
            players = tuple(
                PlayerTotals(
                    user_id=user_id,
                    points=sum(p for _, _, p in given),
                    answered=len(given),
                    correct=sum(1 for _, c, _ in given if c),
                    questions=tuple((i, c) for i, c, _ in given),
                )
                for user_id, given in per_user.items()
            )
            found.append(
                UnfinishedRound(
                    run_id=int(run_id),
                    guild_id=int(guild),
                    channel_id=int(channel),
                    message_id=None if message is None else int(message),
                    owner_id=int(owner),
                    lesson_id=str(lesson),
                    questions=order,
                    current_question=position,
                    started_at=int(started),
                    players=players,
                    names=names,
                    open_answers=tuple(open_answers),
                )
            )
        return found

    async def latest_personal_run(self, guild_id: int, user_id: int) -> int | None:
        """Return the id of the user's latest personal quiz or review in the guild, or None."""
        row = await self._fetchone(
            "SELECT max(id) FROM quiz_runs WHERE guild_id = ? AND owner_id = ? AND kind != 'round'",
            (guild_id, user_id),
        )
        return None if row is None or row[0] is None else int(row[0])

    async def saved_run(self, run_id: int) -> SavedRun | None:
        """Return a personal quiz or review with its answers in order, or None (rounds too)."""
        row = await self._fetchone(
            "SELECT r.kind, r.guild_id, r.owner_id, coalesce(u.name, r.owner_id), r.lesson_id, "
            "r.questions, r.finished_at IS NOT NULL, r.counts_for_leaderboard, r.private, "
            "r.quiz_version "
            "FROM quiz_runs AS r LEFT JOIN users AS u ON u.id = r.owner_id "
            "WHERE r.id = ? AND r.kind != 'round'",
            (run_id,),
        )
        if row is None:
            return None
        kind, guild, owner, name, lesson, questions, finished, counted, private, version = row
        answers = await self._fetchall(
            "SELECT id, question_index, choice, correct, hint_used, points FROM answers "
            "WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        return SavedRun(
            run_id=run_id,
            kind=kind,
            guild_id=int(guild),
            owner_id=int(owner),
            owner_name=str(name),
            lesson_id=str(lesson),
            questions=tuple(int(q) for q in str(questions).split(",") if q),
            finished=bool(finished),
            counts_for_leaderboard=bool(counted),
            private=bool(private),
            quiz_version=None if version is None else str(version),
            answers=tuple(
                SavedAnswer(int(a), int(i), str(c), bool(ok), bool(h), int(p))
                for a, i, c, ok, h, p in answers
            ),
        )

    # --- maintenance --------------------------------------------------------------

    async def backup(self, dest: Path) -> None:
        """Write a consistent copy of the database to ``dest`` (online, in a thread)."""
        await asyncio.to_thread(backup_database, self.path, Path(dest))

    @property
    def writer_pid(self) -> int | None:
        """Return the writer process's id (None while a new one is being started)."""
        return self._writer.worker_pid

    @property
    def write_batches(self) -> tuple[int, int]:
        """Return (transactions committed, operations written) so far."""
        return self._writer.batches, self._writer.ops_written
