"""Tests of leaderboards, ranks, stats and the admin actions through the quiz service."""

from __future__ import annotations

import csv
import io

import pytest

from bot.errors import OptionError
from bot.lessons.model import Lesson
from bot.quiz.service import QuizService
from tests.unit.quiz.conftest import DAY_MS, FakeClock, make_lesson

GUILD = 42
OTHER_GUILD = 43


async def finish(service: QuizService, guild: int, user: int, lesson: Lesson, letters: str) -> None:
    """Take a whole personal quiz with the given answers."""
    quiz = await service.start_personal(guild, user, f"user{user}", lesson)
    for letter in letters:
        await service.answer(quiz.run_id, user, letter)


async def test_leaderboard_is_ordered_with_shared_ranks(
    service: QuizService, lesson: Lesson
) -> None:
    """The board lists the best first; equal points share a rank and the next rank skips."""
    for user, letters in [(1, "AXX"), (2, "ABC"), (3, "ABX"), (4, "ABX")]:
        await finish(service, GUILD, user, lesson, letters.replace("X", "D"))
    board = await service.leaderboard(GUILD)
    assert [(e.rank, e.user_id, e.points) for e in board] == [
        (1, 2, 300),
        (2, 3, 200),
        (2, 4, 200),
        (4, 1, 100),
    ]
    assert board[0].name == "user2"


async def test_rank_of_finds_the_caller_outside_the_top_ten(
    service: QuizService, lesson: Lesson
) -> None:
    """The caller's own rank is found even when they are 15th of 15."""
    for user in range(1, 15):
        await finish(service, GUILD, user, lesson, "ABC")
    await finish(service, GUILD, 99, lesson, "ADD")
    top = await service.leaderboard(GUILD)
    assert len(top) == 10 and 99 not in {e.user_id for e in top}
    mine = await service.rank_of(GUILD, 99)
    assert mine is not None and (mine.rank, mine.points, mine.name) == (15, 100, "user99")
    assert await service.rank_of(GUILD, 12345) is None


async def test_boards_are_per_lesson_per_guild_and_per_week(
    service: QuizService, clock: FakeClock, lesson: Lesson
) -> None:
    """Lesson boards, guilds and weeks are kept apart; the all-time board adds them up."""
    other = make_lesson("other-lesson")
    await finish(service, GUILD, 1, lesson, "ABC")
    clock.advance(8 * DAY_MS / 1000)  # next week
    await finish(service, GUILD, 1, other, "ADD")
    await finish(service, OTHER_GUILD, 2, lesson, "ABC")
    assert [e.points for e in await service.leaderboard(GUILD)] == [400]
    assert [e.points for e in await service.leaderboard(GUILD, lesson.id)] == [300]
    assert [e.points for e in await service.leaderboard(GUILD, "other-lesson")] == [100]
    assert [e.points for e in await service.leaderboard(GUILD, period="week")] == [100]
    assert [e.user_id for e in await service.leaderboard(OTHER_GUILD)] == [2]
    with pytest.raises(OptionError):
        await service.leaderboard(GUILD, period="month")


async def test_stats_report_lessons_accuracy_streaks_and_hardest(
    service: QuizService, clock: FakeClock, lesson: Lesson
) -> None:
    """Stats count lessons done and accuracy, keep day streaks and list the most missed."""
    other = make_lesson("other-lesson")
    await finish(service, GUILD, 1, lesson, "ADD")
    clock.advance(DAY_MS / 1000)
    await finish(service, GUILD, 1, other, "ABC")
    await finish(service, GUILD, 1, lesson, "ADC")  # practice, same day
    stats = await service.stats(GUILD, 1)
    assert stats.lessons_done == 2 and stats.runs == 3
    assert (stats.answered, stats.correct) == (9, 6)
    assert stats.accuracy == pytest.approx(6 / 9)
    assert (stats.current_streak, stats.best_streak) == (2, 2)
    assert (stats.hardest[0].lesson_id, stats.hardest[0].question_index) == (lesson.id, 1)
    assert stats.hardest[0].misses == 2
    clock.advance(3 * DAY_MS / 1000)
    later = await service.stats(GUILD, 1)
    assert (later.current_streak, later.best_streak) == (0, 2)


async def test_a_review_counts_for_the_streak_but_not_for_accuracy(
    service: QuizService, clock: FakeClock, lesson: Lesson
) -> None:
    """A review asks questions whose answers were just shown: practice, left out of accuracy."""
    quiz = await service.start_personal(GUILD, 1, "user1", lesson)
    for letter in "ADD":  # two missed
        await service.answer(quiz.run_id, 1, letter)
    clock.advance(DAY_MS / 1000)
    review = await service.review_missed(quiz.run_id, 1)
    for letter in "BC":
        await service.answer(review.run_id, 1, letter)
    stats = await service.stats(GUILD, 1)
    assert (stats.runs, stats.answered, stats.correct) == (1, 3, 1)
    assert [h.misses for h in stats.hardest] == [1, 1]  # still the hardest, not "now fixed"
    assert (stats.current_streak, stats.best_streak) == (2, 2)  # the review was a quiz that day


async def test_stats_of_a_newcomer_are_zero(service: QuizService) -> None:
    """Someone who never played gets zero stats, not an error."""
    stats = await service.stats(GUILD, 5)
    assert (stats.lessons_done, stats.answered, stats.accuracy, stats.best_streak) == (0, 0, 0, 0)


async def test_reset_scores_clears_only_that_guild_and_lets_runs_count_again(
    service: QuizService, lesson: Lesson
) -> None:
    """After a reset the guild's boards are empty and the next completed run counts again."""
    await finish(service, GUILD, 1, lesson, "ABC")
    await finish(service, OTHER_GUILD, 1, lesson, "ABC")
    await service.reset_scores(GUILD)
    assert await service.leaderboard(GUILD) == []
    assert await service.leaderboard(OTHER_GUILD) != []
    quiz = await service.start_personal(GUILD, 1, "user1", lesson)
    assert not quiz.practice


async def test_reset_scores_keeps_the_lessons_people_have_done(
    service: QuizService, lesson: Lesson
) -> None:
    """A reset empties the boards, not /stats: lessons done stay done, runs and answers too."""
    await finish(service, GUILD, 1, lesson, "ABC")
    before = await service.stats(GUILD, 1)
    assert before.lessons_done == 1
    await service.reset_scores(GUILD)
    after = await service.stats(GUILD, 1)
    assert (after.lessons_done, after.runs, after.answered) == (1, 1, 3)
    await finish(service, GUILD, 1, lesson, "ABC")  # counts for the board again
    again = await service.stats(GUILD, 1)
    assert (again.lessons_done, again.runs) == (1, 2)
    assert [e.points for e in await service.leaderboard(GUILD)] == [300]


async def test_export_csv_holds_every_answer_of_the_guild(
    service: QuizService, store: object, lesson: Lesson
) -> None:
    """The CSV has a header and one row per answer of the guild, formulas neutralised."""
    quiz = await service.start_personal(GUILD, 7, "=HYPERLINK(1)", lesson)
    for letter in "ABD":
        await service.answer(quiz.run_id, 7, letter)
    await finish(service, OTHER_GUILD, 8, lesson, "ABC")
    export = await service.export_answers_csv(GUILD)
    rows = list(csv.DictReader(io.StringIO(export.csv, newline="")))
    assert len(rows) == 3 == export.answers
    assert [r["choice"] for r in rows] == ["A", "B", "D"]
    assert [r["question_number"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["user_name"] == "'=HYPERLINK(1)"
    assert rows[2]["correct"] == "0" and rows[0]["points"] == "100"


async def test_question_stats_count_each_option(service: QuizService, lesson: Lesson) -> None:
    """Question stats count how often each option was chosen, wrong ones included."""
    await finish(service, GUILD, 1, lesson, "ABC")
    await finish(service, GUILD, 2, lesson, "BBC")
    await finish(service, GUILD, 3, lesson, "BBD")
    stats = {s.question_index: s for s in await service.question_stats(GUILD, lesson.id)}
    assert dict(stats[0].counts) == {"A": 1, "B": 2}
    assert dict(stats[2].counts) == {"C": 2, "D": 1}
    assert stats[1].total == 3
    assert await service.question_stats(OTHER_GUILD, lesson.id) == []
