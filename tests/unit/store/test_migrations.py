"""Tests of the migration runner: empty database, re-runs, upgrades, too-new databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.store import batch
from bot.store.database import Store
from bot.store.migrations import (
    DatabaseTooNewError,
    Migration,
    MigrationError,
    apply_migrations,
    current_version,
    load_migrations,
    migrate,
)

MIGRATIONS = load_migrations()


def connect(path: Path) -> sqlite3.Connection:
    """Open a database in autocommit mode, as the runner expects."""
    return sqlite3.connect(path, isolation_level=None)


def schema(path: Path) -> set[tuple[str, str]]:
    """Return (name, sql) of every table and index, to compare two databases' schemas."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL"
        )
        return {(name, sql) for name, sql in rows}


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    """The shipped files are 0001, 0002, ... and each has a header comment with a reason."""
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    for migration in MIGRATIONS:
        assert "-- reason:" in migration.sql and "-- revises:" in migration.sql


def test_empty_database_gets_every_migration(tmp_path: Path) -> None:
    """An empty file is migrated to the newest version and has the quiz tables."""
    applied = migrate(tmp_path / "new" / "quiz.db")
    assert [m.version for m in applied] == [m.version for m in MIGRATIONS]
    with connect(tmp_path / "new" / "quiz.db") as db:
        assert current_version(db) == MIGRATIONS[-1].version
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        recorded = db.execute("SELECT version, name FROM schema_version ORDER BY version")
        assert [tuple(r) for r in recorded] == [(m.version, m.name) for m in MIGRATIONS]
    assert {"answers", "quiz_runs", "scores", "streaks", "choice_counts", "meta"} <= tables


def test_migrating_twice_applies_nothing_the_second_time(tmp_path: Path) -> None:
    """A second run finds nothing to do and leaves one record per migration."""
    path = tmp_path / "quiz.db"
    migrate(path)
    before = schema(path)
    assert migrate(path) == []
    assert schema(path) == before
    with connect(path) as db:
        assert db.execute("SELECT count(*) FROM schema_version").fetchone() == (len(MIGRATIONS),)


@pytest.mark.parametrize("start", range(len(MIGRATIONS)))
def test_upgrade_from_every_earlier_version(tmp_path: Path, start: int) -> None:
    """A database at any earlier version upgrades to the same schema as a fresh one."""
    fresh = tmp_path / "fresh.db"
    migrate(fresh)
    old = tmp_path / "old.db"
    db = connect(old)
    apply_migrations(db, MIGRATIONS[:start])
    assert current_version(db) == start
    if start >= 1:  # some data written by the older version survives the upgrade
        db.execute("INSERT INTO users (id, name, updated_at) VALUES (1, 'Ann', 0)")
    applied = apply_migrations(db)
    assert [m.version for m in applied] == [m.version for m in MIGRATIONS[start:]]
    if start >= 1:
        assert db.execute("SELECT name FROM users WHERE id = 1").fetchone() == ("Ann",)
    db.close()
    assert schema(old) == schema(fresh)


def test_lessons_done_are_carried_over_even_where_a_reset_deleted_the_claim(
    tmp_path: Path,
) -> None:
    """0004 fills lessons_done from finished personal runs, not from leaderboard claims."""
    db = connect(tmp_path / "old.db")
    apply_migrations(db, MIGRATIONS[:3])
    db.execute("INSERT INTO users (id, name, updated_at) VALUES (1, 'Ann', 0)")
    runs = [  # id, kind, guild, lesson, finished_at
        (1, "personal", 5, "a", 100),
        (2, "personal", 5, "a", 50),  # the same lesson again: counted once, first finish kept
        (3, "personal", 5, "b", None),  # not finished
        (4, "review", 5, "c", 70),  # a review is not a lesson done
        (5, "personal", 6, "a", 80),  # another guild
    ]
    for run_id, kind, guild, lesson, finished in runs:
        db.execute(
            "INSERT INTO quiz_runs (id, kind, guild_id, owner_id, lesson_id, questions, "
            "started_at, finished_at) VALUES (?, ?, ?, 1, ?, '0', 0, ?)",
            (run_id, kind, guild, lesson, finished),
        )
    db.commit()  # no lesson_completions rows: as after /admin reset-scores
    apply_migrations(db)
    done = db.execute("SELECT * FROM lessons_done ORDER BY guild_id, lesson_id").fetchall()
    db.close()
    assert done == [(5, 1, "a", 50), (6, 1, "a", 80)]


def test_unfinished_runs_from_before_0005_are_taken_as_private(tmp_path: Path) -> None:
    """Whether an unfinished run was private was not kept before 0005: going on with it must
    never show its answers to a channel, so it is taken as private; finished runs are not."""
    db = connect(tmp_path / "old.db")
    apply_migrations(db, MIGRATIONS[:4])
    db.execute("INSERT INTO users (id, name, updated_at) VALUES (1, 'Ann', 0)")
    runs = [  # id, kind, finished_at, channel
        (1, "personal", None, None),
        (2, "personal", 100, None),
        (3, "review", None, None),
        (4, "round", None, 9),
    ]
    for run_id, kind, finished, channel in runs:
        db.execute(
            "INSERT INTO quiz_runs (id, kind, guild_id, channel_id, owner_id, lesson_id, "
            "questions, started_at, finished_at) VALUES (?, ?, 5, ?, 1, 'a', '0', 0, ?)",
            (run_id, kind, channel, finished),
        )
    db.commit()
    apply_migrations(db)
    rows = db.execute("SELECT id, private, quiz_version FROM quiz_runs ORDER BY id").fetchall()
    db.close()
    assert rows == [(1, 1, None), (2, 0, None), (3, 1, None), (4, 0, None)]


def test_database_newer_than_the_code_is_refused_untouched(tmp_path: Path) -> None:
    """A database at a version above the newest migration is refused with a clear message."""
    path = tmp_path / "quiz.db"
    migrate(path)
    newer = MIGRATIONS[-1].version + 1
    with connect(path) as db:
        db.execute("INSERT INTO schema_version VALUES (?, 'from_the_future', 0)", (newer,))
    before = schema(path)
    with pytest.raises(DatabaseTooNewError, match=f"version {newer}.*Upgrade studybot") as info:
        migrate(path)
    assert info.value.found == newer and info.value.known == MIGRATIONS[-1].version
    assert schema(path) == before


async def test_store_open_refuses_a_too_new_database(tmp_path: Path) -> None:
    """Opening the store on a too-new database raises DatabaseTooNewError."""
    path = tmp_path / "quiz.db"
    migrate(path)
    with connect(path) as db:
        db.execute("INSERT INTO schema_version VALUES (999, 'from_the_future', 0)")
    with pytest.raises(DatabaseTooNewError):
        await Store.open(path)


def test_failed_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    """A migration that fails halfway is rolled back and not recorded."""
    broken = Migration(
        len(MIGRATIONS) + 1,
        "9999_broken",
        "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);",
    )
    db = connect(tmp_path / "quiz.db")
    with pytest.raises(MigrationError, match="9999_broken"):
        apply_migrations(db, (*MIGRATIONS, broken))
    assert current_version(db) == MIGRATIONS[-1].version
    assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
    db.close()


async def test_store_opens_in_wal_mode_with_foreign_keys_and_full_sync(tmp_path: Path) -> None:
    """The store creates the data directory in WAL mode; write connections use FULL sync and FKs."""
    path = tmp_path / "a" / "b" / "quiz.db"
    async with Store.open(path):
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn = batch.connect(path)  # what the writer process opens
    try:
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)
    finally:
        conn.close()
    assert path.exists()
