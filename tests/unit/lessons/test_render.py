"""Tests for the plain-text renderers: content, limits, fences and pagination."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import OptionError
from bot.lessons.loader import load_lessons
from bot.lessons.model import (
    MODES,
    Checkpoint,
    Choice,
    CodeSample,
    ExecutionTable,
    Flow,
    KeyMoment,
    Lesson,
    QuizQuestion,
    TableRow,
    TrackedVariable,
    VariableTracker,
)
from bot.lessons.render import (
    NOTE_MARKER,
    PHONE_WIDTH,
    STEP_CUT,
    is_fence,
    paginate,
    render,
    render_lesson_list,
    render_trace_step,
    status_symbols,
)

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = load_lessons([ROOT / "content" / "lessons"]).lessons
SEED = SHIPPED["node-sequential-vs-parallel"]


def fences_balanced(page: str) -> bool:
    """Return whether a page opens and closes code blocks in pairs."""
    return sum(1 for line in page.split("\n") if is_fence(line)) % 2 == 0


def squash(text: str) -> str:
    """Return the text without whitespace (zero-width spaces count as whitespace here)."""
    return re.sub(r"[\s\u200b]", "", text)


def is_subsequence(needle: str, haystack: str) -> bool:
    """Return whether ``needle``'s characters appear in ``haystack`` in order."""
    it = iter(haystack)
    return all(ch in it for ch in needle)


def block_lines(text: str) -> list[str]:
    """Return the lines inside the text's code blocks, zero-width spaces removed."""
    inside, found = False, []
    for line in text.split("\n"):
        if is_fence(line):
            inside = not inside
        elif inside:
            found.append(line.replace("\u200b", ""))
    return found


def parse_compact_table(page: str) -> list[tuple[str, str, list[str], str]]:
    """Read a compact table back into (step, action, statuses, notes), symbols resolved."""
    body = block_lines(page)
    legend: dict[str, str] = {}
    if "" in body:
        body, tail = body[: body.index("")], body[body.index("") + 1 :]
        for entry in " ".join(tail).split(", "):
            symbol, _, word = entry.partition(" = ")
            legend[symbol] = word
    rows: list[tuple[str, str, list[str], str]] = []
    for line in body[2:]:
        if line.startswith("  " + NOTE_MARKER):
            step, action, statuses, notes = rows[-1]
            rows[-1] = (step, action, statuses, line[2 + len(NOTE_MARKER) :])
        elif line.startswith("    ") and "|" not in line:
            step, action, statuses, notes = rows[-1]
            rows[-1] = (step, action, statuses, f"{notes} {line.strip()}")
        elif line.startswith(" "):
            step, action, statuses, notes = rows[-1]
            piece = line.split(" | ", 1)[1].rstrip(" |")
            rows[-1] = (step, f"{action} {piece}", statuses, notes)
        else:
            step, action, rest = (cell.strip() for cell in line.split(" | ", 2))
            if legend:
                statuses = [legend[symbol] for symbol in rest.split()]
            else:
                statuses = [cell.strip() for cell in rest.split(" | ")]
            rows.append((step, action, statuses, ""))
    return rows


# -- the shipped lessons ---------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("narrow", [False, True])
def test_every_shipped_lesson_renders_in_every_mode(mode: str, narrow: bool) -> None:
    """Each shipped lesson renders in each mode within 1900 characters per page."""
    for lesson in SHIPPED.values():
        pages = render(lesson, mode, narrow=narrow)
        assert pages
        assert all(len(p) <= 1900 and fences_balanced(p) for p in pages)


def test_table_wide_is_aligned_monospace() -> None:
    """The wide table is one fenced grid whose rows line up under the header."""
    [page] = render(SEED, "table")
    body = page.split("```text\n", 1)[1].split("\n```", 1)[0].split("\n")
    assert body[0].startswith("Step | Action")
    assert body[4].startswith("3    | Call task2()")
    bars = {line.index("|") for line in body if "|" in line}
    assert len(bars) == 1  # the first column separator is at the same place on every row
    assert "💡 Execution stops after both tasks finish in each approach." in page


def test_table_narrow_is_one_block_per_step() -> None:
    """The narrow table gives each step its own short block."""
    text = "\n".join(render(SEED, "table", narrow=True))
    assert "Step 3 · Call task2()\n  Task 1 Status: Finished\n  Task 2 Status: Started\n" in text
    longest = max(len(line) for line in text.split("\n") if not line.startswith("##"))
    assert longest <= 60


@pytest.mark.parametrize("lesson_id", sorted(SHIPPED))
def test_phone_table_fits_and_keeps_every_cell_and_note(lesson_id: str) -> None:
    """Within the phone width the table still holds every row's action, statuses and notes."""
    lesson = SHIPPED[lesson_id]
    [page] = render(lesson, "table", width=PHONE_WIDTH, heading=False)
    assert max(len(line) for line in block_lines(page)) <= PHONE_WIDTH
    expected = [
        (
            str(row.step),
            " ".join(row.action.split()),
            [row.statuses[task] for task in lesson.table.tasks],
            " ".join(row.notes.split()),
        )
        for row in lesson.table.rows
    ]
    assert parse_compact_table(page) == expected


def test_phone_table_of_the_seed_keeps_whole_status_words() -> None:
    """The seed's two tasks fit as whole words (their shared "Status" dropped), notes indented
    under their row."""
    [page] = render(SEED, "table", width=PHONE_WIDTH, heading=False)
    body = block_lines(page)
    assert body[0] == "Step | Action                   | Task 1   | Task 2"
    assert body[body.index("3    | Call task2()             | Finished | Started") + 1] == (
        f"  {NOTE_MARKER}Sequential: task2 starts after task1"
    )
    assert "     | together                 |          |" in body
    assert not page.startswith("##")
    assert "💡 Execution stops after both tasks finish in each approach." in page


def test_phone_table_with_four_tasks_uses_symbols_and_a_legend() -> None:
    """Four tasks turn the statuses into symbols under T1-T4, explained by a legend."""
    lesson = SHIPPED["python-semaphore-limits"]
    [page] = render(lesson, "table", width=PHONE_WIDTH)
    body = block_lines(page)
    assert body[0].endswith("| T1 T2 T3 T4")
    assert body[2].endswith("| R  R  W  W")
    assert body[-1] == "R = Running, W = Waiting, D = Done"


def test_status_symbols_are_fixed_for_known_words_and_unique() -> None:
    """Known statuses get the documented symbols; clashing ones still get distinct symbols."""
    symbols = status_symbols(["Started", "Finished", "Not started", "Failed", "Scheduled", "Sx"])
    assert symbols is not None
    assert symbols["Started"] == "S"
    assert symbols["Finished"] == "F"
    assert symbols["Not started"] == "·"
    assert symbols["Failed"] == "✗"
    assert len(set(symbols.values())) == len(symbols)
    assert all(len(symbol) == 1 for symbol in symbols.values())


@pytest.mark.parametrize("lesson_id", sorted(SHIPPED))
def test_phone_tracker_has_one_row_per_checkpoint(lesson_id: str) -> None:
    """Within the phone width the tracker lists checkpoints down and variables across."""
    lesson = SHIPPED[lesson_id]
    [page] = render(lesson, "tracker", width=PHONE_WIDTH, heading=False)
    body = block_lines(page)
    assert max(len(line) for line in body) <= PHONE_WIDTH
    assert body[0].split(" | ")[0].strip() == "Checkpoint"
    tracker = lesson.tracker
    for index, checkpoint in enumerate(tracker.checkpoints):
        cells = [c.strip() for c in body[2 + index].split(" | ")]
        assert cells == [checkpoint.label, *(v.values[index] for v in tracker.variables)]


@pytest.mark.parametrize("lesson_id", sorted(SHIPPED))
def test_phone_trace_steps_fit_and_show_the_row(lesson_id: str) -> None:
    """Every trace step fits the phone width: its cells, tracker state (if recorded), moments."""
    lesson = SHIPPED[lesson_id]
    for row in lesson.table.rows:
        text = render_trace_step(lesson, row.step, width=PHONE_WIDTH, heading=False)
        assert not text.startswith("##")
        assert max(len(line) for line in block_lines(text)) <= PHONE_WIDTH
        flat = squash(text.replace("|", ""))  # a cell wrapped on its side continues after "|"
        for cell in (row.action, row.notes, *row.statuses.values()):
            assert squash(cell) in flat
        tracked = lesson.tracker_at(row.step)
        if tracked.exact:
            assert all(squash(value) in flat for value in tracked.values.values())
        else:
            assert f"not recorded at step {row.step}" in text
        for moment in lesson.moments_citing(row.step):
            assert squash(moment.question) in flat


def test_phone_trace_of_the_seed_turns_the_row_on_its_side() -> None:
    """The seed's rows do not all fit one line, so each step lists its cells down the side."""
    text = render_trace_step(SEED, 3, width=PHONE_WIDTH, heading=False)
    assert block_lines(text)[:5] == [
        "Step          | 3",
        "Action        | Call task2()",
        "Task 1 Status | Finished",
        "Task 2 Status | Started",
        "Notes         | Sequential: task2 starts after task1",
    ]
    assert "**Tracker** (After Step 3)\n```text\nVariable    | Value\n" in text
    assert "task2Status | Started" in text


def test_heading_is_kept_by_default_and_can_be_left_out() -> None:
    """The console keeps the ## heading; without it the text starts with the content."""
    for mode in MODES:
        assert render(SEED, mode)[0].startswith(f"## {SEED.title}")
        assert not render(SEED, mode, heading=False)[0].startswith("##")
    assert render(SEED, "overview", heading=False)[0].startswith("Node.js · ~10 min")
    assert render_trace_step(SEED, 3).startswith("## ")


def test_overview_points_to_the_lessons_live_demos() -> None:
    """A lesson with demos names them in its overview; one without has no such line."""
    failures = render(SHIPPED["python-gather-failures"], "overview")[0]
    assert "- See it run live: `fail_fast 1 2 3`, `settled 1 2 3`, `taskgroup_fail 1 2 3` (" in (
        failures
    )
    assert "`semaphore 4 1 1 1`" in render(SHIPPED["python-semaphore-limits"], "overview")[0]
    bare = dataclasses.replace(SEED, demos=())
    assert "See it run live" not in render(bare, "overview")[0]


def test_width_below_the_minimum_is_refused() -> None:
    """A width too small for any table is a programming error."""
    with pytest.raises(ValueError):
        render(SEED, "table", width=10)


def test_tracker_and_moments_and_snapshot_content() -> None:
    """The tracker, moments and snapshot modes show the lesson's own values."""
    tracker = "\n".join(render(SEED, "tracker"))
    assert "task2Status | Not started | Not started  | Started" in tracker
    moments = "\n".join(render(SEED, "moments"))
    assert "**2. How can both tasks run at the same time in the parallel example?**" in moments
    assert "Steps: 6, 7, 8" in moments
    snapshot = "\n".join(render(SEED, "snapshot"))
    assert "- Parallel runs tasks at same time, waits for all" in snapshot


def test_unknown_mode_is_an_option_error() -> None:
    """An unknown mode raises OptionError listing the modes."""
    with pytest.raises(OptionError, match="overview, flow, code"):
        render(SEED, "diagram")


def test_trace_step_shows_row_tracker_and_moments() -> None:
    """A trace step shows its row, the tracker state then, and the moments citing it."""
    text = render_trace_step(SEED, 3)
    assert "Step 3 of 8" in text
    assert "3    | Call task2()" in text
    assert "**Tracker** (After Step 3)" in text
    assert "task2Status | Started" in text
    assert "Why does task2 only start after task1 finishes" in text
    step2 = render_trace_step(SEED, 2, narrow=True)
    assert "**Tracker**: not recorded at step 2; the row above is the state now." in step2
    assert "task1Status" not in step2  # no stale values under a newer row
    assert "How can both tasks" not in step2
    step5 = render_trace_step(SEED, 5)
    assert "🔑" not in step5


def test_a_trace_step_too_long_for_its_limit_is_cut_and_says_so() -> None:
    """Cut to the limit, with a note: no tracked variable may vanish without a word."""
    whole = render_trace_step(SEED, 3)
    for limit in (200, 300, 400):
        text = render_trace_step(SEED, 3, limit=limit)
        assert len(text) <= limit
        assert text.endswith(STEP_CUT)
    assert STEP_CUT not in whole


def test_trace_step_out_of_range() -> None:
    """A step outside the table raises OptionError naming the range."""
    for step in (0, 9, -1):
        with pytest.raises(OptionError, match="steps 1-8"):
            render_trace_step(SEED, step)


def test_lesson_list_names_every_lesson() -> None:
    """The lesson list shows each id as a code span with its title."""
    text = "\n".join(render_lesson_list(list(SHIPPED.values())))
    for lesson_id in SHIPPED:
        assert f"`{lesson_id}`" in text
    assert render_lesson_list([]) == ["No lessons are loaded."]
    bare = "\n".join(render_lesson_list(list(SHIPPED.values()), heading=False))
    assert not bare.startswith("## ") and bare == text.split("\n", 1)[1]


def test_backticks_in_content_cannot_break_out() -> None:
    """Lesson text containing ``` cannot open or close a code block."""
    import dataclasses

    evil = dataclasses.replace(
        SEED,
        title="```\n@everyone",
        code=(CodeSample("python", "x = '```'\nprint(x)\n```", "```caption"),),
    )
    for mode in MODES:
        for page in render(evil, mode):
            assert fences_balanced(page)
            assert "```'" not in page


def test_paginate_splits_long_lines_at_words() -> None:
    """A long paragraph is split at spaces into pages within the limit."""
    text = " ".join(f"word{i}" for i in range(300))
    pages = paginate(text, 100)
    assert all(len(p) <= 100 for p in pages)
    assert " ".join(pages).split() == text.split()


def test_paginate_reopens_code_blocks_with_their_language() -> None:
    """A code block cut by a page break is closed and reopened with the same language."""
    text = "intro\n```python\n" + "\n".join(f"line_{i} = {i}" for i in range(50)) + "\n```\nend"
    pages = paginate(text, 120)
    assert len(pages) > 2
    assert all(fences_balanced(p) and len(p) <= 120 for p in pages)
    assert all(p.startswith("```python\n") for p in pages[1:])
    assert pages[-1].endswith("end")


def test_paginate_repeats_table_header() -> None:
    """A grid cut by a page break repeats its header on the next page."""
    grid = "A | B\n--+--\n" + "\n".join(f"{i} | x" for i in range(100))
    pages = paginate(f"```text\n{grid}\n```", 100)
    assert len(pages) > 1
    assert all(p.startswith("```text\nA | B\n--+--\n") for p in pages)


def test_paginate_rejects_tiny_limits_and_handles_blank() -> None:
    """A limit below 40 is refused; blank text gives no pages."""
    with pytest.raises(ValueError):
        paginate("x", 10)
    assert paginate("  \n\n ", 100) == []


# -- property-based ------------------------------------------------------------

texts = st.lists(
    st.sampled_from([*"abcdefghij XYZ`|-_*@#.:\n", "```", "```python\n", "\t", "é", "日", "word "]),
    max_size=300,
).map("".join)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz*_é", min_size=1, max_size=30)
lines = st.lists(words, min_size=1, max_size=12).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(text=st.lists(lines, max_size=40).map("\n".join), limit=st.integers(40, 400))
def test_paginate_keeps_all_text_and_words(text: str, limit: int) -> None:
    """Plain text: pages fit, no text is lost, and no word shorter than the limit is split."""
    pages = paginate(text, limit)
    assert all(0 < len(p) <= limit for p in pages)
    assert squash("".join(pages)) == squash(text)
    page_words = [w for p in pages for w in p.split()]
    assert page_words == text.split()


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(
        st.one_of(lines, st.sampled_from(["```", "```python", "```text", "", "a | b", "--+--"])),
        max_size=60,
    ).map("\n".join),
    limit=st.integers(40, 300),
)
def test_paginate_keeps_fences_balanced(text: str, limit: int) -> None:
    """Text with code fences: every page fits, fences balance, nothing is lost."""
    pages = paginate(text, limit)
    assert all(0 < len(p) <= limit for p in pages)
    assert all(fences_balanced(p) for p in pages)
    without_fences = "\n".join(line for line in text.split("\n") if not is_fence(line))
    assert is_subsequence(squash(without_fences), squash("".join(pages)))


short = st.text(alphabet="abcdef XYZ`*_@", min_size=1, max_size=60).filter(str.strip)


@st.composite
def lessons(draw: st.DrawFn) -> Lesson:
    """Draw a random but valid lesson."""
    tasks = tuple(dict.fromkeys(draw(st.lists(short, min_size=1, max_size=4))))
    n_rows = draw(st.integers(1, 12))
    rows = tuple(
        TableRow(
            step=i,
            action=draw(texts),
            statuses={t: draw(short) for t in tasks},
            notes=draw(texts),
        )
        for i in range(1, n_rows + 1)
    )
    cps = draw(st.lists(st.integers(1, n_rows), max_size=6, unique=True).map(sorted))
    checkpoints = (Checkpoint("Start"), *(Checkpoint(f"After Step {s}", s) for s in cps))
    variables = tuple(
        TrackedVariable(f"v{i}", tuple(draw(short) for _ in checkpoints))
        for i in range(draw(st.integers(1, 4)))
    )
    steps = st.lists(st.integers(1, n_rows), max_size=4).map(tuple)
    return Lesson(
        id="random-lesson",
        title=draw(short),
        language=draw(short),
        tags=tuple(draw(st.lists(short, max_size=4))),
        summary=draw(texts),
        minutes=draw(st.integers(1, 90)),
        flows=tuple(
            Flow(draw(short), tuple(draw(st.lists(short, min_size=1, max_size=8))))
            for _ in range(draw(st.integers(1, 3)))
        ),
        flow_caption=draw(texts),
        code=(CodeSample(draw(st.sampled_from(["python", "js", "bad lang!"])), draw(texts)),),
        table=ExecutionTable(tasks, rows, draw(texts)),
        tracker=VariableTracker(checkpoints, variables),
        moments=tuple(
            KeyMoment(draw(texts), draw(texts), draw(steps)) for _ in range(draw(st.integers(0, 5)))
        ),
        quiz=(QuizQuestion("q", (Choice("A", "a"), Choice("B", "b")), "A"),),
        snapshot=tuple(draw(st.lists(texts, min_size=1, max_size=5))),
        transcript=draw(texts),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lesson=lessons(),
    limit=st.sampled_from([200, 1024, 1900, 2000]),
    narrow=st.booleans(),
    width=st.sampled_from([None, 24, 40, PHONE_WIDTH, 80]),
)
def test_random_lessons_stay_within_limits(
    lesson: Lesson, limit: int, narrow: bool, width: int | None
) -> None:
    """Every mode, trace step and list page fits, fences balance, tables keep to the width."""
    for mode in MODES:
        for page in render(lesson, mode, narrow=narrow, limit=limit, width=width):
            assert len(page) <= limit
            assert fences_balanced(page)
            if width is not None and mode in ("table", "tracker"):
                assert all(len(line) <= width for line in block_lines(page))
    for step in lesson.table.steps:
        text = render_trace_step(lesson, step, narrow=narrow, limit=limit, width=width)
        assert len(text) <= limit
        assert fences_balanced(text)
        if width is not None:
            assert all(len(line) <= width for line in block_lines(text))
    for page in render_lesson_list([lesson] * 30, limit=limit):
        assert len(page) <= limit
