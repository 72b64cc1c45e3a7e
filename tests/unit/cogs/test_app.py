"""Unit tests of the bot wiring: token masking, command-sync hashing, start-up exit codes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.app import (
    EXIT_CONFIG,
    EXIT_FAILED,
    LibraryHolder,
    StudyBot,
    TokenFilter,
    commands_hash,
    install_token_filter,
    run_bot,
)
from bot.config import Settings
from bot.lessons.library import LessonLibrary
from bot.store.database import Store

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.secret-part-of-the-token"


class ListHandler(logging.Handler):
    """Keep formatted records, as a real handler would write them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_token_filter_masks_message_args_and_traceback() -> None:
    """The token is masked in the message, its arguments and an exception's traceback."""
    handler = ListHandler()
    install_token_filter(TOKEN, [handler])
    logger = logging.getLogger("test.token")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token is %s", TOKEN)
        logger.warning(f"inline {TOKEN}")
        try:
            raise RuntimeError(f"bad token {TOKEN}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(handler.lines)
    assert TOKEN not in text
    assert text.count(TokenFilter.MASK) == 3
    assert "RuntimeError: bad token" in text


def test_token_filter_is_installed_once_per_handler() -> None:
    """Installing twice does not stack filters on a handler."""
    handler = ListHandler()
    install_token_filter(TOKEN, [handler])
    install_token_filter(TOKEN, [handler])
    assert len(handler.filters) == 1


def test_commands_hash_ignores_order_but_sees_changes() -> None:
    """The sync hash is the same for reordered commands and different for an edited one."""
    a = {"name": "a", "description": "first", "type": 1}
    b = {"name": "b", "description": "second", "type": 1}
    assert commands_hash([a, b]) == commands_hash([b, a])
    assert commands_hash([a, b]) != commands_hash([a, {**b, "description": "changed"}])


@contextlib.asynccontextmanager
async def syncing_bot(
    tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[StudyBot, list[discord.abc.Snowflake | None]]]:
    """Yield a StudyBot whose command syncs are recorded (the target of each) instead of sent."""
    synced: list[discord.abc.Snowflake | None] = []

    async def fake_sync(*, guild: discord.abc.Snowflake | None = None) -> list[Any]:
        synced.append(guild)
        return []

    config = Settings(database_path=tmp_path / "db.sqlite", **settings)
    async with Store.open(config.database_path) as store:
        bot = StudyBot(config, LibraryHolder(LessonLibrary()), store, heartbeat=False)
        bot.tree.sync = fake_sync  # type: ignore[method-assign]
        yield bot, synced


async def test_sync_runs_only_when_commands_change(tmp_path: Path) -> None:
    """A second start with the same commands does not sync; a changed tree or force does."""
    async with syncing_bot(tmp_path) as (bot, synced):

        @bot.tree.command(name="one", description="The first command")
        async def one(interaction: discord.Interaction[Any]) -> None:
            """Do nothing."""

        assert await bot.sync_commands() is True
        assert await bot.sync_commands() is False
        assert await bot.sync_commands(force=True) is True

        @bot.tree.command(name="two", description="A new command")
        async def two(interaction: discord.Interaction[Any]) -> None:
            """Do nothing."""

        assert await bot.sync_commands() is True
        assert synced == [None, None, None]
        assert isinstance(one, app_commands.Command)


async def test_a_database_that_served_another_application_does_not_skip_the_sync(
    tmp_path: Path,
) -> None:
    """The token was switched to another bot: its commands are synced although unchanged."""
    async with syncing_bot(tmp_path) as (bot, synced):
        bot._connection.application_id = 111  # what login sets
        assert await bot.sync_commands() is True
        assert await bot.sync_commands() is False
        bot._connection.application_id = 222
        assert await bot.sync_commands() is True
        assert await bot.sync_commands() is False
        assert len(synced) == 2


async def test_dev_guild_sync_goes_to_that_guild(tmp_path: Path) -> None:
    """With a development guild configured, the commands are copied to and synced there."""
    async with syncing_bot(tmp_path, dev_guild_id=1234) as (bot, synced):

        @bot.tree.command(name="one", description="The first command")
        async def one(interaction: discord.Interaction[Any]) -> None:
            """Do nothing."""

        assert await bot.sync_commands() is True
        assert [g.id for g in synced if g is not None] == [1234]
        assert [c["name"] for c in bot.command_payload(synced[0])] == ["one"]


async def test_missing_token_is_one_line_and_exit_code_2(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """run_bot without a token logs one explanation and returns the config exit code."""
    caplog.set_level(logging.ERROR)
    code = await run_bot(Settings(database_path=tmp_path / "db.sqlite"))
    assert code == EXIT_CONFIG
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "DISCORD_TOKEN" in errors[0].getMessage()
    assert errors[0].exc_info is None


async def test_rejected_token_is_one_line_without_traceback_or_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token Discord rejects gives one error line, no traceback, and never the token."""

    async def reject(self: StudyBot, token: str, *, reconnect: bool = True) -> None:
        raise discord.LoginFailure(f"Improper token has been passed: {token}")

    monkeypatch.setattr(StudyBot, "start", reject)
    caplog.set_level(logging.INFO)
    settings = Settings(token=TOKEN, database_path=tmp_path / "db.sqlite")
    code = await run_bot(settings)
    assert code == EXIT_FAILED
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "rejected the token" in errors[0].getMessage()
    assert errors[0].exc_info is None
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


async def test_unusable_database_is_one_line_and_exit_code_1(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database path that cannot be opened gives one error line naming it, no traceback."""
    caplog.set_level(logging.ERROR)
    settings = Settings(token=TOKEN, database_path=tmp_path)  # a directory, not a file
    assert await run_bot(settings) == EXIT_FAILED
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert str(tmp_path) in errors[0].getMessage()
    assert errors[0].exc_info is None
