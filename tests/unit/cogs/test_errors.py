"""Unit tests of the error handler's wording: what a user is told about each kind of error."""

from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands

from bot.cogs.errors import APOLOGY, friendly_message, new_error_id
from bot.errors import OptionError, UnknownLessonError
from bot.quiz.errors import InvalidChoiceError


def test_user_errors_are_shown_as_written() -> None:
    """A UserError's own message is what the user reads."""
    assert friendly_message(OptionError("Pick a step from 1 to 8.")) == "Pick a step from 1 to 8."
    assert "no lesson called `nope`" in (friendly_message(UnknownLessonError("nope")) or "")


def test_what_the_user_typed_stays_inside_its_code_span() -> None:
    """Backticks in echoed input cannot close the span and turn the rest into Markdown."""
    typed = "x` **bold** `@everyone"
    for message in (
        friendly_message(UnknownLessonError(typed)) or "",
        friendly_message(InvalidChoiceError(typed, ("A", "B"))) or "",
        friendly_message(app_commands.TransformerError(typed, 3, _transformer())) or "",
    ):
        assert message.count("`") == 2, message
        assert "`xˋ **bold" in message  # the user's backtick is shown as a look-alike
    assert friendly_message(UnknownLessonError("  ")) == (
        "Name a lesson: its id or the start of its title. Use /lesson list to see the lessons."
    )


def _transformer() -> app_commands.Transformer:
    return app_commands.transformers.IdentityTransformer(discord.AppCommandOptionType.string)


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
