"""Plain-text renderings of lessons, shared by the terminal console and Discord.

Everything here is a pure function of a ``Lesson``: Markdown that reads well
both raw in a terminal and formatted by Discord, cut into pages that fit a
message (Discord allows 2000 characters; the default 1900 leaves room for a
page footer). Lesson text can never open or close a code block by itself, so
a page's fences always stay balanced.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence

from bot.errors import OptionError
from bot.lessons.model import MODES, Lesson, TableRow

FENCE = "```"
MIN_LIMIT = 40
NARROW_WIDTH = 40
_FENCE_LINE = re.compile(r"^```[A-Za-z0-9_+#.-]{0,16}$")
_ZWSP = "\u200b"
_RULE = re.compile(r"^-+(?:-\+-+)*-*$")


def neutralise(text: str) -> str:
    """Break up runs of backticks so lesson text cannot open or close a code block."""
    return re.sub(r"`(?=`)", "`" + _ZWSP, text)


def code_span(text: str) -> str:
    """Return ``text`` as an inline code span that no backtick inside can break."""
    return "`" + text.replace("`", "ˋ").replace("\n", " ") + "`"


def fenced(body: str, language: str = "text") -> str:
    """Wrap ``body`` in a code block; backtick runs inside are neutralised."""
    tag = language if re.fullmatch(r"[A-Za-z0-9_+#.-]{1,16}", language) else "text"
    return f"{FENCE}{tag}\n{neutralise(body)}\n{FENCE}"


def is_fence(line: str) -> bool:
    """Return whether ``line`` opens or closes a code block."""
    return bool(_FENCE_LINE.match(line))


def _split_long(line: str, width: int) -> list[str]:
    """Split an over-long line at word boundaries (mid-word only for a word over ``width``)."""
    indent = line[: len(line) - len(line.lstrip(" "))]
    if len(indent) > width // 2:
        indent = ""
    pieces = textwrap.wrap(
        line,
        width=width,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
        replace_whitespace=False,
    )
    return pieces or [""]


def paginate(text: str, limit: int) -> list[str]:
    """Split ``text`` into pages of at most ``limit`` characters, at line then word boundaries.

    A code block cut by a page break is closed at the end of one page and
    reopened (same language) at the start of the next; a table's header (a line
    followed by a ``---+---`` rule) is repeated there too. Blank lines at page
    edges are dropped; an all-blank text gives no pages.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}, got {limit}")
    pages: list[str] = []
    lines: list[str] = []
    size = 0
    fence: str | None = None  # the opening line of the code block we are inside
    block: list[str] = []  # the first lines of that block, to spot a table header
    reopen: list[str] = []  # what a new page starts with while inside the block
    reopened = False  # the page holds only what reopened the block so far

    def reopen_prefix() -> list[str]:
        if fence is None:
            return []
        if len(block) >= 2 and _RULE.match(block[1]) and block[0].strip():
            prefix = [fence, block[0], block[1]]
            # Repeat the header only if it leaves room for real content.
            if sum(len(x) + 1 for x in prefix) + len(FENCE) + 1 <= limit // 2:
                return prefix
        return [fence]

    def finish() -> None:
        """Close the current page (closing an open block) and start the next one."""
        nonlocal lines, size, reopen, reopened
        while lines and not lines[-1].strip():
            lines.pop()
        closing = fence is not None
        if fence is not None and reopen and lines[-len(reopen) :] == reopen:
            del lines[-len(reopen) :]  # nothing of the block on this page: don't open it
            closing = False
            while lines and not lines[-1].strip():
                lines.pop()
        if lines:
            pages.append("\n".join([*lines, FENCE] if closing else lines))
        reopen = reopen_prefix()
        lines = list(reopen)
        reopened = bool(lines)
        size = sum(len(x) for x in lines) + max(len(lines) - 1, 0)

    def fits(line: str, fence_after: str | None) -> bool:
        reserve = len(FENCE) + 1 if fence_after is not None else 0
        return size + (1 if lines else 0) + len(line) + reserve <= limit

    def add(line: str) -> None:
        nonlocal size, reopened
        reopened = False
        size += (1 if lines else 0) + len(line)
        lines.append(line)

    for raw in text.split("\n"):
        line = raw.rstrip()
        if is_fence(line):
            if fence is None:
                if not fits(line, line):
                    finish()
                add(line)
                fence, block, reopen = line, [], [line]
            else:
                if not fits(line, None):
                    finish()
                if reopened:
                    lines, size = [], 0  # nothing of the block is left for this page
                else:
                    add(line)
                fence, block, reopen = None, [], []
            continue
        if fence is not None and len(block) < 2:
            block.append(line)
        if not line.strip() and fence is None and not lines:
            continue  # no blank lines at the top of a page
        if not fits(line, fence):
            finish()
            if not line.strip() and fence is None:
                continue
        if fits(line, fence):
            add(line)
            continue
        # We are on a fresh page here: cut the line into pieces that fit one.
        width = limit - size - (1 if lines else 0) - (len(FENCE) + 1 if fence is not None else 0)
        for piece in _split_long(line, width):
            if not fits(piece, fence):
                finish()
            add(piece)
    finish()
    return pages


# -- building blocks ---------------------------------------------------------


def _heading(lesson: Lesson, what: str) -> str:
    return f"## {neutralise(lesson.title)} · {what}"


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Align ``rows`` under ``header`` in columns separated by ' | '."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _wrap(text: str, indent: str = "  ", width: int = NARROW_WIDTH) -> list[str]:
    return textwrap.wrap(
        _one_line(text), width=width, initial_indent=indent, subsequent_indent=indent
    ) or [indent.rstrip()]


def _statuses(lesson: Lesson, row: TableRow) -> str:
    return " | ".join(f"{task}: {row.statuses.get(task, '?')}" for task in lesson.table.tasks)


def _step_block(lesson: Lesson, row: TableRow) -> str:
    """Return one step as a short block readable on a phone."""
    lines = [f"Step {row.step} · {_one_line(row.action)}"]
    statuses = _statuses(lesson, row)
    if len(statuses) + 2 <= NARROW_WIDTH + 4:
        lines.append(f"  {statuses}")
    else:
        lines += [f"  {task}: {row.statuses.get(task, '?')}" for task in lesson.table.tasks]
    if row.notes:
        lines.extend(_wrap(row.notes))
    return "\n".join(lines)


def _table_grid(lesson: Lesson, rows: Sequence[TableRow]) -> str:
    header = ["Step", "Action", *lesson.table.tasks, "Notes"]
    body = [
        [
            str(row.step),
            _one_line(row.action),
            *(row.statuses.get(t, "?") for t in lesson.table.tasks),
            _one_line(row.notes),
        ]
        for row in rows
    ]
    return _grid(header, body)


# -- modes ---------------------------------------------------------------------


def _overview(lesson: Lesson, narrow: bool) -> str:
    tags = ", ".join(lesson.tags)
    facts = f"{lesson.language} · ~{lesson.minutes} min" + (f" · {tags}" if tags else "")
    flows = ", ".join(_one_line(f.name) for f in lesson.flows)
    table = lesson.table
    tracker = lesson.tracker
    lines = [
        f"## {neutralise(lesson.title)}",
        neutralise(facts),
        "",
        neutralise(_one_line(lesson.summary)),
        "",
        "**In this lesson**",
        f"- Concept flows: {neutralise(flows)}",
        f"- Code: {len(lesson.code)} sample{'s' if len(lesson.code) != 1 else ''}",
        f"- Execution table: {len(table.rows)} steps over {neutralise(', '.join(table.tasks))}",
        f"- Variable tracker: {len(tracker.variables)} variables at "
        f"{len(tracker.checkpoints)} checkpoints",
        f"- {len(lesson.moments)} key moments · {len(lesson.quiz)} quiz questions",
        "",
        f"Modes: {', '.join(MODES)}",
    ]
    return "\n".join(lines)


def _flow(lesson: Lesson, narrow: bool) -> str:
    parts = [_heading(lesson, "Concept flow")]
    for flow in lesson.flows:
        steps = "\n".join(f"{i}. {_one_line(s)}" for i, s in enumerate(flow.steps, 1))
        parts.append(f"**{neutralise(_one_line(flow.name))}**\n{neutralise(steps)}")
    if lesson.flow_caption:
        parts.append(neutralise(_one_line(lesson.flow_caption)))
    return "\n\n".join(parts)


def _code(lesson: Lesson, narrow: bool) -> str:
    parts = [_heading(lesson, "Code")]
    for sample in lesson.code:
        if sample.caption:
            parts.append(neutralise(_one_line(sample.caption)))
        parts.append(fenced(sample.source, sample.language))
    return "\n\n".join(parts)


def _table(lesson: Lesson, narrow: bool) -> str:
    rows = lesson.table.rows
    if narrow:
        body = "\n\n".join(_step_block(lesson, row) for row in rows)
    else:
        body = _table_grid(lesson, rows)
    parts = [_heading(lesson, "Execution table"), fenced(body)]
    if lesson.table.footnote:
        parts.append("💡 " + neutralise(_one_line(lesson.table.footnote)))
    return "\n\n".join(parts)


def _tracker(lesson: Lesson, narrow: bool) -> str:
    tracker = lesson.tracker
    if narrow:
        blocks = []
        for index, checkpoint in enumerate(tracker.checkpoints):
            lines = [checkpoint.label]
            lines += [f"  {v.name} = {v.values[index]}" for v in tracker.variables]
            blocks.append("\n".join(lines))
        body = "\n\n".join(blocks)
    else:
        header = ["Variable", *(c.label for c in tracker.checkpoints)]
        body = _grid(header, [[v.name, *v.values] for v in tracker.variables])
    return "\n\n".join([_heading(lesson, "Variable tracker"), fenced(body)])


def _steps_note(steps: Sequence[int]) -> str:
    if not steps:
        return ""
    return "Steps: " + ", ".join(str(s) for s in steps)


def _moment_text(index: int, question: str, answer: str, steps: Sequence[int]) -> str:
    lines = [f"**{index}. {neutralise(_one_line(question))}**", neutralise(_one_line(answer))]
    note = _steps_note(steps)
    if note:
        lines.append(note)
    return "\n".join(lines)


def _moments(lesson: Lesson, narrow: bool) -> str:
    parts = [_heading(lesson, "Key moments")]
    if not lesson.moments:
        parts.append("This lesson has no key moments.")
    for i, moment in enumerate(lesson.moments, 1):
        parts.append(_moment_text(i, moment.question, moment.answer, moment.steps))
    return "\n\n".join(parts)


def _snapshot(lesson: Lesson, narrow: bool) -> str:
    lines = "\n".join(f"- {neutralise(_one_line(item))}" for item in lesson.snapshot)
    return "\n\n".join([_heading(lesson, "Concept snapshot"), lines])


def _transcript(lesson: Lesson, narrow: bool) -> str:
    return "\n\n".join([_heading(lesson, "Transcript"), neutralise(lesson.transcript.strip())])


_RENDERERS: dict[str, Callable[[Lesson, bool], str]] = {
    "overview": _overview,
    "flow": _flow,
    "code": _code,
    "table": _table,
    "tracker": _tracker,
    "moments": _moments,
    "snapshot": _snapshot,
    "transcript": _transcript,
}


def render(lesson: Lesson, mode: str, *, narrow: bool = False, limit: int = 1900) -> list[str]:
    """Render ``lesson`` in ``mode`` as pages of at most ``limit`` characters."""
    renderer = _RENDERERS.get(mode.strip().lower())
    if renderer is None:
        raise OptionError(
            f"There is no mode called {code_span(mode[:40])}. Modes: {', '.join(MODES)}."
        )
    return paginate(renderer(lesson, narrow), limit)


def render_trace_step(lesson: Lesson, step: int, *, narrow: bool = False, limit: int = 1900) -> str:
    """Render one step of the trace: its row, the tracker state then, and the moments citing it."""
    steps = lesson.table.steps
    if step not in steps:
        raise OptionError(
            f"Step {step} is out of range: {lesson.title[:80]} has steps {steps[0]}-{steps[-1]}."
        )
    row = lesson.table.row(step)
    title = f"## {neutralise(lesson.title)} · Step {step} of {len(steps)}"
    row_text = _step_block(lesson, row) if narrow else _table_grid(lesson, [row])
    checkpoint, values = lesson.tracker.state_at(step)
    if narrow:
        state = "\n".join(f"{name} = {value}" for name, value in values.items())
    else:
        state = _grid(["Variable", checkpoint.label], [[k, v] for k, v in values.items()])
    parts = [
        title,
        fenced(row_text),
        f"**Tracker** ({neutralise(checkpoint.label)})\n{fenced(state)}",
    ]
    base = "\n\n".join(parts)
    if len(base) > limit:
        return paginate(base, limit)[0]
    moments = lesson.moments_citing(step)
    for index, moment in enumerate(moments):
        number = lesson.moments.index(moment) + 1
        text = "🔑 " + _moment_text(number, moment.question, moment.answer, moment.steps)
        rest = len(moments) - index - 1
        more = f"\n\n(+{rest} more key moment{'s' if rest != 1 else ''})" if rest else ""
        if len(base) + 2 + len(text) + len(more) > limit:
            left = len(moments) - index
            note = f"(+{left} key moment{'s' if left != 1 else ''} cite this step: see moments)"
            if len(base) + 2 + len(note) <= limit:
                base += "\n\n" + note
            break
        base += "\n\n" + text
    return base


def render_lesson_list(lessons: Sequence[Lesson], *, limit: int = 1900) -> list[str]:
    """List lessons with id, title, language and tags, as pages of at most ``limit``."""
    if not lessons:
        return ["No lessons are loaded."]
    entries = [f"## Lessons ({len(lessons)})"]
    for lesson in lessons:
        facts = f"{lesson.language} · ~{lesson.minutes} min"
        if lesson.tags:
            facts += " · " + ", ".join(lesson.tags)
        entries.append(
            f"{code_span(lesson.id)} {neutralise(_one_line(lesson.title))}\n"
            f"  {neutralise(_one_line(facts))}"
        )
    return paginate("\n".join(entries), limit)
