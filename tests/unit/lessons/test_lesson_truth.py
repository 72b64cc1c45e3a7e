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
import re
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


# -- python-gather-failures ----------------------------------------------------


def caller_outcome(state: State) -> str:
    """Summarise what the scenario's caller had got by the end of ``state``."""
    if not state.said:
        return "waiting"
    last = state.said[-1]
    if last.startswith("gather raised ValueError"):
        return "caught ValueError"
    if last.startswith("gather returned"):
        return "got 3 outcomes"
    if last.startswith("TaskGroup raised ValueError"):
        return "caught ExceptionGroup"
    return f"(unexpected output {last!r})"


def test_gather_failures_lesson_matches_a_real_run() -> None:
    """The gather-failures lesson's table, tracker and quiz match its code's real run."""
    lesson = load_lesson_file(LESSONS / "python-gather-failures.yaml")
    source = lesson.code[0].source
    tasks = lesson.table.tasks

    def run(function: str) -> Recorder:
        return run_python(source, function, tasks, lambda ns, r: instrument_task(ns, r, "job"))

    plain, settled, group = run("plain_gather"), run("settled_gather"), run("task_group")
    truth = Truth(
        lesson,
        [
            Scenario(range(1, 5), plain),
            Scenario(range(5, 8), settled),
            Scenario(range(8, 11), group),
        ],
    )
    check_table_and_tracker(
        truth,
        lambda state: {
            "running": count(state, "Running"),
            "elapsed": seconds(state.time),
            "caller": caller_outcome(state),
        },
    )
    [(raised_at, raised)] = plain.said
    assert raised == "gather raised ValueError('task2 failed')"
    [(_, printed)] = settled.said
    cancelled = [
        s for s in lesson.table.steps if truth.at_step[s].statuses["Task 3"] == "Cancelled"
    ]
    check_quiz(
        truth,
        {
            0: "It keeps running and finishes at 3 s"
            if plain.states[-1].statuses["Task 3"] == "Done" and plain.states[-1].time == 3
            else "(not what happened)",
            1: printed,
            2: f"Step {cancelled[0]}",
            3: f"At {seconds(raised_at)}",
        },
    )


# -- python-semaphore-limits ---------------------------------------------------


def test_semaphore_lesson_matches_a_real_run() -> None:
    """The semaphore lesson's table, tracker and quiz match its code's real run."""
    lesson = load_lesson_file(LESSONS / "python-semaphore-limits.yaml")
    source = lesson.code[0].source
    tasks = lesson.table.tasks

    def instrument(namespace: dict[str, Any], recorder: Recorder) -> None:
        instrument_task(namespace, recorder, "download")
        instrument_waiting(namespace, recorder, "limited")

    def run(function: str) -> Recorder:
        return run_python(source, function, tasks, instrument)

    limited, unlimited, pool = run("with_semaphore"), run("without_limit"), run("worker_pool")
    truth = Truth(lesson, [Scenario(range(1, 7), limited), Scenario(range(7, 9), unlimited)])
    check_table_and_tracker(
        truth,
        lambda state: {
            "running": count(state, "Running"),
            "waiting": count(state, "Waiting"),
            "elapsed": seconds(state.time),
        },
    )
    assert limited.result == ["task1", "task2", "task3", "task4"]
    most_at_once = max(int(count(s, "Running")) for s in limited.states)
    pool_most = max(int(count(s, "Running")) for s in pool.states)
    assert pool_most == most_at_once == 2
    assert pool.states[-1].time == limited.states[-1].time == unlimited.states[-1].time == 4
    check_quiz(
        truth,
        {
            0: str(most_at_once),
            1: f"Step {truth.first_step(range(1, 7), 'Task 4', 'Running')}",
            2: seconds(limited.states[-1].time),
            3: ", ".join(pool.result),
        },
    )


# -- node-sequential-vs-parallel (the seed) ------------------------------------

NODE_DRIVER = """
const events = [];
function instrumented(name, ms) {
  return async function () {
    events.push([name, "Started"]);
    await new Promise((resolve) => setTimeout(resolve, ms));
    events.push([name, "Finished"]);
  };
}
const task1 = instrumented("Task 1 Status", 5);
const task2 = instrumented("Task 2 Status", 15);
%(source)s
(async () => {
  const runs = {};
  for (const [label, scenario] of [["sequential", sequential], ["parallel", parallel]]) {
    events.length = 0;
    await scenario();
    await new Promise((resolve) => setTimeout(resolve, 40));  // let stray tasks finish
    runs[label] = events.slice();
  }
  console.log(JSON.stringify(runs));
})();
"""


def replay(tasks: Sequence[str], events: list[list[str]]) -> Recorder:
    """Build the states of a Node run from its (task, status) events, in order."""
    recorder = Recorder(tasks)
    for name, status in events:
        recorder.statuses[name] = status
        recorder.states.append(State(0.0, dict(recorder.statuses)))
    return recorder


def run_node(source: str, tasks: Sequence[str], node: str) -> dict[str, Recorder]:
    """Run the lesson's JavaScript with instrumented task1/task2 under node."""
    completed = subprocess.run(
        [node, "-e", NODE_DRIVER % {"source": source}],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    runs = json.loads(completed.stdout)
    return {label: replay(tasks, events) for label, events in runs.items()}


def test_seed_lesson_matches_a_real_node_run() -> None:
    """The seed's table, tracker and quiz answers match its JavaScript run under node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    lesson = load_lesson_file(LESSONS / "node-sequential-vs-parallel.yaml")
    source = lesson.code[0].source
    tasks = lesson.table.tasks
    runs = run_node(source, tasks, node)
    truth = Truth(
        lesson,
        [Scenario(range(1, 6), runs["sequential"]), Scenario(range(6, 9), runs["parallel"])],
    )
    check_table_and_tracker(
        truth,
        lambda state: {
            "task1Status": state.statuses["Task 1 Status"],
            "task2Status": state.statuses["Task 2 Status"],
        },
    )
    both_started = next(
        s for s in range(6, 9) if set(truth.at_step[s].statuses.values()) == {"Started"}
    )
    assert "await task1();" in source
    no_await = run_node(source.replace("await task1();", "task1();"), tasks, node)["sequential"]
    task2_start = next(s for s in no_await.states if s.statuses["Task 2 Status"] == "Started")
    check_quiz(
        truth,
        {
            0: f"Step {truth.first_step(range(1, 6), 'Task 2 Status', 'Started')}",
            1: f"Step {both_started}",
            2: "Task2 starts immediately after task1 starts"
            if task2_start.statuses["Task 1 Status"] == "Started"
            else "Task2 waits for task1 to finish",
        },
    )


def test_every_shipped_lesson_has_a_truth_check() -> None:
    """Each lesson in content/lessons is loaded by one of the real-run tests above."""
    source = Path(__file__).read_text(encoding="utf-8")
    checked = set(re.findall(r'LESSONS / "([a-z0-9-]+)\.yaml"', source))
    shipped = {path.stem for path in LESSONS.glob("*.yaml")}
    missing = sorted(shipped - checked)
    assert not missing, f"add a real-run check for: {', '.join(missing)}"
