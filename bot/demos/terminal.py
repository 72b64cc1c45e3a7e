"""The terminal front end of a demo: live event lines, then the report (or JSON).

``studybot demo MODE`` calls ``run_terminal_demo``; it runs the same engine in
the CLI's own event loop, so the timings printed are as real as the bot's.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.demos.engine import DemoHandle, start_demo, validate_options
from bot.demos.model import DemoEvent
from bot.demos.prediction import ask_prediction, judge_prediction, parse_guess
from bot.demos.report import TERMINAL_WIDTH, render_event, render_report, run_as_dict
from bot.errors import UserError
from bot.plaintext import terminal_text

EXIT_OK = 0
EXIT_NOT_COMPLETED = 1
EXIT_USAGE = 2


MIN_TERMINAL_WIDTH = 40


def fitted_width(columns: int | None) -> int:
    """Return the width a report should fit in a terminal of ``columns`` (None: not a terminal).

    A narrow terminal gets its own width, down to a floor where the tables
    still have room; a wide one, or a pipe, the report's usual width.
    """
    if columns is None:
        return TERMINAL_WIDTH
    return max(MIN_TERMINAL_WIDTH, min(columns, TERMINAL_WIDTH))


async def run_terminal_demo(
    mode: str,
    durations: Sequence[float | None] | None,
    *,
    as_json: bool,
    out: TextIO,
    predict: str | None = None,
    width: int = TERMINAL_WIDTH,
) -> int:
    """Run one demo, printing live progress and the report to ``out``; return an exit code.

    With ``as_json`` only one JSON document is printed (events, tasks, timings,
    and the prediction's verdict if one was given). A bad option prints a
    friendly message to stderr and returns 2; a cancelled or timed-out run
    returns 1. If ``out`` is a pipe whose reader has gone (``| head``), the run
    is cancelled and ``BrokenPipeError`` raised, for the command line to end quietly.
    Text lines fit in ``width`` columns (a narrow terminal's own width).
    """
    try:
        options = validate_options(mode, durations)
        if predict is not None:
            parse_guess(options, predict)
    except UserError as exc:
        print(f"studybot demo: {exc}", file=sys.stderr)
        return EXIT_USAGE

    handle: DemoHandle | None = None
    reader_gone = False

    def show(event: DemoEvent) -> None:
        nonlocal reader_gone
        if event.kind == "created" or reader_gone:
            return
        try:
            out.write(terminal_text(render_event(event), width) + "\n")
            out.flush()
        except BrokenPipeError:  # `studybot demo compare | head`: nobody reads any more
            reader_gone = True
            if handle is not None:
                handle.cancel("the output was closed")

    if not as_json:
        durations_text = ", ".join(
            f"{n}={d:g}s" for n, d in zip(options.task_names, options.durations, strict=True)
        )
        out.write(f"Demo {options.mode} ({durations_text})\n")
        if predict is not None:
            question = ask_prediction(options)
            out.write(terminal_text(f"{question.prompt} You predicted: {predict}", width) + "\n")
        out.write("\n")
        out.flush()
    handle = start_demo(options, None if as_json else show)
    run = await handle.wait()
    if reader_gone:
        raise BrokenPipeError("the output was closed")
    verdict = judge_prediction(run, predict) if predict is not None else None
    if as_json:
        data = run_as_dict(run)
        if verdict is not None:
            data["prediction"] = {
                "guess": verdict.guess,
                "actual": verdict.actual,
                "correct": verdict.correct,
            }
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        out.write("\n" + terminal_text(render_report(run, width), width) + "\n")
        if verdict is not None:
            out.write("\n" + verdict.message + "\n")
    out.flush()
    return EXIT_OK if run.completed else EXIT_NOT_COMPLETED
