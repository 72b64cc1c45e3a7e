"""Console commands for the features that need an event loop: quiz, boards, stats, demos.

The console itself is synchronous (it reads lines); these commands share one
``asyncio.Runner`` for the whole session, so the local database and its
single writer stay open between commands exactly as they do in the bot.
"""

from __future__ import annotations

import asyncio
import getpass
import sqlite3
import zlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bot.config import Settings
from bot.console import DROPPED, Console, ConsoleCommand
from bot.demos.engine import validate_options
from bot.demos.model import MODES as DEMO_MODES
from bot.demos.terminal import fitted_width, run_terminal_demo
from bot.errors import OptionError, UserError, clip, plural
from bot.lessons.library import LessonLibrary
from bot.lessons.model import Lesson
from bot.quiz.errors import QuizNotFinishedError
from bot.quiz.personal import PersonalQuiz
from bot.quiz.results import AnswerResult, QuizSummary
from bot.quiz.scoring import CORRECT_POINTS, points_for
from bot.quiz.service import PERIODS, QuizService
from bot.store.database import Store
from bot.store.lock import DatabaseInUseError
from bot.store.migrations import DatabaseTooNewError, MigrationError

T = TypeVar("T")

QUIZ_HELP = "Answer with a letter; h = hint, q = stop the quiz."
STOP_QUIZ = "Type q to stop the quiz."
HINT_COST = (
    f"(With the hint, a right answer scores {points_for(True, hint_used=True)} points "
    f"instead of {CORRECT_POINTS}.)"
)


class ConsoleSession:
    """The console's event loop, local database and quiz service, opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runner = asyncio.Runner()
        self._store: Store | None = None
        self._quiz: QuizService | None = None
        # The console's lessons, for picking a saved quiz up again (quiz retry / review).
        self.library: LessonLibrary | None = None
        self.user_name = _local_user_name()
        # A stable id per local user name, so the local leaderboard tells people apart.
        self.user_id = zlib.crc32(self.user_name.encode("utf-8")) or 1

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the session's loop and return its result."""
        return self.runner.run(coro)

    @property
    def database_path(self) -> Path:
        return self.settings.database_path

    def quiz(self) -> QuizService:
        """Return the quiz service, opening the local database on first use."""
        if self._quiz is None:
            try:
                self._store = self.run(_open_store(self.database_path))
            except DatabaseInUseError as exc:
                raise UserError(f"Cannot open the database {self.database_path}: {exc}") from None
            except (DatabaseTooNewError, MigrationError, OSError, sqlite3.Error) as exc:
                raise UserError(
                    f"Cannot open the database {self.database_path}: {str(exc).rstrip('.')}. "
                    "Quizzes, the leaderboard and stats need it; set STUDYBOT_DATABASE to a "
                    "file you can write."
                ) from None
            self._quiz = QuizService(self._store, lessons=self._lesson)
        return self._quiz

    def _lesson(self, lesson_id: str) -> Lesson | None:
        library = self.library
        return library.get(lesson_id) if library is not None and lesson_id in library else None

    def close(self) -> None:
        """Close the database (committing anything pending) and the loop."""
        if self._store is not None:
            self.run(self._store.close())
            self._store = None
            self._quiz = None
        self.runner.close()


async def _open_store(path: Path) -> Store:
    return await Store.open(path)


def _local_user_name() -> str:
    try:
        return getpass.getuser() or "you"
    except (KeyError, OSError):
        return "you"


DEMO_USAGE = "Usage: demo <mode> [seconds for task1, task2, and up to two more tasks]"


def _demo(session: ConsoleSession, console: Console, args: list[str]) -> None:
    if not args:
        console.write(DEMO_USAGE)
        console.write("Modes: " + ", ".join(DEMO_MODES))
        return
    if len(args) > 5:
        raise OptionError(DEMO_USAGE)
    durations: list[float] = []
    for word in args[1:]:
        try:
            durations.append(float(word))
        except ValueError:
            raise OptionError(f"'{clip(word, 20)}' is not a number of seconds, e.g. 1.5") from None
    # Check the options here so a mistake reads as a console message, not a CLI one.
    mode = validate_options(args[0], durations or None).mode  # 'COMPARE' and 'comp' too
    try:
        width = fitted_width(console.width if console.is_terminal else None)
        demo = run_terminal_demo(
            mode, durations or None, as_json=False, out=console.stdout, width=width
        )
        session.run(demo)
    except KeyboardInterrupt:
        console.write("\nDemo stopped.")


def _question_text(quiz: PersonalQuiz) -> list[str]:
    question = quiz.question
    assert question is not None
    lines = [f"Question {quiz.number} of {quiz.total}: {question.prompt}"]
    lines += [f"  {c.letter}) {c.text}" for c in question.choices]
    return lines


def _result_text(result: AnswerResult, lesson_id: str, practice: bool) -> list[str]:
    verdict = "Right!" if result.correct else "Not quite."
    if practice:
        scored = "practice"
    else:
        hint = ", hint used" if result.hint_used and result.correct else ""
        scored = f"+{result.points} points{hint}"
    lines = [
        f"{verdict} The answer is {result.correct_choice.letter}) {result.correct_choice.text}"
        f"  ({scored})"
    ]
    if result.explanation:
        lines.append(f"  {result.explanation}")
    if result.steps:
        steps = ", ".join(str(s) for s in result.steps)
        which = "step" if len(result.steps) == 1 else "steps"
        lines.append(
            f"  See the trace at {which} {steps}: trace {lesson_id}, then type {result.steps[0]}"
        )
    return lines


def _summary_text(summary: QuizSummary) -> list[str]:
    lines = [
        f"Finished {summary.lesson_title}: {summary.correct}/{summary.total} correct, "
        f"{summary.score}/{summary.max_score} points."
    ]
    if summary.practice_note:
        lines.append(summary.practice_note)
    else:
        lines.append("This run counts for the leaderboard.")
    if summary.missed:
        lines.append("Type quiz review to go over the questions you missed.")
    return lines


def _play(session: ConsoleSession, console: Console, quiz: PersonalQuiz) -> QuizSummary | None:
    service = session.quiz()
    console.write(f"{quiz.lesson.title}: {plural(quiz.total, 'question')}. {QUIZ_HELP}")
    if quiz.kind == "review":
        console.write("(Practice: a review of the questions you missed; it does not count.)")
    elif quiz.practice:
        console.write("(Practice: your first completed run of this lesson is the one that counts.)")
    if quiz.resumed and quiz.position:
        console.write(f"Going on where you stopped: question {quiz.number} of {quiz.total}.")
    show = True
    while quiz.question is not None:
        if show:
            console.write("")
            for text in _question_text(quiz):
                console.write(text)
        show = True
        letters = "/".join(c.letter for c in quiz.question.choices)
        prompt = f"answer [{letters}, h, q]> "
        line = console.read_line(prompt, leave=STOP_QUIZ)
        while line == DROPPED or (line is not None and not line):  # Ctrl-C, or Enter alone
            line = console.read_line(prompt, leave=STOP_QUIZ)
        if line is None or line.lower() in {"q", "quit", "exit"}:
            # A review goes on with quiz retry (it is the latest run); quiz <lesson>
            # would go on with the lesson's own quiz, not the review.
            again = "quiz retry" if quiz.kind == "review" else f"quiz {quiz.lesson.id}"
            console.write(f"Quiz stopped. Answers you gave are saved: type {again} to go on.")
            return None
        if line.lower() in {"h", "hint"}:
            console.write("💡 " + service.use_hint(quiz.run_id, session.user_id))
            console.write(HINT_COST)
            continue
        if len(line) != 1:  # a word is not an answer, even one that starts with a letter
            console.write(
                f"'{line[:30]}' is not an answer. Type one letter ({letters}), h for the hint "
                "or q to stop."
            )
            show = False  # the question is right above: just ask again
            continue
        try:
            result = session.run(service.answer(quiz.run_id, session.user_id, line.upper()))
        except UserError as exc:
            console.write(str(exc))
            show = False
            continue
        for text in _result_text(result, quiz.lesson.id, quiz.practice):
            console.write(text)
        if result.summary is not None:
            return _show_summary(console, result.summary)
    if quiz.summary is None:  # the last answer was saved but not the final score: once more
        try:
            return _show_summary(console, session.run(service.summary(quiz.run_id, quiz.owner_id)))
        except UserError as exc:
            console.write(str(exc))
    return None


def _show_summary(console: Console, summary: QuizSummary) -> QuizSummary:
    console.write("")
    for text in _summary_text(summary):
        console.write(text)
    return summary


class QuizCommand:
    """``quiz <lesson>``, ``quiz retry`` and ``quiz review`` over the local database."""

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.last_run: int | None = None

    def __call__(self, console: Console, args: list[str]) -> None:
        self.session.library = console.library
        service = self.session.quiz()
        user = self.session.user_id
        if not args:
            console.write("Usage: quiz <lesson> | quiz retry | quiz review")
            return
        if args[0] in {"retry", "review"}:
            if self.last_run is None:  # a new session: pick up the latest run saved
                self.last_run = self.session.run(service.latest_personal(None, user))
            if self.last_run is None:
                console.write("Finish a quiz first: quiz <lesson>")
                return
            if args[0] == "retry":
                quiz = self.session.run(service.retry(self.last_run, user))
            else:
                try:
                    quiz = self.session.run(service.review_missed(self.last_run, user))
                except QuizNotFinishedError:  # stopped with q: it cannot be resumed here
                    raise UserError(
                        "Your last quiz was stopped before the end, so it has nothing to "
                        "review yet. Type quiz retry to go on with it."
                    ) from None
        else:
            lesson = console.resolve(args[0])
            quiz = self.session.run(
                service.start_personal(None, user, self.session.user_name, lesson)
            )
        # Retry and review start from the latest run, even one stopped part-way
        # (a run leads to one retry or review, so not the one this came from).
        self.last_run = quiz.run_id
        _play(self.session, console, quiz)


def _leaderboard(session: ConsoleSession, console: Console, args: list[str]) -> None:
    period = "all"
    lesson_id: str | None = None
    for word in args:
        if word in PERIODS:
            period = word
        elif lesson_id is None:
            try:
                lesson_id = console.resolve(word).id
            except UserError as exc:
                raise OptionError(f"{exc} A period is week or all.") from None
        else:
            raise OptionError(
                f"'{word[:30]}' is not a period: use week or all, e.g. leaderboard {lesson_id} week"
            )
    service = session.quiz()
    entries = session.run(service.leaderboard(None, lesson_id, period))
    when = "this week" if period == "week" else "all time"
    console.write(f"Leaderboard ({lesson_id or 'all lessons'}, {when})")
    if not entries:
        scope = "this lesson's quiz" if lesson_id else "a quiz"
        since = "this week" if period == "week" else "yet"
        which = f"quiz {lesson_id}" if lesson_id else "quiz <lesson>"
        console.write(f"  Nobody has finished {scope} {since}. Try: {which}")
        return
    for entry in entries:
        console.write(f"  {entry.rank:>2}. {entry.name:<20} {entry.points:>6} pts")
    mine = session.run(service.rank_of(None, session.user_id, lesson_id, period))
    if mine is not None and all(e.user_id != mine.user_id for e in entries):
        console.write(f"  You: #{mine.rank} with {mine.points} pts")


def _stats(session: ConsoleSession, console: Console, args: list[str]) -> None:
    stats = session.run(session.quiz().stats(None, session.user_id))
    accuracy = f"{100 * stats.correct / stats.answered:.0f}%" if stats.answered else "—"
    console.write(f"Progress for {stats.name or session.user_name}")
    console.write(f"  lessons done   {stats.lessons_done}")
    console.write(f"  quiz runs      {stats.runs}")
    console.write(
        f"  answers        {stats.correct}/{stats.answered} correct ({accuracy}), "
        "in finished quizzes (reviews are practice)"
    )
    console.write(
        f"  streak         {plural(stats.current_streak, 'day')}, best {stats.best_streak}"
    )
    for missed in stats.hardest[:3]:
        console.write(f"  hardest        {missed.lesson_id} question {missed.question_index + 1}")


def feature_commands(session: ConsoleSession) -> list[ConsoleCommand]:
    """Return the console commands that need the session's loop and database."""
    return [
        ConsoleCommand(
            "demo",
            "run a live async demo (" + ", ".join(DEMO_MODES[:4]) + ", ...)",
            lambda console, args: _demo(session, console, args),
            "demo <mode> [task1 s] [task2 s] [task3 s] [task4 s]",
        ),
        ConsoleCommand(
            "quiz",
            "take a lesson's quiz (scores saved locally)",
            QuizCommand(session),
            "quiz <lesson> | quiz retry | quiz review",
            max_args=1,
        ),
        ConsoleCommand(
            "leaderboard",
            "the local leaderboard",
            lambda console, args: _leaderboard(session, console, args),
            "leaderboard [lesson] [week|all]",
            aliases=("top",),
        ),
        ConsoleCommand(
            "stats",
            "your progress: lessons done, accuracy, streak",
            lambda console, args: _stats(session, console, args),
            max_args=0,
        ),
    ]
