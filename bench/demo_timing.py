"""Benchmark a demo's timing overhead on an idle loop and under quiz-answer load.

Run by hand (about 1.5 minutes):

    .venv/bin/python bench/demo_timing.py [--runs 80] [--write]

For the sequential and parallel scenarios it measures the overhead of each run
(measured total minus ideal, in ms) and reports p50/p99 in four conditions:

* idle: nothing else runs in the loop;
* 1,000 answers/s: quiz answers are written through the real store
  (``bot.store.Store.record_answer``, one committed answer per call) at a
  steady 1,000 per second, in the same loop;
* saturated: 1,000 concurrent answerers each record an answer, await its
  commit and immediately record the next, so the writer never rests;
* Node.js: the seed lesson's own code (bench/node/demo_timing.js, setTimeout
  and performance.now()), run as a subprocess while this loop is idle.

Every Python run also renders the live progress view on each event and pushes
it through an ``EditThrottle`` (0.2 s interval, a no-op edit), as the /demo
cog does, so the live message work is included in the figures.

``--write`` replaces the "## Demo timing" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.demos.engine import DemoHandle, run_demo, start_demo, validate_options
from bot.demos.model import DemoEvent, DemoOptions, DemoRun
from bot.demos.report import render_progress
from bot.demos.throttle import EditThrottle
from bot.store.collector import tune_collector
from bot.store.database import Store
from bot.store.records import AnswerRecord, RunStart

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
NODE_SCRIPT = HERE / "node" / "demo_timing.js"
TASK1, TASK2 = 0.05, 0.075
QUESTIONS = 5
RATE = 1000
ANSWERERS = 1000
TARGETS = {"idle": 3.0, "1,000 answers/s": 5.0, "saturated (1,000 answerers)": 20.0}


def percentile(values: list[float], q: float) -> float:
    """Return the nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def timed_runs(mode: str, runs: int) -> list[float]:
    """Run ``mode`` ``runs`` times with live rendering; return each overhead in ms."""
    options = validate_options(mode, [TASK1, TASK2])
    overheads: list[float] = []
    for _ in range(runs):
        run = await live_run(mode, options)
        overheads.append(run.overhead_ms)
    return overheads


async def live_run(mode: str, options: DemoOptions) -> DemoRun:
    """Run one demo the way the cog does: render progress on each event, throttle edits."""

    async def edit(text: str) -> None:
        await asyncio.sleep(0)

    throttle: EditThrottle[str] = EditThrottle(edit, interval=0.2)
    handles: list[DemoHandle] = []

    def on_event(event: DemoEvent) -> None:
        if handles:
            h = handles[0]
            throttle.push(render_progress(h.progress(), h.elapsed, mode=mode))

    handle = start_demo(options, on_event)
    handles.append(handle)
    run = await handle.wait()
    await throttle.close(render_progress(handle.progress(), handle.elapsed))
    return run


class AnswerLoad:
    """Write quiz answers through the real store, steadily or as fast as it commits."""

    def __init__(self, store: Store, run_ids: list[int]) -> None:
        self.store = store
        self.run_ids = run_ids
        self.written = 0
        self._serial = itertools.count()

    def _answer(self, user_id: int, k: int) -> AnswerRecord:
        return AnswerRecord(
            run_id=self.run_ids[(k // QUESTIONS) % len(self.run_ids)],
            guild_id=1,
            lesson_id="node-sequential-vs-parallel",
            user_id=user_id,
            user_name=f"user{user_id}",
            question_index=k % QUESTIONS,
            choice="A",
            correct=True,
            hint_used=False,
            answer_ms=1200,
            points=10,
            created_at=int(time.time() * 1000),
        )

    async def _one(self) -> None:
        n = next(self._serial)
        # Each (user, question, run) is answered once: spread serials over many users.
        user, k = 10_000 + n % 50_000, n // 50_000
        await self.store.record_answer(self._answer(user, k))
        self.written += 1

    async def steady(self, rate: int) -> None:
        """Start ``rate`` answers per second, in ticks of 10 ms, until cancelled."""
        loop = asyncio.get_running_loop()
        per_tick = rate // 100
        start = loop.time()
        pending: set[asyncio.Task[None]] = set()
        try:
            for tick in itertools.count():
                for _ in range(per_tick):
                    task = asyncio.create_task(self._one())
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                await asyncio.sleep(max(0.0, start + (tick + 1) / 100 - loop.time()))
        finally:
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def saturate(self, answerers: int) -> None:
        """Run ``answerers`` loops that each answer, await the commit, and answer again."""

        async def answerer() -> None:
            while True:
                await self._one()

        workers = [asyncio.create_task(answerer()) for _ in range(answerers)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


async def under_load(
    load: Callable[[], Coroutine[Any, Any, None]],
    body: Callable[[], Awaitable[dict[str, list[float]]]],
) -> dict[str, list[float]]:
    """Run ``body`` while ``load`` runs in the same loop; stop the load after."""
    task = asyncio.create_task(load())
    await asyncio.sleep(0.5)  # let the load reach its steady state
    try:
        return await body()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def node_runs(runs: int) -> dict[str, list[float]] | None:
    """Run the seed's code under Node.js; return its overheads, or None without node."""
    node = shutil.which("node")
    if node is None:
        return None
    proc = await asyncio.create_subprocess_exec(
        node,
        str(NODE_SCRIPT),
        str(runs),
        str(int(TASK1 * 1000)),
        str(int(TASK2 * 1000)),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    data = json.loads(out)
    return {"sequential": data["sequential"], "parallel": data["parallel"], "node": data["node"]}


def machine() -> str:
    """Describe the machine: CPU model, cores, OS, Python and Node versions."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = shutil.which("node")
    return (
        f"{model}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}" + (", Node.js present" if node else "")
    )


async def main(runs: int) -> tuple[list[list[str]], dict[str, object]]:
    """Measure every condition; return table rows and extra facts."""
    modes = ("sequential", "parallel")

    async def both() -> dict[str, list[float]]:
        return {mode: await timed_runs(mode, runs) for mode in modes}

    await run_demo(validate_options("parallel", [0.05, 0.05]))  # warm up imports and caches
    results: dict[str, dict[str, list[float]]] = {"idle": await both()}
    facts: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with Store.open(Path(tmp) / "bench.db") as store:
            run_ids = [
                await store.start_run(
                    RunStart(
                        kind="round",
                        guild_id=1,
                        owner_id=1,
                        owner_name="bench",
                        lesson_id="node-sequential-vs-parallel",
                        questions=tuple(range(QUESTIONS)),
                        started_at=int(time.time() * 1000),
                        channel_id=1000 + i,
                        seconds=20,
                    )
                )
                for i in range(60)
            ]
            load = AnswerLoad(store, run_ids)
            started, before = time.perf_counter(), load.written
            results["1,000 answers/s"] = await under_load(lambda: load.steady(RATE), both)
            facts["steady rate"] = (load.written - before) / (time.perf_counter() - started)
            started, before = time.perf_counter(), load.written
            results["saturated (1,000 answerers)"] = await under_load(
                lambda: load.saturate(ANSWERERS), both
            )
            facts["saturated rate"] = (load.written - before) / (time.perf_counter() - started)
            facts["answers written"] = load.written
    node = await node_runs(runs)
    rows: list[list[str]] = []
    for condition, by_mode in results.items():
        target = TARGETS[condition]
        for mode in modes:
            values = by_mode[mode]
            p99 = percentile(values, 99)
            rows.append(
                [
                    f"Python, {condition}",
                    mode,
                    f"{percentile(values, 50):.2f}",
                    f"{p99:.2f}",
                    f"{max(values):.2f}",
                    f"≤ {target:g}",
                    "met" if p99 <= target else "**missed**",
                ]
            )
    if node is not None:
        facts["node"] = node.pop("node")
        for mode in modes:
            values = [float(v) for v in node[mode]]
            rows.append(
                [
                    "Node.js (seed code), idle",
                    mode,
                    f"{percentile(values, 50):.2f}",
                    f"{percentile(values, 99):.2f}",
                    f"{max(values):.2f}",
                    "—",
                    "—",
                ]
            )
    else:
        facts["node"] = "not installed; Node.js rows skipped"
    return rows, facts


def markdown(rows: list[list[str]], facts: dict[str, object], runs: int) -> str:
    """Return the "## Demo timing" section."""
    header = ["condition", "scenario", "p50 ms", "p99 ms", "max ms", "target p99", "result"]
    lines = [
        "## Demo timing",
        "",
        f"Measured by `bench/demo_timing.py` on {time.strftime('%Y-%m-%d')}: "
        f"{runs} runs per scenario and condition, task1 = {TASK1 * 1000:g} ms, "
        f"task2 = {TASK2 * 1000:g} ms; overhead = measured total - ideal "
        "(sum for sequential, longest task for parallel). Every Python run also "
        "renders the live progress view through the edit throttle.",
        "",
        f"Machine: {machine()}; Node.js {facts.get('node')}; load average at start "
        f"{facts.get('load')} (the machine is shared); garbage collector: {facts.get('gc')}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        f"Answers really written through `Store.record_answer` (each committed): "
        f"{facts.get('steady rate', 0):.0f}/s in the steady condition, "
        f"{facts.get('saturated rate', 0):.0f}/s when saturated; "
        f"{facts.get('answers written')} in total.",
        "",
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    """Replace (or append) the "## Demo timing" section of bench/RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start = text.find("## Demo timing")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        tail = text[end + 1 :] if end != -1 else ""
        text = text[:start] + section + ("\n" + tail if tail else "")
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=80)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument(
        "--default-gc", action="store_true", help="keep CPython's GC defaults (the bot tunes them)"
    )
    args = parser.parse_args()
    began = time.perf_counter()
    LOAD_AT_START = os.getloadavg()
    if not args.default_gc:
        tune_collector()
    table, extra = asyncio.run(main(args.runs))
    extra["gc"] = "CPython defaults" if args.default_gc else "tuned as the bot does"
    extra["load"] = ", ".join(f"{x:.2f}" for x in LOAD_AT_START)
    section = markdown(table, extra, args.runs)
    print(section)
    print(f"(took {time.perf_counter() - began:.0f} s)")
    if args.write:
        write_section(section)
