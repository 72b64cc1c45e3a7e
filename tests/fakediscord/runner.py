"""Run a real discord.py client against the fake for the span of an ``async with``.

This is how end-to-end tests start a bot "as users run it": ``client.start``
in a task, wait for READY and the guilds, yield, then close cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord
import discord.http

from tests.fakediscord.server import FakeDiscord

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def run_client(
    fake: FakeDiscord,
    client: ClientT,
    *,
    token: str | None = None,
    ready_timeout: float = 10.0,
    close_timeout: float = 10.0,
    guild_ready_timeout: float | None = 0.05,
) -> AsyncIterator[ClientT]:
    """Start ``client`` against ``fake``, wait until it is ready, yield it, close it.

    ``token`` defaults to ``fake.token``; a wrong token makes the start fail
    with ``discord.LoginFailure``, raised from here. ``guild_ready_timeout``
    shortens discord.py's wait for more GUILD_CREATEs after READY (2 s by
    default); pass None to keep the client's own value.
    """
    if fake.api_base != discord.http.Route.BASE:
        raise RuntimeError("discord.py is not pointed at this fake: use `async with FakeDiscord()`")
    if guild_ready_timeout is not None:
        client._connection.guild_ready_timeout = guild_ready_timeout
    task = asyncio.create_task(client.start(token or fake.token), name="fake-discord-client")
    try:
        await _wait_ready(client, task, ready_timeout)
        yield client
    finally:
        await _close(client, task, close_timeout)


async def _wait_ready(client: discord.Client, task: asyncio.Task[None], seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not client.is_ready():
        if task.done():
            task.result()  # Re-raise LoginFailure, PrivilegedIntentsRequired, ...
            raise RuntimeError("the client stopped before it became ready")
        if loop.time() > deadline:
            raise TimeoutError(f"the client was not ready after {seconds}s")
        await asyncio.sleep(0.01)


async def _close(client: discord.Client, task: asyncio.Task[None], seconds: float) -> None:
    if not client.is_closed():
        await asyncio.wait_for(client.close(), seconds)
    if not task.done():
        try:
            await asyncio.wait_for(task, seconds)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise
