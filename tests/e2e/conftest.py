"""Fixtures for end-to-end tests: a loopback fake Discord and a way to run a client on it.

Usage in a test::

    async def test_something(fake_discord, running_bot):
        bot = make_my_bot()                       # any discord.Client / commands.Bot
        async with running_bot(bot):              # logs in, connects, waits for READY
            await bot.tree.sync()                 # or let setup_hook/on_ready sync
            interaction = await fake_discord.slash("lesson show", {"lesson": "x"})
            await fake_discord.wait_for_response(interaction)
            message = fake_discord.original_message(interaction)
        fake_discord.assert_clean()               # no 400s, no 404s, no late answers

``running_bot(bot)`` is ``run_client(fake_discord, bot)``; pass ``token=`` to
log in with another token (the fake accepts only ``fake_discord.token``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import discord
import pytest

from tests.fakediscord import FakeDiscord, run_client

RunningBot = Callable[..., AbstractAsyncContextManager[discord.Client]]


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """Serve a fake Discord on 127.0.0.1 and point discord.py at it for one test."""
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def running_bot(fake_discord: FakeDiscord) -> RunningBot:
    """Return ``running_bot(client, **kwargs)``: an async context manager running it."""

    def start(
        client: discord.Client, **kwargs: object
    ) -> AbstractAsyncContextManager[discord.Client]:
        return run_client(fake_discord, client, **kwargs)  # type: ignore[arg-type]

    return start
