"""The demo guard: per-user cooldown, per-guild cap, cancel_all on shutdown."""

from __future__ import annotations

import asyncio

import pytest

from bot.demos.engine import validate_options
from bot.demos.limits import DemoCapacityError, DemoCooldownError, DemoGuard, run_budget
from bot.errors import UserError


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LONG = validate_options("parallel", [5.0, 5.0])
SHORT = validate_options("parallel", [0.05, 0.05])


async def test_cooldown_blocks_a_second_demo_and_says_how_long() -> None:
    """A user who just ran a demo is told how many seconds to wait."""
    clock = Clock()
    guard = DemoGuard(cooldown=10.0, max_per_guild=3, clock=clock)
    await guard.start(SHORT, user_id=1, guild_id=7).wait()
    await asyncio.sleep(0)
    clock.now += 4.0
    with pytest.raises(DemoCooldownError, match="try again in 6 seconds") as caught:
        guard.check(1, 7)
    assert isinstance(caught.value, UserError)
    clock.now += 6.5
    guard.check(1, 7)
    guard.check(2, 7)


async def test_the_guard_remembers_only_starts_still_in_their_cooldown() -> None:
    """A day of demos by many users leaves the guard holding the last few seconds' starters."""
    clock = Clock()
    guard = DemoGuard(cooldown=10.0, max_per_guild=3, clock=clock)
    handles = []
    for user in range(1, 200):
        handles.append(guard.start(SHORT, user_id=user, guild_id=user))
        clock.now += 1.0
    await asyncio.gather(*(handle.wait() for handle in handles))
    assert len(guard._last_start) == 10
    with pytest.raises(DemoCooldownError):
        guard.check(199, 7)
    guard.check(189, 7)


async def test_direct_message_demos_share_one_cap() -> None:
    """Demos in DMs have no server to count per: together they may run twice a server's cap."""
    guard = DemoGuard(cooldown=0.0, max_per_guild=2)
    handles = [guard.start(LONG, user_id=user, guild_id=None) for user in range(1, 5)]
    with pytest.raises(DemoCapacityError, match="Direct messages already have 4 demos"):
        guard.check(5, None)
    guard.check(5, 7)  # a server's own places are not taken by them
    for handle in handles:
        handle.cancel("test")
        await handle.wait()
    guard.check(5, None)


async def test_a_running_demo_blocks_its_user() -> None:
    """A user cannot start a second demo while the first still runs."""
    clock = Clock()
    guard = DemoGuard(cooldown=0.0, clock=clock)
    guard.start(LONG, user_id=1, guild_id=7)
    with pytest.raises(DemoCooldownError, match="has not finished yet"):
        guard.check(1, 7)
    await guard.cancel_all()


async def test_guild_cap_limits_concurrent_demos() -> None:
    """A guild at its cap refuses another user's demo; another guild is unaffected."""
    clock = Clock()
    guard = DemoGuard(cooldown=0.0, max_per_guild=2, clock=clock)
    guard.start(LONG, user_id=1, guild_id=7)
    guard.start(LONG, user_id=2, guild_id=7)
    with pytest.raises(DemoCapacityError, match="already has 2 demos running") as caught:
        guard.start(LONG, user_id=3, guild_id=7)
    assert 0 < caught.value.retry_after <= 10.0
    guard.check(3, 8)
    assert len(guard.running) == 2
    await guard.cancel_all()


async def test_cancel_all_cancels_every_demo_and_reports_it() -> None:
    """Shutdown cancels running demos; each run says it was cancelled; new ones are refused."""
    guard = DemoGuard(cooldown=0.0)
    handles = [guard.start(LONG, user_id=u, guild_id=7) for u in (1, 2)]
    await asyncio.sleep(0.02)
    runs = await guard.cancel_all()
    assert [r.status for r in runs] == ["cancelled", "cancelled"]
    assert all(r.note == "the bot is shutting down" for r in runs)
    assert all(h.done() for h in handles)
    await asyncio.sleep(0)
    assert guard.running == ()
    with pytest.raises(UserError, match="shutting down"):
        guard.check(3, 7)


async def test_finished_demos_leave_the_registry() -> None:
    """A demo that ends is removed from the running registry."""
    guard = DemoGuard(cooldown=0.0)
    await guard.start(SHORT, user_id=1, guild_id=None).wait()
    await asyncio.sleep(0)
    assert guard.running == ()


async def test_a_refused_user_is_told_when_a_reserved_place_should_free_not_its_hold() -> None:
    """Places held for demos about to start free when those demos end: seconds, not the hold."""
    clock = Clock()
    guard = DemoGuard(cooldown=0.0, max_per_guild=2, clock=clock)
    guard.reserve(1, 7, hold=5.0, options=SHORT)  # starts now, runs 0.05 s
    guard.reserve(2, 7, hold=65.0, options=SHORT, starts_in=60.0)  # a prediction first
    with pytest.raises(DemoCapacityError, match="try again in about 1 second") as caught:
        guard.check(3, 7)
    assert caught.value.retry_after == pytest.approx(0.05)


async def test_a_reserved_place_counts_until_its_demo_starts_or_the_hold_lapses() -> None:
    """A demo admitted before it starts (a prediction first) holds its user's and guild's place.

    Before, only the user was held: with the guild at its cap in the meantime
    the demo was refused after the prediction had been made.
    """
    clock = Clock()
    guard = DemoGuard(cooldown=0.0, max_per_guild=2, clock=clock)
    first = guard.reserve(1, 7, hold=60.0)
    with pytest.raises(DemoCooldownError, match="has not finished yet"):
        guard.check(1, 7)  # the same user again
    guard.start(LONG, user_id=2, guild_id=7)
    with pytest.raises(DemoCapacityError):
        guard.reserve(3, 7, hold=60.0)  # the reservation fills the guild's second place
    guard.check(3, 8)  # another guild is free
    handle = guard.start(LONG, user_id=1, guild_id=7, reservation=first)  # takes its place
    assert len(guard.running) == 2
    with pytest.raises(DemoCooldownError, match="has not finished yet"):
        guard.check(1, 8)
    handle.cancel("test")
    await handle.wait()

    held = guard.reserve(4, 9, hold=60.0)
    guard.release(held)  # its demo will not start
    guard.check(4, 9)
    guard.reserve(5, 9, hold=60.0)
    clock.now += 61.0  # never started: lapses
    guard.check(5, 9)
    await guard.cancel_all()


def test_a_run_holds_its_place_until_its_clean_up_ends() -> None:
    """fail_fast and fire_and_forget stop measuring early but await every task before they
    end: the place they hold frees at the longest task, not at the measured part's end."""
    assert run_budget(validate_options("fail_fast", [1.0, 2.0, 3.0])) == pytest.approx(3.0)
    assert run_budget(validate_options("fire_and_forget", [3.0, 1.0])) == pytest.approx(3.0)
    assert run_budget(validate_options("taskgroup_fail", [1.0, 2.0, 3.0])) == pytest.approx(2.0)
    assert run_budget(validate_options("sequential", [1.0, 2.0])) == pytest.approx(3.0)
