"""The quiz, round, board and admin renderers stay inside Discord's limits in every state."""

from __future__ import annotations

from dataclasses import replace

import discord
import pytest

from bot.cogs.admin import MAX_PROBLEM_MESSAGES, problem_pages, stats_fields
from bot.cogs.boards import leaderboard_embed
from bot.cogs.limits import CONTENT, message_problems
from bot.cogs.quiz import quiz_message
from bot.cogs.rounds import result_embed, round_view, standings_embed
from bot.config import DEFAULT_CONTENT_DIR
from bot.lessons.library import LessonLibrary
from bot.lessons.loader import Problem
from bot.lessons.model import Lesson
from bot.quiz.personal import PersonalQuiz
from bot.quiz.results import (
    AnswerResult,
    OpenQuestion,
    QuestionResult,
    QuizSummary,
    RoundStandings,
    Standing,
)
from bot.store.records import LeaderboardEntry, QuestionStats

SEED = "node-sequential-vs-parallel"
LONGEST_RUN = 10**19  # 20 digits: the longest id a custom id may have to carry


@pytest.fixture(scope="module")
def lesson() -> Lesson:
    """Return the seed lesson."""
    library, _ = LessonLibrary.from_directory(DEFAULT_CONTENT_DIR)
    return library.get(SEED)


def personal(lesson: Lesson, position: int = 0, **changes: object) -> PersonalQuiz:
    """Return a personal quiz on the seed lesson at ``position``."""
    quiz = PersonalQuiz(
        run_id=LONGEST_RUN,
        kind="personal",
        guild_id=1,
        owner_id=2,
        owner_name="alice",
        lesson=lesson,
        questions=tuple(range(len(lesson.quiz))),
        practice=False,
        shown_at=0.0,
        points=(0,) * position,  # ``position`` answers given
        right=(False,) * position,
    )
    for name, value in changes.items():
        setattr(quiz, name, value)
    return quiz


def answer(lesson: Lesson, index: int, letter: str, explanation: str | None = None) -> AnswerResult:
    """Return the result of answering question ``index`` with ``letter``."""
    question = lesson.quiz[index]
    return AnswerResult(
        run_id=LONGEST_RUN,
        answer_id=1,
        position=index,
        question_index=index,
        choice=letter,
        correct=letter == question.answer,
        correct_choice=question.correct,
        explanation=question.explanation if explanation is None else explanation,
        steps=question.steps,
        hint_used=False,
        points=100 if letter == question.answer else 0,
        recorded=True,
        finished=False,
    )


def disabled(view: discord.ui.View) -> dict[str, bool]:
    """Return each button's custom id and whether it is disabled, as Discord receives them."""
    return {
        child["custom_id"]: bool(child.get("disabled"))
        for row in view.to_components()
        for child in row.get("components", [])
        if "custom_id" in child
    }


def test_every_state_of_a_personal_quiz_fits(lesson: Lesson) -> None:
    """Question, hinted question, feedback and final score all fit, with ids under 100."""
    states = [
        personal(lesson),
        personal(lesson, hinted=(0,)),
        personal(lesson, position=1, last=answer(lesson, 0, "B")),
    ]
    finished = personal(lesson, position=3, last=answer(lesson, 2, "A"))
    finished.summary = QuizSummary(
        LONGEST_RUN, SEED, lesson.title, "personal", 100, 300, 1, 3, (1, 2), False
    )
    states.append(finished)
    for quiz in states:
        embeds, view = quiz_message(quiz)
        assert message_problems(embeds=embeds, view=view) == []


def test_final_score_offers_retry_and_review_only_when_something_was_missed(
    lesson: Lesson,
) -> None:
    """Review missed is disabled after a perfect run and says practice runs do not count."""
    quiz = personal(lesson, position=3, last=answer(lesson, 2, "C"))
    quiz.summary = QuizSummary(1, SEED, lesson.title, "personal", 300, 300, 3, 3, (), False)
    embeds, view = quiz_message(quiz)
    buttons = disabled(view)
    assert buttons[f"sb:qz:{LONGEST_RUN}:3:m"]
    assert not buttons[f"sb:qz:{LONGEST_RUN}:3:r"]
    assert "Practice run" in (embeds[-1].description or "")


def test_a_very_long_explanation_is_shortened_to_fit_next_to_the_question(
    lesson: Lesson,
) -> None:
    """Feedback and question share the 6000-character budget; the explanation gives way."""
    long = " ".join(["because"] * 900)
    quiz = personal(lesson, position=1, last=answer(lesson, 0, "A", explanation=long))
    embeds, view = quiz_message(quiz)
    assert message_problems(embeds=embeds, view=view) == []
    assert (embeds[0].description or "").endswith("…")


def test_round_result_and_view_fit_and_tag_spoilers(lesson: Lesson) -> None:
    """A closed round question fits, disables its buttons, and hides the answer when asked."""
    opened = OpenQuestion(LONGEST_RUN, 0, 1, 3, 0, 30, 0.0)
    question = lesson.quiz[0]
    result = QuestionResult(
        LONGEST_RUN, 0, 0, question.correct, {"A": 3, "B": 1, "C": 0, "D": 0}, None
    )
    embed = result_embed(lesson, opened, result, spoiler=True)
    view = round_view(lesson, LONGEST_RUN, 0, 0, closed=True)
    assert message_problems(embeds=[embed], view=view) == []
    assert "||**A. Step 3**||" in str(embed.fields[0].value)
    assert all(disabled(view)[f"sb:rd:{LONGEST_RUN}:0:{letter}"] for letter in "ABCD")


def test_standings_of_a_crowded_round_fit() -> None:
    """A round with 500 players lists the first twenty and counts the rest."""
    players = tuple(
        Standing(i + 1, i, f"player{i} `**@everyone**`", 1000 - i, 3, 3) for i in range(500)
    )
    embed = standings_embed(RoundStandings(1, 1, 1, SEED, players), "A lesson")
    assert message_problems(embeds=[embed]) == []
    assert "…and 480 more." in (embed.description or "")
    assert "\\*\\*@everyone\\*\\*" in (embed.description or "")


def test_standings_count_right_answers_out_of_the_questions_asked() -> None:
    """A player who skipped questions is not shown as perfect beside one who answered all."""
    players = (Standing(1, 1, "all", 300, 3, 3), Standing(2, 2, "skipped two", 100, 1, 1))
    text = standings_embed(RoundStandings(1, 1, 1, SEED, players, asked=3), "A lesson").description
    assert "all — 300 points (3/3 right)" in (text or "")
    assert "skipped two — 100 points (1/3 right)" in (text or "")


def test_leaderboard_adds_my_rank_below_the_top_ten() -> None:
    """The caller outside the top ten sees their own line after the ten."""
    top = [LeaderboardEntry(i + 1, i, f"p{i}", 100 - i) for i in range(10)]
    embed = leaderboard_embed(top, LeaderboardEntry(57, 999, "me", 3), 999, "all lessons", "all")
    text = embed.description or ""
    assert text.count("points") == 11
    assert text.rstrip().endswith("**57.** me — 3 points ← you")


def test_reload_problems_are_paginated_and_capped() -> None:
    """Thousands of problems become a few messages under 2000 characters, never cut mid-line."""
    problems = [
        Problem(f"lesson_{i}.yaml", f"quiz[{i}].choices", "choice letters must be A, B, C")
        for i in range(2000)
    ]
    pages = problem_pages(problems, "/content")
    assert len(pages) == MAX_PROBLEM_MESSAGES
    assert all(len(page) <= CONTENT for page in pages)
    assert "`lesson_0.yaml: quiz[0].choices: choice letters must be A, B, C`" in pages[0]
    assert "studybot validate" in pages[-1]
    few = problem_pages(problems[:2], "/content")
    assert len(few) == 1
    assert "lesson_1.yaml" in few[0]


def test_question_stats_mark_the_right_option(lesson: Lesson) -> None:
    """Each question's field counts every option, with shares and the right one marked."""
    fields = stats_fields(lesson, [QuestionStats(0, {"A": 1, "B": 3})])
    assert len(fields) == len(lesson.quiz)
    name, value = fields[0]
    assert name.startswith("Q1. ") and value.startswith("*4 answers*\n")
    assert "✅ **A** Step 3 — 1 (25%)" in value
    assert "**B** Step 2 — 3 (75%)" in value
    assert fields[1][1].startswith("*0 answers*")
    one = stats_fields(lesson, [QuestionStats(0, {"A": 1})])
    assert one[0][1].startswith("*1 answer*\n")
    assert "— 0 (–)" in fields[1][1]


def test_lesson_replace_keeps_quiz_renderable(lesson: Lesson) -> None:
    """A lesson whose question has no hint disables the hint button instead of failing."""
    bare = replace(lesson, quiz=tuple(replace(q, hint="") for q in lesson.quiz))
    embeds, view = quiz_message(personal(bare))
    assert disabled(view)[f"sb:qz:{LONGEST_RUN}:0:h"]
    assert message_problems(embeds=embeds, view=view) == []
