"""The quiz service: personal quizzes, timed channel rounds, leaderboards and stats.

Front ends (the Discord cogs, the console) call these methods and render the
plain results; nothing here knows about Discord. Every answer is committed by
the store before a result says ``recorded=True``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from bot.errors import OptionError
from bot.lessons.model import Lesson, QuizQuestion
from bot.quiz.calendar import day_number, week_number
from bot.quiz.errors import (
    AlreadyAnsweredError,
    AlreadyFollowedError,
    AnswerNotRecordedError,
    FinishNotRecordedError,
    InvalidChoiceError,
    LessonGoneError,
    NoRoundRunningError,
    NothingToReviewError,
    NotYourQuizError,
    QuestionClosedError,
    QuizFinishedError,
    QuizNotFinishedError,
    QuizNotFoundError,
    RoundAlreadyRunningError,
    RoundOverError,
)
from bot.quiz.personal import PersonalQuiz
from bot.quiz.results import (
    AnswerResult,
    FastestAnswer,
    OpenQuestion,
    QuestionResult,
    QuizSummary,
    RoundAnswerReceipt,
    RoundStandings,
)
from bot.quiz.rounds import ChannelRound, RoundAnswer, rank_players
from bot.quiz.scoring import CORRECT_POINTS, points_for
from bot.quiz.versions import quiz_version
from bot.store.interface import QuizStore
from bot.store.records import (
    ALL_LESSONS,
    ALL_TIME,
    NO_GUILD,
    AnswerRecord,
    AnswersExport,
    ConflictError,
    LeaderboardEntry,
    PlayerTotals,
    QuestionStats,
    RunFinish,
    RunKind,
    RunStart,
    UnfinishedRound,
    UserStats,
    WriteNotConfirmedError,
)

Period = Literal["week", "all"]
PERIODS: tuple[str, ...] = ("week", "all")

ROUND_SECONDS_MIN = 10
ROUND_SECONDS_MAX = 120

SESSION_IDLE_SECONDS = 2 * 60 * 60
"""Personal quizzes idle this long are forgotten (their buttons say the quiz is gone)."""

PRUNE_EVERY_SECONDS = 60.0

log = logging.getLogger(__name__)


def _wall_ms() -> int:
    return int(time.time() * 1000)


def _guild(guild_id: int | None) -> int:
    return NO_GUILD if guild_id is None else guild_id


def _recorded(
    run_id: int,
    answer_id: int,
    position: int,
    question: QuizQuestion,
    question_index: int,
    choice: str,
    correct: bool,
    hint_used: bool,
    points: int,
    *,
    finished: bool,
) -> AnswerResult:
    """Return the result of a committed answer: what was chosen, and the question's answer."""
    return AnswerResult(
        run_id=run_id,
        answer_id=answer_id,
        position=position,
        question_index=question_index,
        choice=choice,
        correct=correct,
        correct_choice=question.correct,
        explanation=question.explanation,
        steps=question.steps,
        hint_used=hint_used,
        points=points,
        recorded=True,
        finished=finished,
    )


@contextmanager
def _following(quiz: PersonalQuiz) -> Iterator[None]:
    """Hold the one run that may follow ``quiz`` (a retry or a review) while it starts.

    One per run: each is a new public message, so a double tap on Retry must
    not post two quizzes. Taken before the start's await, so a press that
    arrives meanwhile is refused; a start that fails gives it back.
    """
    if quiz.followed:
        raise AlreadyFollowedError()
    quiz.followed = True
    try:
        yield
    except BaseException:
        quiz.followed = False
        raise


class QuizService:
    """Run quizzes and rounds over a ``QuizStore``; the clocks are injectable for tests.

    Personal quizzes live in memory while in use; a button pressed on one the
    service does not hold (after a restart, or idle for hours) picks it up
    again from the store, where every answer and the run's questions are.
    """

    def __init__(
        self,
        store: QuizStore,
        *,
        lessons: Callable[[str], Lesson | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        """``lessons`` finds a lesson by id, to pick up personal quizzes after a restart."""
        self._store = store
        self._lessons = lessons
        self._clock = clock
        self._wall_ms = wall_ms
        self._personal: dict[int, PersonalQuiz] = {}
        self._rounds: dict[int, ChannelRound] = {}
        self._channels: dict[int, int | None] = {}
        self._recovering: dict[int, asyncio.Future[None]] = {}
        """Left-over rounds being closed now, so two recoveries never close and post one twice."""
        self._pruned_at = clock()

    # --- personal quizzes -----------------------------------------------------------

    async def start_personal(
        self,
        guild_id: int | None,
        user_id: int,
        user_name: str,
        lesson: Lesson,
        *,
        private: bool = False,
    ) -> PersonalQuiz:
        """Start a personal quiz; it is practice if the user already has a counted run.

        A run of the lesson the user left unfinished is continued instead (its
        ``resumed`` says so): after each answer the right one is shown, so a
        fresh run that still counts would let anyone read the answers, walk
        away, and score full marks on the next try. A continued run keeps its
        own ``private``, whatever this start asked for.
        """
        guild = _guild(guild_id)
        questions = tuple(range(len(lesson.quiz)))
        start = functools.partial(
            self._start, "personal", guild, user_id, user_name, lesson, questions, private=private
        )
        quiz = await start()
        if quiz.resumed and quiz.finished:
            # Every answer was in, but the close was not saved: close it now, and
            # this start is the next run (practice, if that one counted).
            await self._close_quiz(quiz, self._wall_ms())
            return await start()
        if private and not quiz.private:
            # Going on privately with a public run: it stays private from here, so a
            # later plain start does not show the answers given in private to a channel.
            await self._store.make_private(quiz.run_id)
            quiz.private = True
        return quiz

    async def _start(
        self,
        kind: RunKind,
        guild: int,
        user_id: int,
        user_name: str,
        lesson: Lesson,
        questions: tuple[int, ...],
        *,
        resume: bool = True,
        private: bool = False,
    ) -> PersonalQuiz:
        self._forget_idle()
        version = quiz_version(lesson)
        run = RunStart(
            kind,
            guild,
            user_id,
            user_name,
            lesson.id,
            questions,
            self._wall_ms(),
            private=private,
            quiz_version=version,
        )
        if kind == "personal":
            # Practice if the user already has a counted run: the store checks as it
            # creates the run, so starting costs one round trip, not a read and a write.
            run_id, practice, resumed = await self._store.start_personal_run(run, resume=resume)
            if resumed:
                picked = await self._pick_up(run_id, user_id, version)
                if picked is None:  # not one to go on with: a new run
                    return await self._start(
                        kind,
                        guild,
                        user_id,
                        user_name,
                        lesson,
                        questions,
                        resume=False,
                        private=private,
                    )
                picked.resumed = True
                picked.lesson = lesson  # as served now: the same questions (same version)
                picked.practice = practice  # as of now: a reset may have freed the lesson
                picked.shown_at = self._clock()  # time away is not time to answer
                return picked
        else:
            run_id, practice = await self._store.start_run(run), True
        now = self._clock()
        quiz = PersonalQuiz(
            run_id=run_id,
            kind=kind,
            guild_id=guild,
            owner_id=user_id,
            owner_name=user_name,
            lesson=lesson,
            questions=questions,
            practice=practice,
            shown_at=now,
            last_used=now,
            private=private,
            quiz_version=version,
        )
        # setdefault: a second start that continued this run may have picked it up first.
        return self._personal.setdefault(run_id, quiz)

    def _forget_idle(self) -> None:
        now = self._clock()
        if now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        cutoff = now - SESSION_IDLE_SECONDS
        for run_id in [r for r, q in self._personal.items() if q.last_used < cutoff]:
            del self._personal[run_id]

    def personal(self, run_id: int, user_id: int) -> PersonalQuiz:
        """Return the user's quiz ``run_id``; raise if it is gone or belongs to someone else."""
        quiz = self._personal.get(run_id)
        if quiz is None:
            raise QuizNotFoundError()
        if quiz.owner_id != user_id:
            raise NotYourQuizError()
        quiz.last_used = self._clock()
        return quiz

    async def _pick_up(self, run_id: int, user_id: int, version: str) -> PersonalQuiz | None:
        """Return the unfinished run ``run_id`` to go on with, or None if it cannot be.

        It cannot be when it is not held and cannot be restored (its lesson was
        removed or changed), or when its quiz is not the lesson's quiz as served
        now (a reload fixed an answer key): its answers would be graded by another.
        """
        try:
            quiz = await self.find_personal(run_id, user_id)
        except (QuizNotFoundError, LessonGoneError):
            return None
        return quiz if quiz.asked_version == version else None

    async def find_personal(self, run_id: int, user_id: int) -> PersonalQuiz:
        """Return the user's quiz ``run_id``, picking it up from the store if it is not held."""
        if run_id not in self._personal:
            restored = await self._restore(run_id, user_id)
            if restored is not None:
                self._personal.setdefault(run_id, restored)  # a concurrent restore may be first
        return self.personal(run_id, user_id)

    async def _restore(self, run_id: int, user_id: int) -> PersonalQuiz | None:
        """Rebuild a stored personal quiz or review (None if it cannot be: a round, say).

        The hint of the question that was up is forgotten (a hint is recorded
        with its answer); everything answered is exactly as it was. A finished
        run is rebuilt even if its quiz changed since (its Retry takes the new
        one, its Review is refused); an unfinished one then is not: another key
        would grade its next answers, and the press is told so.
        """
        if self._lessons is None:
            return None
        saved = await self._store.saved_run(run_id)
        if saved is None:
            return None
        if saved.owner_id != user_id:
            raise NotYourQuizError()
        lesson = self._lessons(saved.lesson_id)
        if lesson is None:
            raise LessonGoneError(saved.lesson_id)
        changed = any(i >= len(lesson.quiz) for i in saved.questions) or (
            saved.quiz_version is not None and saved.quiz_version != quiz_version(lesson)
        )
        if changed and not saved.finished:
            raise LessonGoneError(lesson.id, changed=True)
        if tuple(a.question_index for a in saved.answers) != saved.questions[: len(saved.answers)]:
            return None
        total = len(saved.questions)
        last: AnswerResult | None = None
        if saved.answers and not changed:  # under another key its feedback would contradict
            a = saved.answers[-1]
            last = _recorded(
                run_id,
                a.answer_id,
                len(saved.answers) - 1,
                lesson.quiz[a.question_index],
                a.question_index,
                a.choice,
                a.correct,
                a.hint_used,
                a.points,
                finished=len(saved.answers) == total,
            )
        if saved.finished:
            practice = not saved.counts_for_leaderboard
        elif saved.kind == "review":
            practice = True
        else:
            practice = await self._store.has_completed(
                saved.guild_id, saved.owner_id, saved.lesson_id
            )
        now = self._clock()
        quiz = PersonalQuiz(
            run_id=run_id,
            kind=saved.kind,
            guild_id=saved.guild_id,
            owner_id=saved.owner_id,
            owner_name=saved.owner_name,
            lesson=lesson,
            questions=saved.questions,
            practice=practice,
            shown_at=now,
            points=tuple(a.points for a in saved.answers),
            right=tuple(a.correct for a in saved.answers),
            last=last,
            last_used=now,
            private=saved.private,
            quiz_version=saved.quiz_version,
        )
        if saved.finished:
            quiz.summary = self._summary(quiz, saved.counts_for_leaderboard)
        return quiz

    def use_hint(self, run_id: int, user_id: int, position: int | None = None) -> str:
        """Show the current question's hint; a correct answer after it scores half.

        The quiz must be held (``find_personal`` picks it up after a restart).
        """
        quiz = self.personal(run_id, user_id)
        self._check_served(quiz)  # a removed or changed quiz gives no hints either
        question = quiz.question
        if question is None:
            raise QuizFinishedError()
        if quiz.busy or (position is not None and position != quiz.position):
            raise AlreadyAnsweredError()  # an answer to this question is being recorded
        if not question.hint:
            return "There is no hint for this question."
        if quiz.position not in quiz.hinted:
            quiz.hinted += (quiz.position,)
        return question.hint

    async def answer(
        self, run_id: int, user_id: int, letter: str, position: int | None = None
    ) -> AnswerResult:
        """Answer the current question of a personal quiz; return once it is committed.

        ``position`` (from the button pressed) guards against stale buttons: an
        answer to a question already answered raises ``AlreadyAnsweredError``.
        """
        if run_id not in self._personal:
            await self.find_personal(run_id, user_id)
        return await self.start_answer(run_id, user_id, letter, position)

    def start_answer(
        self, run_id: int, user_id: int, letter: str, position: int | None = None
    ) -> Coroutine[Any, Any, AnswerResult]:
        """Check the answer and queue its write now; return what waits for the commit.

        Everything up to the queued write happens before this returns, with no
        await: a front end that calls it as the press arrives scores the answer
        as things stood then, and a Hint pressed a moment later finds the answer
        in flight (refused) instead of halving it. The quiz must be held
        (``find_personal`` picks it up after a restart). Await the result at once.
        """
        quiz = self.personal(run_id, user_id)
        self._check_served(quiz)
        current = quiz.position
        if current >= len(quiz.questions):
            if quiz.summary is None and quiz.last is not None and not quiz.busy:
                return self._close_quiz(quiz, self._wall_ms())
            raise QuizFinishedError()
        index = quiz.questions[current]
        question = quiz.lesson.quiz[index]
        if quiz.busy or (position is not None and position != current):
            raise AlreadyAnsweredError()
        for choice in question.choices:
            if choice.letter == letter:
                break
        else:
            raise InvalidChoiceError(letter, tuple(c.letter for c in question.choices))
        correct = letter == question.answer
        hint_used = current in quiz.hinted
        points = points_for(correct, hint_used=hint_used)
        now_ms = self._wall_ms()
        answer_ms = max(0, int((self._clock() - quiz.shown_at) * 1000))
        quiz.busy = True
        try:
            # Queued now; written even if the caller stops waiting (discord.py never
            # cancels a handler mid-way, but a shutdown may).
            written = self._store.record_answer(
                AnswerRecord(
                    run_id,
                    quiz.guild_id,
                    quiz.lesson.id,
                    user_id,
                    quiz.owner_name,
                    index,
                    letter,
                    correct,
                    hint_used,
                    answer_ms,
                    points,
                    now_ms,
                )
            )
        except BaseException:
            quiz.busy = False
            raise
        return self._committed(quiz, written, letter, correct, hint_used, points, now_ms)

    async def _committed(
        self,
        quiz: PersonalQuiz,
        written: asyncio.Future[int],
        letter: str,
        correct: bool,
        hint_used: bool,
        points: int,
        now_ms: int,
    ) -> AnswerResult:
        """Wait for a queued answer's commit; move the quiz on (closing it after the last)."""
        try:
            answer_id = await written
        except ConflictError:
            # The database has an answer here that this quiz did not see go in (a wait
            # cancelled before it committed): pick the quiz up from the database at the
            # next press, as after a restart, instead of refusing every press here.
            self._forget(quiz)
            raise AlreadyAnsweredError() from None
        except WriteNotConfirmedError:
            raise AnswerNotRecordedError() from None
        except asyncio.CancelledError:
            # The write goes on (it is queued), but whether it commits is not known
            # here: forget the quiz, so the next press picks it up from the database.
            self._forget(quiz)
            raise
        finally:
            quiz.busy = False
        current = quiz.position
        index = quiz.questions[current]
        quiz.points += (points,)  # the quiz moves on to its next question
        quiz.right += (correct,)
        quiz.shown_at = self._clock()
        result = _recorded(
            quiz.run_id,
            answer_id,
            current,
            quiz.lesson.quiz[index],
            index,
            letter,
            correct,
            hint_used,
            points,
            finished=quiz.finished,
        )
        quiz.last = result
        if quiz.finished:
            return await self._close_quiz(quiz, now_ms)
        return result

    def _forget(self, quiz: PersonalQuiz) -> None:
        """Drop ``quiz`` from memory (not a newer copy picked up since under its run id)."""
        if self._personal.get(quiz.run_id) is quiz:
            del self._personal[quiz.run_id]

    async def _close_quiz(self, quiz: PersonalQuiz, now_ms: int) -> AnswerResult:
        """Close a quiz whose last answer is committed; return that answer with the summary.

        Called right after the last answer, and again by any later press while
        the close has not been saved (so a quiz is never stuck between its last
        answer and its final score: closing is idempotent).
        """
        assert quiz.last is not None
        quiz.busy = True
        try:
            summary = await self._finish_personal(quiz, now_ms)
        except Exception as exc:
            log.error("could not close quiz run %d: %s", quiz.run_id, exc)
            raise FinishNotRecordedError() from exc
        finally:
            quiz.busy = False
        quiz.last = quiz.last._replace(summary=summary)
        return quiz.last

    async def _finish_personal(self, quiz: PersonalQuiz, now_ms: int) -> QuizSummary:
        counted = await self._store.finish_run(
            RunFinish(
                run_id=quiz.run_id,
                kind=quiz.kind,
                guild_id=quiz.guild_id,
                lesson_id=quiz.lesson.id,
                finished_at=now_ms,
                day=day_number(now_ms),
                week=week_number(now_ms),
                players=(
                    PlayerTotals(
                        user_id=quiz.owner_id,
                        points=sum(quiz.points),
                        answered=len(quiz.points),
                        correct=sum(quiz.right),
                        questions=tuple(zip(quiz.questions, quiz.right, strict=False)),
                    ),
                ),
            )
        )
        quiz.summary = self._summary(quiz, counted)
        return quiz.summary

    @staticmethod
    def _summary(quiz: PersonalQuiz, counted: bool) -> QuizSummary:
        answered = zip(quiz.questions, quiz.right, strict=False)  # the questions answered so far
        return QuizSummary(
            run_id=quiz.run_id,
            lesson_id=quiz.lesson.id,
            lesson_title=quiz.lesson.title,
            kind=quiz.kind,
            score=sum(quiz.points),
            max_score=CORRECT_POINTS * len(quiz.points),
            correct=sum(quiz.right),
            total=len(quiz.points),
            missed=tuple(index for index, right in answered if not right),
            counts_for_leaderboard=counted,
        )

    async def summary(self, run_id: int, user_id: int) -> QuizSummary:
        """Return the summary of a finished quiz, recording the finish again if it failed."""
        quiz = await self.find_personal(run_id, user_id)
        if not quiz.finished:
            raise QuizNotFinishedError()
        if quiz.summary is None:
            await self._close_quiz(quiz, self._wall_ms())
        assert quiz.summary is not None
        return quiz.summary

    async def latest_personal(self, guild_id: int | None, user_id: int) -> int | None:
        """Return the run id of the user's latest personal quiz or review here, or None.

        For front ends with no message to carry it: the console's ``quiz retry``
        after a restart.
        """
        return await self._store.latest_personal_run(_guild(guild_id), user_id)

    async def retry(self, run_id: int, user_id: int) -> PersonalQuiz:
        """Start the same lesson again for the owner of ``run_id`` (once per run).

        Like any start, it goes on with a run of the lesson left unfinished, this
        one included, rather than open another.
        """
        quiz = await self.find_personal(run_id, user_id)
        if not quiz.finished:  # stopped part-way (the console's q): go on with it
            quiz.resumed = True
            return quiz
        if quiz.summary is None:  # close what is left open first
            await self._close_quiz(quiz, self._wall_ms())
        lesson = self._served(quiz.lesson)
        with _following(quiz):
            return await self.start_personal(
                quiz.guild_id, user_id, quiz.owner_name, lesson, private=quiz.private
            )

    def _check_served(self, quiz: PersonalQuiz) -> None:
        """Refuse an answer to a quiz whose lesson a reload removed or whose quiz it changed.

        Its answers would count for a lesson no board shows, or be graded by a key
        the served lesson no longer has. A lesson whose questions are unchanged
        (its hints or explanations reworded) is taken up, so the next answer
        costs one identity check.
        """
        served = self._served(quiz.lesson)
        if served is not quiz.lesson:
            if quiz_version(served) != quiz.asked_version:
                raise LessonGoneError(served.id, changed=True)
            quiz.lesson = served  # same questions; hints or explanations may be reworded

    def _served(self, lesson: Lesson) -> Lesson:
        """Return the lesson as served now: a reload may have changed or removed it.

        A new run of a removed lesson would take answers that no board, stats or
        /quiz start could ever show again.
        """
        if self._lessons is None:
            return lesson
        current = self._lessons(lesson.id)
        if current is None:
            raise LessonGoneError(lesson.id)
        return current

    def follow_not_shown(self, run_id: int) -> None:
        """Free ``run_id`` to lead to a retry or review again: the one started was never shown.

        A front end that could not post the new run calls this, so the user's
        next press of Retry or Review is not refused for a run they never saw.
        """
        quiz = self._personal.get(run_id)
        if quiz is not None:
            quiz.followed = False

    async def review_missed(self, run_id: int, user_id: int) -> PersonalQuiz:
        """Start a practice run of only the questions missed in the finished run ``run_id``."""
        quiz = await self.find_personal(run_id, user_id)
        summary = await self.summary(run_id, user_id)  # saves a close that failed before
        if not summary.missed:
            raise NothingToReviewError(after_review=quiz.kind == "review")
        lesson = self._served(quiz.lesson)
        if quiz_version(lesson) != quiz.asked_version:
            raise LessonGoneError(lesson.id, changed=True)  # the missed numbers mean others now
        with _following(quiz):
            return await self._start(
                "review",
                quiz.guild_id,
                user_id,
                quiz.owner_name,
                lesson,
                summary.missed,
                private=quiz.private,
            )

    # --- timed channel rounds -------------------------------------------------------

    async def start_round(
        self,
        guild_id: int,
        channel_id: int,
        owner_id: int,
        owner_name: str,
        lesson: Lesson,
        seconds: int,
    ) -> ChannelRound:
        """Start a timed round in a channel; one round per channel at a time."""
        return await self.begin_round(guild_id, channel_id, owner_id, owner_name, lesson, seconds)

    def begin_round(
        self,
        guild_id: int,
        channel_id: int,
        owner_id: int,
        owner_name: str,
        lesson: Lesson,
        seconds: int,
    ) -> Coroutine[Any, Any, ChannelRound]:
        """Check and reserve the channel now (no await); return what records the round.

        A front end can so refuse a second round before it replies, and reply
        before the write. Await the result in every case: it gives the channel
        back if the write fails.
        """
        if not ROUND_SECONDS_MIN <= seconds <= ROUND_SECONDS_MAX:
            raise OptionError(
                f"seconds must be between {ROUND_SECONDS_MIN} and {ROUND_SECONDS_MAX}."
            )
        if channel_id in self._channels:
            raise RoundAlreadyRunningError()
        self._channels[channel_id] = None  # reserved before the first await
        run = RunStart(
            "round",
            guild_id,
            owner_id,
            owner_name,
            lesson.id,
            tuple(range(len(lesson.quiz))),
            self._wall_ms(),
            channel_id=channel_id,
            seconds=seconds,
        )
        return self._record_round(run, lesson, channel_id, seconds)

    async def _record_round(
        self, run: RunStart, lesson: Lesson, channel_id: int, seconds: int
    ) -> ChannelRound:
        closed_before: list[RoundStandings] = []
        try:
            try:
                run_id = await self._store.start_run(run)
            except ConflictError:
                # The database holds a round here that this process is not running: one
                # whose finish could not be saved. Close it from its stored answers, as
                # the next start would (or wait for the start-up recovery closing it
                # now), and start this one.
                closed_before = await self.recover_unfinished_rounds(channel_id=channel_id)
                run_id = await self._store.start_run(run)
        except ConflictError:
            del self._channels[channel_id]
            raise RoundAlreadyRunningError() from None
        except BaseException:
            del self._channels[channel_id]
            raise
        game = ChannelRound(
            run_id, run.guild_id, channel_id, run.owner_id, lesson, run.questions, seconds
        )
        game.closed_before = tuple(closed_before)
        self._rounds[run_id] = game
        self._channels[channel_id] = run_id
        return game

    def round_in(self, channel_id: int) -> ChannelRound | None:
        """Return the round running in ``channel_id``, if any."""
        run_id = self._channels.get(channel_id)
        return None if run_id is None else self._rounds.get(run_id)

    def _round(self, run_id: int) -> ChannelRound:
        game = self._rounds.get(run_id)
        if game is None or game.finished:
            raise NoRoundRunningError()
        return game

    async def set_round_message(self, run_id: int, message_id: int) -> None:
        """Remember the message showing the round, so a restart can close it there."""
        game = self._round(run_id)
        game.message_id = message_id
        current = game.position if game.position >= 0 else None
        await self._store.set_round_state(run_id, message_id=message_id, current_question=current)

    async def open_question(self, run_id: int) -> OpenQuestion:
        """Open the round's next question; its window starts now."""
        game = self._round(run_id)
        if game.is_open:
            raise OptionError("Close the open question before opening the next one.")
        if not game.has_next:
            raise OptionError("The round has no questions left.")
        game.position += 1
        game.answers = {}
        game.opened_at = self._clock()
        game.is_open = True
        index = game.questions[game.position]
        return OpenQuestion(
            run_id=run_id,
            position=game.position,
            number=game.position + 1,
            total=game.total,
            question_index=index,
            seconds=game.seconds,
            closes_at=game.opened_at + game.seconds,
        )

    async def answer_round(
        self,
        run_id: int,
        user_id: int,
        user_name: str,
        letter: str,
        position: int | None = None,
    ) -> RoundAnswerReceipt:
        """Answer the open round question once; return after the answer is committed."""
        try:
            game = self._round(run_id)
        except NoRoundRunningError:
            raise RoundOverError() from None  # a press on a round's message after its end
        question, elapsed = game.accept(user_id, user_name, position, letter, self._clock())
        index = game.questions[game.position]
        correct = letter == question.answer
        points = points_for(correct, elapsed=elapsed, window=game.seconds)
        answer_ms = int(elapsed * 1000)
        entry = RoundAnswer(user_id, user_name, letter, correct, points, answer_ms)
        game.answers[user_id] = entry  # reserved before the first await
        write = self._store.record_answer(
            AnswerRecord(
                run_id,
                game.guild_id,
                game.lesson.id,
                user_id,
                user_name,
                index,
                letter,
                correct,
                False,
                answer_ms,
                points,
                self._wall_ms(),
            )
        )
        entry.write = write
        try:
            answer_id = await asyncio.shield(write)
        except ConflictError:
            raise AlreadyAnsweredError() from None
        except Exception as exc:
            if write.done() and game.answers.get(user_id) is entry and game.is_open:
                del game.answers[user_id]  # not recorded: let them try again
            if isinstance(exc, WriteNotConfirmedError):
                raise AnswerNotRecordedError() from None
            raise
        return RoundAnswerReceipt(run_id, answer_id, game.position, letter, recorded=True)

    async def close_question(self, run_id: int) -> QuestionResult:
        """Close the open question, then count every answer accepted before the close.

        The close happens before anything is awaited, so an answer arriving at
        the same moment is either in (and counted once) or refused; answers still
        being committed are waited for, and one whose commit failed is left out.
        The tally is a task of its own that a cancelled caller (a shutdown) does
        not stop: ``finish_round`` waits for it, so answers committed meanwhile
        are in the totals it records.
        """
        game = self._round(run_id)
        if not game.is_open:
            raise QuestionClosedError()
        accepted = game.close()
        game.closing = asyncio.ensure_future(self._tally(game, accepted))
        return await asyncio.shield(game.closing)

    @staticmethod
    async def _tally(game: ChannelRound, accepted: list[RoundAnswer]) -> QuestionResult:
        """Wait for the closed question's accepted answers to commit, then count them."""
        writes = [a.write for a in accepted if a.write is not None]
        if writes:
            await asyncio.wait(writes)
        return game.tally(accepted)

    async def finish_round(self, run_id: int) -> RoundStandings:
        """End the round (closing an open question first) and record everyone's points."""
        game = self._round(run_id)
        if game.finishing:
            raise NoRoundRunningError()
        game.finishing = True  # before any await: a second finish is refused
        if game.is_open:
            await self.close_question(run_id)
        if game.closing is not None and not game.closing.done():
            # A close in progress elsewhere: wait for its tally (without cancelling
            # it, should this finish itself be cancelled).
            await asyncio.wait((game.closing,))
            if not game.closing.cancelled() and game.closing.exception() is not None:
                # Seen here (else only "never retrieved" at exit); the finish goes on
                # with what was tallied before.
                log.error(
                    "round %d: tallying its last question failed",
                    run_id,
                    exc_info=game.closing.exception(),
                )
        game.finished = True
        try:
            now_ms = self._wall_ms()
            await self._store.finish_run(
                RunFinish(
                    run_id=run_id,
                    kind="round",
                    guild_id=game.guild_id,
                    lesson_id=game.lesson.id,
                    finished_at=now_ms,
                    day=day_number(now_ms),
                    week=week_number(now_ms),
                    players=game.totals(),
                )
            )
        finally:
            self._rounds.pop(run_id, None)
            if self._channels.get(game.channel_id) == run_id:
                del self._channels[game.channel_id]
        return RoundStandings(
            run_id=run_id,
            guild_id=game.guild_id,
            channel_id=game.channel_id,
            lesson_id=game.lesson.id,
            standings=rank_players(
                [
                    (p.user_id, p.name, p.points, p.correct, p.answered)
                    for p in game.players.values()
                ]
            ),
            asked=game.position + 1,
            message_id=game.message_id,
        )

    async def recover_unfinished_rounds(
        self, *, channel_id: int | None = None
    ) -> list[RoundStandings]:
        """Close every round left open by a crash or restart; return what to post for each.

        Answers committed before the restart count; the question that was open
        when the process died is closed with the answers it had. A channel
        where a round is being started is left alone: its row may be written
        and not yet held, and a start that finds an old round there closes it
        itself (``channel_id``: a round whose finish was not saved, found by
        the next round in that channel).
        """
        recovered: list[RoundStandings] = []
        for left in await self._store.unfinished_rounds():
            if left.run_id in self._rounds:
                continue  # running in this process, not left over
            if channel_id is None and left.channel_id in self._channels:
                continue  # a round is being started there
            if channel_id is not None and left.channel_id != channel_id:
                continue
            elsewhere = self._recovering.get(left.run_id)
            if elsewhere is not None:
                # Another recovery is closing it (and shows its results): wait for that.
                await asyncio.wait((elsewhere,))
                continue
            closing = self._recovering[left.run_id] = asyncio.get_running_loop().create_future()
            now_ms = self._wall_ms()
            try:
                await self._store.finish_run(
                    RunFinish(
                        run_id=left.run_id,
                        kind="round",
                        guild_id=left.guild_id,
                        lesson_id=left.lesson_id,
                        finished_at=now_ms,
                        day=day_number(now_ms),
                        week=week_number(now_ms),
                        players=left.players,
                    )
                )
            except Exception:
                # Left open for the next try (a start in its channel, or the next
                # restart); the rounds closed so far are still returned, to be shown.
                log.exception("could not close round %d, left open", left.run_id)
                continue
            finally:
                del self._recovering[left.run_id]
                closing.set_result(None)
            recovered.append(
                RoundStandings(
                    run_id=left.run_id,
                    guild_id=left.guild_id,
                    channel_id=left.channel_id,
                    lesson_id=left.lesson_id,
                    standings=rank_players(
                        [
                            (
                                p.user_id,
                                left.names.get(p.user_id, str(p.user_id)),
                                p.points,
                                p.correct,
                                p.answered,
                            )
                            for p in left.players
                        ]
                    ),
                    message_id=left.message_id,
                    asked=max(
                        0 if left.current_question is None else left.current_question + 1,
                        max((p.answered for p in left.players), default=0),
                    ),
                    total=len(left.questions),
                    interrupted=self._interrupted_result(left),
                )
            )
        return recovered

    def _interrupted_result(self, left: UnfinishedRound) -> QuestionResult | None:
        """Count the question that was open when a round was cut off, from its stored answers.

        Its answers are scored with the round; this is what its message shows
        (the answer, each option's count, the fastest). None when the question
        or its lesson cannot be found.
        """
        position = left.current_question
        lesson = None if self._lessons is None else self._lessons(left.lesson_id)
        if lesson is None or position is None or not 0 <= position < len(left.questions):
            return None
        index = left.questions[position]
        if index >= len(lesson.quiz):
            return None
        question = lesson.quiz[index]
        counts = {c.letter: 0 for c in question.choices}
        graded = {(choice, correct) for _, choice, correct, _ in left.open_answers}
        if any(c not in counts or correct != (c == question.answer) for c, correct in graded):
            return None  # the question changed since (a restart with new content): its
            # stored grading would contradict the answer shown; the message is only closed
        fastest: FastestAnswer | None = None
        for user_id, choice, correct, answer_ms in left.open_answers:
            counts[choice] = counts.get(choice, 0) + 1
            if correct and (fastest is None or answer_ms < fastest.answer_ms):
                name = left.names.get(user_id, str(user_id))
                fastest = FastestAnswer(user_id, name, answer_ms)
        return QuestionResult(
            run_id=left.run_id,
            position=position,
            question_index=index,
            correct_choice=question.correct,
            counts=counts,
            fastest=fastest,
        )

    # --- leaderboards, stats, admin -------------------------------------------------

    def _board(self, lesson_id: str | None, period: str) -> tuple[str, int]:
        if period not in PERIODS:
            raise OptionError("period must be `week` or `all`.")
        week = week_number(self._wall_ms()) if period == "week" else ALL_TIME
        return (lesson_id or ALL_LESSONS), week

    async def leaderboard(
        self,
        guild_id: int | None,
        lesson_id: str | None = None,
        period: Period | str = "all",
        limit: int = 10,
    ) -> list[LeaderboardEntry]:
        """Return the top ``limit`` of a guild's board (one lesson or all; week or all time)."""
        lesson, week = self._board(lesson_id, period)
        return await self._store.leaderboard(_guild(guild_id), lesson, week, max(1, limit))

    async def rank_of(
        self,
        guild_id: int | None,
        user_id: int,
        lesson_id: str | None = None,
        period: Period | str = "all",
    ) -> LeaderboardEntry | None:
        """Return the user's own entry on the board, even outside the top ten."""
        lesson, week = self._board(lesson_id, period)
        return await self._store.rank_of(_guild(guild_id), user_id, lesson, week)

    async def stats(self, guild_id: int | None, user_id: int) -> UserStats:
        """Return a user's progress: lessons done, accuracy, streaks, hardest questions."""
        today = day_number(self._wall_ms())
        return await self._store.user_stats(_guild(guild_id), user_id, today)

    async def reset_scores(self, guild_id: int) -> None:
        """Clear the guild's leaderboards; every lesson's next completed run counts again."""
        await self._store.reset_scores(guild_id)

    async def export_answers_csv(self, guild_id: int) -> AnswersExport:
        """Return every answer given in the guild as CSV text, with how many there are."""
        return await self._store.export_answers_csv(guild_id)

    async def question_stats(self, guild_id: int, lesson_id: str) -> list[QuestionStats]:
        """Return how often each option of each question of the lesson was chosen."""
        return await self._store.question_stats(guild_id, lesson_id)
