"""UTC day and week numbers for streaks and weekly leaderboards.

Days count from 1970-01-01; weeks start on Monday and count from the week of
1969-12-29, so week 0 is never a real current week and can mean "all time".
"""

from __future__ import annotations

MS_PER_DAY = 86_400_000


def day_number(unix_ms: int) -> int:
    """Return the UTC day of ``unix_ms`` as days since 1970-01-01."""
    return unix_ms // MS_PER_DAY


def week_number(unix_ms: int) -> int:
    """Return the Monday-based UTC week of ``unix_ms`` (1970-01-01 was a Thursday)."""
    return (day_number(unix_ms) + 3) // 7
