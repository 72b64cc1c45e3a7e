"""Unit tests of how /lesson show and /trace lay lessons out in embeds for a phone."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.cogs.lessons import lesson_autocomplete, lesson_message, lesson_pages
from bot.cogs.limits import message_problems
from bot.cogs.quiz import safe_name
from bot.cogs.trace import trace_embed
from bot.lessons.library import LessonLibrary
from bot.lessons.loader import load_lessons
from bot.lessons.model import MODES
from bot.lessons.render import PHONE_WIDTH
from tests.unit.lessons.test_render import block_lines

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = load_lessons([ROOT / "content" / "lessons"]).lessons


@pytest.mark.parametrize("lesson_id", sorted(SHIPPED))
@pytest.mark.parametrize("mode", ["table", "tracker"])
def test_lesson_tables_fit_a_phone_without_a_repeated_heading(lesson_id: str, mode: str) -> None:
    """/lesson show keeps table lines within the phone width and leaves out the ## heading."""
    lesson = SHIPPED[lesson_id]
    pages = lesson_pages(lesson, mode)
    assert all(len(line) <= PHONE_WIDTH for page in pages for line in block_lines(page))
    assert not any(line.startswith("## ") for page in pages for line in page.split("\n"))
    embed, view = lesson_message(lesson, mode)
    assert embed.title == f"{lesson.title} — {mode}"
    assert message_problems(embeds=[embed], view=view) == []


def test_every_mode_starts_with_content_not_the_title() -> None:
    """No mode repeats the lesson title below the embed title."""
    for lesson in SHIPPED.values():
        for mode in MODES:
            assert not lesson_pages(lesson, mode)[0].startswith("##")


@pytest.mark.parametrize("lesson_id", sorted(SHIPPED))
def test_trace_embed_names_the_step_in_its_title_and_fits_a_phone(lesson_id: str) -> None:
    """/trace puts 'Step n of N' in the title once and keeps its code blocks phone-wide."""
    lesson = SHIPPED[lesson_id]
    steps = lesson.table.steps
    for position, step in enumerate(steps, 1):
        embed = trace_embed(lesson, step)
        assert embed.title is not None
        assert embed.title.startswith(f"Step {position} of {len(steps)} · ")
        text = embed.description or ""
        assert "##" not in text
        assert f"of {len(steps)}" not in text
        assert all(len(line) <= PHONE_WIDTH for line in block_lines(text))
        assert message_problems(embeds=[embed]) == []


async def test_autocomplete_keeps_the_id_in_view_when_the_title_is_long() -> None:
    """Choice names are cut at 100 characters: the title gives way, never the id."""
    seed = SHIPPED["node-sequential-vs-parallel"]
    long_id = "a" * 60
    lesson = dataclasses.replace(seed, id=long_id, title="A very long title " * 10)
    carrier = SimpleNamespace(client=SimpleNamespace(library=LessonLibrary([lesson, seed])))
    choices = await lesson_autocomplete(carrier, "")  # type: ignore[arg-type]
    assert [c.value for c in choices] == [long_id, seed.id]
    for choice in choices:
        assert len(choice.name) <= 100 and choice.name.endswith(f"({choice.value})")
    assert choices[0].name.startswith("A very long title")


def test_names_lose_direction_controls_that_would_reorder_a_board_line() -> None:
    """A right-to-left override in a name cannot flip the points shown after it."""
    assert safe_name("eve\u202e001 — 9") == "eve001 — 9"
    assert safe_name("**bold**\u2066x\u2069") == "\\*\\*bold\\*\\*x"
