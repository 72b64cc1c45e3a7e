"""Run each lesson's own code and check its table, tracker and quiz answers against the run.

Python lessons are executed on a virtual-clock event loop with their task
functions wrapped to record when each task is scheduled, waits, runs, finishes,
fails or is cancelled. Every table row must be a state the real run passes
through (in order), every tracker cell must match the run at its checkpoint,
and every quiz answer must equal a fact computed from a run.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.lessons.loader import load_lesson_file
from bot.lessons.model import Lesson
from tests.unit.lessons.virtual_clock import VirtualClockLoop

LESSONS = Path(__file__).resolve().parents[3] / "content" / "lessons"


@dataclass
class State:
    """The statuses of all tasks between two status changes, and what was printed so far."""

    time: float
    statuses: dict[str, str]
    said: list[str] = field(default_factory=list)


class Recorder:
    """Collect the states a scenario passes through."""

    def __init__(self, tasks: Sequence[str]) -> None:
        self.statuses = dict.fromkeys(tasks, "Not started")
        self.states = [State(0.0, dict(self.statuses))]
        self.said: list[tuple[float, str]] = []
        self.result: Any = None

    @staticmethod
    def now() -> float:
        """Return the virtual time of the running loop."""
        return asyncio.get_running_loop().time()

    def set(self, name: str, status: str) -> None:
        """Record that the task called ``name`` (e.g. 'task1') has a new status."""
        column = f"Task {name.removeprefix('task')}"
        assert column in self.statuses, f"unexpected task {name!r}"
        if self.statuses[column] == status:
            return
        self.statuses[column] = status
        self.states.append(State(self.now(), dict(self.statuses), list(self.states[-1].said)))

    def say(self, *args: object) -> None:
        """Stand in for print(): remember the text and when it was printed."""
        text = " ".join(str(a) for a in args)
        self.said.append((self.now(), text))
        self.states[-1].said.append(text)


def instrument_task(namespace: dict[str, Any], recorder: Recorder, function: str) -> None:
    """Wrap the lesson's task function so each call records its status changes."""
    original = namespace[function]

    def wrapper(name: str, *args: Any, **kwargs: Any) -> Any:
        recorder.set(name, "Scheduled")

        async def run() -> Any:
            recorder.set(name, "Running")
            try:
                result = await original(name, *args, **kwargs)
            except asyncio.CancelledError:
                recorder.set(name, "Cancelled")
                raise
            except Exception:
                recorder.set(name, "Failed")
                raise
            recorder.set(name, "Done")
            return result

        return run()

    namespace[function] = wrapper


def instrument_waiting(namespace: dict[str, Any], recorder: Recorder, function: str) -> None:
    """Wrap a limiter coroutine (sem, name, ...) so entering it records 'Waiting'."""
    original = namespace[function]

    async def wrapper(sem: Any, name: str, *args: Any) -> Any:
        recorder.set(name, "Waiting")
        return await original(sem, name, *args)

    namespace[function] = wrapper


def run_python(
    source: str,
    function: str,
    tasks: Sequence[str],
    instrument: Callable[[dict[str, Any], Recorder], None],
) -> Recorder:
    """Execute the lesson's source, instrument it, and run ``function()`` on a virtual clock."""
    namespace: dict[str, Any] = {"__name__": "lesson"}
    exec(compile(source, "<lesson>", "exec"), namespace)
    recorder = Recorder(tasks)
    instrument(namespace, recorder)
    namespace["print"] = recorder.say
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        recorder.result = runner.run(namespace[function]())
    return recorder


@dataclass
class Scenario:
    """A function of the lesson's code and the table steps that trace it."""

    steps: range
    recorder: Recorder


@dataclass
class Truth:
    """What a lesson claims, lined up against what its code really did."""

    lesson: Lesson
    scenarios: list[Scenario]
    at_step: dict[int, State] = field(default_factory=dict)

    def embed(self) -> None:
        """Match each table row to the first later real state with the same statuses."""
        for scenario in self.scenarios:
            states = scenario.recorder.states
            start = 0
            for step in scenario.steps:
                row = self.lesson.table.row(step)
                claimed = dict(row.statuses)
                for index in range(start, len(states)):
                    if states[index].statuses == claimed:
                        break
                else:
                    real = "\n  ".join(str(s.statuses) for s in states[start:])
                    pytest.fail(
                        f"{self.lesson.id} step {step} claims {claimed}, but after the previous "
                        f"step the real run only passes through:\n  {real}"
                    )
                self.at_step[step] = states[index]
                start = index

    def checkpoint_state(self, index: int) -> State:
        """Return the real state at tracker checkpoint ``index``."""
        checkpoint = self.lesson.tracker.checkpoints[index]
        if checkpoint.step is not None:
            return self.at_step[checkpoint.step]
        if index == 0:
            return self.scenarios[0].recorder.states[0]
        return self.scenarios[-1].recorder.states[-1]

    def first_step(self, steps: range, column: str, status: str) -> int:
        """Return the first step in ``steps`` whose real state has ``column`` at ``status``."""
        return next(s for s in steps if self.at_step[s].statuses[column] == status)


def count(state: State, status: str) -> str:
    """Return how many tasks have ``status`` in ``state``, as text."""
    return str(sum(1 for s in state.statuses.values() if s == status))


def seconds(value: float) -> str:
    """Format a virtual duration the way the lessons write it."""
    return f"{value:g} s"


def check_table_and_tracker(truth: Truth, variables: Callable[[State], dict[str, str]]) -> None:
    """Assert every row embeds in the run and every tracker cell matches the real state."""
    covered = [step for scenario in truth.scenarios for step in scenario.steps]
    assert covered == list(truth.lesson.table.steps), "every table step belongs to one scenario"
    truth.embed()
    tracker = truth.lesson.tracker
    for index, checkpoint in enumerate(tracker.checkpoints):
        real = variables(truth.checkpoint_state(index))
        claimed = {v.name: v.values[index] for v in tracker.variables}
        assert claimed == real, f"{truth.lesson.id} tracker at {checkpoint.label}"


def check_quiz(truth: Truth, facts: dict[int, str]) -> None:
    """Assert each quiz answer is the one choice whose text equals the computed fact."""
    assert sorted(facts) == list(range(len(truth.lesson.quiz))), "every question is checked"
    for index, fact in facts.items():
        question = truth.lesson.quiz[index]
        texts = [c.text for c in question.choices]
        assert texts.count(fact) == 1, f"quiz[{index}]: exactly one choice reads {fact!r}"
        assert question.correct.text == fact, f"quiz[{index}] answer"


# -- python-gather-vs-taskgroup ------------------------------------------------


def test_gather_vs_taskgroup_lesson_matches_a_real_run() -> None:
    """The gather-vs-TaskGroup lesson's table, tracker and quiz match its code's real run."""
    lesson = load_lesson_file(LESSONS / "python-gather-vs-taskgroup.yaml")
    source = lesson.code[0].source
    tasks = lesson.table.tasks

    def run(function: str, code: str = source) -> Recorder:
        return run_python(code, function, tasks, lambda ns, r: instrument_task(ns, r, "task"))

    truth = Truth(
        lesson,
        [
            Scenario(range(1, 5), run("sequential")),
            Scenario(range(5, 8), run("with_gather")),
            Scenario(range(8, 11), run("with_taskgroup")),
        ],
    )
    check_table_and_tracker(
        truth,
        lambda state: {"running": count(state, "Running"), "elapsed": seconds(state.time)},
    )
    for scenario in truth.scenarios:
        assert scenario.recorder.result == ["task1", "task2"]
    longer = run("with_gather", source.replace('task("task1", 1)', 'task("task1", 2)'))
    check_quiz(
        truth,
        {
            0: f"Step {truth.first_step(range(1, 5), 'Task 2', 'Running')}",
            1: seconds(truth.scenarios[1].recorder.states[-1].time),
            2: "Both tasks are scheduled but neither has started"
            if truth.at_step[8].statuses == {"Task 1": "Scheduled", "Task 2": "Scheduled"}
            else "(not what happened)",
            3: seconds(longer.states[-1].time),
        },
    )
