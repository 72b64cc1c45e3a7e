"""Plain records that cross the store boundary, so callers never see SQL or rows.

The quiz service builds the write records and reads the result records; a
different store (a shared server database) would take and return the same.
Times are unix milliseconds; days and weeks are UTC, counted from 1970-01-01.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, NamedTuple, TypeVar

T = TypeVar("T")


def pickled_by_fields(cls: type[T]) -> type[T]:
    """Pickle a slots dataclass as a call of its constructor with its field values.

    Every write crosses to the writer process pickled, and dataclasses' own
    ``__getstate__`` walks ``fields()`` in Python for each object: a finished
    quiz run cost 21 us to pickle that way and 7 us this way, on the bot's core.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    get = operator.attrgetter(*names)

    def reduce(self: T) -> tuple[type[T], tuple[object, ...]]:
        values = get(self)
        return cls, (values if len(names) > 1 else (values,))

    cls.__reduce__ = reduce  # type: ignore[assignment, method-assign]
    return cls


class ConflictError(Exception):
    """A write broke a uniqueness rule: a second answer to a question, a second open round."""


class WriteNotConfirmedError(RuntimeError):
    """A write was not confirmed: the store lost it (its writer stopped) before COMMIT returned.

    It may or may not be on disk; the caller was never told it was recorded.
    """


RunKind = Literal["personal", "review", "round"]

NO_GUILD = 0
"""The guild id used for direct messages and the console."""

ALL_LESSONS = ""
"""The lesson id of the across-all-lessons leaderboard."""

ALL_TIME = 0
"""The week number of the all-time leaderboard."""


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RunStart:
    """A quiz run to create: a personal quiz, a review of missed questions, or a round."""

    kind: RunKind
    guild_id: int
    owner_id: int
    owner_name: str
    lesson_id: str
    questions: tuple[int, ...]
    started_at: int
    channel_id: int | None = None
    seconds: int | None = None
    private: bool = False
    """Shown only to its owner (a personal quiz started private): kept when it is continued."""
    quiz_version: str | None = None
    """Which version of the lesson's quiz the run asks (``bot.quiz.versions``)."""


class AnswerRecord(NamedTuple):
    """One answer to record: one per user, question and run (a tuple: cheap on the hot path)."""

    run_id: int
    guild_id: int
    lesson_id: str
    user_id: int
    user_name: str
    question_index: int
    choice: str
    correct: bool
    hint_used: bool
    answer_ms: int
    points: int
    created_at: int


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class PlayerTotals:
    """One participant's result in a finished run; ``questions`` is (index, correct) per answer."""

    user_id: int
    points: int
    answered: int
    correct: int
    questions: tuple[tuple[int, bool], ...] = ()


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RunFinish:
    """A run to close, with every participant's totals.

    A personal run counts for the leaderboard only if it is the first completed
    run of that lesson for that user in that guild (the store decides, in the
    same transaction); a review never counts; a round always counts.
    """

    run_id: int
    kind: RunKind
    guild_id: int
    lesson_id: str
    finished_at: int
    day: int
    week: int
    players: tuple[PlayerTotals, ...]


@dataclass(frozen=True, slots=True)
class SavedAnswer:
    """One answer of a stored run, as the run's owner gave it."""

    answer_id: int
    question_index: int
    choice: str
    correct: bool
    hint_used: bool
    points: int


@dataclass(frozen=True, slots=True)
class SavedRun:
    """A personal quiz or review as stored: enough to pick it up again after a restart."""

    run_id: int
    kind: RunKind
    guild_id: int
    owner_id: int
    owner_name: str
    lesson_id: str
    questions: tuple[int, ...]
    finished: bool
    counts_for_leaderboard: bool
    answers: tuple[SavedAnswer, ...]
    private: bool = False
    quiz_version: str | None = None


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    """A row of a leaderboard; equal points share a rank (1, 2, 2, 4)."""

    rank: int
    user_id: int
    name: str
    points: int


@dataclass(frozen=True, slots=True)
class MissedQuestion:
    """A question a user got wrong at least once."""

    lesson_id: str
    question_index: int
    attempts: int
    misses: int


@dataclass(frozen=True, slots=True)
class UserStats:
    """A user's progress in one guild."""

    guild_id: int
    user_id: int
    name: str | None
    lessons_done: int
    runs: int
    answered: int
    correct: int
    current_streak: int
    best_streak: int
    hardest: tuple[MissedQuestion, ...] = ()

    @property
    def accuracy(self) -> float:
        """Return the share of answers that were right (0.0 when nothing was answered)."""
        return self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True, slots=True)
class AnswersExport:
    """A guild's answers as CSV text, and how many there are (the text's lines are not:
    a name may hold a line break)."""

    csv: str
    answers: int


@dataclass(frozen=True, slots=True)
class QuestionStats:
    """How often each option of one question was chosen in a guild."""

    question_index: int
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Return how many answers the question received."""
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class UnfinishedRound:
    """A round left open (by a crash or restart), with what its answers add up to."""

    run_id: int
    guild_id: int
    channel_id: int
    message_id: int | None
    owner_id: int
    lesson_id: str
    questions: tuple[int, ...]
    current_question: int | None
    started_at: int
    players: tuple[PlayerTotals, ...]
    names: Mapping[int, str] = field(default_factory=dict)
    open_answers: tuple[tuple[int, str, bool, int], ...] = ()
    """``(user_id, choice, correct, answer_ms)`` of each answer to the question that was
    open, in order: its result (counts, the fastest) is shown when the round is closed."""
