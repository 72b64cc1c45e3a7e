"""Reports of real runs: table shape, tracker, timings, Gantt, progress, PNG, limits."""

from __future__ import annotations

import asyncio
import io
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from bot.demos.chart import MAX_INTERVALS, NICE_STEPS, nice_ticks, render_gantt_png, tick_label
from bot.demos.engine import run_demo, start_demo, validate_options
from bot.demos.gantt import GANTT_WIDTH, gantt_lines
from bot.demos.model import MODES, DemoRun
from bot.demos.report import (
    FIELD_LIMIT,
    build_report,
    execution_table,
    paginate,
    render_progress,
    render_table,
    render_timings,
    render_tracker,
    run_as_dict,
    trace_steps,
    variable_tracker,
)
from bot.lessons.render import NOTE_MARKER, PHONE_WIDTH


@pytest.fixture(scope="module")
def compare_run() -> DemoRun:
    """Run one short compare demo for the whole module."""
    return asyncio.run(run_demo(validate_options("compare", [0.05, 0.1])))


def test_sequential_table_matches_the_lessons_shape(compare_run: DemoRun) -> None:
    """The real sequential table reads like the lesson's: task1 runs, then task2, then done."""
    steps = [s for s in trace_steps(compare_run) if s.phase == "sequential"]
    assert [s.action for s in steps] == [
        "task1 starts",
        "task1 finishes",
        "task2 starts",
        "task2 finishes",
        "Sequential done",
    ]
    assert steps[0].statuses == {"task1": "Started", "task2": "Not started"}
    assert steps[1].statuses == {"task1": "Finished", "task2": "Not started"}
    assert steps[2].statuses == {"task1": "Finished", "task2": "Started"}
    assert all(a.at <= b.at for a, b in itertools.pairwise(steps))


def test_parallel_table_starts_both_in_one_step(compare_run: DemoRun) -> None:
    """The parallel half shows both tasks starting together, like the lesson's step 6."""
    steps = [s for s in trace_steps(compare_run) if s.phase == "parallel"]
    assert steps[0].action == "task1 and task2 start together"
    assert steps[0].statuses == {"task1": "Started", "task2": "Started"}
    assert steps[-1].action == "Parallel done"


def test_lesson_model_table_and_tracker(compare_run: DemoRun) -> None:
    """The run converts into the lesson model's table and tracker, with times in ms."""
    table = execution_table(compare_run)
    assert table.tasks == ("task1", "task2")
    assert table.rows[0].notes.split(" ms")[0].replace(".", "").isdigit()
    tracker = variable_tracker(compare_run)
    assert tracker.checkpoints[0].label == "Start"
    assert tracker.checkpoints[-1].label == "Final"
    assert [v.name for v in tracker.variables] == ["task1Status", "task2Status"]
    assert tracker.variables[1].values[0] == "Not started"
    assert tracker.variables[1].values[-1] == "Finished"


def test_timings_show_ms_overhead_and_speedup(compare_run: DemoRun) -> None:
    """Timings give measured and ideal in ms, overhead, and the compare speedup like 1.50x."""
    text = render_timings(compare_run)
    assert "ideal 150.0 ms" in text
    assert "ideal 100.0 ms" in text
    assert "overhead" in text
    assert "(ideal 1.50x)" in text


def test_gantt_fits_forty_columns(compare_run: DemoRun) -> None:
    """The text Gantt chart never exceeds its fixed width and shows both phases."""
    lines = gantt_lines(compare_run)
    assert all(len(line) <= GANTT_WIDTH for line in lines)
    assert "sequential" in lines
    assert "parallel" in lines
    assert any("█" in line for line in lines)


def test_gantt_legend_names_only_the_symbols_it_uses(compare_run: DemoRun) -> None:
    """A chart of plain runs explains its bars only; a failure chart adds ✗ and ×."""
    assert gantt_lines(compare_run)[-1] == "█ running"
    failed = asyncio.run(run_demo(validate_options("taskgroup_fail", [0.05, 0.1, 0.3])))
    lines = gantt_lines(failed)
    assert lines[-1] == "█ running  ✗ failed  × cancelled"
    assert all(len(line) <= GANTT_WIDTH for line in lines)


def test_semaphore_table_starts_like_the_lesson_two_run_two_wait() -> None:
    """Step 1 of the real run is the lesson's: two tasks start, two wait for a slot."""
    run = asyncio.run(run_demo(validate_options("semaphore", [0.1, 0.05, 0.05, 0.05])))
    first = trace_steps(run)[0]
    assert first.action == "task1 and task2 start together; task3 and task4 wait for a slot"
    assert first.statuses == {
        "task1": "Started",
        "task2": "Started",
        "task3": "Waiting",
        "task4": "Waiting",
    }
    assert trace_steps(run)[1].action == "task2 finishes"


def test_taskgroup_fail_table_reads_like_the_lesson() -> None:
    """The real TaskGroup run: task2 raises, task3 is cancelled, then the block raises."""
    run = asyncio.run(run_demo(validate_options("taskgroup_fail", [0.05, 0.1, 0.3])))
    actions = [s.action for s in trace_steps(run)]
    assert actions == [
        "task1, task2 and task3 start together",
        "task1 finishes",
        "task2 raises",
        "task3 cancelled",
        "the block raises in main",
        "TaskGroup fail done",
    ]
    assert "raised in main**: ExceptionGroup(" in render_timings(run)


def test_png_is_a_valid_image(compare_run: DemoRun) -> None:
    """The PNG chart reopens with Pillow at a sane size."""
    data = render_gantt_png(compare_run)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.verify()
    width, height = Image.open(io.BytesIO(data)).size
    assert 300 <= width <= 1200
    assert 100 <= height <= 800


def test_png_axis_ticks_are_round_seconds() -> None:
    """The chart's axis ticks step by round amounts, not by a quarter of the run."""
    assert nice_ticks(0.8005) == [round(0.1 * i, 6) for i in range(9)]
    assert nice_ticks(1.5548) == [round(0.2 * i, 6) for i in range(9)]
    assert nice_ticks(3.0) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert [tick_label(t) for t in nice_ticks(0.4)[:4]] == ["0s", "0.05s", "0.1s", "0.15s"]
    assert tick_label(10.0) == "10s"


@given(span=st.floats(min_value=0.001, max_value=200.0))
def test_png_axis_covers_the_run_at_a_round_step(span: float) -> None:
    """Ticks start at 0, step evenly by a 1/2/2.5/5 step, are few, and reach the run's end."""
    ticks = nice_ticks(span)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0.0
    assert 2 <= len(ticks) <= MAX_INTERVALS + 1
    assert any(abs(step - nice) < 1e-6 for nice in NICE_STEPS)
    assert all(abs(b - a - step) < 1e-6 for a, b in itertools.pairwise(ticks))
    assert ticks[-1] >= span - 0.05 * step - 1e-9
    assert ticks[-2] < span


async def test_png_renders_off_the_loop() -> None:
    """The chart can be rendered through asyncio.to_thread."""
    run = await run_demo(validate_options("semaphore", [0.05]))
    data = await asyncio.to_thread(render_gantt_png, run)
    assert Image.open(io.BytesIO(data)).format == "PNG"


@pytest.mark.parametrize("mode", MODES)
async def test_every_section_fits_discord_limits(mode: str) -> None:
    """Every section fits an embed field and every packed message fits 2000 chars."""
    durations = [0.05] * 8 if mode != "compare" else [0.05] * 4
    run = await run_demo(validate_options(mode, durations))
    report = build_report(run)
    assert all(len(value) <= FIELD_LIMIT for _, value in report.sections())
    assert all(len(message) <= 2000 for message in report.messages())
    assert report.table


def code_lines(pages: list[str]) -> list[str]:
    """Return the lines of code-block pages without their fences."""
    return [line for page in pages for line in page.split("\n") if not line.startswith("```")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tasks", [2, 8])
async def test_phone_report_sections_fit_the_width(mode: str, tasks: int) -> None:
    """With a width, no line of the table, tracker or Gantt chart is wider than a phone."""
    durations = [0.05] * (min(tasks, 4) if mode == "compare" else tasks)
    run = await run_demo(validate_options(mode, durations))
    report = build_report(run, width=PHONE_WIDTH)
    for name, value in report.sections():
        if "```" in value:
            assert max(len(line) for line in code_lines([value])) <= PHONE_WIDTH, name
    assert all(len(value) <= FIELD_LIMIT for _, value in report.sections())


def test_phone_table_keeps_every_step_time_status_and_note(compare_run: DemoRun) -> None:
    """The narrow table still holds each step's number, time, statuses and notes."""
    lines = code_lines(render_table(compare_run, PHONE_WIDTH))
    assert lines[0].split() == ["Step", "ms", "Action", "task1", "task2"]
    text = "\n".join(lines)
    for step in trace_steps(compare_run):
        row = next(
            line for line in lines if line.split()[:2] == [str(step.step), f"{step.at_ms:.1f}"]
        )
        for status in step.statuses.values():
            assert status in row
        if step.notes:
            assert f"{NOTE_MARKER}{step.notes}"[:30] in text
    assert "task1 and task2" in text and "start together" in text


async def test_phone_table_of_eight_tasks_uses_symbols_with_a_legend() -> None:
    """Eight tasks do not fit as words: statuses become symbols and a legend explains them."""
    run = await run_demo(validate_options("semaphore", [0.05] * 8))
    lines = code_lines(render_table(run, PHONE_WIDTH))
    assert lines[0].endswith("T1 T2 T3 T4 T5 T6 T7 T8")
    assert lines[2].endswith("S  S  W  W  W  W  W  W")  # two start, six wait at once
    assert "F = Finished" in lines[-1] or "F = Finished" in lines[-2]
    tracker = code_lines(render_tracker(run, PHONE_WIDTH))
    assert tracker[0].split() == ["Checkpoint", *(f"T{i}" for i in range(1, 9))]


def test_console_report_keeps_the_wide_table(compare_run: DemoRun) -> None:
    """Without a width the table keeps its Notes column on one line per step."""
    lines = code_lines(render_table(compare_run))
    assert lines[0].split()[-1] == "Notes"
    body = [line for line in lines if line not in lines[:2]]  # pages repeat the header
    assert len(body) == len(trace_steps(compare_run))


def test_paginate_keeps_lines_whole_and_repeats_the_header() -> None:
    """Pagination splits between lines, repeats the header, and stays within the limit."""
    lines = ["Head", "----", *(f"row {i} " + "x" * 60 for i in range(40))]
    pages = paginate(lines, head=2, limit=500)
    assert len(pages) > 1
    assert all(len(p) <= 500 and p.startswith("```\nHead\n----") for p in pages)
    body = [line for p in pages for line in p.split("\n")[3:-1]]
    assert body == lines[2:]


def test_paginate_keeps_a_row_with_its_note_and_wrapped_lines() -> None:
    """A row's wrapped action and ↳ note lines stay on its page; a legend stays whole."""
    row = ["10  task1, task2 and", "    start together", "  ↳ Parallel: await gather(...)"]
    lines = ["Head", "----", *(f"{i}   row {i}" for i in range(1, 6)), *row, "", "S = Started"]
    pages = paginate(lines, head=2, limit=120)
    bodies = [page.split("\n")[3:-1] for page in pages]
    assert len(bodies) > 1
    assert any(body[: len(row)] == row for body in bodies)  # the row opens a page, whole
    assert all(body and not body[0][:1].isspace() for body in bodies)
    assert [line for body in bodies for line in body if line] == [
        line for line in lines[2:] if line
    ]
    assert bodies[-1][-1] == "S = Started"


async def test_a_four_task_compare_table_never_opens_a_page_with_a_note() -> None:
    """In a 4-task compare, each table page starts with a row, never a note cut from it."""
    run = await run_demo(validate_options("compare", [0.05, 0.06, 0.07, 0.08]))
    pages = render_table(run, PHONE_WIDTH)
    assert len(pages) > 1
    for page in pages:
        first = page.split("\n")[3]
        assert first[:1].isdigit(), first


def test_json_export_is_serialisable(compare_run: DemoRun) -> None:
    """The JSON form has events, tasks and timings in ms."""
    data = json.loads(json.dumps(run_as_dict(compare_run)))
    assert data["mode"] == "compare"
    assert data["timings"]["speedup"] > 1.0
    assert {e["kind"] for e in data["events"]} >= {"created", "started", "finished", "done"}
    assert len(data["tasks"]) == 4


async def test_progress_view_shows_bars_and_states() -> None:
    """The live view has one bar per task with a percentage and a state word."""
    handle = start_demo(validate_options("sequential", [0.05, 0.3]))
    await asyncio.sleep(0.12)
    text = render_progress(handle.progress(), handle.elapsed, mode="sequential", expected=2)
    await handle.wait()
    assert "task1 ██████████ 100% done" in text
    assert "% running" in text
    assert len(text) < 1024


def test_progress_lists_tasks_not_created_yet() -> None:
    """Before task2 exists, the view still lists it as not started."""
    text = render_progress((), 0.0, expected=2)
    assert "task2 ░░░░░░░░░░   0% not started" in text


async def test_cancelled_report_says_so() -> None:
    """A cancelled run's timings section says it was cancelled and why."""
    handle = start_demo(validate_options("parallel", [3.0, 3.0]))
    await asyncio.sleep(0.05)
    handle.cancel("the bot is shutting down")
    run = await handle.wait()
    text = render_timings(run)
    assert "Cancelled (the bot is shutting down)" in text
    assert "×" in "\n".join(gantt_lines(run))
    assert render_gantt_png(run)[:4] == b"\x89PNG"


async def test_the_status_line_explains_the_clean_up_after_the_measured_part() -> None:
    """fire_and_forget's run goes on after the measured part; the status line says why."""
    run = await run_demo(validate_options("fire_and_forget", [0.3, 0.05]))
    status = render_timings(run).split("\n")[0]
    assert status.startswith(f"✅ Completed in {run.ended * 1000:.1f} ms, including ")
    assert "ms of clean-up that waited for the tasks left running" in status
    assert "on purpose" not in status
    quick = await run_demo(validate_options("fire_and_forget", [0.05, 0.1]))
    assert render_timings(quick).split("\n")[0] == f"✅ Completed in {quick.ended * 1000:.1f} ms."


@pytest.mark.parametrize(("mode", "cleanup"), [("fail_fast", True), ("taskgroup_fail", False)])
async def test_the_status_line_says_the_error_was_raised_on_purpose(
    mode: str, cleanup: bool
) -> None:
    """A run whose scenario raises by design says so next to its ✅."""
    run = await run_demo(validate_options(mode, [0.05, 0.1, 0.3]))
    status = render_timings(run).split("\n")[0]
    assert status.endswith("; the error below was raised on purpose.")
    assert ("clean-up" in status) is cleanup
    settled = await run_demo(validate_options("settled", [0.05, 0.1, 0.15]))
    assert "on purpose" not in render_timings(settled)  # returned, not raised
