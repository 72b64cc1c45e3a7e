"""Tests of the scoring rules."""

from __future__ import annotations

from bot.quiz.calendar import day_number, week_number
from bot.quiz.scoring import (
    CORRECT_POINTS,
    HINTED_POINTS,
    MAX_SPEED_BONUS,
    points_for,
    speed_bonus,
)


def test_correct_answer_scores_full_points() -> None:
    """A correct answer without a hint scores 100."""
    assert points_for(True) == CORRECT_POINTS == 100


def test_hinted_correct_answer_scores_half() -> None:
    """A correct answer after the hint scores half."""
    assert points_for(True, hint_used=True) == HINTED_POINTS == 50


def test_wrong_answer_scores_nothing_even_when_fast() -> None:
    """A wrong answer scores 0, with or without hint or speed."""
    assert points_for(False) == 0
    assert points_for(False, hint_used=True) == 0
    assert points_for(False, elapsed=0.0, window=20.0) == 0


def test_speed_bonus_falls_linearly_over_the_window() -> None:
    """The bonus is the maximum at 0 s, half at mid-window and 0 at the end."""
    assert speed_bonus(0.0, 20.0) == MAX_SPEED_BONUS
    assert speed_bonus(10.0, 20.0) == MAX_SPEED_BONUS // 2
    assert speed_bonus(20.0, 20.0) == 0
    assert speed_bonus(5.0, 20.0) > speed_bonus(15.0, 20.0)


def test_speed_bonus_is_clamped_outside_the_window() -> None:
    """A late or negative time never gives a negative or oversized bonus."""
    assert speed_bonus(30.0, 20.0) == 0
    assert speed_bonus(-1.0, 20.0) == MAX_SPEED_BONUS
    assert speed_bonus(1.0, 0.0) == 0


def test_timed_correct_answer_adds_the_bonus() -> None:
    """A correct answer in a round scores the base plus the speed bonus."""
    assert points_for(True, elapsed=5.0, window=10.0) == CORRECT_POINTS + MAX_SPEED_BONUS // 2


def test_weeks_start_on_monday() -> None:
    """Sunday and the Monday after fall in different weeks; Monday to Sunday share one."""
    monday = 4 * 86_400_000  # 1970-01-05 was a Monday
    sunday = monday + 6 * 86_400_000
    assert week_number(monday) == week_number(sunday)
    assert week_number(sunday + 86_400_000) == week_number(monday) + 1
    assert week_number(monday - 1) == week_number(monday) - 1
    assert day_number(monday) == 4
