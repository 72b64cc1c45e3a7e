"""Run a demo scenario as real asyncio tasks in the current event loop.

``start_demo`` returns a handle at once, so a front end can stream the events
(``handle.events()``), show live progress (``handle.progress()``) and cancel
the run; ``run_demo`` is the one-call form. A run is always bounded by a
timeout and, whatever happens, ends with every task it spawned finished or
cancelled and a ``DemoRun`` that says how it ended.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Callable, Sequence

from bot.demos.model import (
    MAX_DURATION,
    MAX_TASKS,
    MIN_DURATION,
    MODES,
    SEMAPHORE_LIMIT,
    SEMAPHORE_TASKS,
    DemoEvent,
    DemoOptions,
    DemoRun,
    RunStatus,
    TaskProgress,
    default_durations,
)
from bot.demos.scenarios import SCENARIOS, Tracer
from bot.errors import OptionError, clip, code_span

log = logging.getLogger(__name__)

Observer = Callable[[DemoEvent], object]
TIMEOUT_MARGIN = 5.0


def _format_seconds(value: float) -> str:
    return f"{value:g}"


def _check_duration(name: str, value: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number of seconds, like 1.5.") from None
    if not math.isfinite(seconds) or not MIN_DURATION <= seconds <= MAX_DURATION:
        given = clip(_format_seconds(seconds), 20)
        raise OptionError(
            f"{name} must be between {_format_seconds(MIN_DURATION)} and "
            f"{_format_seconds(MAX_DURATION)} seconds (you gave {given})."
        )
    return round(seconds, 3)


def _mode_named(typed: str) -> str:
    """Return the demo mode ``typed`` names: exactly, in any case, or by a unique start."""
    wanted = str(typed).strip().lower().replace("-", "_")
    if wanted in MODES:
        return wanted
    starting = [m for m in MODES if wanted and m.startswith(wanted)]
    if len(starting) == 1:
        return starting[0]
    raise OptionError(
        f"There is no demo mode {code_span(str(typed)[:40])}. Choose one of: {', '.join(MODES)}."
    )


def _refuse_gaps(mode: str, given: Sequence[float | None], own: int) -> None:
    """Refuse a task left out before a given one, where the mode has no default for it.

    ``parallel task4:0.1`` would otherwise run a task3 nobody asked for; a mode
    whose default run already has that task (the failure modes' task3, the
    semaphore's four) keeps filling in its default.
    """
    for index in range(own, len(given)):
        if given[index] is None:
            missing, last = f"task{index + 1}", f"task{len(given)}"
            raise OptionError(
                f"{last} needs {missing} too: {mode} runs {own} tasks by default, "
                f"so give {missing} a duration as well, or leave {last} out."
            )


def validate_options(
    mode: str,
    durations: Sequence[float | None] | None = None,
    *,
    limit: int | None = None,
    tasks: int | None = None,
) -> DemoOptions:
    """Check a demo request and fill in defaults; raise OptionError with a friendly message.

    ``durations`` may hold None for a task the user left at its default (the
    cog passes ``[task1, task2, task3, task4]``; a third or fourth left out adds
    no task, and one left out before a given one is refused unless the mode's
    default run has it). ``semaphore`` runs ``tasks`` tasks (default 4) whose durations
    cycle through the given ones, at most ``limit`` (default 2) at once.
    """
    mode = _mode_named(mode)
    defaults = default_durations(mode)
    given = list(durations) if durations is not None else []
    while len(given) > len(defaults) and given[-1] is None:
        given.pop()  # task3, task4 left out: no task beyond the mode's own
    if len(given) > MAX_TASKS:
        raise OptionError(f"A demo runs at most {MAX_TASKS} tasks (you gave {len(given)}).")
    _refuse_gaps(mode, given, SEMAPHORE_TASKS if mode == "semaphore" else len(defaults))
    count = max(len(given), len(defaults))
    if mode == "semaphore":
        count = tasks if tasks is not None else max(count, SEMAPHORE_TASKS)
        if not 2 <= count <= MAX_TASKS:
            raise OptionError(f"tasks must be between 2 and {MAX_TASKS} (you gave {count}).")
    elif tasks is not None:
        raise OptionError("Only the semaphore demo takes a number of tasks.")
    chosen: list[float] = []
    for index, value in enumerate(given):
        default = defaults[index % len(defaults)]
        chosen.append(default if value is None else _check_duration(f"task{index + 1}", value))
    # The semaphore's extra tasks cycle through the durations given; elsewhere a task
    # left out keeps its default, as it does when the cog passes None for it.
    pattern = tuple(chosen) if mode == "semaphore" and chosen else defaults  # a copy
    while len(chosen) < count:
        chosen.append(pattern[len(chosen) % len(pattern)])
    if mode == "semaphore":
        slots = SEMAPHORE_LIMIT if limit is None else limit
        if not 1 <= slots <= len(chosen):
            raise OptionError(f"limit must be between 1 and {len(chosen)} (you gave {slots}).")
        limit = slots
    elif limit is not None:
        raise OptionError("Only the semaphore demo takes a limit.")
    budget = sum(chosen) * (2 if mode == "compare" else 1)
    return DemoOptions(
        mode=mode, durations=tuple(chosen), limit=limit, timeout=budget + TIMEOUT_MARGIN
    )


class DemoHandle:
    """A demo running in the current loop: stream its events, watch it, cancel it, await it."""

    def __init__(self, options: DemoOptions, observer: Observer | None = None) -> None:
        self.options = options
        self._observer = observer
        self._queues: list[asyncio.Queue[DemoEvent | None]] = []
        self._closed = False
        self._note = ""
        self._tracer = Tracer(phase=options.mode, sink=self._deliver)
        self._task: asyncio.Task[None] = asyncio.create_task(
            self._drive(), name=f"demo:{options.mode}"
        )
        self._run: DemoRun | None = None

    def _deliver(self, event: DemoEvent) -> None:
        if self._observer is not None:
            try:
                self._observer(event)
            except Exception:
                # A broken front end must not break the demo's timing or its clean-up.
                log.exception("demo observer failed on %s", event.kind)
        for queue in self._queues:
            queue.put_nowait(event)

    async def _drive(self) -> None:
        scenario = SCENARIOS[self.options.mode]
        try:
            async with asyncio.timeout(self.options.timeout):
                await scenario(self._tracer, self.options)
        finally:
            await self._tracer.settle()
            self._closed = True
            for queue in self._queues:
                queue.put_nowait(None)

    @property
    def elapsed(self) -> float:
        """Return seconds since the run started."""
        return self._tracer.now()

    def done(self) -> bool:
        """Return True once the run has ended (completed, cancelled or timed out)."""
        return self._task.done()

    def add_done_callback(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` once the run has ended (soon, if it already has)."""
        self._task.add_done_callback(lambda _task: callback())

    def progress(self) -> tuple[TaskProgress, ...]:
        """Return every task's live state, for a progress display."""
        return self._tracer.progress()

    def snapshot(self) -> tuple[DemoEvent, ...]:
        """Return the events recorded so far."""
        return tuple(self._tracer.events)

    def cancel(self, note: str = "cancelled") -> None:
        """Ask the run to stop; its report will carry ``note``."""
        if not self._task.done():
            self._note = note
            self._task.cancel()

    async def events(self) -> AsyncIterator[DemoEvent]:
        """Yield every event of the run, past ones first, until the run ends."""
        queue: asyncio.Queue[DemoEvent | None] = asyncio.Queue()
        for past in self._tracer.events:
            queue.put_nowait(past)
        if self._closed:
            queue.put_nowait(None)
        else:
            self._queues.append(queue)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            if queue in self._queues:
                self._queues.remove(queue)

    async def wait(self) -> DemoRun:
        """Wait for the run to end and return its record.

        If the caller itself is cancelled, the run is cancelled too and the
        CancelledError propagates. A bug inside the engine is re-raised.
        """
        if self._run is not None:
            return self._run
        try:
            await asyncio.wait([self._task])
        except asyncio.CancelledError:
            self.cancel()
            await asyncio.wait([self._task])
            raise
        self._run = self._build()
        return self._run

    def _build(self) -> DemoRun:
        status: RunStatus = "completed"
        note = ""
        if self._task.cancelled():
            status, note = "cancelled", self._note or "cancelled"
        else:
            error = self._task.exception()
            if isinstance(error, TimeoutError):
                status = "timed_out"
                note = f"stopped by the {self.options.timeout:g} s time limit"
            elif error is not None:
                raise error
        tracer = self._tracer
        return DemoRun(
            options=self.options,
            status=status,
            events=tuple(tracer.events),
            spans=tracer.frozen_spans(),
            phases=tuple(tracer.timings),
            ended=tracer.events[-1].at if tracer.events else 0.0,
            note=note,
            raised=tracer.raised,
        )


def start_demo(options: DemoOptions, observer: Observer | None = None) -> DemoHandle:
    """Start ``options``' scenario in the running loop and return its handle at once."""
    return DemoHandle(options, observer)


async def run_demo(options: DemoOptions, observer: Observer | None = None) -> DemoRun:
    """Run ``options``' scenario to its end in the running loop and return the record."""
    return await start_demo(options, observer).wait()
