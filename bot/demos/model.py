"""Plain results of a demo run: options, timestamped events, task spans and timings.

Every front end (the /demo cog, the terminal, the benchmark) reads these frozen
dataclasses; nothing here knows about asyncio tasks or Discord.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MODES: tuple[str, ...] = (
    "sequential",
    "parallel",
    "fire_and_forget",
    "compare",
    "taskgroup",
    "semaphore",
    "fail_fast",
    "settled",
    "taskgroup_fail",
)
MODE_SUMMARIES: dict[str, str] = {
    "sequential": "await each task before starting the next",
    "parallel": "asyncio.gather(...): every task at once",
    "fire_and_forget": "start every task, but await only the last one",
    "compare": "sequential, then parallel, side by side",
    "taskgroup": "asyncio.TaskGroup: structured parallel tasks",
    "semaphore": "asyncio.Semaphore: 4 tasks, at most 2 running at once",
    "fail_fast": "gather without return_exceptions: task2 raises, the rest run on",
    "settled": "gather(return_exceptions=True): every outcome, task2's an exception",
    "taskgroup_fail": "asyncio.TaskGroup: task2 raises, the rest are cancelled",
}
"""One line per mode that reads right for any number of tasks (also the /demo choice
names, so each stays well under Discord's 100 characters); ``mode_summary`` fills in
the semaphore's real task count and limit."""
DEFAULT_DURATIONS: tuple[float, ...] = (1.0, 1.5)
FAILURE_MODES: tuple[str, ...] = ("fail_fast", "settled", "taskgroup_fail")
FAILURE_DURATIONS: tuple[float, ...] = (1.0, 2.0, 3.0)
"""The failures lesson's case: task1 takes 1 s, task2 fails after 2 s, task3 takes 3 s.
With three tasks the demo shows all three outcomes at once: one done before the
failure, the failure itself, and one still running when it happens."""
FAILING_TASK = 1
"""Index of the task that raises in the failure modes: task2, as in the lesson."""
MIN_DURATION = 0.05
MAX_DURATION = 10.0
MAX_TASKS = 8
SEMAPHORE_TASKS = 4
SEMAPHORE_LIMIT = 2

EventKind = Literal[
    "created", "waiting", "started", "finished", "failed", "cancelled", "raised", "done"
]
RunStatus = Literal["completed", "cancelled", "timed_out"]
TaskState = Literal["not started", "waiting", "running", "finished", "failed", "cancelled"]


def default_durations(mode: str) -> tuple[float, ...]:
    """Return the task durations a demo of ``mode`` runs when the user gives none."""
    return FAILURE_DURATIONS if mode in FAILURE_MODES else DEFAULT_DURATIONS


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """A validated demo request: the scenario, each task's duration and the run's bounds."""

    mode: str
    durations: tuple[float, ...]
    limit: int | None = None
    timeout: float = 30.0

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(f"task{i + 1}" for i in range(len(self.durations)))


def mode_summary(options: DemoOptions) -> str:
    """Return the mode's one-line summary for this run (the semaphore's own count and limit)."""
    if options.mode == "semaphore" and options.limit is not None:
        return (
            f"asyncio.Semaphore: {len(options.durations)} tasks, "
            f"at most {options.limit} running at once"
        )
    return MODE_SUMMARIES.get(options.mode, options.mode)


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """Something that happened during a run, ``at`` seconds after the run started.

    ``task`` is None for the main coroutine's own events (waiting on an await,
    catching an exception, finishing a phase). ``phase`` separates the two halves
    of ``compare`` and is the mode's name otherwise.
    """

    at: float
    kind: EventKind
    task: str | None
    phase: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TaskSpan:
    """One simulated task from creation to its end, in seconds since the run's start."""

    name: str
    phase: str
    duration: float
    created: float
    started: float | None
    ended: float | None
    state: TaskState
    result: str = ""

    @property
    def running_time(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass(frozen=True, slots=True)
class PhaseTiming:
    """The measured and ideal wall time of one phase (compare has two, others one)."""

    name: str
    total: float
    ideal: float

    @property
    def overhead_ms(self) -> float:
        return (self.total - self.ideal) * 1000.0


@dataclass(frozen=True, slots=True)
class DemoRun:
    """Everything a finished (or cancelled) run recorded.

    ``total`` is the measured time of the scenario's main part (for
    fire_and_forget and fail_fast the moment the awaited result or error arrived; the
    clean-up that waits for leftover tasks is in ``ended`` and the events).
    """

    options: DemoOptions
    status: RunStatus
    events: tuple[DemoEvent, ...]
    spans: tuple[TaskSpan, ...]
    phases: tuple[PhaseTiming, ...]
    ended: float
    note: str = ""
    raised: str = ""

    @property
    def mode(self) -> str:
        return self.options.mode

    @property
    def total(self) -> float:
        return sum(p.total for p in self.phases)

    @property
    def ideal(self) -> float:
        return sum(p.ideal for p in self.phases)

    @property
    def overhead_ms(self) -> float:
        return (self.total - self.ideal) * 1000.0

    @property
    def speedup(self) -> float | None:
        """Return sequential total / parallel total for compare, else None."""
        timings = {p.name: p for p in self.phases}
        if "sequential" in timings and "parallel" in timings and timings["parallel"].total > 0:
            return timings["sequential"].total / timings["parallel"].total
        return None

    @property
    def ideal_speedup(self) -> float | None:
        timings = {p.name: p for p in self.phases}
        if "sequential" in timings and "parallel" in timings and timings["parallel"].ideal > 0:
            return timings["sequential"].ideal / timings["parallel"].ideal
        return None

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    def spans_in(self, phase: str) -> tuple[TaskSpan, ...]:
        """Return the spans of one phase, in task order."""
        return tuple(s for s in self.spans if s.phase == phase)

    @property
    def phase_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for span in self.spans:
            if span.phase not in names:
                names.append(span.phase)
        return tuple(names)


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """A live view of one task for the progress display."""

    name: str
    phase: str
    duration: float
    state: TaskState
    fraction: float
