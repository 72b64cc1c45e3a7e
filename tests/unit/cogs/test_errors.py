"""Unit tests of the error handler's wording: what a user is told about each kind of error."""

from __future__ import annotations

import re
from typing import Any

from discord import app_commands

from bot.cogs.errors import APOLOGY, friendly_message, new_error_id
from bot.errors import OptionError, UnknownLessonError


def test_user_errors_are_shown_as_written() -> None:
    """A UserError's own message is what the user reads."""
    assert friendly_message(OptionError("Pick a step from 1 to 8.")) == "Pick a step from 1 to 8."
    assert "no lesson called `nope`" in (friendly_message(UnknownLessonError("nope")) or "")


def test_wrapped_user_errors_are_unwrapped() -> None:
    """A UserError raised in a command arrives wrapped in CommandInvokeError and is unwrapped."""

    async def callback(interaction: Any) -> None:
        """Stand in for a command callback."""

    command = app_commands.Command(name="x", description="x", callback=callback)
    wrapped = app_commands.CommandInvokeError(command, OptionError("bad step"))
    assert friendly_message(wrapped) == "bad step"


def test_cooldown_and_permissions_get_friendly_text() -> None:
    """Cooldowns and missing permissions are explained, not treated as bugs."""
    cooldown = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 10.0), 4.2)
    assert "try again in 4 s" in (friendly_message(cooldown) or "")
    missing = app_commands.MissingPermissions(["manage_guild"])
    assert "Manage Server" in (friendly_message(missing) or "")
    assert friendly_message(app_commands.CheckFailure()) is not None


def test_unexpected_errors_are_bugs() -> None:
    """Anything that is not a user mistake gets no friendly text, so it is logged with an id."""
    assert friendly_message(KeyError("boom")) is None
    assert friendly_message(ZeroDivisionError()) is None


def test_error_ids_are_8_hex_characters_and_quoted_in_the_apology() -> None:
    """Error ids are short hex strings, and the apology shows the id it was given."""
    ids = {new_error_id() for _ in range(50)}
    assert all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids)
    assert len(ids) > 45
    assert "`abcd1234`" in APOLOGY.format(error_id="abcd1234")
