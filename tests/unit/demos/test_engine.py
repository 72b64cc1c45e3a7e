"""The demo engine: event order per scenario, timings, option bounds, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from bot.demos.engine import run_demo, start_demo, validate_options
from bot.demos.model import MODES, DemoEvent, DemoRun
from bot.errors import OptionError, UserError

FAST = [0.05, 0.1]


def at(run: DemoRun, kind: str, task: str, phase: str | None = None) -> float:
    """Return the time of the first ``kind`` event of ``task`` (in ``phase`` if given)."""
    for event in run.events:
        if event.kind == kind and event.task == task and phase in (None, event.phase):
            return event.at
    raise AssertionError(f"no {kind} event for {task}")


async def test_sequential_starts_task2_only_after_task1_finishes() -> None:
    """Sequential: task2 starts after task1 has finished, as in the lesson's steps 1-4."""
    run = await run_demo(validate_options("sequential", FAST))
    assert run.completed
    assert at(run, "started", "task1") < at(run, "finished", "task1")
    assert at(run, "finished", "task1") <= at(run, "created", "task2")
    assert at(run, "created", "task2") <= at(run, "started", "task2")
    assert [s.state for s in run.spans] == ["finished", "finished"]


async def test_parallel_starts_both_before_either_finishes() -> None:
    """Parallel: both tasks start before either finishes, as in the lesson's step 6."""
    run = await run_demo(validate_options("parallel", FAST))
    first_finish = min(at(run, "finished", "task1"), at(run, "finished", "task2"))
    assert at(run, "started", "task1") < first_finish
    assert at(run, "started", "task2") < first_finish


async def test_fire_and_forget_starts_task2_while_task1_runs() -> None:
    """Fire and forget: task2 starts right after task1 starts, before task1 finishes."""
    run = await run_demo(validate_options("fire_and_forget", [0.15, 0.05]))
    assert at(run, "started", "task1") <= at(run, "started", "task2")
    assert at(run, "started", "task2") < at(run, "finished", "task1")
    # The measured part ends with task2; the forgotten task1 is still awaited before the end.
    assert run.phases[0].total < run.ended
    assert all(s.state == "finished" for s in run.spans)


async def test_compare_reports_parallel_faster_with_a_speedup() -> None:
    """Compare: the parallel phase takes less time than the sequential one."""
    run = await run_demo(validate_options("compare", [0.1, 0.1]))
    assert [p.name for p in run.phases] == ["sequential", "parallel"]
    speedup = run.speedup
    assert speedup is not None
    assert speedup > 1.3
    assert run.ideal_speedup == pytest.approx(2.0)
    assert run.phase_names == ("sequential", "parallel")


async def test_taskgroup_runs_tasks_together() -> None:
    """TaskGroup: every task starts before the first one finishes."""
    run = await run_demo(validate_options("taskgroup", [0.05, 0.1, 0.05]))
    first_finish = min(at(run, "finished", n) for n in ("task1", "task2", "task3"))
    assert all(at(run, "started", n) < first_finish for n in ("task1", "task2", "task3"))


async def test_semaphore_never_runs_more_than_the_limit() -> None:
    """Semaphore: at no moment are more than K tasks running, and some had to wait."""
    run = await run_demo(validate_options("semaphore", [0.05, 0.05], tasks=4, limit=2))
    running = 0
    peak = 0
    for event in run.events:
        if event.kind == "started":
            running += 1
        elif event.kind in ("finished", "failed"):
            running -= 1
        peak = max(peak, running)
    assert peak == 2
    assert any(e.kind == "waiting" and e.task is not None for e in run.events)
    assert len(run.spans) == 4


async def test_fail_fast_propagates_while_the_other_tasks_keep_running() -> None:
    """fail_fast: gather raises when task2 fails; task3 is not cancelled and finishes."""
    run = await run_demo(validate_options("fail_fast", [0.05, 0.1, 0.2]))
    raised = next(e for e in run.events if e.kind == "raised")
    assert at(run, "finished", "task1") < at(run, "failed", "task2") <= raised.at
    assert raised.at < at(run, "finished", "task3")
    assert "still running: task3" in raised.detail
    assert "task2 failed" in run.raised
    assert [s.state for s in run.spans] == ["finished", "failed", "finished"]
    assert run.ideal == pytest.approx(0.1)  # until task2 raises


async def test_settled_returns_every_outcome_one_an_exception() -> None:
    """settled: gather waits for all; task2's result is its exception, the others succeed."""
    run = await run_demo(validate_options("settled", [0.05, 0.1, 0.15]))
    assert not any(e.kind == "raised" for e in run.events)
    assert [s.state for s in run.spans] == ["finished", "failed", "finished"]
    assert "SimulatedError('task2 failed')" in run.spans[1].result
    assert run.spans[2].result == "'task3 done'"


async def test_taskgroup_fail_cancels_the_rest_and_raises_an_exception_group() -> None:
    """taskgroup_fail: task2's error cancels task3; the block raises an ExceptionGroup after."""
    run = await run_demo(validate_options("taskgroup_fail", [0.05, 0.1, 0.3]))
    assert run.completed
    assert [s.state for s in run.spans] == ["finished", "failed", "cancelled"]
    raised = next(e for e in run.events if e.kind == "raised")
    # The block raises only once the cancelled task has ended, not at the failure.
    assert at(run, "failed", "task2") <= at(run, "cancelled", "task3") <= raised.at
    assert raised.at < 0.25  # well before task3 would have finished
    assert run.raised.startswith("ExceptionGroup(")
    assert "SimulatedError('task2 failed')" in run.raised
    assert "cancelled: task3" in raised.detail
    assert run.ideal == pytest.approx(0.1)


async def test_taskgroup_fail_reports_no_cancelled_task_when_none_was_left() -> None:
    """With task2 the longest, nothing is left to cancel, and the report says so."""
    run = await run_demo(validate_options("taskgroup_fail", [0.05, 0.15, 0.1]))
    assert [s.state for s in run.spans] == ["finished", "failed", "finished"]
    raised = next(e for e in run.events if e.kind == "raised")
    assert "cancelled: no other task" in raised.detail


@pytest.mark.parametrize("mode", ["fail_fast", "settled", "taskgroup_fail"])
def test_failure_modes_default_to_the_failures_lesson_case(mode: str) -> None:
    """The failures lesson's case: 1 s, a failing task2 at 2 s, 3 s; task1 alone keeps the rest."""
    assert validate_options(mode).durations == (1.0, 2.0, 3.0)
    assert validate_options(mode, [0.5, None, None, None]).durations == (0.5, 2.0, 3.0)
    assert validate_options(mode, [0.5, 0.6]).durations == (0.5, 0.6, 3.0)
    assert validate_options(mode, [0.5, 0.6, 0.7, 0.8]).durations == (0.5, 0.6, 0.7, 0.8)


def test_a_task_left_out_keeps_its_default_and_only_semaphore_cycles() -> None:
    """One duration given: the other task keeps its default; semaphore cycles what it got."""
    assert validate_options("parallel", [5.0]).durations == (5.0, 1.5)
    assert validate_options("semaphore", [0.5]).durations == (0.5, 0.5, 0.5, 0.5)


async def test_parallel_total_is_below_sequential_total() -> None:
    """The parallel run takes clearly less time than the sequential one."""
    seq = await run_demo(validate_options("sequential", [0.1, 0.1]))
    par = await run_demo(validate_options("parallel", [0.1, 0.1]))
    assert par.total < seq.total * 0.8
    assert seq.ideal == pytest.approx(0.2)
    assert par.ideal == pytest.approx(0.1)


@pytest.mark.parametrize("mode", MODES)
async def test_every_mode_completes_and_leaves_no_task_behind(mode: str) -> None:
    """Every scenario completes with all tasks ended and no stray demo task in the loop."""
    run = await run_demo(validate_options(mode, FAST))
    assert run.completed
    assert all(s.ended is not None for s in run.spans)
    assert run.overhead_ms > -5.0
    stray = [t for t in asyncio.all_tasks() if t.get_name().startswith("demo:")]
    assert stray == []


@pytest.mark.parametrize(
    ("durations", "message"),
    [
        ([0.01, 1.0], r"task1 must be between 0.05 and 10 seconds \(you gave 0.01\)"),
        ([0, 1.0], r"\(you gave 0\)\.$"),
        ([1e9, 1.0], r"\(you gave 1e\+09\)\.$"),
        ([1.0, 11], "task2 must be between 0.05 and 10 seconds"),
        ([float("nan"), 1.0], "task1 must be between"),
        ([1.0] * 9, "at most 8 tasks"),
    ],
)
def test_option_bounds_are_enforced(durations: list[float], message: str) -> None:
    """Durations outside 0.05-10 s or more than 8 tasks raise a friendly OptionError."""
    with pytest.raises(OptionError, match=message):
        validate_options("parallel", durations)


def test_unknown_mode_and_defaults() -> None:
    """An unknown mode is a UserError; missing durations take the 1.0 s / 1.5 s defaults."""
    with pytest.raises(UserError, match="no demo mode"):
        validate_options("warp")
    assert validate_options("COMPARE").mode == "compare"
    assert validate_options(" comp").mode == "compare"
    assert validate_options("fire-and-forget").mode == "fire_and_forget"
    with pytest.raises(UserError, match="no demo mode `s`"):  # sequential, semaphore, settled
        validate_options("s")
    assert validate_options("sequential").durations == (1.0, 1.5)
    assert validate_options("parallel", [None, 2.0]).durations == (1.0, 2.0)
    options = validate_options("semaphore", [0.5])
    assert options.durations == (0.5, 0.5, 0.5, 0.5)
    assert options.limit == 2
    with pytest.raises(OptionError, match="limit"):
        validate_options("parallel", limit=2)
    with pytest.raises(OptionError, match="limit must be between 1 and 4"):
        validate_options("semaphore", limit=5)


def test_semaphore_tasks_cycle_through_the_given_durations() -> None:
    """Extra semaphore tasks repeat the durations given, in order (task4 is task2's)."""
    assert validate_options("semaphore", [2.0, 3.0]).durations == (2.0, 3.0, 2.0, 3.0)
    assert validate_options("semaphore", [1.0, 2.0, 3.0], tasks=7).durations == (
        1.0,
        2.0,
        3.0,
        1.0,
        2.0,
        3.0,
        1.0,
    )
    assert validate_options("semaphore", [None, 3.0]).durations == (1.0, 3.0, 1.0, 3.0)


async def test_cancelled_run_ends_cleanly_and_says_so() -> None:
    """Cancelling a run cancels its tasks, records it, and reports it as cancelled."""
    handle = start_demo(validate_options("fire_and_forget", [5.0, 5.0]))
    await asyncio.sleep(0.05)
    handle.cancel("the bot is shutting down")
    run = await handle.wait()
    assert run.status == "cancelled"
    assert run.note == "the bot is shutting down"
    assert {s.state for s in run.spans} == {"cancelled"}
    assert handle.done()


async def test_timeout_bounds_a_run() -> None:
    """A run longer than its timeout stops and reports timed_out."""
    options = validate_options("sequential", [0.05, 5.0])
    quick = type(options)(mode=options.mode, durations=options.durations, timeout=0.2)
    run = await run_demo(quick)
    assert run.status == "timed_out"
    assert run.spans[1].state == "cancelled"


async def test_observer_and_event_stream_see_every_event() -> None:
    """The observer callback and the async iterator both receive all events in order."""
    seen: list[DemoEvent] = []
    handle = start_demo(validate_options("parallel", FAST), observer=seen.append)
    streamed = [event async for event in handle.events()]
    run = await handle.wait()
    assert streamed == list(run.events)
    assert seen == list(run.events)
    late = [event async for event in handle.events()]
    assert late == list(run.events)


async def test_a_failing_observer_does_not_break_the_run() -> None:
    """An observer that raises is logged and the demo still completes."""

    def broken(event: DemoEvent) -> None:
        raise ValueError("front end bug")

    run = await run_demo(validate_options("sequential", FAST), observer=broken)
    assert run.completed


async def test_waiting_caller_cancelled_cancels_the_run() -> None:
    """If the task awaiting a run is cancelled, the run is cancelled with it."""
    handle = start_demo(validate_options("parallel", [5.0, 5.0]))
    waiter = asyncio.create_task(handle.wait())
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert handle.done()


async def test_progress_reports_running_fraction() -> None:
    """Progress shows running tasks part way and finished tasks at 100%."""
    handle = start_demo(validate_options("sequential", [0.05, 0.3]))
    await asyncio.sleep(0.15)
    views = {p.name: p for p in handle.progress()}
    assert views["task1"].state == "finished"
    assert views["task1"].fraction == 1.0
    assert views["task2"].state == "running"
    assert 0.0 < views["task2"].fraction < 1.0
    await handle.wait()


def test_the_semaphore_summary_names_the_default_tasks_and_limit() -> None:
    """The summary users read says how many tasks and how many at once, as run by default."""
    from bot.demos.model import MODE_SUMMARIES, SEMAPHORE_LIMIT, SEMAPHORE_TASKS

    options = validate_options("semaphore")
    assert (len(options.durations), options.limit) == (SEMAPHORE_TASKS, SEMAPHORE_LIMIT)
    summary = MODE_SUMMARIES["semaphore"]
    assert f"{SEMAPHORE_TASKS} tasks, at most {SEMAPHORE_LIMIT} running at once" in summary


@pytest.mark.parametrize("mode", MODES)
def test_mode_summaries_read_right_for_any_number_of_tasks(mode: str) -> None:
    """No summary names task1 or a pair of tasks: a third or fourth task is not left out."""
    from bot.demos.model import FAILURE_MODES, MODE_SUMMARIES, mode_summary

    options = validate_options(mode, [0.1, 0.1, 0.1, 0.1])
    summary = mode_summary(options)
    assert "task1" not in summary and "both" not in summary
    if mode not in FAILURE_MODES:  # the failure modes name the task that raises: task2
        assert "task2" not in summary
    assert len(f"{mode}: {MODE_SUMMARIES[mode]}") <= 100  # a Discord choice name


def test_the_semaphore_summary_follows_the_run_s_own_count_and_limit() -> None:
    """A semaphore run with 6 tasks, 3 at once, says so rather than the default 4 and 2."""
    from bot.demos.model import mode_summary

    options = validate_options("semaphore", [0.1], tasks=6, limit=3)
    assert mode_summary(options) == "asyncio.Semaphore: 6 tasks, at most 3 running at once"


@pytest.mark.parametrize("mode", ["sequential", "parallel", "compare", "taskgroup"])
def test_a_task_left_out_before_a_given_one_is_refused(mode: str) -> None:
    """task4 without task3, where the mode runs two tasks by default: a friendly refusal."""
    with pytest.raises(OptionError, match="task4 needs task3 too"):
        validate_options(mode, [None, None, None, 0.1])
    assert validate_options(mode, [None, None, 0.1, 0.2]).durations == (1.0, 1.5, 0.1, 0.2)
    assert validate_options(mode, [None, 0.3, None, None]).durations == (1.0, 0.3)


@pytest.mark.parametrize("mode", ["fail_fast", "settled", "taskgroup_fail", "semaphore"])
def test_a_task_the_modes_default_run_has_keeps_filling_its_default(mode: str) -> None:
    """The failure modes' task3 and the semaphore's four tasks fill in when left out."""
    durations = validate_options(mode, [None, None, None, 0.1]).durations
    assert durations[3] == 0.1
    assert durations[2] == (3.0 if mode != "semaphore" else 1.0)
    with pytest.raises(OptionError, match="task6 needs task5 too"):
        validate_options(mode, [0.1, 0.1, 0.1, 0.1, None, 0.1])
