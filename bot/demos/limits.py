"""Keep demos from flooding a channel or outliving the bot.

``DemoGuard`` admits a demo only if the user is past their cooldown and the
guild is under its cap on concurrent demos (direct messages share one cap,
twice a guild's), starts it, and keeps a registry of
every running demo so shutdown can cancel them all (``cancel_all``); each
cancelled run's report then says it was cancelled.

A front end that answers before the demo starts (a prediction asked first)
``reserve``s a place: the reservation counts against the user and the guild
like a running demo, so nobody admitted meanwhile can take it, and ``start``
turns it into the running demo. An unused reservation lapses after its hold.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.demos.engine import DemoHandle, Observer, start_demo
from bot.demos.model import DemoOptions, DemoRun
from bot.demos.prediction import expected_total
from bot.errors import UserError

SHUTDOWN_NOTE = "the bot is shutting down"


def _wait_words(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return f"{whole} second{'s' if whole != 1 else ''}"


WAITS_FOR_EVERY_TASK = ("fire_and_forget", "fail_fast")
"""Modes whose clean-up awaits the tasks left running after the measured part."""


def run_budget(options: DemoOptions) -> float:
    """Return about how long a demo of ``options`` runs, in seconds (its timeout at most).

    That is the whole run, clean-up included: a place is free again only then.
    """
    total = expected_total(options)
    if options.mode in WAITS_FOR_EVERY_TASK:
        total = max(total, *options.durations)
    return min(total, options.timeout)


class DemoCooldownError(UserError):
    """The user started a demo too recently, or still has one running."""

    def __init__(self, retry_after: float, *, running: bool = False) -> None:
        self.retry_after = retry_after
        if running:
            message = (
                "Your previous demo has not finished yet; wait for it "
                f"(about {_wait_words(retry_after)})."
            )
        else:
            message = f"You just ran a demo; try again in {_wait_words(retry_after)}."
        super().__init__(message)


class DemoCapacityError(UserError):
    """The guild already runs as many demos at once as it may."""

    def __init__(self, limit: int, retry_after: float, *, direct: bool = False) -> None:
        self.limit = limit
        self.retry_after = retry_after
        where = "Direct messages already have" if direct else "This server already has"
        super().__init__(
            f"{where} {limit} demo{'s' if limit != 1 else ''} running; "
            f"try again in about {_wait_words(retry_after)}."
        )


@dataclass(frozen=True, slots=True)
class RunningDemo:
    """A registry entry: who started which demo, and when it should end."""

    id: int
    user_id: int
    guild_id: int | None
    handle: DemoHandle
    expected_end: float


@dataclass(frozen=True, slots=True)
class Reservation:
    """A place held for a demo admitted but not started yet."""

    user_id: int
    guild_id: int | None
    until: float
    """When the hold lapses if the demo has not started."""
    frees_at: float
    """When the place should be free again, its demo run: what a refused user is told."""


DM_BUCKET_FACTOR = 2
"""Direct-message demos share one cap of this many times a server's: DMs have no server
to count per, and without a cap any number of them would crowd the loop whose timing
every demo measures."""


class DemoGuard:
    """Admit, start and track demos under a per-user cooldown and a per-guild cap."""

    def __init__(
        self,
        *,
        cooldown: float = 10.0,
        max_per_guild: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooldown = cooldown
        self.max_per_guild = max_per_guild
        self._clock = clock
        self._last_start: dict[int, float] = {}
        self._running: dict[int, RunningDemo] = {}
        self._reserved: dict[int, Reservation] = {}  # by user id
        self._ids = itertools.count(1)
        self._closed = False

    @property
    def running(self) -> tuple[RunningDemo, ...]:
        """Return the demos running now."""
        return tuple(self._running.values())

    def check(self, user_id: int, guild_id: int | None) -> None:
        """Raise DemoCooldownError or DemoCapacityError if a new demo may not start now."""
        if self._closed:
            raise UserError("The bot is shutting down; demos are paused.")
        now = self._clock()
        for user, held in list(self._reserved.items()):
            if held.until <= now:  # admitted, never started: the place is free again
                del self._reserved[user]
        # Until when each demo (running, or held for) this user / this guild holds a place.
        places = [(d.user_id, d.guild_id, d.expected_end) for d in self._running.values()]
        places += [(r.user_id, r.guild_id, r.frees_at) for r in self._reserved.values()]
        mine = [end for user, _, end in places if user == user_id]
        if mine:
            raise DemoCooldownError(max(mine) - now, running=True)
        last = self._last_start.get(user_id)
        if last is not None and now - last < self.cooldown:
            raise DemoCooldownError(self.cooldown - (now - last))
        here = [end for _, guild, end in places if guild == guild_id]
        limit = self.max_per_guild * (DM_BUCKET_FACTOR if guild_id is None else 1)
        if len(here) >= limit:
            raise DemoCapacityError(limit, min(here) - now, direct=guild_id is None)

    def reserve(
        self,
        user_id: int,
        guild_id: int | None,
        hold: float,
        *,
        options: DemoOptions | None = None,
        starts_in: float = 0.0,
    ) -> Reservation:
        """Admit a demo that starts later (within ``hold`` seconds); hold its place till then.

        ``options`` and ``starts_in`` (how long until it is likely to start: a
        prediction being made) say when the place frees, for the wait others
        are told; without them the hold's end is the guess.
        """
        self.check(user_id, guild_id)
        now = self._clock()
        frees_at = now + hold if options is None else now + starts_in + run_budget(options)
        reservation = Reservation(user_id, guild_id, now + hold, frees_at)
        self._reserved[user_id] = reservation
        return reservation

    def release(self, reservation: Reservation) -> None:
        """Give a reservation's place back (its demo will not start)."""
        if self._reserved.get(reservation.user_id) is reservation:
            del self._reserved[reservation.user_id]

    def start(
        self,
        options: DemoOptions,
        *,
        user_id: int,
        guild_id: int | None,
        observer: Observer | None = None,
        reservation: Reservation | None = None,
    ) -> DemoHandle:
        """Check the limits, then start the demo in the running loop and register it.

        With the ``reservation`` it was admitted under, its held place is the
        one it takes (the check cannot fail on the cap while the hold lasts).
        """
        if reservation is not None:
            self.release(reservation)
        self.check(user_id, guild_id)
        now = self._clock()
        handle = start_demo(options, observer)
        entry = RunningDemo(
            id=next(self._ids),
            user_id=user_id,
            guild_id=guild_id,
            handle=handle,
            expected_end=now + run_budget(options),
        )
        self._running[entry.id] = entry
        # Only starts within the cooldown matter: forget older ones, so the map
        # holds the users of the last few seconds, not everyone who ever ran a demo.
        cooled = [u for u, at in self._last_start.items() if now - at >= self.cooldown]
        for user in cooled:
            del self._last_start[user]
        self._last_start[user_id] = now
        handle.add_done_callback(lambda: self._running.pop(entry.id, None))
        return handle

    async def cancel_all(self, note: str = SHUTDOWN_NOTE) -> list[DemoRun]:
        """Refuse new demos, cancel every running one and return their (cancelled) runs."""
        self._closed = True
        entries = list(self._running.values())
        for entry in entries:
            entry.handle.cancel(note)
        runs = await asyncio.gather(*(e.handle.wait() for e in entries))
        return list(runs)

    def reopen(self) -> None:
        """Accept demos again after ``cancel_all`` (used by tests and reloads)."""
        self._closed = False
