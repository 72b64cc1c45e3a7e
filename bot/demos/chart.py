"""The run's Gantt chart as a PNG attachment, drawn with Pillow's built-in font.

Rendering is CPU work: call ``render_gantt_png`` through ``asyncio.to_thread``
so the event loop (and every other demo's timing) is never blocked.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

from bot.demos.model import DemoRun, TaskSpan

WIDTH = 640
ROW_HEIGHT = 26
BAR_HEIGHT = 16
LEFT = 70
RIGHT = 70
TOP = 34
HEADER_HEIGHT = 20
AXIS_HEIGHT = 30
BACKGROUND = (30, 31, 34)
TEXT = (230, 230, 230)
GRID = (70, 72, 78)
COLOURS: dict[str, tuple[int, int, int]] = {
    "finished": (88, 166, 92),
    "running": (88, 140, 220),
    "failed": (218, 68, 83),
    "cancelled": (140, 140, 140),
    "waiting": (110, 100, 60),
    "not started": (60, 60, 60),
}


MAX_INTERVALS = 8
OVERSHOOT = 0.05
# 1, 2, 2.5 and 5 times a power of ten: ticks at 0.1 s, 0.2 s, 0.25 s, 0.5 s, 1 s…
NICE_STEPS = tuple(m * 10.0**e for e in range(-3, 4) for m in (1.0, 2.0, 2.5, 5.0))


def nice_ticks(span: float, max_intervals: int = MAX_INTERVALS) -> list[float]:
    """Return axis ticks from 0 past ``span`` seconds at a round step (0.1, 0.2, 0.25, 0.5 s…).

    The step is the smallest round one that needs at most ``max_intervals``
    intervals; the last tick is the first multiple of it at or after ``span``
    (or just before it, by at most ``OVERSHOOT`` of a step).
    """
    span = max(span, 1e-3)
    # A run measures a little over its ideal (0.8005 s for 0.8 s): a bar may pass
    # the last tick by OVERSHOOT of a step (a few pixels) rather than add a tick.
    step = next((s for s in NICE_STEPS if span / s <= max_intervals + OVERSHOOT), NICE_STEPS[-1])
    count = max(1, math.ceil(span / step - OVERSHOOT))
    return [round(i * step, 6) for i in range(count + 1)]


def tick_label(seconds: float) -> str:
    """Return a tick's label: ``0s``, ``0.25s``, ``1.5s``, ``10s``."""
    return f"{seconds:g}s"


def _height(run: DemoRun) -> int:
    phases = run.phase_names
    headers = HEADER_HEIGHT * len(phases) if len(phases) > 1 else 0
    return TOP + headers + ROW_HEIGHT * max(1, len(run.spans)) + AXIS_HEIGHT


def _span_end(span: TaskSpan) -> float:
    return span.ended if span.ended is not None else (span.started or span.created)


def render_gantt_png(run: DemoRun) -> bytes:
    """Return the Gantt chart of ``run`` as PNG bytes (about 640 px wide)."""
    height = _height(run)
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    phases = run.phase_names
    origins = {p: min(s.created for s in run.spans_in(p)) for p in phases}
    ticks = nice_ticks(max([_span_end(s) - origins[s.phase] for s in run.spans] + [1e-3]))
    scale = ticks[-1]
    plot = WIDTH - LEFT - RIGHT

    def x(seconds: float) -> float:
        return LEFT + plot * max(0.0, seconds) / scale

    title = f"{run.mode}: {run.total * 1000:.1f} ms measured, {run.ideal * 1000:.1f} ms ideal"
    if run.speedup is not None:
        title += f", speedup {run.speedup:.2f}x"
    if run.status != "completed":
        title += f" ({run.status.replace('_', ' ')})"
    draw.text((10, 10), title, fill=TEXT, font=font)
    for tick in ticks:
        tx = x(tick)
        draw.line([(tx, TOP), (tx, height - AXIS_HEIGHT)], fill=GRID)
        label = tick_label(tick)
        centre = tx - draw.textlength(label, font=font) / 2
        draw.text((centre, height - AXIS_HEIGHT + 8), label, fill=TEXT, font=font)
    y = TOP
    for phase in phases:
        if len(phases) > 1:
            draw.text((10, y + 4), phase, fill=TEXT, font=font)
            y += HEADER_HEIGHT
        for span in run.spans_in(phase):
            origin = origins[phase]
            top, bottom = y + (ROW_HEIGHT - BAR_HEIGHT) / 2, y + (ROW_HEIGHT + BAR_HEIGHT) / 2
            draw.text((10, y + 7), span.name, fill=TEXT, font=font)
            if span.started is not None and span.started - span.created > 0.0005:
                draw.rectangle(
                    [x(span.created - origin), top + 5, x(span.started - origin), bottom - 5],
                    fill=COLOURS["waiting"],
                )
            if span.started is not None:
                left = x(span.started - origin)
                right = max(left + 2, x(_span_end(span) - origin))
                draw.rectangle([left, top, right, bottom], fill=COLOURS[span.state])
            running = span.running_time
            label = f"{running * 1000:.0f} ms" if running is not None else span.state
            draw.text((WIDTH - RIGHT + 6, y + 7), label, fill=TEXT, font=font)
            y += ROW_HEIGHT
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()
