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


def lock_path(path: Path) -> Path:
    """Return the lock file that guards the database at ``path``."""
    return path.with_name(path.name + ".lock")


def lock_database(path: Path) -> TextIO | None:
    """Take the database's lock for this process; keep the returned file open to hold it.

    Raises ``DatabaseInUseError`` at once (no waiting) if another holds it.
    """
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
