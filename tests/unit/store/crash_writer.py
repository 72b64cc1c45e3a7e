"""Write answers through the real Store forever, printing each id once it is confirmed.

Run by test_crash.py as a child process that is SIGKILLed mid-stream; it stops
by itself after ``LIMIT`` answers or ``SECONDS`` so it can never run away.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from bot.store.database import Store
from bot.store.records import AnswerRecord, RunStart

LIMIT = 500_000
SECONDS = 60.0
CONCURRENCY = 200


async def main(path: Path) -> None:
    """Record answers from CONCURRENCY writers, printing each confirmed id."""
    async with Store.open(path) as store:
        run_id = await store.start_run(RunStart("round", 1, 1, "host", "lesson", (0,), 0, 1, 20))
        sys.stdout.write(f"run {run_id} writer {store.writer_pid}\n")
        sys.stdout.flush()
        deadline = time.monotonic() + SECONDS
        counter = iter(range(2, LIMIT))

        async def answerer() -> None:
            for user in counter:
                if time.monotonic() > deadline:
                    return
                answer_id = await store.record_answer(
                    AnswerRecord(
                        run_id, 1, "lesson", user, f"user{user}", 0, "ABCD"[user % 4],
                        user % 4 == 0, False, 10, 100, int(time.time() * 1000),
                    )
                )  # fmt: skip
                sys.stdout.write(f"{answer_id} {user}\n")
                sys.stdout.flush()

        await asyncio.gather(*(answerer() for _ in range(CONCURRENCY)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
