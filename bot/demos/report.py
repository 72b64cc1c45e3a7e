"""Plain-text reports of a real run: execution table, variable tracker, timings, progress.

The table and tracker have the same shape as a lesson's (and can be built as
``bot.lessons.model`` objects), but they describe what the event loop really
did, with each step's time in ms. Every rendered section fits an embed field
(1024 characters); ``DemoReport.messages`` packs them into 2000-character
messages without cutting a line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.demos.gantt import render_gantt
from bot.demos.model import DemoEvent, DemoRun, TaskProgress, TaskState, mode_summary
from bot.lessons.model import (
    Checkpoint,
    ExecutionTable,
    TableRow,
    TrackedVariable,
    VariableTracker,
)
from bot.lessons.render import GridRow, compact_table

FIELD_LIMIT = 1024
MESSAGE_LIMIT = 2000
GROUP_WINDOW = 0.001
PROGRESS_WIDTH = 10
CLEANUP_NOTICE = 0.01
"""Clean-up longer than this (in seconds) after the measured part is explained in the status."""

STATUS_WORDS: dict[TaskState, str] = {
    "not started": "Not started",
    "waiting": "Waiting",
    "running": "Started",
    "finished": "Finished",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
_EVENT_STATE: dict[str, TaskState] = {
    "waiting": "waiting",
    "started": "running",
    "finished": "finished",
    "failed": "failed",
    "cancelled": "cancelled",
}
IDEAL_BASIS: dict[str, str] = {
    "sequential": "the sum of the tasks",
    "parallel": "the longest task",
    "fire_and_forget": "the awaited task only",
    "taskgroup": "the longest task",
    "semaphore": "the tasks in order, each as soon as a slot is free",
    "fail_fast": "until task2 raises",
    "settled": "the longest task",
    "taskgroup_fail": "until task2 raises; cancelling the rest is overhead",
}


@dataclass(frozen=True, slots=True)
class RunStep:
    """One row of the real run's execution table."""

    step: int
    at: float
    phase: str
    action: str
    statuses: dict[str, str]
    notes: str = ""

    @property
    def at_ms(self) -> float:
        return self.at * 1000.0


def _join_names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _action(kind: str, names: list[str], event: DemoEvent) -> str:
    joined = _join_names(names)
    plural = len(names) > 1
    if kind == "started":
        return f"{joined} start together" if plural else f"{joined} starts"
    if kind == "finished":
        return f"{joined} finish" if plural else f"{joined} finishes"
    if kind == "failed":
        return f"{joined} raise" if plural else f"{joined} raises"
    if kind == "cancelled":
        return f"{joined} cancelled"
    if kind == "waiting":
        return f"{joined} wait for a slot" if plural else f"{joined} waits for a slot"
    if kind == "raised":
        return (
            "the block raises in main"
            if event.phase == "taskgroup_fail"
            else "gather raises in main"
        )
    return f"{_phase_label(event.phase)} done"


def _phase_label(phase: str) -> str:
    """Return a phase's name as a table row starts it: ``taskgroup_fail`` -> ``TaskGroup fail``."""
    words = phase.replace("_", " ")
    if words.startswith("taskgroup"):
        return "TaskGroup" + words.removeprefix("taskgroup")
    return words.capitalize()


def trace_steps(run: DemoRun) -> tuple[RunStep, ...]:
    """Return the execution table of the run, grouping events that happen together.

    Creation events and the main coroutine's awaits are folded into the notes
    of the next row, so the table reads like the lesson's: tasks starting,
    finishing, failing, and each phase ending.
    """
    names = run.options.task_names
    states: dict[str, dict[str, TaskState]] = {}
    steps: list[RunStep] = []
    pending_notes: list[str] = []
    group: list[DemoEvent] = []

    def flush() -> None:
        if not group:
            return
        first = group[0]
        phase_states = states.setdefault(first.phase, dict.fromkeys(names, "not started"))
        for event in group:
            if event.task is not None and event.kind in _EVENT_STATE:
                phase_states[event.task] = _EVENT_STATE[event.kind]
        notes = [*pending_notes]
        notes.extend(e.detail for e in group if e.detail and e.kind != "waiting")
        if len(run.phase_names) > 1:
            notes = [f"{first.phase.capitalize()}: " + "; ".join(notes)] if notes else []
        task_names = [e.task for e in group if e.task is not None and e.kind == first.kind]
        action = _action(first.kind, task_names, first)
        queued = [e.task for e in group if e.task is not None and e.kind != first.kind]
        if queued:  # started together with others that wait for a slot: one moment
            action += "; " + _action("waiting", queued, first)
        steps.append(
            RunStep(
                step=len(steps) + 1,
                at=group[-1].at,
                phase=first.phase,
                action=action,
                statuses={n: STATUS_WORDS[phase_states[n]] for n in names},
                notes="; ".join(notes),
            )
        )
        pending_notes.clear()
        group.clear()

    for event in run.events:
        if event.kind == "created":
            continue
        if event.kind == "waiting" and event.task is None:
            flush()
            pending_notes.append(event.detail)
            continue
        groupable = event.task is not None
        # Tasks that wait for a slot as the others start are part of that start
        # (the semaphore lesson's step 1: two run, two wait).
        joins_start = group and group[0].kind == "started" and event.kind == "waiting"
        if group and (
            not groupable
            or group[0].task is None
            or (event.kind != group[0].kind and not joins_start)
            or event.phase != group[0].phase
            or event.at - group[0].at > GROUP_WINDOW
        ):
            flush()
        group.append(event)
    flush()
    return tuple(steps)


def execution_table(run: DemoRun) -> ExecutionTable:
    """Return the run's table as the lesson model's ExecutionTable (times in the notes)."""
    rows = tuple(
        TableRow(
            step=s.step,
            action=s.action,
            statuses=s.statuses,
            notes=f"{s.at_ms:.1f} ms" + (f": {s.notes}" if s.notes else ""),
        )
        for s in trace_steps(run)
    )
    return ExecutionTable(tasks=run.options.task_names, rows=rows, footnote=_status_line(run))


def variable_tracker(run: DemoRun) -> VariableTracker:
    """Return each task's status at the start, after every step that changed one, and at the end."""
    names = run.options.task_names
    checkpoints = [Checkpoint("Start")]
    columns = [dict.fromkeys(names, "Not started")]
    for step in trace_steps(run):
        if step.statuses != columns[-1]:
            checkpoints.append(Checkpoint(f"After Step {step.step}", step.step))
            columns.append(step.statuses)
    checkpoints.append(Checkpoint("Final"))
    columns.append(columns[-1])
    variables = tuple(
        TrackedVariable(f"{name}Status", tuple(column[name] for column in columns))
        for name in names
    )
    return VariableTracker(checkpoints=tuple(checkpoints), variables=variables)


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def paginate(lines: Sequence[str], *, head: int = 0, limit: int = FIELD_LIMIT) -> list[str]:
    """Split lines into code blocks of at most ``limit`` characters, repeating the header.

    The first ``head`` lines are the header, repeated on every page; a line is
    never cut (a single line longer than a page is split at a space if it must).
    A row stays on one page with the indented lines under it (its ``↳`` notes,
    its wrapped action), and a blank line stays with what follows it (a legend),
    unless the group alone is longer than a page.
    """
    header, body = list(lines[:head]), list(lines[head:])
    fence_cost = len("```\n") + len("\n```")
    room = limit - fence_cost - sum(len(h) + 1 for h in header)
    pages: list[list[str]] = []
    current: list[str] = []
    used = 0
    for group in _line_groups(body or [""]):
        pieces = [piece for raw in group for piece in _split_long(raw, max(20, room))]
        size = sum(len(piece) + 1 for piece in pieces)
        if current and used + size > room and size <= room:
            pages.append(current)  # the whole group moves to the next page
            current, used = [], 0
        for piece in pieces:
            if current and used + len(piece) + 1 > room:
                pages.append(current)
                current, used = [], 0
            if not current and not piece and pages:
                continue  # a page does not open with a blank line
            current.append(piece)
            used += len(piece) + 1
    pages.append(current)
    return ["```\n" + "\n".join([*header, *page]) + "\n```" for page in pages]


def _line_groups(lines: Sequence[str]) -> list[list[str]]:
    """Group each line with the indented lines under it; a blank line starts a trailer.

    A table row's notes and the wrapped rest of its action are indented, so
    they join the row; after a blank line (the legend below a table) every
    line joins the blank's group.
    """
    groups: list[list[str]] = []
    for line in lines:
        trailer = bool(groups) and groups[-1][0] == ""
        if groups and (trailer or line[:1].isspace()):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _split_long(line: str, room: int) -> list[str]:
    pieces: list[str] = []
    while len(line) > room:
        cut = line.rfind(" ", 0, room)
        cut = cut if cut > 0 else room
        pieces.append(line[:cut])
        line = "  " + line[cut:].lstrip()
    pieces.append(line)
    return pieces


def render_table(
    run: DemoRun, width: int | None = None, *, page_limit: int = FIELD_LIMIT
) -> list[str]:
    """Return the execution table as code-block pages, each within an embed field.

    With ``width`` every line fits in that many characters: the action wraps
    in its cell, notes go under their row, and many tasks turn into symbols.
    """
    names = run.options.task_names
    steps = trace_steps(run)
    if width is not None:
        rows = [
            GridRow(
                (str(s.step), f"{s.at_ms:.1f}"),
                s.action,
                tuple(s.statuses[n] for n in names),
                s.notes,
            )
            for s in steps
        ]
        lines = compact_table(["Step", "ms"], names, rows, width, sep="  ")
        if lines is not None:
            return paginate(lines, head=2, limit=page_limit)
    table = [
        [str(s.step), f"{s.at_ms:.1f}", s.action, *(s.statuses[n] for n in names), s.notes]
        for s in steps
    ]
    return paginate(
        _text_table(["Step", "ms", "Action", *names, "Notes"], table), head=2, limit=page_limit
    )


def render_tracker(
    run: DemoRun, width: int | None = None, *, page_limit: int = FIELD_LIMIT
) -> list[str]:
    """Return the variable tracker (one row per checkpoint) as code-block pages.

    With ``width`` every line fits in that many characters; if whole status
    words do not, the columns become ``T1``, ``T2``… holding symbols, with a legend.
    """
    tracker = variable_tracker(run)
    if width is not None:
        rows = [
            GridRow((checkpoint.label,), "", tuple(v.values[i] for v in tracker.variables))
            for i, checkpoint in enumerate(tracker.checkpoints)
        ]
        names = [v.name for v in tracker.variables]
        lines = compact_table(["Checkpoint"], names, rows, width, action_header=None, sep="  ")
        if lines is not None:
            return paginate(lines, head=2, limit=page_limit)
    rows_text = [
        [checkpoint.label, *(v.values[i] for v in tracker.variables)]
        for i, checkpoint in enumerate(tracker.checkpoints)
    ]
    headers = ["Checkpoint", *(v.name for v in tracker.variables)]
    return paginate(_text_table(headers, rows_text), head=2, limit=page_limit)


def cleanup_time(run: DemoRun) -> float:
    """Return the seconds the run went on after its measured part: the clean-up's wait.

    fire_and_forget and fail_fast stop measuring when the awaited result or the
    error arrives, then await the tasks still running so none outlives the demo.
    """
    done = [e.at for e in run.events if e.kind == "done"]
    return max(0.0, run.ended - done[-1]) if done else 0.0


def _status_line(run: DemoRun) -> str:
    if run.status == "cancelled":
        return f"⏹ Cancelled ({run.note}); the timings below are partial."
    if run.status == "timed_out":
        return f"⏱ Timed out ({run.note}); the timings below are partial."
    line = f"✅ Completed in {run.ended * 1000:.1f} ms"
    cleanup = cleanup_time(run)
    if cleanup > CLEANUP_NOTICE:
        line += (
            f", including {cleanup * 1000:.1f} ms of clean-up that waited for the tasks "
            "left running (not measured below)"
        )
    if run.raised:
        line += "; the error below was raised on purpose"
    return line + "."


def render_timings(run: DemoRun) -> str:
    """Return the measured totals, the ideal, the overhead in ms and any speedup."""
    lines = [_status_line(run)]
    for phase in run.phases:
        basis = IDEAL_BASIS.get(phase.name, "the sum of the tasks")
        lines.append(
            f"**{phase.name}**: measured {phase.total * 1000:.1f} ms · ideal "
            f"{phase.ideal * 1000:.1f} ms ({basis}) · overhead {phase.overhead_ms:.1f} ms"
        )
    if len(run.phases) > 1:
        lines.append(
            f"**total**: measured {run.total * 1000:.1f} ms · ideal {run.ideal * 1000:.1f} ms"
            f" · overhead {run.overhead_ms:.1f} ms"
        )
    speedup, ideal_speedup = run.speedup, run.ideal_speedup
    if speedup is not None and ideal_speedup is not None:
        lines.append(f"**speedup**: {speedup:.2f}x (ideal {ideal_speedup:.2f}x)")
    if run.raised:
        lines.append(f"**raised in main**: {run.raised}")
    results = [f"{s.name} → {s.result}" for s in run.spans if s.result and run.mode == "settled"]
    if results:
        lines.append("**results**: " + ", ".join(results))
    text = "\n".join(lines)
    return text if len(text) <= FIELD_LIMIT else text[: text.rfind("\n", 0, FIELD_LIMIT)]


def _bar(fraction: float, width: int = PROGRESS_WIDTH) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


_PROGRESS_WORDS: dict[TaskState, str] = {
    "not started": "not started",
    "waiting": "waiting",
    "running": "running",
    "finished": "done",
    "failed": "failed",
    "cancelled": "cancelled",
}


def render_progress(
    progress: Sequence[TaskProgress], elapsed: float, *, mode: str = "", expected: int = 0
) -> str:
    """Return the live view: one progress bar per task (``task1 ██████░░░░ 60% running``).

    ``expected`` lists tasks not created yet as not started (sequential creates
    task2 only after task1); the result is a code block well under 1024 chars.
    """
    lines: list[str] = []
    if mode:
        lines.append(f"{mode} · {elapsed:.2f} s")
    phases: list[str] = []
    for item in progress:
        if item.phase not in phases:
            phases.append(item.phase)
    for item in progress:
        prefix = f"{item.phase[:3]} " if len(phases) > 1 else ""
        percent = f"{round(item.fraction * 100):3d}%"
        lines.append(
            f"{prefix}{item.name} {_bar(item.fraction)} {percent} {_PROGRESS_WORDS[item.state]}"
        )
    created = {p.name for p in progress if p.phase == (phases[-1] if phases else "")}
    for index in range(expected):
        name = f"task{index + 1}"
        if name not in created:
            lines.append(f"{name} {_bar(0.0)}   0% not started")
    return "```\n" + "\n".join(lines) + "\n```"


def render_event(event: DemoEvent) -> str:
    """Return one event as a terminal log line."""
    who = event.task or "main"
    text = f"{event.at * 1000:9.1f} ms  {event.phase:<15} {who:<6} {event.kind:<8}"
    return f"{text}  {event.detail}" if event.detail else text.rstrip()


def run_as_dict(run: DemoRun) -> dict[str, Any]:
    """Return the run as JSON-ready data: options, events, spans and timings in ms."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000.0, 3)

    return {
        "mode": run.mode,
        "status": run.status,
        "note": run.note,
        "durations": list(run.options.durations),
        "limit": run.options.limit,
        "events": [
            {
                "at_ms": ms(e.at),
                "kind": e.kind,
                "task": e.task,
                "phase": e.phase,
                "detail": e.detail,
            }
            for e in run.events
        ],
        "tasks": [
            {
                "name": s.name,
                "phase": s.phase,
                "duration_ms": ms(s.duration),
                "created_ms": ms(s.created),
                "started_ms": ms(s.started),
                "ended_ms": ms(s.ended),
                "state": s.state,
                "result": s.result,
            }
            for s in run.spans
        ],
        "timings": {
            "phases": [
                {
                    "name": p.name,
                    "total_ms": ms(p.total),
                    "ideal_ms": ms(p.ideal),
                    "overhead_ms": round(p.overhead_ms, 3),
                }
                for p in run.phases
            ],
            "total_ms": ms(run.total),
            "ideal_ms": ms(run.ideal),
            "overhead_ms": round(run.overhead_ms, 3),
            "speedup": None if run.speedup is None else round(run.speedup, 3),
            "ideal_speedup": None if run.ideal_speedup is None else round(run.ideal_speedup, 3),
        },
        "raised": run.raised,
    }


def render_json(run: DemoRun) -> str:
    """Return the run as indented JSON."""
    return json.dumps(run_as_dict(run), indent=2, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class DemoReport:
    """The report's sections, each within an embed field's 1024 characters."""

    title: str
    summary: str
    timings: str
    gantt: str
    table: tuple[str, ...]
    tracker: tuple[str, ...]
    extra: tuple[tuple[str, str], ...] = field(default=())

    def sections(self) -> list[tuple[str, str]]:
        """Return (name, value) pairs in display order, ready for embed fields."""
        named: list[tuple[str, str]] = [("Timings", self.timings), ("Gantt chart", self.gantt)]
        for i, page in enumerate(self.table):
            named.append((_page_name("Execution table", i, len(self.table)), page))
        for i, page in enumerate(self.tracker):
            named.append((_page_name("Variable tracker", i, len(self.tracker)), page))
        named.extend(self.extra)
        return named

    def messages(self, limit: int = MESSAGE_LIMIT) -> list[str]:
        """Pack the title and sections into plain messages of at most ``limit`` characters."""
        chunks = [f"**{self.title}**\n{self.summary}"] + [
            f"**{name}**\n{value}" for name, value in self.sections()
        ]
        messages: list[str] = []
        current = ""
        for chunk in chunks:
            candidate = f"{current}\n\n{chunk}" if current else chunk
            if len(candidate) <= limit:
                current = candidate
                continue
            if current:
                messages.append(current)
            current = chunk
        if current:
            messages.append(current)
        return messages


def _page_name(name: str, index: int, count: int) -> str:
    return name if count == 1 else f"{name} ({index + 1}/{count})"


def build_report(
    run: DemoRun, width: int | None = None, *, page_limit: int = FIELD_LIMIT
) -> DemoReport:
    """Render every section of a run's report (tables within ``width`` columns, if given)."""
    durations = ", ".join(
        f"{n} {d:g} s" for n, d in zip(run.options.task_names, run.options.durations, strict=True)
    )
    return DemoReport(
        title=f"Demo: {run.mode}",
        summary=f"{mode_summary(run.options)} ({durations})",
        timings=render_timings(run),
        gantt=render_gantt(run),
        table=tuple(render_table(run, width, page_limit=page_limit)),
        tracker=tuple(render_tracker(run, width, page_limit=page_limit)),
    )


TERMINAL_WIDTH = 96


def render_report(run: DemoRun, width: int = TERMINAL_WIDTH) -> str:
    """Return the whole report as one text for the terminal: no pages, within ``width``."""
    report = build_report(run, width, page_limit=1_000_000)
    return "\n\n".join(report.messages(limit=1_000_000))
