"""A heartbeat file that lets a container healthcheck see inside the bot.

Docker runs the healthcheck as a separate process, which cannot ask the
running bot anything; so the bot writes a small JSON file every few seconds
(only while the gateway is connected and a database write succeeded), and
``studybot health`` reads it and judges its age.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HEARTBEAT_INTERVAL = 15.0
STALE_AFTER = 60.0


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What the bot last reported about itself."""

    written_at: float
    connected: bool
    database_writable: bool
    latency_ms: float | None = None
    guilds: int = 0


def health_path(database_path: Path) -> Path:
    """Return where the heartbeat lives: next to the database, on the same volume."""
    return database_path.with_name("health.json")


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Write the heartbeat atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(beat)), encoding="utf-8")
    os.replace(tmp, path)


def check_heartbeat(path: Path, *, now: float | None = None) -> tuple[bool, str]:
    """Return (healthy, one-line reason) for the heartbeat at ``path``."""
    now = time.time() if now is None else now
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        beat = Heartbeat(**data)
    except FileNotFoundError:
        return False, f"no heartbeat at {path}: the bot has not connected yet"
    except (OSError, ValueError, TypeError) as exc:
        return False, f"unreadable heartbeat at {path}: {exc}"
    age = now - beat.written_at
    if age > STALE_AFTER:
        return False, f"heartbeat is {age:.0f}s old: the bot is stuck or stopped"
    if not beat.connected:
        return False, "the bot is not connected to Discord"
    if not beat.database_writable:
        return False, "the database is not writable"
    latency = f", latency {beat.latency_ms:.0f} ms" if beat.latency_ms is not None else ""
    return True, f"healthy: connected to {beat.guilds} guild(s){latency}, database writable"
