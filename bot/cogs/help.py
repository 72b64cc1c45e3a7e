"""/help: one embed explaining every command, generated from the command tree.

Built from the registered commands and their descriptions, so it stays true
as features add commands; the footer shows the gateway latency.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.limits import build_embed
from bot.quiz.scoring import describe_rules

if TYPE_CHECKING:
    from bot.app import StudyBot

INTRO = (
    "I teach async concurrency: lessons with step-by-step execution traces, "
    "live asyncio demos and quizzes with leaderboards. Lesson ids autocomplete as you type."
)
HELP_COLOUR = discord.Colour.green()


def usage(command: app_commands.Command[Any, ..., Any]) -> str:
    """Return '/name <required> [optional]' for ``command``."""
    parts = [f"/{command.qualified_name}"]
    for parameter in command.parameters:
        parts.append(
            f"<{parameter.display_name}>" if parameter.required else f"[{parameter.display_name}]"
        )
    return " ".join(parts)


def command_lines(
    command: app_commands.Command[Any, ..., Any] | app_commands.Group,
    *,
    in_dm: bool = False,
    permissions: discord.Permissions | None = None,
) -> list[str]:
    """Return one '`usage` — description' line per command under ``command``.

    ``in_dm`` leaves out what works only in a server; ``permissions`` (the
    caller's) leave out what needs more, as Discord's own command list does.
    """
    if in_dm and getattr(command, "guild_only", False):
        return []
    needed = command.default_permissions
    if permissions is not None and needed is not None and not needed <= permissions:
        return []
    if isinstance(command, app_commands.Group):
        lines: list[str] = []
        for child in command.commands:
            lines.extend(command_lines(child, in_dm=in_dm, permissions=permissions))
        return lines
    return [f"`{usage(command)}` — {command.description}"]


def help_embed(
    tree: app_commands.CommandTree[Any],
    latency: float | None = None,
    *,
    in_dm: bool = False,
    permissions: discord.Permissions | None = None,
) -> discord.Embed:
    """Return the help embed for every slash command in ``tree``, one field per top-level name.

    ``in_dm``: only the commands that work in direct messages; ``permissions``:
    only those the caller may use.
    """
    fields: list[tuple[str, str]] = []
    for command in sorted(
        tree.get_commands(type=discord.AppCommandType.chat_input), key=lambda c: c.name
    ):
        if not isinstance(command, app_commands.Command | app_commands.Group):
            continue
        lines = command_lines(command, in_dm=in_dm, permissions=permissions)
        if not lines:
            continue
        title = f"/{command.name}"
        if isinstance(command, app_commands.Group):
            title += f" — {command.description}"
        fields.append((title, "\n".join(lines)))
    fields.append(
        (
            "Scoring",
            describe_rules() + " Rounds always count for the leaderboard; of personal quizzes, "
            "a lesson's first completed run counts and later runs are practice. "
            "Weeks and streak days are in UTC; a week starts on Monday.",
        )
    )
    if in_dm:
        fields.append(
            (
                "In direct messages",
                "Quizzes here share no server: /leaderboard and /stats show your own scores only.",
            )
        )
    footer = "Replies about mistakes are only visible to you."
    if latency is not None and math.isfinite(latency):
        footer = f"Gateway latency {latency * 1000:.0f} ms · {footer}"
    return build_embed("studybot help", INTRO, fields=fields, footer=footer, colour=HELP_COLOUR)


class HelpCog(commands.Cog):
    """The /help command."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What studybot does and how to use each command")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        """Send the help embed, only to the caller."""
        latency = self.bot.latency if self.bot.is_ready() else None
        in_dm = interaction.guild_id is None
        permissions = None if in_dm else interaction.permissions
        await interaction.response.send_message(
            embed=help_embed(self.bot.tree, latency, in_dm=in_dm, permissions=permissions),
            ephemeral=True,
        )


async def setup(bot: StudyBot) -> None:
    """Load /help."""
    await bot.add_cog(HelpCog(bot))
