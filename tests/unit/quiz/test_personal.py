"""Tests of personal quizzes: answers, hints, owners, practice runs, review and retry."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import sqlite3

import pytest

from bot.lessons.model import Lesson
from bot.quiz.errors import (
    AlreadyAnsweredError,
    AlreadyFollowedError,
    AnswerNotRecordedError,
    FinishNotRecordedError,
    InvalidChoiceError,
    LessonGoneError,
    NothingToReviewError,
    NotYourQuizError,
    QuizFinishedError,
    QuizNotFinishedError,
    QuizNotFoundError,
)
from bot.quiz.results import AnswerResult
from bot.quiz.service import QuizService
from bot.quiz.versions import quiz_version
from bot.store.database import Store
from bot.store.writer import WorkerProcess
from tests.unit.quiz.conftest import FakeClock, lost_answer, make_lesson
from tests.unit.store.processes import kill_writer, writer_dies_after_committing

GUILD = 42
ANN = 1
BOB = 2


async def take(service: QuizService, run_id: int, user: int, letters: str) -> None:
    """Answer the quiz's questions with ``letters`` in order."""
    for letter in letters:
        await service.answer(run_id, user, letter)


async def test_answer_reports_correctness_and_is_committed(
    service: QuizService, store: Store, lesson: Lesson
) -> None:
    """An answer result says right or wrong, gives the explanation, and is already on disk."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    result = await service.answer(quiz.run_id, ANN, "B")
    assert (result.correct, result.correct_choice.letter, result.points) == (False, "A", 0)
    assert result.explanation == "because 1" and result.steps == (1,)
    assert result.recorded and not result.finished
    with sqlite3.connect(store.path) as db:
        row = db.execute(
            "SELECT choice, correct, points FROM answers WHERE id = ?", (result.answer_id,)
        ).fetchone()
    assert row == ("B", 0, 0)
    assert quiz.position == 1 and quiz.question_index == 1


async def test_hint_halves_the_points(service: QuizService, lesson: Lesson) -> None:
    """A correct answer after the hint scores 50 and is marked as hinted."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    assert service.use_hint(quiz.run_id, ANN) == "hint 1"
    result = await service.answer(quiz.run_id, ANN, "A")
    assert result.correct and result.hint_used and result.points == 50
    second = await service.answer(quiz.run_id, ANN, "B")
    assert not second.hint_used and second.points == 100


async def test_final_answer_returns_summary_with_missed_questions(
    service: QuizService, lesson: Lesson
) -> None:
    """The last answer carries the score, the maximum and the missed question indexes."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "AD")
    last = await service.answer(quiz.run_id, ANN, "C")
    assert last.finished and last.summary is not None
    summary = last.summary
    assert (summary.score, summary.max_score, summary.correct, summary.total) == (200, 300, 2, 3)
    assert summary.missed == (1,)
    assert summary.counts_for_leaderboard and summary.practice_note is None
    with pytest.raises(QuizFinishedError):
        await service.answer(quiz.run_id, ANN, "A")


async def test_first_completed_run_counts_later_runs_are_practice(
    service: QuizService, lesson: Lesson
) -> None:
    """Only the first completed run of a lesson adds to the leaderboard; retries say practice."""
    first = await service.start_personal(GUILD, ANN, "Ann", lesson)
    assert not first.practice
    await take(service, first.run_id, ANN, "ABC")
    assert first.summary is not None and first.summary.counts_for_leaderboard
    again = await service.retry(first.run_id, ANN)
    assert again.practice and again.run_id != first.run_id
    await take(service, again.run_id, ANN, "ABC")
    assert again.summary is not None and not again.summary.counts_for_leaderboard
    assert again.summary.practice_note is not None
    board = await service.leaderboard(GUILD)
    assert [(e.user_id, e.points) for e in board] == [(ANN, 300)]


async def test_a_quiz_left_unfinished_is_continued_not_started_again(
    service: QuizService, lesson: Lesson
) -> None:
    """Each answer shows the right one; a new start after a wrong answer continues the same
    run, so walking away and starting over cannot earn full marks on a counted run."""
    first = await service.start_personal(GUILD, ANN, "Ann", lesson)
    wrong = await service.answer(first.run_id, ANN, "D")
    assert not wrong.correct and wrong.correct_choice.letter == "A"  # the answer is out
    again = await service.start_personal(GUILD, ANN, "Ann", lesson)
    assert again is first and again.resumed and again.position == 1 and not again.practice
    await take(service, again.run_id, ANN, "BC")
    assert again.summary is not None and again.summary.counts_for_leaderboard
    assert [e.points for e in await service.leaderboard(GUILD)] == [200]
    practice = await service.start_personal(GUILD, ANN, "Ann", lesson)  # finished: a new run
    assert practice.run_id != first.run_id and practice.practice and not practice.resumed


async def test_a_quiz_continued_after_a_restart_keeps_its_answers(
    service: QuizService, store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """The unfinished run is found in the database when the service no longer holds it."""
    first = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, first.run_id, ANN, "A")
    after = restarted(store, clock, lesson)
    again = await after.start_personal(GUILD, ANN, "Ann", lesson)
    assert (again.run_id, again.resumed, again.position, again.points) == (
        first.run_id,
        True,
        1,
        (100,),
    )
    secret = await after.start_personal(GUILD, BOB, "Bob", lesson, private=True)
    await take(after, secret.run_id, BOB, "A")
    picked = await restarted(store, clock, lesson).start_personal(GUILD, BOB, "Bob", lesson)
    assert (picked.run_id, picked.private, picked.resumed) == (secret.run_id, True, True)
    lost = restarted(store, clock)  # its lesson cannot be found: a new run, not an error
    fresh = await lost.start_personal(GUILD, ANN, "Ann", lesson)
    assert fresh.run_id != first.run_id and not fresh.resumed


async def test_wrong_user_cannot_press_a_personal_quiz(
    service: QuizService, lesson: Lesson
) -> None:
    """Someone else's answer, hint or review on a personal quiz is refused."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    with pytest.raises(NotYourQuizError, match="someone else"):
        await service.answer(quiz.run_id, BOB, "A")
    with pytest.raises(NotYourQuizError):
        service.use_hint(quiz.run_id, BOB)
    with pytest.raises(NotYourQuizError):
        await service.retry(quiz.run_id, BOB)
    assert quiz.position == 0


async def test_same_user_answering_twice_concurrently_is_counted_once(
    service: QuizService, store: Store, lesson: Lesson
) -> None:
    """Two simultaneous presses on one question record one answer and refuse the other."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    outcomes = await asyncio.gather(
        service.answer(quiz.run_id, ANN, "A", position=0),
        service.answer(quiz.run_id, ANN, "B", position=0),
        return_exceptions=True,
    )
    assert sum(isinstance(o, AlreadyAnsweredError) for o in outcomes) == 1
    assert quiz.position == 1
    with sqlite3.connect(store.path) as db:
        count = db.execute("SELECT count(*) FROM answers WHERE run_id = ?", (quiz.run_id,))
        assert count.fetchone() == (1,)


async def test_stale_button_for_an_answered_question_is_refused(
    service: QuizService, lesson: Lesson
) -> None:
    """Pressing a button of a question already answered is refused, not recorded twice."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await service.answer(quiz.run_id, ANN, "A", position=0)
    with pytest.raises(AlreadyAnsweredError):
        await service.answer(quiz.run_id, ANN, "A", position=0)
    assert quiz.position == 1


async def test_unknown_choice_and_unknown_quiz_are_friendly_errors(
    service: QuizService, lesson: Lesson
) -> None:
    """A letter that is not a choice and a quiz id that does not exist raise user errors."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    with pytest.raises(InvalidChoiceError, match="not one of the choices"):
        await service.answer(quiz.run_id, ANN, "Z")
    with pytest.raises(QuizNotFoundError):
        await service.answer(quiz.run_id + 999, ANN, "A")


async def test_review_missed_asks_only_missed_questions_as_practice(
    service: QuizService, lesson: Lesson
) -> None:
    """Review runs ask the missed questions only and never touch the leaderboard."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    with pytest.raises(QuizNotFinishedError):
        await service.review_missed(quiz.run_id, ANN)
    await take(service, quiz.run_id, ANN, "DBD")
    review = await service.review_missed(quiz.run_id, ANN)
    assert review.kind == "review" and review.questions == (0, 2) and review.practice
    await take(service, review.run_id, ANN, "AC")
    assert review.summary is not None
    assert review.summary.score == 200 and not review.summary.counts_for_leaderboard
    with pytest.raises(NothingToReviewError, match="of that review right"):
        await service.review_missed(review.run_id, ANN)
    assert [e.points for e in await service.leaderboard(GUILD)] == [100]


async def test_direct_message_quizzes_use_their_own_board(
    service: QuizService, lesson: Lesson
) -> None:
    """A quiz without a guild scores on the no-guild board, not on any server's."""
    quiz = await service.start_personal(None, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "ABC")
    assert [e.points for e in await service.leaderboard(None)] == [300]
    assert await service.leaderboard(GUILD) == []


async def test_idle_quizzes_are_forgotten(
    service: QuizService, clock: FakeClock, lesson: Lesson
) -> None:
    """A quiz idle for hours is dropped, and its buttons say it is no longer active."""
    old = await service.start_personal(GUILD, ANN, "Ann", lesson)
    clock.advance(3 * 3600)
    await service.start_personal(GUILD, BOB, "Bob", lesson)
    with pytest.raises(QuizNotFoundError, match="no longer active"):
        await service.answer(old.run_id, ANN, "A")


async def test_summary_is_available_after_the_last_answer(
    service: QuizService, lesson: Lesson
) -> None:
    """The summary can be fetched again after the quiz ends, and not before."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    with pytest.raises(QuizNotFinishedError):
        await service.summary(quiz.run_id, ANN)
    await take(service, quiz.run_id, ANN, "ABC")
    summary = await service.summary(quiz.run_id, ANN)
    assert summary.score == 300 and summary == quiz.summary


async def test_an_answer_the_store_lost_asks_to_answer_again(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the writer stops before committing, the user hears so and the same question stays."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    real = store.record_answer

    monkeypatch.setattr(store, "record_answer", lost_answer)
    with pytest.raises(AnswerNotRecordedError, match="press your answer again"):
        await service.answer(quiz.run_id, ANN, "A", 0)
    assert quiz.position == 0 and not quiz.points and quiz.last is None
    monkeypatch.setattr(store, "record_answer", real)
    result = await service.answer(quiz.run_id, ANN, "A", 0)
    assert result.recorded and result.position == 0


async def test_an_answer_committed_as_the_writer_died_moves_the_quiz_on(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer died between committing the answer and saying so: the quiz goes on."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await writer_dies_after_committing(store, monkeypatch)
    first = await service.answer(quiz.run_id, ANN, "A", 0)
    assert first.recorded and first.correct and quiz.position == 1
    monkeypatch.setattr(WorkerProcess, "MODULE", "bot.store.write_worker")
    second = await service.answer(quiz.run_id, ANN, "B", 1)
    assert second.recorded and second.position == 1
    with sqlite3.connect(store.path) as db:
        rows = db.execute(
            "SELECT question_index, choice FROM answers WHERE run_id = ? ORDER BY id",
            (quiz.run_id,),
        ).fetchall()
    assert rows == [(0, "A"), (1, "B")]


async def test_a_quiz_whose_answer_wait_was_cancelled_goes_on_from_the_database(
    store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """A cancelled wait (a shutdown, Ctrl-C) does not stop the write: the quiz is picked up
    again from what was committed, so it is not stuck refusing its next answer."""
    service = restarted(store, clock, lesson)
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    waiting = asyncio.ensure_future(service.answer(quiz.run_id, ANN, "A", 0))
    await asyncio.sleep(0)  # queued, and waiting for its commit
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    for _ in range(500):  # the write goes on; wait until it is on disk
        with sqlite3.connect(store.path) as db:
            if db.execute("SELECT count(*) FROM answers").fetchone()[0]:
                break
        await asyncio.sleep(0.01)
    second = await service.answer(quiz.run_id, ANN, "B", 1)
    assert second.recorded and second.position == 1
    picked_up = await service.find_personal(quiz.run_id, ANN)
    assert picked_up.position == 2 and picked_up.points[0] == 100


async def test_a_press_before_a_cancelled_answer_commits_does_not_leave_the_quiz_stuck(
    store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """The next press comes while the cancelled answer still waits for a new writer: it is
    refused as answered, and the quiz goes on from what the database holds after that."""
    service = restarted(store, clock, lesson)
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await kill_writer(store)  # the next write waits for a new writer process to start
    waiting = asyncio.ensure_future(service.answer(quiz.run_id, ANN, "A", 0))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # The buttons still show question 1 (position 0): the press collides with the first.
    with pytest.raises(AlreadyAnsweredError):
        await asyncio.wait_for(service.answer(quiz.run_id, ANN, "B", 0), 30)
    second = await service.answer(quiz.run_id, ANN, "B", 1)  # question 2, as on disk
    assert second.recorded and second.position == 1


def restarted(store: Store, clock: FakeClock, *lessons: Lesson) -> QuizService:
    """Return a new service over the same store, as after a restart, knowing ``lessons``."""
    known = {lesson.id: lesson for lesson in lessons}
    return QuizService(store, lessons=known.get, clock=clock.monotonic, wall_ms=clock.wall_ms)


async def test_a_quiz_continues_after_a_restart_with_its_answers_and_score(
    service: QuizService, store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """A new service picks a quiz up at the next question; the summary counts every answer."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    assert service.use_hint(quiz.run_id, ANN) == "hint 1"
    await take(service, quiz.run_id, ANN, "A")
    after = restarted(store, clock, lesson)
    with pytest.raises(NotYourQuizError):
        await after.find_personal(quiz.run_id, BOB)
    picked = await after.find_personal(quiz.run_id, ANN)
    assert (picked.position, picked.kind, picked.practice) == (1, "personal", False)
    assert picked.points == (50,) and picked.right == (True,)
    assert picked.last is not None
    assert (picked.last.choice, picked.last.points, picked.last.hint_used) == ("A", 50, True)
    with pytest.raises(AlreadyAnsweredError):
        await after.answer(quiz.run_id, ANN, "A", 0)
    await after.answer(quiz.run_id, ANN, "B", 1)
    last = await after.answer(quiz.run_id, ANN, "D", 2)
    assert last.summary is not None
    assert (last.summary.score, last.summary.total, last.summary.missed) == (150, 3, (2,))
    assert last.summary.counts_for_leaderboard
    assert [e.points for e in await after.leaderboard(GUILD)] == [150]


async def test_a_finished_quiz_can_be_reviewed_after_a_restart(
    service: QuizService, store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """Retry and review missed work on a quiz that finished before the restart."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "DBD")
    after = restarted(store, clock, lesson)
    summary = await after.summary(quiz.run_id, ANN)
    assert (summary.score, summary.missed, summary.counts_for_leaderboard) == (100, (0, 2), True)
    review = await after.review_missed(quiz.run_id, ANN)
    assert review.questions == (0, 2) and review.practice
    await take(after, review.run_id, ANN, "A")
    again = restarted(store, clock, lesson)
    picked = await again.find_personal(review.run_id, ANN)
    assert (picked.kind, picked.position, picked.practice) == ("review", 1, True)
    retry = await again.retry(quiz.run_id, ANN)
    assert retry.practice and retry.run_id > review.run_id


async def test_a_quiz_cannot_be_picked_up_without_its_lesson(
    service: QuizService, store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """No lesson lookup: the quiz is no longer active; its lesson gone: it says so."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    with pytest.raises(LessonGoneError, match="no longer available"):
        await restarted(store, clock).answer(quiz.run_id, ANN, "A", 0)
    with pytest.raises(NotYourQuizError):  # the owner is checked first
        await restarted(store, clock).answer(quiz.run_id, BOB, "A", 0)
    blind = QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)
    with pytest.raises(QuizNotFoundError):
        await blind.find_personal(quiz.run_id, ANN)
    with pytest.raises(QuizNotFoundError):
        await restarted(store, clock, lesson).find_personal(quiz.run_id + 100, ANN)


async def test_retry_and_review_use_the_lesson_as_served_now(
    store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """After a reload removed the lesson, Retry and Review say so instead of starting a run
    nobody could see on a board; after one changed its quiz, Review (whose question numbers
    mean other questions now) asks for a Retry, and Retry takes the new quiz."""
    served: dict[str, Lesson] = {lesson.id: lesson}
    service = QuizService(store, lessons=served.get, clock=clock.monotonic, wall_ms=clock.wall_ms)
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    unfinished = await service.start_personal(GUILD, BOB, "Bob", lesson)
    await take(service, quiz.run_id, ANN, "DBD")
    del served[lesson.id]  # /admin reload without the lesson's file
    with pytest.raises(LessonGoneError, match="no longer available"):
        await service.answer(unfinished.run_id, BOB, "A")  # a quiz under way takes no more
    for press in (service.retry, service.review_missed):
        with pytest.raises(LessonGoneError, match="no longer available"):
            await press(quiz.run_id, ANN)
    shorter = dataclasses.replace(lesson, quiz=lesson.quiz[:2])
    served[lesson.id] = shorter
    with pytest.raises(LessonGoneError, match="has changed since this run"):
        await service.review_missed(quiz.run_id, ANN)
    retry = await service.retry(quiz.run_id, ANN)  # neither refusal spent the run's follow-up
    assert retry.lesson is shorter and retry.total == 2


async def test_a_quiz_keeps_one_result_object_not_one_per_answer(service: QuizService) -> None:
    """Past answers are kept as points and marks, so the collector never walks one per answer."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", make_lesson("long-lesson", 12))
    for position in range(12):
        await service.answer(quiz.run_id, ANN, "ABCD"[position % 3], position)
    gc.collect()
    kept = [o for o in gc.get_objects() if isinstance(o, AnswerResult) and o.run_id == quiz.run_id]
    assert kept == [quiz.last]
    assert not any(gc.is_tracked(part) for part in (quiz.points, quiz.right, quiz.hinted))
    assert quiz.right == tuple(position % 3 == position % 4 for position in range(12))
    summary = quiz.summary
    assert summary is not None and summary.correct == sum(quiz.right)
    assert summary.missed == tuple(p for p in range(12) if p % 3 != p % 4)


async def test_a_finish_the_writer_lost_is_sent_again_and_counts_once(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer died after committing the finish: the summary still counts, points added once."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "AB")
    await writer_dies_after_committing(store, monkeypatch, "finish", once=True)
    result = await service.answer(quiz.run_id, ANN, "C", 2)
    assert list(store.path.parent.glob("died-once-*"))  # the first finish was lost, then resent
    assert result.summary is not None and result.summary.counts_for_leaderboard
    board = await service.leaderboard(GUILD)
    assert [(e.user_id, e.points) for e in board] == [(ANN, 300)]
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT runs FROM user_stats").fetchall() == [(1,)]


async def test_a_quiz_whose_close_was_not_saved_is_closed_by_the_next_press(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last answer is saved but every writer dies on the close: the next press closes it.

    Before, the quiz stayed between its last answer and its score for good:
    every press said "already finished, use Retry" with no Retry to press.
    """
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "A" * (quiz.total - 1))
    await writer_dies_after_committing(store, monkeypatch, "finish")
    with pytest.raises(FinishNotRecordedError, match="Answer again"):
        await service.answer(quiz.run_id, ANN, "B", quiz.total - 1)
    assert quiz.finished and quiz.summary is None
    assert quiz.last is not None and quiz.last.recorded and quiz.last.choice == "B"

    monkeypatch.setattr(WorkerProcess, "MODULE", "bot.store.write_worker")
    result = await service.answer(quiz.run_id, ANN, "C", quiz.total - 1)
    assert result.choice == "B" and result.position == quiz.total - 1  # the answer that counts
    assert result.summary is not None and result.summary.counts_for_leaderboard
    assert result.summary.total == quiz.total
    with pytest.raises(QuizFinishedError):
        await service.answer(quiz.run_id, ANN, "A", quiz.total - 1)
    review = await service.review_missed(quiz.run_id, ANN)
    assert review.questions == result.summary.missed
    (entry,) = await service.leaderboard(GUILD)
    assert entry.points == result.summary.score
    with sqlite3.connect(store.path) as db:
        answers = db.execute("SELECT count(*) FROM answers WHERE run_id = ?", (quiz.run_id,))
        assert answers.fetchone() == (quiz.total,)


async def test_a_start_after_a_close_that_was_not_saved_closes_it_and_starts_anew(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every answer is in but the close was lost: /quiz start closes that run (it counts) and
    starts the next one, a practice run, instead of going on with a finished run."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "A" * (quiz.total - 1))
    await writer_dies_after_committing(store, monkeypatch, "finish", before=True)
    with pytest.raises(FinishNotRecordedError):
        await service.answer(quiz.run_id, ANN, "B", quiz.total - 1)
    assert quiz.finished and quiz.summary is None  # the run is still open on disk
    monkeypatch.setattr(WorkerProcess, "MODULE", "bot.store.write_worker")
    fresh = await service.start_personal(GUILD, ANN, "Ann", lesson)
    assert fresh.run_id != quiz.run_id and fresh.position == 0 and fresh.practice
    assert quiz.summary is not None and quiz.summary.counts_for_leaderboard


async def test_a_quiz_whose_questions_a_reload_changed_is_not_graded_by_the_new_key(
    store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """An answer key fixed by a reload: the run under way takes no more answers, a start
    gives a new run, and after a restart the old run is not picked up either."""
    served: dict[str, Lesson] = {lesson.id: lesson}
    service = QuizService(store, lessons=served.get, clock=clock.monotonic, wall_ms=clock.wall_ms)
    old = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, old.run_id, ANN, "A")
    same = dataclasses.replace(lesson)  # a reload with no change: a new copy, same quiz
    served[lesson.id] = same
    await service.answer(old.run_id, ANN, "B")  # still taken
    reworded = dataclasses.replace(lesson.quiz[2], hint="a better hint", explanation="clearer")
    served[lesson.id] = dataclasses.replace(lesson, quiz=(*lesson.quiz[:2], reworded))
    assert service.use_hint(old.run_id, ANN) == "a better hint"  # taken up, not refused
    served[lesson.id] = same
    fixed_question = dataclasses.replace(lesson.quiz[2], answer="A")
    fixed = dataclasses.replace(lesson, quiz=(*lesson.quiz[:2], fixed_question))
    served[lesson.id] = fixed
    with pytest.raises(LessonGoneError, match="has changed since this run was started"):
        await service.answer(old.run_id, ANN, "A")
    new = await service.start_personal(GUILD, ANN, "Ann", fixed)
    assert new.run_id != old.run_id and not new.resumed and new.lesson is fixed
    await take(service, new.run_id, ANN, "A")
    after = restarted(store, clock, lesson)  # the old run again, under its original quiz
    with pytest.raises(LessonGoneError, match="has changed since this run was started"):
        await restarted(store, clock, fixed).find_personal(old.run_id, ANN)
    assert (await after.find_personal(old.run_id, ANN)).position == 2


async def test_retry_and_review_after_a_restart_and_a_content_change(
    service: QuizService, store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """A quiz finished, then its key fixed and the bot restarted: Retry takes the new quiz;
    Review of the old run's misses is refused (their numbers may mean other questions)."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "DBD")
    fixed_question = dataclasses.replace(lesson.quiz[2], answer="D")
    fixed = dataclasses.replace(lesson, quiz=(*lesson.quiz[:2], fixed_question))
    after = restarted(store, clock, fixed)
    with pytest.raises(LessonGoneError, match="has changed since this run was started"):
        await after.review_missed(quiz.run_id, ANN)
    picked = await after.find_personal(quiz.run_id, ANN)
    assert picked.last is None  # no feedback shown under the new key
    retry = await after.retry(quiz.run_id, ANN)
    assert retry.lesson is fixed and retry.practice and retry.position == 0


async def test_retry_after_a_restart_with_a_question_removed_takes_the_shorter_quiz(
    service: QuizService, store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """A finished quiz's lesson loses a question and the bot restarts: Retry takes the quiz
    as it is now and Review is refused, as after a reload (not "no longer active")."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "ABD")
    shorter = dataclasses.replace(lesson, quiz=lesson.quiz[:2])
    after = restarted(store, clock, shorter)
    with pytest.raises(LessonGoneError, match="has changed since this run was started"):
        await after.review_missed(quiz.run_id, ANN)
    retry = await after.retry(quiz.run_id, ANN)
    assert retry.total == 2 and retry.practice


async def test_a_public_run_gone_on_with_privately_stays_private(
    service: QuizService, store: Store, clock: FakeClock, lesson: Lesson
) -> None:
    """private:True on an unfinished public run makes it private for good: a later plain
    start (also after a restart) does not bring the answers given in private to a channel."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "A")
    again = await service.start_personal(GUILD, ANN, "Ann", lesson, private=True)
    assert again is quiz and again.private
    later = await restarted(store, clock, lesson).start_personal(GUILD, ANN, "Ann", lesson)
    assert later.run_id == quiz.run_id and later.private


async def test_a_run_gone_on_with_after_a_reset_counts_again(
    service: QuizService, lesson: Lesson
) -> None:
    """A practice run left unfinished, the server's scores reset, then /quiz start: the run
    goes on as one that counts, as a new one would (its practice flag is read again)."""
    first = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, first.run_id, ANN, "ABC")
    second = await service.start_personal(GUILD, ANN, "Ann", lesson)
    assert second.practice
    await take(service, second.run_id, ANN, "A")
    await service.reset_scores(GUILD)
    again = await service.start_personal(GUILD, ANN, "Ann", lesson)
    assert again is second and not again.practice
    await take(service, again.run_id, ANN, "BC")
    assert again.summary is not None and again.summary.counts_for_leaderboard


async def test_a_finished_run_leads_to_one_retry_or_review(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two retries at once start one run; a start that failed leaves the way free."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "B" * quiz.total)
    real = store.start_personal_run

    async def failing(run: object, **kwargs: object) -> tuple[int, bool, bool]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "start_personal_run", failing)
    with pytest.raises(sqlite3.OperationalError):
        await service.retry(quiz.run_id, ANN)
    assert not quiz.followed
    monkeypatch.setattr(store, "start_personal_run", real)

    first, second = await asyncio.gather(
        service.retry(quiz.run_id, ANN), service.retry(quiz.run_id, ANN), return_exceptions=True
    )
    assert isinstance(first, type(quiz)) and first.run_id != quiz.run_id
    assert isinstance(second, AlreadyFollowedError)
    with pytest.raises(AlreadyFollowedError):
        await service.review_missed(quiz.run_id, ANN)
    await take(service, first.run_id, ANN, "B" * first.total)
    again = await service.retry(first.run_id, ANN)  # the new run, finished, leads to its own
    assert again.run_id not in (quiz.run_id, first.run_id)


async def test_retry_closes_a_quiz_whose_close_was_not_saved(
    service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retry from a quiz stuck before its score saves that score first (the console's path)."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    await take(service, quiz.run_id, ANN, "A" * (quiz.total - 1))
    await writer_dies_after_committing(store, monkeypatch, "finish")
    with pytest.raises(FinishNotRecordedError):
        await service.answer(quiz.run_id, ANN, "B", quiz.total - 1)
    monkeypatch.setattr(WorkerProcess, "MODULE", "bot.store.write_worker")
    again = await service.retry(quiz.run_id, ANN)
    assert quiz.summary is not None and quiz.summary.counts_for_leaderboard
    assert again.practice  # the first run was closed, and counted, before this one


async def test_an_answer_is_scored_as_things_stood_when_it_was_started(
    service: QuizService, lesson: Lesson
) -> None:
    """start_answer fixes the score at once: a hint asked while it is in flight is refused."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    pending = asyncio.ensure_future(service.start_answer(quiz.run_id, ANN, "A", 0))
    with pytest.raises(AlreadyAnsweredError):
        service.use_hint(quiz.run_id, ANN, 0)
    result = await pending
    assert result.correct and not result.hint_used and result.points == 100
    assert service.use_hint(quiz.run_id, ANN, 1) == "hint 2"  # the next question's is free


async def test_a_message_is_behind_its_quiz_only_once_the_quiz_has_moved_on(
    service: QuizService, lesson: Lesson
) -> None:
    """moved_past: not for the current question, nor while an answer is in flight, nor while
    a finished quiz's close waits; yes for a question answered and settled."""
    quiz = await service.start_personal(GUILD, ANN, "Ann", lesson)
    assert not quiz.moved_past(0)
    waiting = service.start_answer(quiz.run_id, ANN, "A", 0)
    assert quiz.busy and not quiz.moved_past(0)  # in flight: a double tap
    await waiting
    assert quiz.moved_past(0) and not quiz.moved_past(1)
    await take(service, quiz.run_id, ANN, "BC")
    assert quiz.finished and quiz.summary is not None and quiz.moved_past(2)
    quiz.summary = None  # as if the close had not been saved
    assert not quiz.moved_past(2)  # the press closes it instead


def test_a_quiz_version_changes_with_what_grades_it_and_nothing_else(lesson: Lesson) -> None:
    """Prompts, choices and keys make the version; hints and explanations do not."""
    version = quiz_version(lesson)
    assert quiz_version(dataclasses.replace(lesson)) == version  # a reload's equal copy
    worded = dataclasses.replace(lesson.quiz[0], hint="another hint", explanation="more")
    assert quiz_version(dataclasses.replace(lesson, quiz=(worded, *lesson.quiz[1:]))) == version
    keyed = dataclasses.replace(lesson.quiz[0], answer="B")
    assert quiz_version(dataclasses.replace(lesson, quiz=(keyed, *lesson.quiz[1:]))) != version
    assert quiz_version(dataclasses.replace(lesson, quiz=lesson.quiz[::-1])) != version
