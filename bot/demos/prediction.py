"""Predict first: ask what a run will do, then judge the guess against the real run.

Two kinds of question: which task finishes first (the surprise in
``sequential`` is that task1 always does, however long it is), and, for
``compare``, how long the whole run takes. Guesses are strings so a button's
value or a terminal argument can be passed straight in: a task name
(``task2``) or a number of seconds (``2.5``), whichever the mode's question
asks for (a number of seconds is no answer to "which task").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.demos.model import FAILING_TASK, DemoOptions, DemoRun
from bot.demos.scenarios import semaphore_ideal
from bot.errors import OptionError

QuestionKind = Literal["first", "total"]
TIE_WINDOW = 0.005
TOTAL_TOLERANCE = 0.15


@dataclass(frozen=True, slots=True)
class PredictionQuestion:
    """A question to ask before the run, with its choices as (value, label)."""

    kind: QuestionKind
    prompt: str
    choices: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class PredictionVerdict:
    """Whether a guess matched the real run, with the real answer spelled out."""

    correct: bool
    guess: str
    actual: str
    message: str


def _ideal_total(options: DemoOptions) -> float:
    durations = options.durations
    if options.mode == "sequential":
        return sum(durations)
    if options.mode == "compare":
        return sum(durations) + max(durations)
    if options.mode == "semaphore":
        return semaphore_ideal(durations, options.limit or 1)
    if options.mode == "fire_and_forget":
        return durations[-1]
    if options.mode in ("fail_fast", "taskgroup_fail"):
        return durations[FAILING_TASK]
    return max(durations)


def ask_prediction(options: DemoOptions) -> PredictionQuestion:
    """Return the question to ask before running ``options``."""
    if options.mode == "compare":
        durations = options.durations
        candidates = sorted(
            {
                round(max(durations), 2),
                round(sum(durations), 2),
                round(sum(durations) + max(durations), 2),
                round(2 * sum(durations), 2),
            }
        )
        return PredictionQuestion(
            kind="total",
            prompt="Sequential, then parallel: how long will the whole run take?",
            choices=tuple((f"{c:g}", f"about {c:g} s") for c in candidates),
        )
    return PredictionQuestion(
        kind="first",
        prompt=f"In `{options.mode}`, which task finishes (or fails) first?",
        choices=tuple((name, name) for name in options.task_names),
    )


def _first_to_end(run: DemoRun) -> tuple[str, list[str], bool]:
    """Return the first task to end, every task tied with it, and whether it failed."""
    ends = sorted(
        (span.ended, span.name, span.state == "failed")
        for span in run.spans
        if span.ended is not None and span.state in ("finished", "failed")
    )
    if not ends:
        return "", [], False
    first_at = ends[0][0]
    tied = [name for at, name, _ in ends if at - first_at <= TIE_WINDOW]
    return ends[0][1], tied, ends[0][2]


def parse_guess(options: DemoOptions, guess: str) -> str | float:
    """Return ``guess`` as the answer the mode's question asks for; raise OptionError otherwise.

    A task name for "which task ends first", a number of seconds for ``compare``'s
    "how long": judging a guess against another question than the one asked
    would tell the learner they were wrong about something they never said.
    """
    text = guess.strip().lower()
    if ask_prediction(options).kind == "first":
        if text in options.task_names:
            return text
        raise OptionError(
            f"In {options.mode}, predict which task finishes first: "
            f"{' or '.join(options.task_names)}."
        )
    try:
        seconds = float(text.removesuffix("s").strip())
    except ValueError:
        seconds = float("nan")
    if seconds == seconds and 0 < seconds < 1000:
        return seconds
    raise OptionError(
        f"In {options.mode}, predict how long the whole run takes, in seconds, like 2.5."
    )


def judge_prediction(run: DemoRun, guess: str) -> PredictionVerdict:
    """Compare ``guess`` (the answer to the mode's question) with what really happened."""
    parsed = parse_guess(run.options, guess)
    if isinstance(parsed, float):
        seconds = parsed
        measured = run.total
        correct = abs(seconds - measured) <= max(TOTAL_TOLERANCE * measured, 0.1)
        verdict = "Right" if correct else "Not quite"
        return PredictionVerdict(
            correct=correct,
            guess=f"{seconds:g} s",
            actual=f"{measured:.2f} s",
            message=f"{verdict}: you guessed {seconds:g} s; it took {measured:.2f} s.",
        )
    text = parsed
    first, tied, failed = _first_to_end(run)
    if not first:
        return PredictionVerdict(
            correct=False,
            guess=text,
            actual="no task finished",
            message="The run ended before any task finished, so there is no answer.",
        )
    correct = text in tied
    actual = " and ".join(tied) if len(tied) > 1 else first
    verdict = "Right" if correct else "Not quite"
    ended = "ended" if len(tied) > 1 else "failed" if failed else "finished"
    tie = " (a tie)" if len(tied) > 1 else ""
    return PredictionVerdict(
        correct=correct,
        guess=text,
        actual=actual,
        message=f"{verdict}: you said {text}; {actual} {ended} first{tie}.",
    )


def expected_total(options: DemoOptions) -> float:
    """Return the ideal wall time of the run, in seconds (for a 'how long' hint)."""
    return _ideal_total(options)
