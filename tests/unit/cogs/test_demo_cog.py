"""Unit tests of the /demo cog's pure helpers: choices, embeds, report packing, admission."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import discord
import pytest

from bot.app import StudyBot
from bot.cogs.demo import (
    GANTT_FILENAME,
    MESSAGE_BUDGET,
    DemoCog,
    PredictionView,
    durations_text,
    initial_bars,
    mode_choices,
    progress_embed,
    question_embed,
    report_embeds,
    stopped_notes,
)
from bot.cogs.limits import CHOICE_NAME, message_problems
from bot.demos.engine import run_demo, start_demo, validate_options
from bot.demos.model import MODES, DemoRun
from bot.demos.prediction import ask_prediction
from bot.demos.report import DemoReport, build_report
from bot.errors import UserError
from bot.lessons.render import PHONE_WIDTH, is_fence

FAST = [0.05, 0.05]


async def fast_run(mode: str) -> DemoRun:
    """Run ``mode`` with the shortest durations the engine allows."""
    return await run_demo(validate_options(mode, FAST))


def test_every_mode_has_a_readable_choice() -> None:
    """Each demo mode is offered once, with a name that explains it and fits Discord's 100."""
    choices = mode_choices()
    assert [c.value for c in choices] == list(MODES)
    for choice in choices:
        assert len(choice.name) <= CHOICE_NAME
        assert choice.name.startswith(choice.value.replace("_", " ") + ": ")
    assert any("gather" in c.name for c in choices)


def test_durations_text_names_each_task_and_the_semaphore_limit() -> None:
    """The summary line lists every task's seconds, and the limit for semaphore."""
    assert durations_text(validate_options("parallel", [0.5, None])) == "task1 0.5 s · task2 1.5 s"
    semaphore = durations_text(validate_options("semaphore", FAST))
    assert "task4 0.05 s" in semaphore
    assert semaphore.endswith("at most 2 at once")


def test_live_and_question_embeds_fit_discord_limits() -> None:
    """The progress and predict-first embeds are within every embed limit."""
    options = validate_options("compare", [10.0, 10.0])
    question = ask_prediction(options)
    embeds = [
        progress_embed(options, initial_bars(options), notes=["Starting…", "x" * 5000]),
        question_embed(options, question, 60.0),
    ]
    assert message_problems(embeds=embeds[:1]) == []
    assert message_problems(embeds=embeds[1:]) == []
    assert "task1" in (embeds[0].description or "")
    assert question.prompt in (embeds[1].description or "")


@pytest.mark.parametrize("mode", MODES)
async def test_report_of_every_mode_fits_and_keeps_every_section(mode: str) -> None:
    """A real run's report packs into messages within Discord's limits, losing no section."""
    report = build_report(await fast_run(mode))
    messages = report_embeds(report, notes=["🔮 Right."], image=GANTT_FILENAME)
    for embeds in messages:
        assert message_problems(embeds=embeds) == []
        assert len(embeds) <= 10
    fields = [(f.name, f.value) for embeds in messages for e in embeds for f in e.fields]
    assert fields == report.sections()
    first = messages[0][0]
    assert first.image.url == f"attachment://{GANTT_FILENAME}"
    assert "🔮 Right." in (first.description or "")


def test_a_long_report_is_split_over_messages_in_order() -> None:
    """Sections past one message's 6000 characters go to continuation messages, in order."""
    sections = [f"```\n{str(i % 10) * 1000}\n```" for i in range(12)]
    report = DemoReport(
        title="Demo: semaphore",
        summary="N tasks",
        timings="timings",
        gantt="gantt",
        table=tuple(sections),
        tracker=("tracker",),
    )
    messages = report_embeds(report)
    assert len(messages) > 1
    for embeds in messages:
        assert message_problems(embeds=embeds) == []
        assert sum(len(e) for e in embeds) <= MESSAGE_BUDGET
    assert messages[1][0].title == "Demo: semaphore (continued)"
    values = [f.value for embeds in messages for e in embeds for f in e.fields]
    assert values == [value for _name, value in report.sections()]
    assert messages[0][0].image.url is None


def test_more_than_25_short_sections_open_a_second_embed() -> None:
    """A message never carries an embed with more than 25 fields."""
    report = DemoReport(
        title="Demo: x",
        summary="s",
        timings="t",
        gantt="g",
        table=tuple(f"row {i}" for i in range(40)),
        tracker=("k",),
    )
    messages = report_embeds(report)
    assert len(messages) == 1
    assert [len(e.fields) for e in messages[0]] == [25, 18]
    assert message_problems(embeds=messages[0]) == []


async def test_stopped_notes_say_why_a_run_ended_early() -> None:
    """A cancelled run's note is shown; a completed run has none."""
    handle = start_demo(validate_options("sequential", [5.0, 5.0]))
    await asyncio.sleep(0.02)
    handle.cancel("the bot is shutting down")
    cancelled = await handle.wait()
    assert stopped_notes(cancelled) == ["⏹ **Demo stopped**: the bot is shutting down."]
    assert stopped_notes(await fast_run("parallel")) == []


async def test_prediction_view_offers_one_button_per_choice() -> None:
    """The predict-first buttons are the question's choices, all within component limits."""
    options = validate_options("compare", FAST)
    question = ask_prediction(options)
    view = PredictionView(options, question, owner_id=42, timeout=5.0, boot_id="0123abcd")
    buttons = [cast(discord.ui.Button[Any], item) for item in view.children]
    assert [b.label for b in buttons] == [label for _value, label in question.choices]
    assert all(str(b.custom_id).startswith("sb:x:0123abcd:pd:") for b in buttons)
    assert message_problems(view=view) == []
    view.stop()


async def test_cog_without_a_demo_guard_says_demos_are_unavailable(study_bot: StudyBot) -> None:
    """A bot built without the demo service answers with a friendly error, not a crash."""
    assert study_bot.services.demo is None
    with pytest.raises(UserError, match="not available"):
        _ = DemoCog(study_bot).guard


@pytest.mark.parametrize("mode", MODES)
async def test_final_report_code_blocks_fit_a_phone(study_bot: StudyBot, mode: str) -> None:
    """Every code-block line of the finished demo's embeds fits the phone width."""
    durations = FAST if mode == "compare" else [0.05] * 8
    run = await run_demo(validate_options(mode, durations))
    frame = await DemoCog(study_bot).final_frame(run, None, [])
    pages = [frame.embeds, *frame.followups]
    values = [f.value or "" for embeds in pages for e in embeds for f in e.fields]
    values = [value for value in values if value.startswith("```")]  # not the prose
    lines = [line for value in values for line in value.split("\n") if not is_fence(line)]
    assert lines
    assert max(len(line) for line in lines) <= PHONE_WIDTH
    names = [f.name or "" for embeds in pages for e in embeds for f in e.fields]
    assert any(name.startswith("Execution table") for name in names)
