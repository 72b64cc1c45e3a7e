"""One process per database: a second store on the same file is refused with a clear message."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.store.database import Store
from bot.store.lock import (
    SQLITE_HEADER,
    DatabaseInUseError,
    UnusableDatabasePathError,
    check_database_path,
    lock_path,
)

HOLD = """
import asyncio, sys
from pathlib import Path
from bot.store.database import Store

async def main() -> None:
    async with Store.open(Path(sys.argv[1])):
        print("open", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_second_store_on_the_same_file_is_refused(tmp_path: Path) -> None:
    """Two stores would hand out the same ids; the second is refused, naming the first's pid."""
    path = tmp_path / "quiz.db"
    async with Store.open(path):
        with pytest.raises(DatabaseInUseError) as refused:
            await Store.open(path)
        assert (
            f"another studybot process (pid {os.getpid()}), a bot or a console, is using it."
            in (str(refused.value))
        )
        assert "STUDYBOT_DATABASE" in str(refused.value)
        assert isinstance(refused.value, OSError)  # front ends report it as an unusable database
        async with Store.open(tmp_path / "other.db"):  # another file is free
            pass
    async with Store.open(path) as again:  # closing gave the lock back
        assert again.path == path
    assert lock_path(path).exists()


async def test_the_lock_of_a_killed_process_is_gone_with_it(tmp_path: Path) -> None:
    """A process SIGKILLed while holding the database leaves no stale lock."""
    path = tmp_path / "quiz.db"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD, str(path), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"open\n"
        with pytest.raises(DatabaseInUseError, match=f"pid {holder.pid}"):
            await Store.open(path)
    finally:
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    async with Store.open(path):
        pass


@pytest.mark.parametrize("kind", ["text file", "folder", "short file"])
async def test_a_path_that_is_not_a_database_gets_no_lock_file(tmp_path: Path, kind: str) -> None:
    """A database path naming someone else's file or a folder is refused before the lock exists."""
    path = tmp_path / "passwd"
    if kind == "folder":
        path.mkdir()
    elif kind == "short file":
        path.write_bytes(b"SQLite")
    else:
        path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(UnusableDatabasePathError) as refused:
        await Store.open(path)
    assert isinstance(refused.value, OSError)  # front ends report it as an unusable database
    assert not lock_path(path).exists()


async def test_an_empty_file_is_a_database_to_be(tmp_path: Path) -> None:
    """An empty file passes the check: SQLite makes a new database in it."""
    path = tmp_path / "new.db"
    path.touch()
    async with Store.open(path) as store:
        assert store.path == path
    assert path.read_bytes().startswith(SQLITE_HEADER)


def test_a_file_where_a_folder_should_be_is_named(tmp_path: Path) -> None:
    """A database under a file (/etc/passwd/x.db) says which part is not a folder."""
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0\n")
    with pytest.raises(UnusableDatabasePathError, match=f"^{passwd} is not a folder$"):
        check_database_path(passwd / "deeper" / "x.db")
    check_database_path(tmp_path / "new" / "deeper" / "x.db")  # folders that can be made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd"]


def test_a_database_that_cannot_be_read_is_reported_as_such_not_as_not_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied says so (root reads anything, so the refusal is simulated)."""
    database = tmp_path / "locked.db"
    database.write_bytes(b"SQLite format 3\x00")
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == database:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(PermissionError, match="Permission denied"):
        check_database_path(database)
