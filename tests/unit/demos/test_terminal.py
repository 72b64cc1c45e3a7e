"""The terminal runner: live lines and report, JSON only, friendly option errors."""

from __future__ import annotations

import io
import json

import pytest

from bot.demos.terminal import MIN_TERMINAL_WIDTH, fitted_width, run_terminal_demo


async def test_terminal_prints_live_lines_then_the_report() -> None:
    """The text output has event lines, the table, the timings and the verdict."""
    out = io.StringIO()
    code = await run_terminal_demo(
        "sequential", [0.05, 0.05], as_json=False, out=out, predict="task1"
    )
    text = out.getvalue()
    assert code == 0
    assert "task1  started" in text
    assert "Execution table" in text
    assert "overhead" in text
    assert "Right: you said task1" in text
    assert "```" not in text


async def test_terminal_json_is_one_document() -> None:
    """--json prints a single JSON document with events and timings."""
    out = io.StringIO()
    code = await run_terminal_demo("parallel", [0.05, 0.05], as_json=True, out=out)
    data = json.loads(out.getvalue())
    assert code == 0
    assert data["status"] == "completed"
    assert data["timings"]["ideal_ms"] == pytest.approx(50.0)


async def test_terminal_bad_option_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An out-of-range duration prints the friendly message to stderr and exits 2."""
    out = io.StringIO()
    code = await run_terminal_demo("parallel", [0.01], as_json=False, out=out)
    assert code == 2
    assert "task1 must be between 0.05 and 10 seconds" in capsys.readouterr().err
    assert out.getvalue() == ""


async def test_a_narrow_terminal_gets_a_report_of_its_own_width() -> None:
    """Every line, live events, tables and prose, fits a 60-column terminal."""
    out = io.StringIO()
    code = await run_terminal_demo(
        "compare", [0.05, 0.1, 0.07], as_json=False, out=out, width=fitted_width(60)
    )
    lines = out.getvalue().split("\n")
    assert code == 0 and "Execution table" in lines
    assert max(len(line) for line in lines) <= 60
    assert "S = Started" in out.getvalue()  # the table's statuses became symbols to fit


def test_the_width_follows_a_narrow_terminal_within_bounds() -> None:
    """A pipe and a wide terminal get the usual width; a tiny one the floor."""
    assert fitted_width(None) == fitted_width(500) == 96
    assert fitted_width(70) == 70
    assert fitted_width(10) == MIN_TERMINAL_WIDTH
