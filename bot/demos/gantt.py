"""A fixed-width text Gantt chart of a run, small enough for a phone screen.

Each task is one line: ``█`` while it runs, ``░`` while it waits for a slot,
``✗`` where it failed and ``×`` where it was cancelled; a legend under the axis
names the symbols the chart uses. ``compare`` draws both phases from their own
start on one shared scale, so the bars compare directly.
"""

from __future__ import annotations

from bot.demos.model import DemoRun, TaskSpan

GANTT_WIDTH = 40
LABEL_WIDTH = 6
SUFFIX_WIDTH = 7
LEGEND = (("█", "running"), ("░", "waiting"), ("✗", "failed"), ("×", "cancelled"))


def _cells(span: TaskSpan, origin: float, scale: float, width: int) -> str:
    def boundary(at: float) -> int:
        return min(width, max(0, round((at - origin) / scale * width)))

    cells = ["·"] * width
    if span.started is not None:
        if span.started - span.created > scale / width / 2:
            for i in range(boundary(span.created), boundary(span.started)):
                cells[i] = "░"
        end = span.ended if span.ended is not None else span.started
        first = min(width - 1, boundary(span.started))
        stop = max(first + 1, boundary(end))
        for i in range(first, stop):
            cells[i] = "█"
    if span.ended is not None and span.state in ("failed", "cancelled"):
        cells[max(0, boundary(span.ended) - 1)] = "✗" if span.state == "failed" else "×"
    return "".join(cells)


def _suffix(span: TaskSpan) -> str:
    running = span.running_time
    if running is None:
        return "   —" if span.state != "cancelled" else " cancel"
    return f"{running:6.2f}s"


def gantt_lines(run: DemoRun, width: int = GANTT_WIDTH) -> list[str]:
    """Return the chart's lines, none wider than ``width`` characters."""
    bar = max(10, width - LABEL_WIDTH - SUFFIX_WIDTH)
    phases = run.phase_names
    origins = {phase: min(s.created for s in run.spans_in(phase)) for phase in phases if phases}
    ends = [
        max((s.ended or s.started or s.created) for s in run.spans_in(p)) - origins[p]
        for p in phases
    ]
    scale = max([*ends, 1e-3])
    lines: list[str] = []
    for phase in phases:
        if len(phases) > 1:
            lines.append(phase)
        for span in run.spans_in(phase):
            label = span.name[: LABEL_WIDTH - 1].ljust(LABEL_WIDTH)
            lines.append(label + _cells(span, origins[phase], scale, bar) + _suffix(span))
    axis_end = f"{scale:.2f}s"
    bars = "".join(lines)
    lines.append(" " * LABEL_WIDTH + "0" + axis_end.rjust(bar - 1))
    used = [f"{symbol} {meaning}" for symbol, meaning in LEGEND if symbol in bars]
    if used:
        lines.append("  ".join(used))
    return lines


def render_gantt(run: DemoRun, width: int = GANTT_WIDTH) -> str:
    """Return the chart as a Markdown code block."""
    return "```\n" + "\n".join(gantt_lines(run, width)) + "\n```"
