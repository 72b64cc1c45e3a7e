"""Quiz mistakes a user can make, each with a friendly message front ends show as is."""

from __future__ import annotations

from bot.errors import UserError, code_span


class QuizError(UserError):
    """A quiz action that cannot be done; the message says why."""


class QuizNotFoundError(QuizError):
    """The quiz behind a button is gone (finished long ago, or the bot restarted)."""

    def __init__(self) -> None:
        super().__init__("This quiz is no longer active. Start a new one with /quiz start.")


class NotYourQuizError(QuizError):
    """Someone pressed a button of another person's personal quiz."""

    def __init__(self) -> None:
        super().__init__("This quiz belongs to someone else. Start your own with /quiz start.")


class QuizFinishedError(QuizError):
    """An answer or hint arrived after the quiz ended."""

    def __init__(self) -> None:
        super().__init__("This quiz is already finished. Use Retry to take it again.")


class QuizNotFinishedError(QuizError):
    """Review missed was pressed before the quiz ended."""

    def __init__(self) -> None:
        super().__init__("Finish the quiz first; then you can review the questions you missed.")


class AlreadyAnsweredError(QuizError):
    """A second answer to the same question."""

    def __init__(self) -> None:
        super().__init__("You already answered this question.")


class QuestionClosedError(QuizError):
    """An answer to a question that is not open (closed, timed out, or not yet shown)."""

    def __init__(self) -> None:
        super().__init__("Too late: this question is closed.")


class InvalidChoiceError(QuizError):
    """A letter that is not one of the question's choices."""

    def __init__(self, letter: str, letters: tuple[str, ...]) -> None:
        super().__init__(
            f"{code_span(letter[:10])} is not one of the choices ({', '.join(letters)})."
        )


class RoundAlreadyRunningError(QuizError):
    """A round was started in a channel that already has one."""

    def __init__(self) -> None:
        super().__init__(
            "A quiz round is already running in this channel. Wait for it to end first."
        )


class RoundOverError(QuizError):
    """An answer to a round that has ended (or ended with a restart)."""

    def __init__(self) -> None:
        super().__init__("Too late: this round has ended.")


class NoRoundRunningError(QuizError):
    """A round action in a channel (or for a round) that is not running."""

    def __init__(self) -> None:
        super().__init__("There is no quiz round running here.")


class NothingToReviewError(QuizError):
    """Review missed was pressed on a quiz with no missed questions.

    After a review the latest run is that review, not the quiz it came from:
    the message says so, or a learner who missed questions in the quiz reads
    "every question right" as being about the quiz.
    """

    def __init__(self, *, after_review: bool = False) -> None:
        super().__init__(
            "You got every question of that review right: nothing is left to review."
            if after_review
            else "You got every question right: there is nothing to review."
        )


class AnswerNotRecordedError(QuizError):
    """The store lost an answer before committing it (its writer restarted): answer again."""

    def __init__(self) -> None:
        super().__init__(
            "Your answer was not recorded: the quiz database restarted just then. "
            "Please press your answer again."
        )


class FinishNotRecordedError(QuizError):
    """The last answer was committed, but closing the run (its final score) was not."""

    def __init__(self) -> None:
        super().__init__(
            "Your answer was recorded, but the quiz's final score could not be saved just "
            "then. Answer again (any choice) to save it."
        )


class AlreadyFollowedError(QuizError):
    """Retry or Review was pressed again on a run that already led to a new one."""

    def __init__(self) -> None:
        super().__init__(
            "You already started a new run from this quiz: it is in a message below. "
            "Its own Retry and Review buttons appear when you finish it."
        )


class LessonGoneError(QuizError):
    """Retry or Review of a run whose lesson a reload removed (or whose quiz it changed)."""

    def __init__(self, lesson_id: str, *, changed: bool = False) -> None:
        shown = code_span(lesson_id)
        super().__init__(
            f"The quiz of {shown} has changed since this run was started: "
            "/quiz start takes the new one."
            if changed
            else f"The lesson {shown} is no longer available. See /lesson list for the others."
        )
