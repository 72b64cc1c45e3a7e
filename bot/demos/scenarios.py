"""The built-in scenarios and the tracer that records what their tasks really do.

Each scenario is a fixed coroutine over simulated tasks (``asyncio.sleep``); no
user code ever runs. The tracer stamps every event with ``time.perf_counter``
relative to the run's start and keeps each task's span for the reports.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from bot.demos.model import (
    FAILING_TASK,
    DemoEvent,
    DemoOptions,
    EventKind,
    PhaseTiming,
    TaskProgress,
    TaskSpan,
    TaskState,
)

EventSink = Callable[[DemoEvent], None]


class SimulatedError(RuntimeError):
    """The exception a demo task raises on purpose (the failure modes)."""


@dataclass(slots=True)
class _Span:
    name: str
    phase: str
    duration: float
    created: float
    started: float | None = None
    ended: float | None = None
    state: TaskState = "not started"
    result: str = ""

    def freeze(self) -> TaskSpan:
        return TaskSpan(
            name=self.name,
            phase=self.phase,
            duration=self.duration,
            created=self.created,
            started=self.started,
            ended=self.ended,
            state=self.state,
            result=self.result,
        )


@dataclass(slots=True)
class Tracer:
    """Record a run's events and spans, and spawn its simulated tasks."""

    phase: str
    sink: EventSink | None = None
    origin: float = field(default_factory=time.perf_counter)
    events: list[DemoEvent] = field(default_factory=list)
    spans: list[_Span] = field(default_factory=list)
    timings: list[PhaseTiming] = field(default_factory=list)
    tasks: list[asyncio.Task[str]] = field(default_factory=list)
    raised: str = ""

    def now(self) -> float:
        """Return seconds since the run started."""
        return time.perf_counter() - self.origin

    def emit(self, kind: EventKind, task: str | None = None, detail: str = "") -> DemoEvent:
        """Record one event and pass it to the sink."""
        event = DemoEvent(at=self.now(), kind=kind, task=task, phase=self.phase, detail=detail)
        self.events.append(event)
        if self.sink is not None:
            self.sink(event)
        return event

    def spawn(
        self,
        name: str,
        duration: float,
        *,
        fail: bool = False,
        slot: asyncio.Semaphore | None = None,
        group: asyncio.TaskGroup | None = None,
    ) -> asyncio.Task[str]:
        """Create a simulated task in the running loop and record its creation."""
        span = _Span(name=name, phase=self.phase, duration=duration, created=self.now())
        self.spans.append(span)
        self.emit("created", name)
        coro = self._simulate(span, fail=fail, slot=slot)
        task = group.create_task(coro) if group is not None else asyncio.create_task(coro)
        self.tasks.append(task)
        return task

    async def _simulate(self, span: _Span, *, fail: bool, slot: asyncio.Semaphore | None) -> str:
        phase = span.phase
        try:
            if slot is None:
                return await self._work(span, fail=fail)
            if slot.locked():
                span.state = "waiting"
                self._emit_for(phase, "waiting", span.name, "waits for a semaphore slot")
            async with slot:
                return await self._work(span, fail=fail)
        except asyncio.CancelledError:
            span.ended = self.now()
            span.state = "cancelled"
            span.result = "cancelled"
            self._emit_for(phase, "cancelled", span.name)
            raise

    async def _work(self, span: _Span, *, fail: bool) -> str:
        span.started = self.now()
        span.state = "running"
        self._emit_for(span.phase, "started", span.name)
        await asyncio.sleep(span.duration)
        span.ended = self.now()
        if fail:
            span.state = "failed"
            span.result = f"SimulatedError('{span.name} failed')"
            self._emit_for(span.phase, "failed", span.name, f"raises {span.result}")
            raise SimulatedError(f"{span.name} failed")
        span.state = "finished"
        span.result = f"'{span.name} done'"
        self._emit_for(span.phase, "finished", span.name)
        return f"{span.name} done"

    def _emit_for(self, phase: str, kind: EventKind, task: str | None, detail: str = "") -> None:
        event = DemoEvent(at=self.now(), kind=kind, task=task, phase=phase, detail=detail)
        self.events.append(event)
        if self.sink is not None:
            self.sink(event)

    def wait(self, detail: str) -> None:
        """Record that the main coroutine is about to suspend on an await."""
        self.emit("waiting", None, detail)

    @contextmanager
    def measure(self, phase: str, ideal: float) -> Iterator[None]:
        """Time one phase of the scenario; the phase's tasks are tagged with its name."""
        self.phase = phase
        start = self.now()
        yield
        total = self.now() - start
        self.timings.append(PhaseTiming(name=phase, total=total, ideal=ideal))
        self.emit("done", None, f"done in {total * 1000:.1f} ms")

    async def settle(self) -> None:
        """Cancel the tasks still running and wait for them, so nothing leaks."""
        leftovers = [t for t in self.tasks if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.gather(*leftovers, return_exceptions=True)

    def progress(self) -> tuple[TaskProgress, ...]:
        """Return each task's state and how far along it is right now."""
        now = self.now()
        views: list[TaskProgress] = []
        for span in self.spans:
            if span.state in ("finished", "failed"):
                fraction = 1.0
            elif span.started is None:
                fraction = 0.0
            else:
                end = span.ended if span.ended is not None else now
                fraction = min(1.0, max(0.0, (end - span.started) / span.duration))
            views.append(
                TaskProgress(
                    name=span.name,
                    phase=span.phase,
                    duration=span.duration,
                    state=span.state,
                    fraction=fraction,
                )
            )
        return tuple(views)

    def frozen_spans(self) -> tuple[TaskSpan, ...]:
        """Return the spans as immutable records."""
        return tuple(span.freeze() for span in self.spans)


Scenario = Callable[[Tracer, DemoOptions], Awaitable[None]]


def _names(options: DemoOptions) -> list[tuple[str, float]]:
    return list(zip(options.task_names, options.durations, strict=True))


async def _sequential_phase(tracer: Tracer, options: DemoOptions) -> None:
    with tracer.measure("sequential", sum(options.durations)):
        for name, duration in _names(options):
            task = tracer.spawn(name, duration)
            tracer.wait(f"await {name}: main waits for it to finish")
            await task


async def _parallel_phase(tracer: Tracer, options: DemoOptions) -> None:
    with tracer.measure("parallel", max(options.durations)):
        tasks = [tracer.spawn(name, d) for name, d in _names(options)]
        joined = ", ".join(options.task_names)
        tracer.wait(f"await asyncio.gather({joined}), Python's Promise.all: main waits for all")
        await asyncio.gather(*tasks)


async def run_sequential(tracer: Tracer, options: DemoOptions) -> None:
    """Await each task before starting the next."""
    await _sequential_phase(tracer, options)


async def run_parallel(tracer: Tracer, options: DemoOptions) -> None:
    """Start every task, then wait for all with asyncio.gather."""
    await _parallel_phase(tracer, options)


async def run_compare(tracer: Tracer, options: DemoOptions) -> None:
    """Run the sequential scenario, then the parallel one, for a side-by-side timing."""
    await _sequential_phase(tracer, options)
    await _parallel_phase(tracer, options)


async def run_fire_and_forget(tracer: Tracer, options: DemoOptions) -> None:
    """Start every task but the last without awaiting it, then await only the last.

    This is the seed quiz's question 3 (``await`` removed before task1): task2
    starts right after task1 starts. The run still awaits the forgotten tasks at
    the end, after the measured part, so no task outlives the demo.
    """
    pairs = _names(options)
    *forgotten, (last_name, last_duration) = pairs
    with tracer.measure("fire_and_forget", last_duration):
        loose = [tracer.spawn(name, d) for name, d in forgotten]
        last = tracer.spawn(last_name, last_duration)
        tracer.wait(f"await {last_name} only: the other tasks were not awaited")
        await last
    if any(not t.done() for t in loose):
        tracer.wait("clean-up: await the forgotten tasks so nothing leaks")
    await asyncio.gather(*loose)


async def run_taskgroup(tracer: Tracer, options: DemoOptions) -> None:
    """Start every task in an asyncio.TaskGroup and leave the block when all are done."""
    with tracer.measure("taskgroup", max(options.durations)):
        async with asyncio.TaskGroup() as group:
            for name, duration in _names(options):
                tracer.spawn(name, duration, group=group)
            tracer.wait("leave the TaskGroup block: main waits for every task")


def semaphore_ideal(durations: tuple[float, ...], limit: int) -> float:
    """Return the makespan of running ``durations`` in order with ``limit`` slots."""
    slots = [0.0] * max(1, min(limit, len(durations)))
    heapq.heapify(slots)
    end = 0.0
    for duration in durations:
        start = heapq.heappop(slots)
        finish = start + duration
        end = max(end, finish)
        heapq.heappush(slots, finish)
    return end


async def run_semaphore(tracer: Tracer, options: DemoOptions) -> None:
    """Start every task at once, but let an asyncio.Semaphore admit at most K to run."""
    limit = options.limit or 1
    with tracer.measure("semaphore", semaphore_ideal(options.durations, limit)):
        slot = asyncio.Semaphore(limit)
        tasks = [tracer.spawn(name, d, slot=slot) for name, d in _names(options)]
        tracer.wait(f"await asyncio.gather(...) with at most {limit} running at once")
        await asyncio.gather(*tasks)


async def run_fail_fast(tracer: Tracer, options: DemoOptions) -> None:
    """Gather without return_exceptions while task2 raises: the error reaches main at once.

    gather does not cancel the other tasks; they keep running, and the run awaits
    them after the measured part so the report shows what became of them.
    """
    pairs = _names(options)
    with tracer.measure("fail_fast", pairs[FAILING_TASK][1]):
        tasks = [tracer.spawn(name, d, fail=i == FAILING_TASK) for i, (name, d) in enumerate(pairs)]
        tracer.wait("await asyncio.gather(...) without return_exceptions")
        try:
            await asyncio.gather(*tasks)
        except SimulatedError as exc:
            still = [n for (n, _), t in zip(pairs, tasks, strict=True) if not t.done()]
            running = ", ".join(still) if still else "no other task"
            tracer.raised = f"SimulatedError('{exc}')"
            tracer.emit(
                "raised",
                None,
                f"gather raised {tracer.raised}; still running: {running}",
            )
    if any(not t.done() for t in tasks):
        tracer.wait("clean-up: the other tasks were not cancelled; await them")
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_settled(tracer: Tracer, options: DemoOptions) -> None:
    """Gather with return_exceptions=True while task2 raises: every outcome comes back."""
    pairs = _names(options)
    with tracer.measure("settled", max(options.durations)):
        tasks = [tracer.spawn(name, d, fail=i == FAILING_TASK) for i, (name, d) in enumerate(pairs)]
        tracer.wait("await asyncio.gather(..., return_exceptions=True)")
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_taskgroup_fail(tracer: Tracer, options: DemoOptions) -> None:
    """Run the tasks in an asyncio.TaskGroup while task2 raises: the group cancels the rest.

    The block does not end at the failure: the group first cancels the tasks
    still running and waits for them, then raises an ExceptionGroup, which
    main catches with ``except*``, as in the failures lesson.
    """
    pairs = _names(options)
    spans_before = len(tracer.spans)
    with tracer.measure("taskgroup_fail", pairs[FAILING_TASK][1]):
        try:
            async with asyncio.TaskGroup() as group:
                for i, (name, d) in enumerate(pairs):
                    tracer.spawn(name, d, fail=i == FAILING_TASK, group=group)
                tracer.wait("leave the TaskGroup block: main waits for every task")
        except* SimulatedError as caught:
            errors = ", ".join(f"SimulatedError('{e}')" for e in caught.exceptions)
            tracer.raised = f"ExceptionGroup('{caught.message}', [{errors}])"
            spans = tracer.spans[spans_before:]
            cancelled = [s.name for s in spans if s.state == "cancelled"]
            tracer.emit(
                "raised",
                None,
                f"the block raised {tracer.raised}, caught by except* SimulatedError; "
                f"cancelled: {', '.join(cancelled) if cancelled else 'no other task'}",
            )


SCENARIOS: dict[str, Scenario] = {
    "sequential": run_sequential,
    "parallel": run_parallel,
    "fire_and_forget": run_fire_and_forget,
    "compare": run_compare,
    "taskgroup": run_taskgroup,
    "semaphore": run_semaphore,
    "fail_fast": run_fail_fast,
    "settled": run_settled,
    "taskgroup_fail": run_taskgroup_fail,
}
