"""Apply the numbered SQL migrations in order, once each, and refuse a newer database.

The ``.sql`` files ship inside the package (``bot/store/sql/``) and are read
through ``importlib.resources``, so an editable install, ``pip install .`` and
the Docker image find the same files. Each migration runs in its own
transaction together with the row that records it in ``schema_version``: a
crash mid-migration leaves the database at the previous version, never between.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)
"""


class DatabaseTooNewError(RuntimeError):
    """The database was migrated by a newer studybot than this one."""

    def __init__(self, path: str, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"The database {path} is at schema version {found}, but this studybot only "
            f"knows migrations up to {known}. Upgrade studybot, or point it at a backup "
            "made by this version; the database was left untouched."
        )


class MigrationError(RuntimeError):
    """A migration file is misnamed or failed to apply."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def load_migrations() -> tuple[Migration, ...]:
    """Return the shipped migrations, ordered by version, checking their numbering."""
    found: list[Migration] = []
    for entry in resources.files("bot.store").joinpath("sql").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = MIGRATION_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"{entry.name}: migration files are named NNNN_reason.sql")
        found.append(
            Migration(int(match.group(1)), entry.name[:-4], entry.read_text(encoding="utf-8"))
        )
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{migration.name}: expected migration number {expected:04d} (no gaps)"
            )
    return tuple(found)


def current_version(conn: sqlite3.Connection) -> int:
    """Return the highest applied migration version (0 for an empty database)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def apply_migrations(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration] | None = None,
    *,
    label: str = "database",
) -> list[Migration]:
    """Apply every migration newer than the database, each in its own transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Returns the
    migrations applied now; raises ``DatabaseTooNewError`` before touching a
    database whose version is above the newest known migration.
    """
    if conn.in_transaction:
        raise MigrationError("apply_migrations needs a connection outside a transaction")
    chosen = tuple(load_migrations() if migrations is None else migrations)
    known = chosen[-1].version if chosen else 0
    found = current_version(conn)
    if found > known:
        raise DatabaseTooNewError(label, found, known)
    conn.execute(SCHEMA_VERSION_TABLE)
    applied: list[Migration] = []
    for migration in chosen:
        if migration.version <= found:
            continue
        script = (
            "BEGIN IMMEDIATE;\n"
            f"{migration.sql}\n;\n"
            "INSERT INTO schema_version (version, name, applied_at) "
            f"VALUES ({migration.version}, '{migration.name}', {int(time.time() * 1000)});\n"
            "COMMIT;\n"
        )
        try:
            conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(f"{migration.name} failed: {exc}") from exc
        applied.append(migration)
    return applied


def migrate(path: Path) -> list[Migration]:
    """Open the database at ``path`` (creating it and its directory) and migrate it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        return apply_migrations(conn, label=str(path))
    finally:
        conn.close()
