"""/trace: walk through a lesson's execution table one step at a time.

Each step shows its table row, the variable tracker at that step and any key
moment citing it. The ⏮ ◀ ▶ ⏭ buttons edit the message in place and carry
their whole state in the custom id (owner, lesson, step, action), so they
work after a restart. Only the person who started a walkthrough drives it;
anyone else gets a button that starts their own.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.lessons import lesson_autocomplete
from bot.cogs.limits import DESCRIPTION_PAGE, EMBED_TITLE, build_embed, shorten
from bot.cogs.views import (
    LESSON_ID_PATTERN,
    GuardedItem,
    custom_id,
    is_owner,
    persistent_view,
    study_bot,
)
from bot.errors import OptionError
from bot.lessons.model import Lesson
from bot.lessons.render import PHONE_WIDTH, render_trace_step

if TYPE_CHECKING:
    from bot.app import StudyBot

TRACE_COLOUR = discord.Colour.teal()
# action letter -> (emoji, what it does)
ACTIONS: dict[str, tuple[str, str]] = {
    "f": ("⏮", "first"),
    "p": ("◀", "previous"),
    "n": ("▶", "next"),
    "l": ("⏭", "last"),
}
NOT_YOURS = (
    "This walkthrough belongs to <@{owner}>, so its buttons are theirs. "
    "Start your own below (only you will see it)."
)


def step_index(lesson: Lesson, step: int) -> int:
    """Return the index of ``step`` in the table, or of the nearest step after it."""
    steps = lesson.table.steps
    for index, number in enumerate(steps):
        if number >= step:
            return index
    return len(steps) - 1


def target_step(lesson: Lesson, step: int, action: str) -> int:
    """Return the step that ``action`` (f, p, n, l) leads to from ``step``."""
    steps = lesson.table.steps
    index = step_index(lesson, step)
    moves = {
        "f": 0,
        "p": max(index - 1, 0),
        "n": min(index + 1, len(steps) - 1),
        "l": len(steps) - 1,
    }
    return steps[moves.get(action, index)]


def check_step(lesson: Lesson, step: int) -> int:
    """Return ``step`` if the lesson's table has it; raise OptionError naming the range if not."""
    steps = lesson.table.steps
    if step not in steps:
        raise OptionError(
            f"`{lesson.id}` has steps {steps[0]}-{steps[-1]}; there is no step {step}."
        )
    return step


def trace_title(lesson: Lesson, position: int) -> str:
    """Return ``Step 3 of 8 · <lesson title>``, cut to fit an embed title."""
    return shorten(f"Step {position} of {len(lesson.table.steps)} · {lesson.title}", EMBED_TITLE)


def trace_embed(lesson: Lesson, step: int) -> discord.Embed:
    """Return the embed showing ``step`` of ``lesson``'s walkthrough."""
    # The step goes in the title, so the text leaves out its own ``## title`` line.
    text = render_trace_step(lesson, step, limit=DESCRIPTION_PAGE, width=PHONE_WIDTH, heading=False)
    position = step_index(lesson, step) + 1
    return build_embed(
        trace_title(lesson, position),
        text,
        footer=f"{lesson.id} · /trace · ⏮ ◀ ▶ ⏭ move through the steps",
        colour=TRACE_COLOUR,
    )


def trace_view(lesson: Lesson, step: int, owner_id: int) -> discord.ui.View:
    """Return the persistent ⏮ ◀ ▶ ⏭ buttons for ``owner_id``'s walkthrough at ``step``."""
    steps = lesson.table.steps
    index = step_index(lesson, step)
    at_start, at_end = index == 0, index == len(steps) - 1
    disabled = {"f": at_start, "p": at_start, "n": at_end, "l": at_end}
    return persistent_view(
        *(
            TraceButton(owner_id, lesson.id, step, action, disabled=disabled[action])
            for action in ACTIONS
        )
    )


def trace_link_button(lesson_id: str, step: int, label: str | None = None) -> discord.ui.Item[Any]:
    """Return a button that opens a walkthrough at ``step`` for whoever clicks it.

    The walkthrough is sent only to the clicker; other cogs (the quiz) use
    this to point at the step a question is about.
    """
    return StartTraceButton(lesson_id, step, label=label)


class TraceButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"sb:tr:(?P<owner>\d{{1,20}}):(?P<lesson>{LESSON_ID_PATTERN}):(?P<step>\d{{1,4}}):(?P<action>[fpnl])",
):
    """One of ⏮ ◀ ▶ ⏭ on a walkthrough; only its owner can use it."""

    def __init__(
        self, owner_id: int, lesson_id: str, step: int, action: str, *, disabled: bool = False
    ) -> None:
        emoji, name = ACTIONS[action]
        super().__init__(
            discord.ui.Button(
                emoji=emoji,
                style=discord.ButtonStyle.primary,
                custom_id=custom_id("tr", owner_id, lesson_id, step, action),
                disabled=disabled,
            )
        )
        self.owner_id = owner_id
        self.lesson_id = lesson_id
        self.step = step
        self.action = action
        self.action_name = name

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> TraceButton:
        """Rebuild the button from its custom id."""
        return cls(int(match["owner"]), match["lesson"], int(match["step"]), match["action"])

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        """Move the owner's walkthrough; tell anyone else how to start their own."""
        if not is_owner(interaction, self.owner_id):
            view = persistent_view(
                StartTraceButton(self.lesson_id, self.step, label="Start my own walkthrough")
            )
            await interaction.response.send_message(
                NOT_YOURS.format(owner=self.owner_id), view=view, ephemeral=True
            )
            return
        lesson = study_bot(interaction).library.get(self.lesson_id)
        step = target_step(lesson, self.step, self.action)
        await interaction.response.edit_message(
            embed=trace_embed(lesson, step), view=trace_view(lesson, step, self.owner_id)
        )


class StartTraceButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"sb:trs:(?P<lesson>{LESSON_ID_PATTERN}):(?P<step>\d{{1,4}})",
):
    """Start a walkthrough of a lesson at a step, owned by (and shown only to) the clicker."""

    def __init__(self, lesson_id: str, step: int, *, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=(label or f"Walk through step {step}")[:80],
                emoji="🧭",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id("trs", lesson_id, step),
            )
        )
        self.lesson_id = lesson_id
        self.step = step

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> StartTraceButton:
        """Rebuild the button from its custom id."""
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(match["lesson"], int(match["step"]), label=label)

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        """Send the clicker their own walkthrough, ephemerally."""
        lesson = study_bot(interaction).library.get(self.lesson_id)
        steps = lesson.table.steps
        step = steps[step_index(lesson, self.step)]
        await interaction.response.send_message(
            embed=trace_embed(lesson, step),
            view=trace_view(lesson, step, interaction.user.id),
            ephemeral=True,
        )


class TraceCog(commands.Cog):
    """The /trace command."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="trace", description="Walk through a lesson's execution table step by step"
    )
    @app_commands.describe(
        lesson="The lesson to walk through (start typing its id or title)",
        step="The step to start at (default: the first)",
    )
    @app_commands.autocomplete(lesson=lesson_autocomplete)
    async def trace(
        self,
        interaction: discord.Interaction[Any],
        lesson: str,
        step: app_commands.Range[int, 1, 999] | None = None,
    ) -> None:
        """Send a walkthrough owned by the caller."""
        found = self.bot.library.resolve(lesson)
        start = found.table.steps[0] if step is None else check_step(found, step)
        await interaction.response.send_message(
            embed=trace_embed(found, start), view=trace_view(found, start, interaction.user.id)
        )


async def setup(bot: StudyBot) -> None:
    """Load /trace and register its persistent buttons."""
    bot.add_dynamic_items(TraceButton, StartTraceButton)
    await bot.add_cog(TraceCog(bot))
