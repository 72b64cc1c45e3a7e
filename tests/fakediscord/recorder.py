"""Record what the client did, so tests can assert on it and wait for it.

Every REST request, gateway frame, interaction callback and limit violation
lands here; ``Recorder.wait_for`` lets a test wait (bounded) until a predicate
over these records holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

# How often a waiter re-checks its predicate when nothing was recorded.
POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Request:
    """One REST request the client made, with the fake's answer."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    at: float
    status: int = 0
    response: Any = None

    @property
    def route(self) -> str:
        """Return ``"METHOD /path"``, handy in assertion messages."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Violation:
    """A request Discord would reject: the 400 body the fake answered with."""

    method: str
    path: str
    code: int
    errors: dict[str, Any]
    problems: list[str]

    def __str__(self) -> str:
        return f"{self.method} {self.path}: " + "; ".join(self.problems)


@dataclass(frozen=True)
class Callback:
    """One POST to ``/interactions/{id}/{token}/callback``."""

    interaction_id: int
    type: int
    data: dict[str, Any]
    files: list[UploadedFile]
    at: float
    accepted: bool


@dataclass
class InteractionRecord:
    """An interaction the fake dispatched and what became of it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    dispatched_at: float
    callbacks: list[Callback] = field(default_factory=list)
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def first_callback(self) -> Callback | None:
        """Return the first accepted callback, if any."""
        return next((c for c in self.callbacks if c.accepted), None)

    @property
    def response_delay(self) -> float | None:
        """Return seconds from dispatch to first accepted callback, or None."""
        first = self.first_callback
        return None if first is None else first.at - self.dispatched_at

    def is_late(self, window: float, now: float) -> bool:
        """Tell whether no callback arrived within ``window`` seconds."""
        delay = self.response_delay
        if delay is None:
            return now - self.dispatched_at > window
        return delay > window


@dataclass(frozen=True)
class Identify:
    """An IDENTIFY the client sent on the gateway."""

    token: str
    intents: int
    properties: dict[str, Any]
    shard: list[int] | None
    query: dict[str, str]


class Recorder:
    """Collect records and wake up waiters whenever something new arrives."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.violations: list[Violation] = []
        self.identifies: list[Identify] = []
        self.resumes: list[dict[str, Any]] = []
        self.heartbeats: int = 0
        self.heartbeat_acks: int = 0
        self.interactions: dict[int, InteractionRecord] = {}
        self._waiters: list[asyncio.Future[None]] = []

    @staticmethod
    def now() -> float:
        """Return the monotonic clock used for every timestamp."""
        return time.monotonic()

    def changed(self) -> None:
        """Wake every waiter so it re-checks its predicate."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for(
        self, predicate: Callable[[], T | None], seconds: float, what: str = "condition"
    ) -> T:
        """Wait until ``predicate()`` returns something truthy and return it.

        Raises ``TimeoutError`` naming ``what`` after ``seconds``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake Discord: timed out after {seconds}s waiting for {what}")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                # Re-check now and then too: some predicates depend on the clock.
                await asyncio.wait_for(waiter, min(remaining, POLL_INTERVAL))
            except TimeoutError:
                continue
