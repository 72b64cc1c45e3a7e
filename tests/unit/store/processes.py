"""Process helpers shared by the crash test and the writer-process tests."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from bot.store.database import Store
from bot.store.writer import WorkerProcess

DYING_WORKER = "tests.unit.store.dying_worker"


def gone(pid: int) -> bool:
    """Return whether ``pid`` has exited (a zombie waiting to be reaped counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True  # reaped before the open, or between the open and the read (ESRCH)
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    """Wait (a bounded time) until ``pid`` has exited; return whether it has."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        await asyncio.sleep(0.02)
    return gone(pid)


async def kill_writer(store: Store) -> int:
    """SIGKILL the store's writer process and wait until the store has noticed; return its pid."""
    pid = store.writer_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert await wait_gone(pid)
    for _ in range(1500):  # up to 15 s, until the reply task notices the end of the pipe
        if store.writer_pid is None:
            break
        await asyncio.sleep(0.01)
    assert store.writer_pid is None, "the store did not notice its writer died"
    return pid


async def writer_dies_after_committing(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    what: str = "answer",
    *,
    once: bool = False,
    before: bool = False,
) -> None:
    """Make the store's writers die after committing ``what`` (answer, finish, reset, start).

    They die before replying; with ``before``, before committing it either.
    The current writer is killed first, so the next write starts one of those;
    with ``once`` only that one dies, and the writers after it work.
    ``monkeypatch.setattr(WorkerProcess, "MODULE", ...)`` (or the test's end) undoes it.
    """
    await kill_writer(store)
    monkeypatch.setenv("DIE_AFTER", what)
    if before:
        monkeypatch.setenv("DIE_BEFORE", "1")
    if once:
        mark = store.path.parent / f"died-once-{time.monotonic_ns()}"
        monkeypatch.setenv("DIE_ONCE", str(mark))
    monkeypatch.setattr(WorkerProcess, "MODULE", DYING_WORKER)
