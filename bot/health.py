"""A heartbeat file that lets a container healthcheck see inside the bot.

Docker runs the healthcheck as a separate process, which cannot ask the
running bot anything; so the bot writes a small JSON file every few seconds
(whether the gateway is connected, whether the database took a write), and
``studybot health`` reads it and judges its age. A bot that stops says so in
the file at once, rather than looking healthy until its last beat is stale.
The file is named after the database, so shards whose databases share a
folder each have their own.
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
    stopped: bool = False
    """The bot shut down (the last beat it writes)."""


def health_path(database_path: Path) -> Path:
    """Return where the heartbeat lives: beside the database (same volume), named after it."""
    return database_path.with_name(database_path.name + ".health.json")


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Write the heartbeat atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
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
    if beat.stopped:
        return False, f"the bot stopped {age:.0f}s ago"
    if age > STALE_AFTER:
        return False, f"heartbeat is {age:.0f}s old: the bot is stuck or stopped"
    if not beat.connected:
        return False, "the bot is not connected to Discord"
    if not beat.database_writable:
        return False, "the database is not writable"
    latency = f", latency {beat.latency_ms:.0f} ms" if beat.latency_ms is not None else ""
    return True, f"healthy: connected to {beat.guilds} guild(s){latency}, database writable"
