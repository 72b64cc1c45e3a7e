"""The crash test: SIGKILL a process writing answers; every confirmed answer survives whole."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.store.processes import gone

REPO = Path(__file__).resolve().parents[3]
WRITER = Path(__file__).with_name("crash_writer.py")
CONFIRMED_BEFORE_KILL = 3000
DEADLINE_SECONDS = 60.0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_loses_no_confirmed_answer_and_leaves_none_half_written(tmp_path: Path) -> None:
    """After SIGKILL mid-stream, every answer the writer confirmed is in the database, whole."""
    path = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while len(lines) < CONFIRMED_BEFORE_KILL and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
        child.send_signal(signal.SIGKILL)
        rest, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL, err
    lines.extend(rest.splitlines())
    assert lines and lines[0].startswith("run ")
    confirmed = {int(a): int(u) for a, u in (line.split() for line in lines[1:] if line.strip())}
    assert len(confirmed) >= min(CONFIRMED_BEFORE_KILL - 1, 100)
    # The writer process sees its input end, finishes the batch in hand and exits.
    writer_pid = int(lines[0].split()[3])
    deadline = time.monotonic() + 30
    while not gone(writer_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(writer_pid), "the writer process outlived the killed bot"

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = dict(db.execute("SELECT id, user_id FROM answers"))
        missing = {a: u for a, u in confirmed.items() if stored.get(a) != u}
        assert not missing, f"{len(missing)} confirmed answers lost"
        # The choice counts are bumped in the same transaction as the answers: if any
        # transaction were half-written, the totals would disagree.
        counted = db.execute("SELECT coalesce(sum(count), 0) FROM choice_counts").fetchone()[0]
        assert counted == len(stored)
        incomplete = db.execute(
            "SELECT count(*) FROM answers WHERE choice IS NULL OR points IS NULL "
            "OR user_id NOT IN (SELECT id FROM users)"
        ).fetchone()[0]
        assert incomplete == 0
