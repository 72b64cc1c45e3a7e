"""An asyncio event loop whose clock jumps instead of sleeping, for exact, fast lesson runs.

``asyncio.sleep(2)`` takes no real time and the loop's clock reads exactly 2.0
afterwards, so the lesson truth tests can compare elapsed times exactly without
being timed tests.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any


class _JumpingSelector(selectors.SelectSelector):
    """Poll without blocking; when the loop would sleep, move its clock forward instead."""

    def __init__(self, loop: VirtualClockLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        events = super().select(0)
        if events:
            return events
        if timeout is None:
            raise RuntimeError("the scenario is waiting for something that never happens")
        self._loop.now += max(timeout, 0.0)
        return events


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """A selector event loop with a virtual clock that starts at 0."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self.now
