"""The state of one person's quiz run: which question is up, hints taken, answers given."""

from __future__ import annotations

from dataclasses import dataclass

from bot.lessons.model import Lesson, QuizQuestion
from bot.quiz.results import AnswerResult, QuizSummary
from bot.quiz.versions import quiz_version
from bot.store.records import RunKind


@dataclass(eq=False, slots=True)
class PersonalQuiz:
    """One user's run through a lesson's quiz (or through the questions they missed).

    Front ends read it to render the current question; only ``QuizService``
    changes it. ``questions`` are indexes into ``lesson.quiz``; ``position`` is
    the place of the current question in ``questions``: the number of answers given.
    """

    run_id: int
    kind: RunKind
    guild_id: int
    owner_id: int
    owner_name: str
    lesson: Lesson
    questions: tuple[int, ...]
    practice: bool
    shown_at: float
    hinted: tuple[int, ...] = ()
    """Positions whose hint was shown."""
    points: tuple[int, ...] = ()
    """Points of each answer given so far, in order (answer i is to ``questions[i]``)."""
    right: tuple[bool, ...] = ()
    """Whether each answer given so far was correct, in order."""
    last: AnswerResult | None = None
    """The latest answer's full result, shown with the next question.

    A quiz is held for hours, so what it keeps is walked by the garbage
    collector's passes (which stop the event loop) again and again: one
    result object per answer made them grow with every answer ever given.
    A plain tuple of ints or bools is dropped from the collector's lists at
    its first pass; only the last result is kept as an object.
    """
    busy: bool = False
    followed: bool = False
    """A retry or review was started from this finished run: one, so a double tap starts one."""
    summary: QuizSummary | None = None
    last_used: float = 0.0
    resumed: bool = False
    """A start found this run unfinished and continued it (a front end says so)."""
    private: bool = False
    """Started private: shown to its owner only, also when a later start continues it."""
    quiz_version: str | None = None
    """The version of the lesson's quiz the run was asked (None: a run from before versions
    were kept): a Review of it is refused once the served quiz is another."""

    @property
    def asked_version(self) -> str:
        """Return the version of the quiz this run asks (its lesson's, for an old run)."""
        return self.quiz_version or quiz_version(self.lesson)

    @property
    def position(self) -> int:
        """Return the place of the current question in ``questions`` (answers given so far)."""
        return len(self.points)

    def moved_past(self, position: int) -> bool:
        """Return whether a message showing question ``position`` is behind this quiz.

        Not while an answer is in flight (a double tap: refused as such), nor while
        a finished quiz's close is unsaved (a press closes it).
        """
        return (
            position < self.position
            and not self.busy
            and not (self.finished and self.summary is None)
        )

    @property
    def total(self) -> int:
        """Return how many questions the run asks."""
        return len(self.questions)

    @property
    def number(self) -> int:
        """Return the current question's 1-based number in this run."""
        return self.position + 1

    @property
    def finished(self) -> bool:
        """Return whether every question has been answered."""
        return self.position >= len(self.questions)

    @property
    def question_index(self) -> int | None:
        """Return the current question's index in the lesson's quiz, or None when finished."""
        return None if self.finished else self.questions[self.position]

    @property
    def question(self) -> QuizQuestion | None:
        """Return the current question, or None when finished."""
        index = self.question_index
        return None if index is None else self.lesson.quiz[index]

    @property
    def hint_used(self) -> bool:
        """Return whether the hint of the current question was shown."""
        return self.position in self.hinted

    @property
    def score(self) -> int:
        """Return the points scored so far."""
        return sum(self.points)
