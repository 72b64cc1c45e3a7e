"""Coalesce live message updates into at most one edit per interval.

Discord rate-limits message edits (about five per five seconds per channel), so
a demo's live message is edited through an ``EditThrottle``: ``push`` records
the newest state without waiting; a single worker sends the latest state at
most once per ``interval``, skips the states in between, and ``close`` tries
the final state even if edits before it failed, and says whether it got through.
An edit that raises ``MessageGoneError`` (the message was deleted) stops the worker:
nothing more is sent to a message that is not there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar, cast

log = logging.getLogger(__name__)

T = TypeVar("T")


class MessageGoneError(Exception):
    """Raised by an edit function when its message no longer exists: stop editing it."""


class EditThrottle(Generic[T]):
    """Deliver the latest pushed state through ``edit``, at most once per ``interval``."""

    def __init__(
        self,
        edit: Callable[[T], Awaitable[object]],
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._edit = edit
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._latest: T | None = None
        self._dirty = False
        self._closing = False
        self._last_edit: float | None = None
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self.edits = 0
        self.failures = 0
        self.gone = False
        """The message was deleted: nothing more is sent."""
        self._final_sent = False

    def push(self, state: T) -> None:
        """Record ``state`` as the newest; it is sent when the interval allows."""
        if self._closing:
            return
        self._latest = state
        self._dirty = True
        self._wake.set()
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="demo:edit-throttle")

    async def close(self, final: T) -> bool:
        """Send ``final`` (after the interval since the last edit), stop; return if it was sent.

        False if that edit failed or the message is gone: the caller decides
        whether to show the final state some other way.
        """
        if self.gone:
            return False
        self._latest = final
        self._dirty = True
        self._closing = True
        self._wake.set()
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="demo:edit-throttle")
        await self._worker
        return self._final_sent

    def cancel(self) -> None:
        """Stop without sending anything more (the message is gone, or the bot stops)."""
        self._closing = True
        if self._worker is not None:
            self._worker.cancel()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._dirty:
                if self._last_edit is not None:
                    wait = self._last_edit + self._interval - self._clock()
                    if wait > 0:
                        await self._sleep(wait)
                state = cast(T, self._latest)
                self._dirty = False
                self._last_edit = self._clock()
                try:
                    await self._edit(state)
                    self.edits += 1
                    self._final_sent = self._closing and not self._dirty
                except MessageGoneError:
                    self.gone = self._closing = True
                    log.info("the live demo message is gone; no more edits")
                    return
                except Exception:
                    # A failed edit (an HTTP error) must not end the demo.
                    self.failures += 1
                    log.warning("live demo edit failed", exc_info=True)
            if self._closing and not self._dirty:
                return
