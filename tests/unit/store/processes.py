"""Process helpers shared by the crash test and the writer-process tests."""

from __future__ import annotations

from pathlib import Path


def gone(pid: int) -> bool:
    """Return whether ``pid`` has exited (a zombie waiting to be reaped counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
