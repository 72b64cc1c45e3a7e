"""End to end: the one error handler, start-up failures, shutdown, and answering under load."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import discord
import pytest

from bot.app import EXIT_FAILED, EXIT_OK, create_bot, load_content, run_bot, sync_commands
from bot.config import DEFAULT_CONTENT_DIR, Settings
from bot.store.database import Store
from tests.e2e.conftest import RunningBot
from tests.e2e.test_lessons_e2e import SEED, answered, studybot
from tests.fakediscord import FakeDiscord
from tests.fakediscord.recorder import Request
from tests.fakediscord.rest import ApiError

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "broken_lessons" / "bad_id.yaml"
ERROR_ID = re.compile(r"error `([0-9a-f]{8})`")


def loaded(extension: str) -> ModuleType:
    """Return the module the running bot loaded for ``extension``.

    load_extension executes a fresh module object, so patches must go on the
    one in sys.modules after the bot has started, not on one imported earlier.
    """
    return sys.modules[extension]


def logged_error_id(caplog: pytest.LogCaptureFixture, error_id: str) -> logging.LogRecord:
    """Return the log record carrying ``error_id``; it must hold the traceback."""
    records = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(records) == 1
    assert records[0].exc_info is not None
    return records[0]


async def test_unknown_lesson_gets_a_friendly_ephemeral_reply(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Naming a lesson that does not exist is a user mistake, answered only to that user."""
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        reply = await answered(
            fake_discord, await fake_discord.slash("lesson show", {"lesson": "no-such-lesson"})
        )
    assert reply.ephemeral
    assert "There is no lesson called `no-such-lesson`" in reply.text
    assert not ERROR_ID.search(reply.text)
    fake_discord.assert_clean()


def expire_every_reply(fake: FakeDiscord) -> list[Request]:
    """Answer every interaction reply with Discord's 10062: the interaction expired."""
    return fake.fail_requests(
        lambda r: r.method == "POST" and r.path.endswith("/callback"),
        ApiError(404, 10062, "Unknown interaction"),
    )


async def logged(fake: FakeDiscord, caplog: pytest.LogCaptureFixture, text: str) -> None:
    """Wait until a log record containing ``text`` has been written."""
    await fake.wait_for(
        lambda: [r for r in caplog.records if text in r.getMessage()], what=f"a log of {text!r}"
    )


def assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Fail on any record at ERROR or above, or carrying a traceback."""
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_an_interaction_that_expired_is_logged_as_such_not_as_a_bug(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Discord says the interaction is unknown (answered too late): one warning, no traceback,
    no apology sent after it."""
    caplog.set_level(logging.INFO)
    hits = expire_every_reply(fake_discord)
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash("lesson list")
        await fake_discord.wait_for(lambda: hits, what="the refused reply")
        await logged(fake_discord, caplog, "expired")
    assert_no_error_logged(caplog)
    assert fake_discord.followups(interaction) == []


async def test_an_autocomplete_that_expired_is_one_warning_not_a_traceback(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """discord.py answers autocompletes itself; one that expired is logged as a warning."""
    caplog.set_level(logging.INFO)
    hits = expire_every_reply(fake_discord)
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        await fake_discord.autocomplete("trace", {"lesson": "py"}, focused="lesson")
        await fake_discord.wait_for(lambda: hits, what="the refused suggestions")
        await logged(fake_discord, caplog, "Autocomplete expired")
    assert_no_error_logged(caplog)


async def test_a_bug_in_a_command_is_apologised_for_with_a_logged_id(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug gets an ephemeral apology whose error id is logged with the traceback."""

    def explode(*args: Any, **kwargs: Any) -> list[str]:
        raise RuntimeError("renderer exploded")

    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        monkeypatch.setattr(loaded("bot.cogs.lessons"), "render", explode)
        reply = await answered(
            fake_discord, await fake_discord.slash("lesson show", {"lesson": SEED})
        )
    assert reply.ephemeral
    match = ERROR_ID.search(reply.text)
    assert match is not None
    record = logged_error_id(caplog, match.group(1))
    assert "command=lesson show" in record.getMessage()
    assert "renderer exploded" in str(record.exc_info[1] if record.exc_info else "")
    fake_discord.assert_clean()


async def test_a_bug_behind_a_button_is_apologised_for_too(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A persistent button whose handler fails still answers, with an id found in the log."""
    owner = fake_discord.member.user.id
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message = await answered(fake_discord, await fake_discord.slash("trace", {"lesson": SEED}))

        def explode(*args: Any, **kwargs: Any) -> str:
            raise KeyError("tracker row")

        monkeypatch.setattr(loaded("bot.cogs.trace"), "render_trace_step", explode)
        click = await fake_discord.click(message.id, f"sb:tr:{owner}:{SEED}:1:n")
        reply = await answered(fake_discord, click)
    assert reply.ephemeral
    match = ERROR_ID.search(reply.text)
    assert match is not None
    logged_error_id(caplog, match.group(1))
    fake_discord.assert_clean()


async def test_errors_after_a_deferral_arrive_as_a_followup(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """When the interaction was already deferred, the error handler answers with a followup."""
    settings = Settings(token=fake_discord.token, database_path=tmp_path / "db.sqlite")
    content = await load_content(settings)
    async with Store.open(settings.database_path) as store:
        study = create_bot(settings, content, store)

        @study.tree.command(name="boom", description="Defer, then hit a user mistake")
        async def boom(interaction: discord.Interaction[Any]) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            study.library.get("missing-lesson")

        async with running_bot(study):
            interaction = await fake_discord.slash("boom")
            await fake_discord.wait_for(
                lambda: fake_discord.followups(interaction) or None, what="a followup"
            )
            followup = fake_discord.followups(interaction)[0]
    assert "There is no lesson called `missing-lesson`" in followup.text
    fake_discord.assert_clean()


async def test_many_interactions_at_once_are_all_answered_in_time(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Forty commands and clicks sent together are all answered within the 3-second window."""
    owner = fake_discord.member.user.id
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        trace = await answered(fake_discord, await fake_discord.slash("trace", {"lesson": SEED}))
        sends = [
            fake_discord.slash("lesson show", {"lesson": SEED, "mode": "table"}) for _ in range(15)
        ]
        sends += [fake_discord.slash("lesson list") for _ in range(10)]
        sends += [fake_discord.slash("trace", {"lesson": SEED, "step": 4}) for _ in range(10)]
        sends += [fake_discord.click(trace.id, f"sb:tr:{owner}:{SEED}:1:n") for _ in range(5)]
        ids = await asyncio.gather(*sends)
        for interaction_id in ids:
            await fake_discord.wait_for_response(interaction_id)
    assert fake_discord.late_interactions == []
    fake_discord.assert_clean()


async def test_start_up_with_a_broken_lesson_serves_the_rest_and_stops_on_sigterm(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """run_bot logs a broken file's file:field error, serves the rest, exits 0 on SIGTERM."""
    content = tmp_path / "lessons"
    content.mkdir()
    shutil.copy(DEFAULT_CONTENT_DIR / f"{SEED}.yaml", content)
    shutil.copy(BROKEN, content / "bad_id.yaml")
    settings = Settings(
        token=fake_discord.token, database_path=tmp_path / "db.sqlite", content_dir=content
    )
    caplog.set_level(logging.INFO)
    running = asyncio.create_task(run_bot(settings))
    try:
        await fake_discord.wait_until_connected(timeout=10)
        await fake_discord.wait_for(lambda: fake_discord.commands.sync_count or None, 10, "a sync")
        listing = await answered(fake_discord, await fake_discord.slash("lesson list"))
        assert SEED in listing.text
        loop = asyncio.get_running_loop()
        # Only send SIGTERM once run_bot's handler is in place (it is before the
        # bot connects); without it the signal would stop the test run.
        assert signal.SIGTERM in getattr(loop, "_signal_handlers", {})
        os.kill(os.getpid(), signal.SIGTERM)
        code = await asyncio.wait_for(running, 10)
    finally:
        if not running.done():
            running.cancel()
    assert code == EXIT_OK
    problems = [r.getMessage() for r in caplog.records if "Lesson not loaded" in r.getMessage()]
    assert len(problems) == 1
    assert "bad_id.yaml" in problems[0]
    assert "id:" in problems[0]
    assert fake_discord.token not in caplog.text
    fake_discord.assert_clean()


async def test_a_rejected_token_is_one_line_and_never_logged(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused token ends run_bot with exit 1: one error line, no token, no traceback."""
    wrong = "definitely-not-the-right-token-0123456789"
    settings = Settings(token=wrong, database_path=tmp_path / "db.sqlite")
    caplog.set_level(logging.DEBUG)
    code = await asyncio.wait_for(run_bot(settings), 10)
    assert code == EXIT_FAILED
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["studybot.app"]
    assert errors[0].exc_info is None
    assert "rejected the token" in errors[0].getMessage()
    assert wrong not in caplog.text


async def test_studybot_sync_forces_a_sync_and_can_target_a_guild(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """sync_commands syncs even when nothing changed, globally or to the guild it is given."""
    settings = Settings(token=fake_discord.token, database_path=tmp_path / "db.sqlite")
    assert await asyncio.wait_for(sync_commands(settings, None), 10) == EXIT_OK
    assert await asyncio.wait_for(sync_commands(settings, None), 10) == EXIT_OK
    assert fake_discord.commands.sync_count == 2
    guild = fake_discord.guild.id
    assert await asyncio.wait_for(sync_commands(settings, guild), 10) == EXIT_OK
    names = {c["name"] for c in fake_discord.commands.in_scope(guild)}
    assert {"lesson", "trace", "help"} <= names
    fake_discord.assert_clean()


async def test_studybot_sync_clear_guild_removes_the_guild_copies_only(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """After a guild sync, clearing that guild leaves the global commands alone, and a later
    guild sync sends the commands again (not skipped as unchanged)."""
    settings = Settings(token=fake_discord.token, database_path=tmp_path / "db.sqlite")
    guild = fake_discord.guild.id
    assert await asyncio.wait_for(sync_commands(settings, None), 10) == EXIT_OK
    assert await asyncio.wait_for(sync_commands(settings, guild), 10) == EXIT_OK
    assert fake_discord.commands.in_scope(guild)
    global_names = {c["name"] for c in fake_discord.commands.in_scope(None)}
    assert await asyncio.wait_for(sync_commands(settings, guild, clear=True), 10) == EXIT_OK
    assert fake_discord.commands.in_scope(guild) == []
    assert {c["name"] for c in fake_discord.commands.in_scope(None)} == global_names
    assert await asyncio.wait_for(sync_commands(settings, guild), 10) == EXIT_OK
    assert {c["name"] for c in fake_discord.commands.in_scope(guild)} >= {"lesson", "help"}
    fake_discord.assert_clean()


async def test_a_dev_guild_gets_the_commands_instantly(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """With a development guild configured, start-up syncs there and the commands work."""
    settings = Settings(
        token=fake_discord.token,
        database_path=tmp_path / "db.sqlite",
        dev_guild_id=fake_discord.guild.id,
    )
    content = await load_content(settings)
    async with Store.open(settings.database_path) as store:
        study = create_bot(settings, content, store)
        async with running_bot(study):
            assert fake_discord.commands.in_scope(None) == []
            reply = await answered(fake_discord, await fake_discord.slash("help"))
    assert "/trace" in reply.text
    fake_discord.assert_clean()
