"""The scoring rules, in one place so the help text, the tests and the game agree.

A correct answer is worth ``CORRECT_POINTS``; a correct answer after the hint
was shown is worth half. In a timed round a correct answer also earns a speed
bonus that falls linearly from ``MAX_SPEED_BONUS`` (answered the instant the
question opened) to 0 (answered as the window closes). A wrong answer is 0.
"""

from __future__ import annotations

CORRECT_POINTS = 100
HINTED_POINTS = CORRECT_POINTS // 2
MAX_SPEED_BONUS = 50


def speed_bonus(elapsed: float, window: float) -> int:
    """Return the bonus for answering ``elapsed`` seconds into a ``window``-second question."""
    if window <= 0:
        return 0
    remaining = 1.0 - max(0.0, elapsed) / window
    return round(MAX_SPEED_BONUS * min(1.0, max(0.0, remaining)))


def points_for(
    correct: bool,
    *,
    hint_used: bool = False,
    elapsed: float | None = None,
    window: float | None = None,
) -> int:
    """Return the points for one answer; pass ``elapsed`` and ``window`` for a timed round."""
    if not correct:
        return 0
    points = HINTED_POINTS if hint_used else CORRECT_POINTS
    if elapsed is not None and window is not None:
        points += speed_bonus(elapsed, window)
    return points


def describe_rules() -> str:
    """Return the scoring rules as one line of text for help screens."""
    return (
        f"A correct answer scores {CORRECT_POINTS} points ({HINTED_POINTS} after a hint); "
        f"in a timed round a correct answer also earns up to {MAX_SPEED_BONUS} bonus points "
        "for speed, falling to 0 as the time runs out. A wrong answer scores 0."
    )
