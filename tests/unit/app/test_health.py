"""The heartbeat file behind the container healthcheck."""

from __future__ import annotations

from pathlib import Path

from bot.health import Heartbeat, check_heartbeat, write_heartbeat


def test_fresh_connected_heartbeat_is_healthy(tmp_path: Path) -> None:
    """A recent heartbeat from a connected bot with a writable database is healthy."""
    path = tmp_path / "health.json"
    write_heartbeat(path, Heartbeat(written_at=1000.0, connected=True, database_writable=True))
    healthy, reason = check_heartbeat(path, now=1010.0)
    assert healthy, reason


def test_stale_disconnected_or_readonly_is_unhealthy(tmp_path: Path) -> None:
    """Old, disconnected or read-only heartbeats each fail with their own reason."""
    path = tmp_path / "health.json"
    write_heartbeat(path, Heartbeat(written_at=1000.0, connected=True, database_writable=True))
    assert check_heartbeat(path, now=2000.0) == (
        False,
        "heartbeat is 1000s old: the bot is stuck or stopped",
    )
    write_heartbeat(path, Heartbeat(written_at=1000.0, connected=False, database_writable=True))
    assert not check_heartbeat(path, now=1001.0)[0]
    write_heartbeat(path, Heartbeat(written_at=1000.0, connected=True, database_writable=False))
    assert "not writable" in check_heartbeat(path, now=1001.0)[1]


def test_missing_or_garbage_heartbeat(tmp_path: Path) -> None:
    """A missing or corrupt file is unhealthy with a one-line reason."""
    path = tmp_path / "health.json"
    assert not check_heartbeat(path)[0]
    path.write_text("{not json")
    healthy, reason = check_heartbeat(path)
    assert not healthy and "unreadable" in reason
