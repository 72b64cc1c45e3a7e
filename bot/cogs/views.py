"""Shared building blocks for buttons and selects that keep working after a restart.

Persistent items are ``DynamicItem``s: their state lives in the custom id
(e.g. ``sb:tr:<owner>:<lesson>:<step>:<action>``), so nothing needs to be kept
in memory and a message sent before a restart is still clickable after it.

discord.py only logs an exception raised inside a dynamic item's callback and
drops one raised while parsing the custom id, which would leave the click
unanswered; ``GuardedItem`` sends both to the one error handler instead, and
the parsing step does nothing that can fail beyond what the template matched.

Buttons that only make sense while one bot process waits for them (a demo's
"predict first" choices, the reset confirmation) are Views with a timeout;
their custom ids carry the process's boot id (``sb:x:<boot>:<kind>:…``), so a
press that reaches a later process (after a restart or a crash left the
buttons up) is recognised by ``FromBeforeRestart`` and answered, instead of
failing with Discord's "This interaction failed".
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.cogs.errors import report_error
from bot.cogs.limits import make_custom_id
from bot.errors import ShuttingDownError
from bot.lessons.loader import MAX_ID_LENGTH

if TYPE_CHECKING:
    from bot.app import StudyBot

PREFIX = "sb"
LABEL_KIND = "lbl"
# Lesson ids in custom ids: what the loader allows in an id (bot.lessons.loader.ID_PATTERN,
# at most MAX_ID_LENGTH characters), so every custom id stays under 100.
LESSON_ID_PATTERN = rf"[a-z0-9-]{{1,{MAX_ID_LENGTH}}}"

SESSION_KIND = "x"
PREDICTION = "pd"
RESET = "rs"
ENDED_BY_RESTART = {
    PREDICTION: "This demo was waiting for a prediction when the bot restarted, so it never "
    "ran. Run /demo again to watch it live.",
    RESET: "This confirmation ended when the bot restarted: nothing was reset. Run "
    "/admin reset-scores again if you still want to.",
}
"""What a press on a button from an earlier bot process is told, by the button's kind."""


def consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a finished future's exception so asyncio does not log it as lost.

    For work started before an interaction is acknowledged: if the
    acknowledgement fails, nobody awaits the work any more.
    """
    if not future.cancelled():
        future.exception()


def new_boot_id() -> str:
    """Return an id for one run of the bot (8 hex digits), different after every restart."""
    return secrets.token_hex(4)


def session_id(boot_id: str, kind: str, *parts: object) -> str:
    """Return the custom id of a button that lives only as long as the bot run ``boot_id``."""
    return custom_id(SESSION_KIND, boot_id, kind, *parts)


def custom_id(kind: str, *parts: object) -> str:
    """Return the custom id ``sb:<kind>:<parts…>``, refusing one over 100 characters."""
    return make_custom_id(PREFIX, kind, *parts)


def study_bot(interaction: discord.Interaction[Any]) -> StudyBot:
    """Return the bot that received ``interaction``, typed as a StudyBot."""
    return cast("StudyBot", interaction.client)


def is_owner(interaction: discord.Interaction[Any], owner_id: int) -> bool:
    """Return whether the user who clicked is the one who started the message."""
    return interaction.user.id == owner_id


class GuardedItem:
    """Mixin for DynamicItems: run ``handle`` and route any error to the error handler."""

    async def callback(self, interaction: discord.Interaction[Any]) -> Any:
        """Run the item's handler; answer the interaction about any error it raises."""
        try:
            if getattr(interaction.client, "stopping", False):
                raise ShuttingDownError()
            await self.handle(interaction)
        except Exception as exc:
            await report_error(interaction, exc)

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        """Do what the click asks; subclasses override this."""
        raise NotImplementedError


class FromBeforeRestart(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"{PREFIX}:{SESSION_KIND}:(?P<boot>[0-9a-f]{{8}}):(?P<kind>[a-z]{{1,8}})(:[\w-]*)*",
):
    """A press on a short-lived button: this run's View answers it, an earlier run's is ended here.

    discord.py hands every press to the matching dynamic items and to the
    View that sent the button, so this one stays silent for its own run's buttons.
    """

    def __init__(self, custom: str, boot_id: str, kind: str) -> None:
        super().__init__(discord.ui.Button(label="…", custom_id=custom))
        self.boot_id = boot_id
        self.kind = kind

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> FromBeforeRestart:
        """Keep which run sent the button and what kind it is."""
        return cls(match.string, match["boot"], match["kind"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Take the dead buttons off the message and tell the presser, ephemerally, why."""
        if self.boot_id == study_bot(interaction).boot_id:
            return  # a button of this run: its View answers (or has timed out and removed it)
        note = ENDED_BY_RESTART.get(self.kind, "These buttons ended when the bot restarted.")
        try:
            await interaction.response.edit_message(view=None)
            await interaction.followup.send(note, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)


class GuardedView(discord.ui.View):
    """A View whose item errors go to the one error handler."""

    async def on_error(
        self,
        interaction: discord.Interaction[Any],
        error: Exception,
        item: discord.ui.Item[Any],
        /,
    ) -> None:
        """Answer the interaction about ``error``."""
        await report_error(interaction, error)


def persistent_view(*items: discord.ui.Item[Any]) -> discord.ui.View:
    """Return a View without timeout holding ``items`` (persistent DynamicItems)."""
    view = GuardedView(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def label_button(
    label: str, kind: str, *parts: object, row: int | None = None
) -> discord.ui.Button[Any]:
    """Return a disabled grey button that only shows ``label`` (e.g. 'page 2/5').

    Its custom id (``sb:lbl:…``) is never dispatched: a disabled button cannot be clicked.
    """
    return discord.ui.Button(
        label=label[:80],
        style=discord.ButtonStyle.secondary,
        disabled=True,
        custom_id=custom_id(LABEL_KIND, kind, *parts),
        row=row,
    )
