"""Plain-text renderings of lessons, shared by the terminal console and Discord.

Everything here is a pure function of a ``Lesson``: Markdown that reads well
both raw in a terminal and formatted by Discord, cut into pages that fit a
message (Discord allows 2000 characters; the default 1900 leaves room for a
page footer). Lesson text can never open or close a code block by itself, so
a page's fences always stay balanced.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from bot.errors import OptionError, clip, code_span
from bot.lessons.model import MODES, Lesson, TableRow

FENCE = "```"
MIN_LIMIT = 40
NARROW_WIDTH = 40
# Discord wraps a code block inside an embed at about 56-60 monospace
# characters on a phone (about 75 on a desktop); tables rendered with a
# ``width`` keep every line within it so their columns never wrap.
PHONE_WIDTH = 56
MIN_WIDTH = 24
MIN_FLEX_WIDTH = 18
NOTE_INDENT = "  "
NOTE_MARKER = "↳ "
FIXED_SYMBOLS: dict[str, str] = {
    "not started": "·",
    "started": "S",
    "finished": "F",
    "failed": "✗",
    "running": "R",
    "done": "D",
    "waiting": "W",
    "cancelled": "C",
}
_FENCE_LINE = re.compile(r"^```[A-Za-z0-9_+#.-]{0,16}$")
_ZWSP = "\u200b"
_RULE = re.compile(r"^-+(?:-\+-+)*-*$")


def neutralise(text: str) -> str:
    """Break up runs of backticks so lesson text cannot open or close a code block."""
    return re.sub(r"`(?=`)", "`" + _ZWSP, text)


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


def _wrap(text: str, indent: str = "  ", width: int = NARROW_WIDTH, marker: str = "") -> list[str]:
    return textwrap.wrap(
        _one_line(text),
        width=width,
        initial_indent=indent + marker,
        subsequent_indent=indent + " " * len(marker),
        break_long_words=True,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _statuses(lesson: Lesson, row: TableRow) -> str:
    return " | ".join(f"{task}: {row.statuses.get(task, '?')}" for task in lesson.table.tasks)


def _step_block(lesson: Lesson, row: TableRow, width: int | None = None) -> str:
    """Return one step as a short block readable on a phone (lines within ``width`` if given)."""
    head = f"Step {row.step} · {_one_line(row.action)}"
    lines = [head]
    if width is not None:
        lines = textwrap.wrap(
            head, width=width, subsequent_indent="  ", break_long_words=True, break_on_hyphens=False
        )
    statuses = _statuses(lesson, row)
    if len(statuses) + 2 <= min(NARROW_WIDTH + 4, width or NARROW_WIDTH + 4):
        lines.append(f"  {statuses}")
    else:
        for task in lesson.table.tasks:
            status = f"{task}: {row.statuses.get(task, '?')}"
            lines += [f"  {status}"] if width is None else _wrap(status, width=width)
    if row.notes:
        lines.extend(_wrap(row.notes, width=width or NARROW_WIDTH))
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


# -- compact tables (a phone's width) -----------------------------------------


@dataclass(frozen=True, slots=True)
class GridRow:
    """One row of a compact table: short key cells, an action that may wrap, statuses, notes."""

    keys: tuple[str, ...]
    action: str
    statuses: tuple[str, ...]
    notes: str = ""


@dataclass(frozen=True, slots=True)
class _Layout:
    """How a compact table shows its status columns."""

    headers: tuple[str, ...]
    symbols: dict[str, str] | None  # status -> one character, or None for whole words
    status_sep: str


def status_symbols(statuses: Iterable[str]) -> dict[str, str] | None:
    """Give each distinct status a one-character symbol (``S`` Started, ``·`` Not started).

    Well-known statuses get fixed symbols; any other takes the first free
    letter or digit of its own name. Return None if some status has none free.
    """
    taken: set[str] = set()
    symbols: dict[str, str] = {}
    for status in dict.fromkeys(statuses):
        fixed = FIXED_SYMBOLS.get(" ".join(status.lower().split()))
        letters = [c for c in status if c.isascii() and c.isalnum()]
        candidates = [
            *([fixed] if fixed else []),
            *(c.upper() for c in letters),
            *(c.lower() for c in letters),
            *"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        ]
        symbol = next((c for c in candidates if c not in taken), None)
        if symbol is None:
            return None
        taken.add(symbol)
        symbols[status] = symbol
    return symbols


def _task_labels(tasks: Sequence[str], short: bool) -> tuple[tuple[str, ...], list[str]]:
    """Return short column labels for ``tasks`` and the legend entries they need."""
    labels = tuple(str(i) if short else f"T{i}" for i in range(1, len(tasks) + 1))
    obvious = all(
        re.fullmatch(rf"\D*{i}\D*", " ".join(name.split())) for i, name in enumerate(tasks, 1)
    )
    legend = (
        [] if obvious else [f"{label} = {name}" for label, name in zip(labels, tasks, strict=True)]
    )
    return labels, legend


def _without_shared_last_word(tasks: Sequence[str]) -> tuple[str, ...] | None:
    """Return the task names without a last word they all share, if that leaves them distinct.

    The seed's columns are "Task 1 Status" and "Task 2 Status": on a phone,
    "Task 1" and "Task 2" keep the statuses as whole words, where symbols
    with a legend would be the next step down.
    """
    words = [name.split() for name in tasks]
    if len(words) < 2 or any(len(w) < 2 for w in words) or len({w[-1] for w in words}) != 1:
        return None
    trimmed = tuple(" ".join(w[:-1]) for w in words)
    return trimmed if len(set(trimmed)) == len(trimmed) else None


def _legend(entries: Sequence[str], width: int) -> list[str]:
    if not entries:
        return []
    return textwrap.wrap(
        ", ".join(entries), width=width, break_long_words=True, break_on_hyphens=False
    )


def _lay_out(
    key_headers: Sequence[str],
    action_header: str | None,
    rows: Sequence[GridRow],
    layout: _Layout,
    width: int,
    sep: str,
    whole_words: bool,
) -> list[str] | None:
    """Return the grid's lines within ``width``, or None if the action column gets too thin.

    With ``whole_words`` the action column must be wide enough for every word.
    """
    keys = [max(len(h), *(len(r.keys[i]) for r in rows)) for i, h in enumerate(key_headers)]

    def shown(status: str) -> str:
        return layout.symbols.get(status, status) if layout.symbols is not None else status

    statuses = [
        max(len(h), *(len(shown(r.statuses[i])) for r in rows))
        for i, h in enumerate(layout.headers)
    ]
    status_block = sum(statuses) + len(layout.status_sep) * max(len(statuses) - 1, 0)
    cells = len(keys) + (action_header is not None) + bool(statuses)
    fixed = sum(keys) + status_block + len(sep) * max(cells - 1, 0)
    longest = 0
    if action_header is not None:
        longest = max(len(action_header), *(len(r.action) for r in rows))
    room = width - fixed
    action = min(longest, room)
    if action_header is not None and action < min(longest, MIN_FLEX_WIDTH):
        return None
    if whole_words and action < max((len(w) for r in rows for w in r.action.split()), default=0):
        return None
    if action_header is None and room < 0:
        return None

    def line(key_cells: Sequence[str], piece: str | None, status_cells: Sequence[str]) -> str:
        cells = [c.ljust(w) for c, w in zip(key_cells, keys, strict=True)]
        if piece is not None:
            cells.append(piece.ljust(action))
        if status_cells:
            cells.append(
                layout.status_sep.join(
                    c.ljust(w) for c, w in zip(status_cells, statuses, strict=True)
                )
            )
        return sep.join(cells).rstrip()

    ruled = "|" in sep
    rule_sep = sep.replace(" ", "-").replace("|", "+") if ruled else sep
    status_rule = layout.status_sep
    if ruled:
        status_rule = status_rule.replace(" ", "-").replace("|", "+")
    rule_cells = ["-" * w for w in keys]
    if action_header is not None:
        rule_cells.append("-" * action)
    if statuses:
        rule_cells.append(status_rule.join("-" * w for w in statuses))
    lines = [
        line(key_headers, action_header, layout.headers),
        rule_sep.join(rule_cells),
    ]
    blank_keys = [""] * len(keys)
    blank_statuses = [""] * len(statuses) if statuses else []
    for row in rows:
        pieces: list[str | None] = [None]
        if action_header is not None:
            pieces = list(_wrap_cell(row.action, action))
        for index, piece in enumerate(pieces):
            first = index == 0
            lines.append(
                line(
                    row.keys if first else blank_keys,
                    piece,
                    [shown(s) for s in row.statuses] if first else blank_statuses,
                )
            )
        if row.notes:
            lines.extend(_wrap(row.notes, indent=NOTE_INDENT, width=width, marker=NOTE_MARKER))
    return lines


def _wrap_cell(text: str, width: int) -> list[str]:
    return textwrap.wrap(
        text, width=max(width, 1), break_long_words=True, break_on_hyphens=False
    ) or [""]


def compact_table(
    key_headers: Sequence[str],
    tasks: Sequence[str],
    rows: Sequence[GridRow],
    width: int = PHONE_WIDTH,
    *,
    action_header: str | None = "Action",
    sep: str = " | ",
    abbreviate: bool = True,
) -> list[str] | None:
    """Lay ``rows`` out as an aligned grid whose lines fit in ``width`` characters.

    The action column wraps inside its cell; each row's notes follow it as
    indented lines. When whole status words leave the action too thin, the
    statuses become one-character symbols under ``T1``, ``T2``… (then ``1``,
    ``2``…) with a legend below (if ``abbreviate``). Return None when even
    that does not fit, so the caller can fall back to one block per step.
    """
    if not rows:
        return None
    attempts = [_Layout(tuple(tasks), None, sep)]
    trimmed = _without_shared_last_word(tasks)
    if trimmed is not None:
        attempts.append(_Layout(trimmed, None, sep))  # "Task 1 Status" -> "Task 1", whole words
    if abbreviate and tasks:
        symbols = status_symbols(s for r in rows for s in r.statuses)
        if symbols is not None:
            for short in (False, True):
                labels, _ = _task_labels(tasks, short)
                attempts.append(_Layout(labels, symbols, " "))
    for whole_words, layout in itertools.product((True, False), attempts):
        lines = _lay_out(key_headers, action_header, rows, layout, width, sep, whole_words)
        if lines is None or any(len(line) > width for line in lines):
            continue
        if layout.symbols is not None:
            _, names = _task_labels(tasks, layout.headers[0] == "1")
            used = dict.fromkeys(s for r in rows for s in r.statuses)
            entries = [f"{layout.symbols[s]} = {' '.join(s.split())}" for s in used]
            lines += ["", *_legend([*entries, *names], width)]
        return lines
    return None


def _grid_rows(lesson: Lesson, rows: Sequence[TableRow]) -> list[GridRow]:
    tasks = lesson.table.tasks
    return [
        GridRow(
            keys=(str(row.step),),
            action=_one_line(row.action),
            statuses=tuple(_one_line(row.statuses.get(t, "?")) for t in tasks),
            notes=_one_line(row.notes),
        )
        for row in rows
    ]


def _fitted_table(
    lesson: Lesson, rows: Sequence[TableRow], width: int, *, abbreviate: bool = True
) -> str:
    """Return ``rows`` as a compact grid within ``width``, or one block per step."""
    lines = compact_table(
        ["Step"], lesson.table.tasks, _grid_rows(lesson, rows), width, abbreviate=abbreviate
    )
    if lines is not None:
        return "\n".join(lines)
    return "\n\n".join(_step_block(lesson, row, width) for row in rows)


def _row_card(lesson: Lesson, row: TableRow, width: int) -> str | None:
    """Return one row turned on its side (``Action | …``, ``Task 1 | …``), or None if too wide."""
    tasks = lesson.table.tasks
    fields = [
        ("Step", str(row.step)),
        ("Action", _one_line(row.action)),
        *((_one_line(t), _one_line(row.statuses.get(t, "?"))) for t in tasks),
    ]
    if row.notes:
        fields.append(("Notes", _one_line(row.notes)))
    key = max(len(name) for name, _ in fields)
    room = width - key - 3
    if key > width // 2 or room < MIN_FLEX_WIDTH:
        return None
    lines: list[str] = []
    for name, value in fields:
        for index, piece in enumerate(_wrap_cell(value, room)):
            lines.append(f"{name if index == 0 else '':<{key}} | {piece}".rstrip())
    return "\n".join(lines)


def _fits_one_line(lesson: Lesson, row: TableRow, width: int) -> bool:
    """Return whether ``row`` alone makes a grid whose action needs no wrapping."""
    [grid_row] = _grid_rows(lesson, [replace(row, notes="")])
    lines = compact_table(["Step"], lesson.table.tasks, [grid_row], width, abbreviate=False)
    return lines is not None and len(lines) == 3  # header, rule and the row


def _fitted_row(lesson: Lesson, row: TableRow, width: int) -> str:
    """Return one trace row within ``width``: a one-row grid, else the row on its side.

    The choice is made for the whole lesson, so ◀ ▶ never flip the layout.
    """
    if all(_fits_one_line(lesson, other, width) for other in lesson.table.rows):
        lines = compact_table(
            ["Step"], lesson.table.tasks, _grid_rows(lesson, [row]), width, abbreviate=False
        )
        if lines is not None:
            return "\n".join(lines)
    card = _row_card(lesson, row, width)
    return card if card is not None else _step_block(lesson, row, width)


# -- modes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Shape:
    """How a renderer lays out its tables: one block per step, and a width to fit."""

    narrow: bool
    width: int | None


HEADINGS: dict[str, str] = {
    "flow": "Concept flow",
    "code": "Code",
    "table": "Execution table",
    "tracker": "Variable tracker",
    "moments": "Key moments",
    "snapshot": "Concept snapshot",
    "transcript": "Transcript",
}


def _overview(lesson: Lesson, shape: _Shape) -> str:
    tags = ", ".join(lesson.tags)
    facts = f"{lesson.language} · ~{lesson.minutes} min" + (f" · {tags}" if tags else "")
    flows = ", ".join(_one_line(f.name) for f in lesson.flows)
    table = lesson.table
    tracker = lesson.tracker
    lines = [
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
    ]
    if lesson.demos:
        demos = ", ".join(f"`{demo.command}`" for demo in lesson.demos)
        lines.append(f"- See it run live: {demos} (/demo on Discord, demo in the console)")
    lines += [
        "",
        f"Modes: {', '.join(MODES)}",
    ]
    return "\n".join(lines)


def _flow(lesson: Lesson, shape: _Shape) -> str:
    parts = []
    for flow in lesson.flows:
        steps = "\n".join(f"{i}. {_one_line(s)}" for i, s in enumerate(flow.steps, 1))
        parts.append(f"**{neutralise(_one_line(flow.name))}**\n{neutralise(steps)}")
    if lesson.flow_caption:
        parts.append(neutralise(_one_line(lesson.flow_caption)))
    return "\n\n".join(parts)


def _code(lesson: Lesson, shape: _Shape) -> str:
    parts = []
    for sample in lesson.code:
        if sample.caption:
            parts.append(neutralise(_one_line(sample.caption)))
        parts.append(fenced(sample.source, sample.language))
    return "\n\n".join(parts)


def _table(lesson: Lesson, shape: _Shape) -> str:
    rows = lesson.table.rows
    if shape.narrow:
        body = "\n\n".join(_step_block(lesson, row, shape.width) for row in rows)
    elif shape.width is not None:
        body = _fitted_table(lesson, rows, shape.width)
    else:
        body = _table_grid(lesson, rows)
    parts = [fenced(body)]
    if lesson.table.footnote:
        parts.append("💡 " + neutralise(_one_line(lesson.table.footnote)))
    return "\n\n".join(parts)


def _tracker_blocks(lesson: Lesson, width: int | None) -> str:
    tracker = lesson.tracker
    blocks = []
    for index, checkpoint in enumerate(tracker.checkpoints):
        lines = [checkpoint.label]
        for v in tracker.variables:
            entry = f"{v.name} = {v.values[index]}"
            lines += [f"  {entry}"] if width is None else _wrap(entry, width=width)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _tracker(lesson: Lesson, shape: _Shape) -> str:
    tracker = lesson.tracker
    if shape.narrow:
        body = _tracker_blocks(lesson, shape.width)
    elif shape.width is not None:
        # One row per checkpoint: a phone has room for a few variables, not many checkpoints.
        rows = [
            GridRow((c.label, *(_one_line(v.values[i]) for v in tracker.variables)), "", ())
            for i, c in enumerate(tracker.checkpoints)
        ]
        headers = ["Checkpoint", *(v.name for v in tracker.variables)]
        lines = compact_table(headers, (), rows, shape.width, action_header=None)
        body = "\n".join(lines) if lines is not None else _tracker_blocks(lesson, shape.width)
    else:
        header = ["Variable", *(c.label for c in tracker.checkpoints)]
        body = _grid(header, [[v.name, *v.values] for v in tracker.variables])
    return fenced(body)


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


def _moments(lesson: Lesson, shape: _Shape) -> str:
    parts = []
    if not lesson.moments:
        parts.append("This lesson has no key moments.")
    for i, moment in enumerate(lesson.moments, 1):
        parts.append(_moment_text(i, moment.question, moment.answer, moment.steps))
    return "\n\n".join(parts)


def _snapshot(lesson: Lesson, shape: _Shape) -> str:
    return "\n".join(f"- {neutralise(_one_line(item))}" for item in lesson.snapshot)


def _transcript(lesson: Lesson, shape: _Shape) -> str:
    return neutralise(lesson.transcript.strip())


_RENDERERS: dict[str, Callable[[Lesson, _Shape], str]] = {
    "overview": _overview,
    "flow": _flow,
    "code": _code,
    "table": _table,
    "tracker": _tracker,
    "moments": _moments,
    "snapshot": _snapshot,
    "transcript": _transcript,
}


def _check_width(width: int | None) -> None:
    if width is not None and width < MIN_WIDTH:
        raise ValueError(f"width must be at least {MIN_WIDTH}, got {width}")


def render(
    lesson: Lesson,
    mode: str,
    *,
    narrow: bool = False,
    limit: int = 1900,
    width: int | None = None,
    heading: bool = True,
) -> list[str]:
    """Render ``lesson`` in ``mode`` as pages of at most ``limit`` characters.

    ``narrow`` shows tables one block per step; ``width`` keeps every table
    line within that many characters (``PHONE_WIDTH`` for Discord); without
    ``heading`` the text starts below the ``## title · mode`` line (for an
    embed whose title already says it).
    """
    key = mode.strip().lower()
    renderer = _RENDERERS.get(key)
    if renderer is None:
        raise OptionError(
            f"There is no mode called {code_span(clip(mode, 40))}. Modes: {', '.join(MODES)}."
        )
    _check_width(width)
    body = renderer(lesson, _Shape(narrow, width))
    if heading:
        what = HEADINGS.get(key)
        title = _heading(lesson, what) if what else f"## {neutralise(lesson.title)}"
        body = f"{title}\n{body}" if key == "overview" else f"{title}\n\n{body}"
    return paginate(body, limit)


def _tracker_state(values: dict[str, str], label: str, narrow: bool, width: int | None) -> str:
    if narrow:
        lines = [f"{name} = {value}" for name, value in values.items()]
    else:
        # Within a width the caption above already names the checkpoint.
        header = ["Variable", label if width is None else "Value"]
        lines = _grid(header, [[k, v] for k, v in values.items()]).split("\n")
    if width is not None and any(len(line) > width for line in lines):
        lines = [
            piece
            for name, value in values.items()
            for piece in _wrap(f"{name} = {_one_line(value)}", indent="", width=width)
        ]
    return "\n".join(lines)


STEP_CUT = (
    "(This step is too long for one message; the rest is not shown. The lesson's table "
    "and tracker modes show all of it.)"
)


def render_trace_step(
    lesson: Lesson,
    step: int,
    *,
    narrow: bool = False,
    limit: int = 1900,
    width: int | None = None,
    heading: bool = True,
) -> str:
    """Render one step of the trace: its row, the tracker state then, and the moments citing it.

    ``narrow``, ``width`` and ``heading`` work as for ``render``; within a
    width the row keeps whole status words (one block if they do not fit).
    """
    steps = lesson.table.steps
    if step not in steps:
        raise OptionError(
            f"Step {step} is out of range: {lesson.title[:80]} has steps {steps[0]}-{steps[-1]}."
        )
    _check_width(width)
    row = lesson.table.row(step)
    if narrow:
        row_text = _step_block(lesson, row, width)
    elif width is not None:
        row_text = _fitted_row(lesson, row, width)
    else:
        row_text = _table_grid(lesson, [row])
    tracked = lesson.tracker_at(step)
    if tracked.exact:
        label = neutralise(tracked.checkpoint.label)
        state = _tracker_state(tracked.values, tracked.checkpoint.label, narrow, width)
        tracker = f"**Tracker** ({label})\n{fenced(state)}"
    else:
        # The lesson records its variables at some steps only. An earlier
        # checkpoint's values shown under this row would contradict it (task1
        # "Finished" in the row, "Started" in the tracker), so none are shown.
        labels = ", ".join(neutralise(c.label) for c in lesson.tracker.checkpoints)
        tracker = (
            f"**Tracker**: not recorded at step {step}; the row above is the state now. "
            f"The lesson records it at: {labels}."
        )
    parts = [fenced(row_text), tracker]
    if heading:
        parts.insert(0, f"## {neutralise(lesson.title)} · Step {step} of {len(steps)}")
    base = "\n\n".join(parts)
    if len(base) > limit:
        # Cut, and say so: a step that silently lost tracked variables would
        # teach a state that is not the lesson's.
        return paginate(base, limit - len(STEP_CUT) - 2)[0] + "\n\n" + STEP_CUT
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


def render_lesson_list(
    lessons: Sequence[Lesson], *, limit: int = 1900, heading: bool = True
) -> list[str]:
    """List lessons with id, title, language and tags, as pages of at most ``limit``.

    ``heading=False`` leaves out the '## Lessons (N)' line, for a front end
    that shows it as a title of its own.
    """
    if not lessons:
        return ["No lessons are loaded."]
    entries = [f"## Lessons ({len(lessons)})"] if heading else []
    for lesson in lessons:
        facts = f"{lesson.language} · ~{lesson.minutes} min"
        if lesson.tags:
            facts += " · " + ", ".join(lesson.tags)
        entries.append(
            f"{code_span(lesson.id)} {neutralise(_one_line(lesson.title))}\n"
            f"  {neutralise(_one_line(facts))}"
        )
    return paginate("\n".join(entries), limit)
