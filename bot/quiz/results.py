"""Plain results the quiz service hands to front ends, which only render them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from bot.lessons.model import Choice


@dataclass(frozen=True, slots=True)
class QuizSummary:
    """The end of a personal quiz (or review): the score and what to review."""

    run_id: int
    lesson_id: str
    lesson_title: str
    kind: str
    score: int
    max_score: int
    correct: int
    total: int
    missed: tuple[int, ...]
    counts_for_leaderboard: bool

    @property
    def practice_note(self) -> str | None:
        """Return why the score is not on the leaderboard, or None if it is."""
        if self.counts_for_leaderboard:
            return None
        if self.kind == "review":
            return "Review runs are practice: they do not change the leaderboard."
        return "Practice run: only your first completed run of a lesson counts for the leaderboard."


class AnswerResult(NamedTuple):
    """What happened to one personal-quiz answer; ``recorded`` is True only after commit.

    A tuple, like the other per-answer records: it is built once per answer on
    the hot path, where a frozen dataclass costs three times as much to make.
    """

    run_id: int
    answer_id: int
    position: int
    question_index: int
    choice: str
    correct: bool
    correct_choice: Choice
    explanation: str
    steps: tuple[int, ...]
    hint_used: bool
    points: int
    recorded: bool
    finished: bool
    summary: QuizSummary | None = None


class RoundAnswerReceipt(NamedTuple):
    """A round answer accepted and committed; correctness is revealed when the question closes.

    A tuple, like ``AnswerResult``: one is built per answer on the hot path.
    """

    run_id: int
    answer_id: int
    position: int
    choice: str
    recorded: bool


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A round question just opened: what to show and when it closes."""

    run_id: int
    position: int
    number: int
    total: int
    question_index: int
    seconds: int
    closes_at: float


@dataclass(frozen=True, slots=True)
class FastestAnswer:
    """The quickest correct answer to a round question."""

    user_id: int
    name: str
    answer_ms: int


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """A closed round question: the answer, how many chose each option, the fastest."""

    run_id: int
    position: int
    question_index: int
    correct_choice: Choice
    counts: Mapping[str, int]
    fastest: FastestAnswer | None
    points: Mapping[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Return how many answers the question received."""
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Standing:
    """One player's place in a round; equal points share a rank."""

    rank: int
    user_id: int
    name: str
    points: int
    correct: int
    answered: int


@dataclass(frozen=True, slots=True)
class RoundStandings:
    """A finished round: who scored what, best first, and the message that showed it."""

    run_id: int
    guild_id: int
    channel_id: int
    lesson_id: str
    standings: tuple[Standing, ...]
    message_id: int | None = None
    asked: int = 0
    """How many questions the round put up: a player's "right" is out of these, so
    someone who skipped questions does not look perfect beside those who answered all."""
    total: int = 0
    """How many questions the round had."""
    interrupted: QuestionResult | None = None
    """For a round closed after a restart: the question that was open, counted from its
    stored answers, so its message can show the answer the players were scored on."""
