"""The live-edit throttle: one edit per interval, latest state, final state always sent."""

from __future__ import annotations

import asyncio
import itertools

from bot.demos.throttle import EditThrottle, MessageGoneError


class FakeClock:
    """A clock that moves only when the test advances it; sleeping waits for that."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        while self.now < target:  # noqa: ASYNC110 - the test drives this clock by hand
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for _ in range(5):
            await asyncio.sleep(0)

    async def finish(self, closing: asyncio.Task[None]) -> None:
        for _ in range(1000):
            if closing.done():
                break
            await self.advance(0.01)
        await closing


async def test_rapid_pushes_make_one_edit_per_interval_with_the_latest_state() -> None:
    """Pushing 50 states within 0.5 s of fake time sends the first and then the latest only."""
    clock = FakeClock()
    sent: list[tuple[float, int]] = []

    async def edit(state: int) -> None:
        sent.append((clock.now, state))

    throttle = EditThrottle(edit, interval=1.0, clock=clock, sleep=clock.sleep)
    for i in range(50):
        throttle.push(i)
        await clock.advance(0.01)
    await clock.finish(asyncio.create_task(throttle.close(999)))
    times = [t for t, _ in sent]
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(times))
    assert sent[0][1] == 0
    assert sent[-1][1] == 999
    assert len(sent) == 2


async def test_steady_pushes_over_ten_seconds_stay_within_the_rate() -> None:
    """Pushes every 0.1 s for 10 s of fake time produce at most 11 edits, spaced by 1 s."""
    clock = FakeClock()
    sent: list[float] = []

    async def edit(state: int) -> None:
        sent.append(clock.now)

    throttle = EditThrottle(edit, interval=1.0, clock=clock, sleep=clock.sleep)
    for i in range(100):
        throttle.push(i)
        await clock.advance(0.1)
    await clock.finish(asyncio.create_task(throttle.close(-1)))
    assert 9 <= len(sent) <= 11
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(sent))
    assert throttle.edits == len(sent)


async def test_close_without_pushes_sends_the_final_state_once() -> None:
    """Closing a fresh throttle edits exactly once, with the final state."""
    sent: list[str] = []

    async def edit(state: str) -> None:
        sent.append(state)

    throttle: EditThrottle[str] = EditThrottle(edit, interval=1.0)
    await throttle.close("final")
    assert sent == ["final"]
    throttle.push("late")
    await asyncio.sleep(0)
    assert sent == ["final"]


async def test_a_failing_edit_does_not_stop_the_final_edit() -> None:
    """An edit that raises is counted and the final state is still delivered."""
    clock = FakeClock()
    sent: list[int] = []

    async def edit(state: int) -> None:
        if state == 1:
            raise RuntimeError("HTTP 500")
        sent.append(state)

    throttle = EditThrottle(edit, interval=1.0, clock=clock, sleep=clock.sleep)
    throttle.push(1)
    await clock.advance(0.1)
    await clock.finish(asyncio.create_task(throttle.close(2)))
    assert sent == [2]
    assert throttle.failures == 1


async def test_close_says_whether_the_final_state_got_through() -> None:
    """A failed final edit is reported to the caller, which can show the state some other way."""
    clock = FakeClock()
    sent: list[int] = []

    async def edit(state: int) -> None:
        if state == 2:
            raise RuntimeError("HTTP 400")
        sent.append(state)

    throttle = EditThrottle(edit, interval=1.0, clock=clock, sleep=clock.sleep)
    throttle.push(1)
    await clock.advance(0.1)
    closing = asyncio.create_task(throttle.close(2))
    await clock.finish(closing)
    assert sent == [1] and closing.result() is False
    delivered = EditThrottle(edit, interval=1.0, clock=clock, sleep=clock.sleep)
    assert await delivered.close(3) is True


async def test_a_message_gone_stops_every_later_edit() -> None:
    """Once the edit says the message was deleted, nothing more is sent, the final state neither."""
    clock = FakeClock()
    tried: list[int] = []

    async def edit(state: int) -> None:
        tried.append(state)
        raise MessageGoneError("404 Unknown Message")

    throttle = EditThrottle(edit, interval=1.0, clock=clock, sleep=clock.sleep)
    throttle.push(1)
    await clock.advance(0.1)
    throttle.push(2)
    await clock.advance(2.0)
    assert throttle.gone and await throttle.close(3) is False
    assert tried == [1] and throttle.failures == 0
