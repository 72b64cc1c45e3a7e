"""The one error handler for slash commands, buttons and selects.

A mistake the user made (a ``bot.errors.UserError``, a failed check, a bad
option, a cooldown) gets a friendly ephemeral reply. Anything else is a bug:
the user gets an apology with a short error id, and the log gets the same id
with the traceback, so a report can be matched to its cause. Either way the
interaction is answered, by a response or, when one was already sent or
deferred, by a followup, so Discord never shows "The application did not
respond".
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserError, clip, code_span

if TYPE_CHECKING:
    from bot.app import StudyBot

log = logging.getLogger("studybot.interactions")

APOLOGY = (
    "Sorry, something went wrong on my side. It has been logged as error `{error_id}`; "
    "mention that id if you report it."
)


def new_error_id() -> str:
    """Return a short random id (8 hex characters) that ties an apology to its log line."""
    return secrets.token_hex(4)


def interaction_context(interaction: discord.Interaction[Any]) -> str:
    """Return 'guild=… user=… command=… interaction=…' for log lines about ``interaction``."""
    guild = interaction.guild_id if interaction.guild_id is not None else "dm"
    command = interaction.command.qualified_name if interaction.command is not None else None
    if command is None and isinstance(interaction.data, dict):
        data: Any = interaction.data
        command = data.get("custom_id") or data.get("name")
    return (
        f"guild={guild} user={interaction.user.id} command={command or '?'} "
        f"interaction={interaction.id}"
    )


def unwrap(error: BaseException) -> BaseException:
    """Return the exception a command or transformer error wraps, or ``error`` itself."""
    if isinstance(error, app_commands.CommandInvokeError | commands.CommandInvokeError):
        return unwrap(error.original)
    if isinstance(error, app_commands.TransformerError) and isinstance(error.__cause__, UserError):
        return error.__cause__
    return error


def _permissions(names: list[str]) -> str:
    return ", ".join(name.replace("_", " ").replace("guild", "server").title() for name in names)


def friendly_message(error: BaseException) -> str | None:
    """Return what to tell the user about ``error``, or None when it is a bug."""
    error = unwrap(error)
    message: str | None = None
    if isinstance(error, UserError):
        message = str(error)
    elif isinstance(error, app_commands.CommandOnCooldown):
        message = f"Slow down a little: try again in {error.retry_after:.0f} s."
    elif isinstance(error, app_commands.MissingPermissions):
        message = f"You need the {_permissions(error.missing_permissions)} permission to do that."
    elif isinstance(error, app_commands.BotMissingPermissions):
        message = (
            f"I need the {_permissions(error.missing_permissions)} permission here; "
            "ask a server admin."
        )
    elif isinstance(error, app_commands.NoPrivateMessage):
        message = "That works only in a server, not in direct messages."
    elif isinstance(error, app_commands.MissingRole | app_commands.MissingAnyRole):
        message = "You don't have the role needed for that."
    elif isinstance(error, app_commands.CheckFailure):
        message = "You can't use that here."
    elif isinstance(error, app_commands.TransformerError):
        message = f"{code_span(clip(str(error.value), 80))} is not a valid value for that option."
    elif isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        message = (
            "That command has just changed or been removed; Discord will catch up "
            "in a minute. Please try again then."
        )
    return message


SHOWN = "studybot.shown"
"""``Interaction.extras`` key: the deferred reply's placeholder has been replaced by content."""


async def show_deferred(interaction: discord.Interaction[Any], **fields: Any) -> None:
    """Replace a deferred reply's "thinking…" placeholder with ``fields``, and note it.

    An error after this leaves the content up. An error before it takes the
    placeholder down (``reply_ephemeral``): left alone, it would say "thinking…"
    to the whole channel until Discord gives up on it, beside the apology.
    """
    await interaction.edit_original_response(**fields)
    interaction.extras[SHOWN] = True


async def _drop_placeholder(interaction: discord.Interaction[Any]) -> None:
    """Delete a "thinking…" placeholder that no content replaced (a failed deferred command)."""
    thinking = interaction.response.type is discord.InteractionResponseType.deferred_channel_message
    if thinking and not interaction.extras.get(SHOWN):
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()


async def reply_ephemeral(
    interaction: discord.Interaction[Any],
    content: str,
    *,
    view: discord.ui.View | None = None,
) -> None:
    """Send ``content`` only to the user, as the response or, if that is used, a followup."""
    try:
        if interaction.response.is_done():
            await _drop_placeholder(interaction)
            if view is None:
                await interaction.followup.send(content, ephemeral=True)
            else:
                await interaction.followup.send(content, ephemeral=True, view=view)
        elif view is None:
            await interaction.response.send_message(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True, view=view)
    except discord.HTTPException as exc:
        # The interaction expired (more than 3 s without a response, or 15 min
        # for followups) or Discord is down: nothing left to tell the user.
        expired = isinstance(exc, discord.NotFound) and exc.code in EXPIRED_CODES
        log.warning(
            "Could not reply to %s%s: %s %s",
            interaction_context(interaction),
            " (the interaction expired)" if expired else "",
            exc.status,
            exc,
        )


EXPIRED_CODES = frozenset({10062, 10015})
"""Discord's "Unknown interaction" and "Unknown Webhook": the interaction's token expired."""


async def report_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Answer ``interaction`` about ``error``: friendly for user mistakes, an error id for bugs."""
    message = friendly_message(error)
    context = interaction_context(interaction)
    if message is not None:
        log.info("User error %s: %s", context, message)
        await reply_ephemeral(interaction, message[:2000])
        return
    original = unwrap(error)
    if isinstance(original, discord.NotFound) and original.code in EXPIRED_CODES:
        # Not a bug of ours to trace: the answer came after Discord's deadline
        # (3 s for the first reply, 15 min for the rest), and no reply can get through.
        log.warning("Interaction expired before it was answered %s: %s", context, original)
        return
    error_id = new_error_id()
    log.error(
        "Unexpected error %s %s",
        error_id,
        context,
        exc_info=(type(original), original, original.__traceback__),
    )
    await reply_ephemeral(interaction, APOLOGY.format(error_id=error_id))


class ExpiredAutocompleteFilter(logging.Filter):
    """Turn discord.py's traceback for an autocomplete that expired into one warning line.

    Autocomplete requests expire often (the user typed on); discord.py answers
    them itself and logs any failure as an error with a traceback, which would
    bury real bugs. Only that record is changed; every other passes as it is.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if (
            str(record.msg).startswith("Ignoring exception in autocomplete")
            and isinstance(error, discord.NotFound)
            and error.code in EXPIRED_CODES
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"Autocomplete expired before it was answered: {error}"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


EXPIRED_AUTOCOMPLETE = ExpiredAutocompleteFilter()
TREE_LOG = logging.getLogger("discord.app_commands.tree")


class ErrorHandler(commands.Cog):
    """Route every app-command error to ``report_error`` and log interactions."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        self._previous = bot.tree.on_error

    async def cog_load(self) -> None:
        """Install the handler on the command tree, and the filter on its log."""
        self.bot.tree.error(self.on_app_command_error)
        TREE_LOG.addFilter(EXPIRED_AUTOCOMPLETE)  # once, however many bots load it

    async def cog_unload(self) -> None:
        """Put the tree's previous handler back."""
        self.bot.tree.on_error = self._previous  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """Answer a failed slash command."""
        await report_error(interaction, error)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Log each interaction with its guild, command and id."""
        log.debug("Interaction %s type=%s", interaction_context(interaction), interaction.type.name)

    @commands.Cog.listener()
    async def on_app_command_completion(
        self,
        interaction: discord.Interaction[Any],
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        """Log each command that finished without error."""
        log.info("Command done %s", interaction_context(interaction))


async def setup(bot: StudyBot) -> None:
    """Load the error handler."""
    await bot.add_cog(ErrorHandler(bot))
