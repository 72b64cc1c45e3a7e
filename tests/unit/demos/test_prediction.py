"""Predict first: questions before the run and verdicts after it."""

from __future__ import annotations

import pytest

from bot.demos.engine import run_demo, validate_options
from bot.demos.prediction import ask_prediction, judge_prediction, parse_guess
from bot.errors import OptionError


async def test_sequential_first_finisher_is_task1_even_when_longer() -> None:
    """In sequential, task1 finishes first even though task2 is shorter."""
    options = validate_options("sequential", [0.1, 0.05])
    question = ask_prediction(options)
    assert question.kind == "first"
    assert [value for value, _ in question.choices] == ["task1", "task2"]
    run = await run_demo(options)
    assert judge_prediction(run, "task1").correct
    wrong = judge_prediction(run, "task2")
    assert not wrong.correct
    assert "task1 finished first" in wrong.message


async def test_parallel_first_finisher_is_the_shorter_task() -> None:
    """In parallel, the shorter task finishes first."""
    run = await run_demo(validate_options("parallel", [0.15, 0.05]))
    assert judge_prediction(run, "task2").correct
    assert not judge_prediction(run, "task1").correct


async def test_compare_asks_for_the_total_and_judges_seconds() -> None:
    """Compare asks how long it takes; the sum plus the longest is right."""
    options = validate_options("compare", [0.05, 0.1])
    question = ask_prediction(options)
    assert question.kind == "total"
    assert "0.25" in [value for value, _ in question.choices]
    run = await run_demo(options)
    assert judge_prediction(run, "0.25").correct
    assert not judge_prediction(run, "0.1").correct


async def test_bad_guess_is_an_option_error() -> None:
    """A guess that is neither a task nor seconds is rejected with a friendly message."""
    run = await run_demo(validate_options("parallel", [0.05, 0.05]))
    with pytest.raises(OptionError, match="which task finishes first: task1 or task2"):
        judge_prediction(run, "banana")


async def test_a_guess_must_answer_the_question_the_mode_asks() -> None:
    """Seconds are no answer to "which task", nor a task to compare's "how long"."""
    with pytest.raises(OptionError, match="which task"):
        parse_guess(validate_options("parallel", [0.05, 0.05]), "0.2")
    with pytest.raises(OptionError, match="how long"):
        parse_guess(validate_options("compare", [0.05, 0.05]), "task2")
    assert parse_guess(validate_options("compare", [0.05, 0.05]), "0.2s") == 0.2


async def test_a_task_that_fails_first_is_said_to_have_failed() -> None:
    """In fail_fast, task2 fails first when it is the shortest: the verdict says failed."""
    run = await run_demo(validate_options("fail_fast", [0.2, 0.05, 0.3]))
    verdict = judge_prediction(run, "task1")
    assert not verdict.correct
    assert "task2 failed first" in verdict.message
