"""One studybot process per database: a lock file beside it, held while the store is open.

The store hands out run and answer ids from counters it reads once at start-up
(that is what lets an answer go to the writer without a round trip). A second
process on the same file would hand out the same ids: its runs would fail and
its answers would be refused as "already answered". The console and the bot
share a default path, so this is one command away; the lock turns it into a
clear message at start-up instead.

``flock`` is released by the kernel when the process ends, however it ends, so
a crash never leaves a stale lock behind. Where ``fcntl`` does not exist
(Windows) there is no lock.

The lock file is created beside whatever the path names, so the path is checked
first: a mistyped ``STUDYBOT_DATABASE=/etc/passwd`` must not leave
``/etc/passwd.lock`` behind, a name the system's own account tools lock with.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None  # type: ignore[assignment]


class DatabaseInUseError(OSError):
    """Another process has the database open through its own store."""

    def __init__(self, path: Path, holder: str) -> None:
        self.path = path
        self.holder = holder
        who = f" (pid {holder})" if holder.isdigit() else ""
        super().__init__(
            f"another studybot process{who}, a bot or a console, is using it. Stop that one "
            "first, or give this one its own database (STUDYBOT_DATABASE)."
        )

    def __str__(self) -> str:
        return str(self.args[0])


SQLITE_HEADER = b"SQLite format 3\x00"


class UnusableDatabasePathError(OSError):
    """The database path names something that is not, and cannot become, a SQLite file."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(reason)

    def __str__(self) -> str:
        return str(self.args[0])


def is_sqlite_file(path: Path) -> bool:
    """Return whether ``path`` is a regular file that is empty or starts with SQLite's header.

    SQLite turns an empty file into a new database, so one is as good as a
    database; anything else belongs to someone else and is left alone. A file
    that cannot be read raises its ``OSError`` (permission denied is not "not
    a database").
    """
    if not path.is_file():  # before opening: a FIFO would block the open
        return False
    with path.open("rb") as file:
        head = file.read(len(SQLITE_HEADER))
    return head in (b"", SQLITE_HEADER)


def check_database_path(path: Path) -> None:
    """Raise ``UnusableDatabasePathError`` unless ``path`` can hold the database; create nothing.

    The path must be absent (under folders that exist or can be made) or name
    a SQLite file. Checked before anything is created beside it or above it.
    """
    folder = path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UnusableDatabasePathError(path, f"{folder} is not a folder")
    if not os.path.lexists(path):
        return
    if path.is_dir():
        raise UnusableDatabasePathError(path, "it is a folder, not a database file")
    if not path.is_file():
        raise UnusableDatabasePathError(path, "it is not a regular file")
    if not is_sqlite_file(path):
        raise UnusableDatabasePathError(
            path, "it is not a SQLite database (it does not start with the SQLite header)"
        )


def lock_path(path: Path) -> Path:
    """Return the lock file that guards the database at ``path``."""
    return path.with_name(path.name + ".lock")


def lock_database(path: Path) -> TextIO | None:
    """Take the database's lock for this process; keep the returned file open to hold it.

    Raises ``DatabaseInUseError`` at once (no waiting) if another holds it, and
    ``UnusableDatabasePathError`` (creating no lock file) if ``path`` cannot be
    a database.
    """
    check_database_path(path)
    if fcntl is None:
        return None
    handle = open(lock_path(path), "a+", encoding="utf-8")  # noqa: SIM115 - held open on purpose
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read(20).strip()
        handle.close()
        raise DatabaseInUseError(path, holder) from None
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def unlock_database(handle: TextIO | None) -> None:
    """Give the lock back (closing the file releases it)."""
    if handle is not None:
        handle.close()
