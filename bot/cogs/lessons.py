"""/lesson list and /lesson show: lessons on Discord, with a mode menu and page buttons.

The text comes from the core's renderers; this cog only puts it into embeds
that fit Discord's limits and attaches the persistent items that switch the
mode or the page in place.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.demo import demo_buttons
from bot.cogs.limits import CHOICE_NAME, CHOICES, DESCRIPTION_PAGE, build_embed, shorten, split_text
from bot.cogs.views import (
    LESSON_ID_PATTERN,
    GuardedItem,
    custom_id,
    label_button,
    persistent_view,
    study_bot,
)
from bot.errors import plural
from bot.lessons.model import MODES, Lesson
from bot.lessons.render import PHONE_WIDTH, render, render_lesson_list

if TYPE_CHECKING:
    from bot.app import StudyBot

MODE_BLURBS: dict[str, str] = {
    "overview": "What the lesson covers",
    "flow": "The concept flow, step by step",
    "code": "The code samples",
    "table": "The execution table",
    "tracker": "The variable tracker",
    "moments": "Key moments: questions learners ask",
    "snapshot": "The lesson in five lines",
    "transcript": "The full transcript",
}
MODE_PATTERN = r"[a-z_]{1,16}"
LESSON_COLOUR = discord.Colour.blurple()


def fit_pages(pages: list[str], limit: int = DESCRIPTION_PAGE) -> list[str]:
    """Return ``pages`` with any page over ``limit`` split again, so each fits an embed."""
    fitted: list[str] = []
    for page in pages:
        fitted.extend(split_text(page, limit) if len(page) > limit else [page])
    return fitted or [""]


def lesson_pages(lesson: Lesson, mode: str) -> list[str]:
    """Return the pages of ``lesson`` in ``mode``, each short enough for an embed.

    Tables fit a phone's width, and the ``## title`` line is left out: the
    embed's own title already names the lesson and the mode.
    """
    return fit_pages(render(lesson, mode, limit=DESCRIPTION_PAGE, width=PHONE_WIDTH, heading=False))


def page_buttons(
    page: int, total: int, kind: str, *parts: object, row: int = 1
) -> list[discord.ui.Item[Any]]:
    """Return ◀ page n/N ▶ for a message of ``total`` pages; no buttons for one page."""
    if total <= 1:
        return []
    return [
        PageButton.make(kind, parts, page - 1, "p", disabled=page <= 1, row=row),
        label_button(f"{page}/{total}", kind, *parts, page, row=row),
        PageButton.make(kind, parts, page + 1, "n", disabled=page >= total, row=row),
    ]


def lesson_message(
    lesson: Lesson, mode: str, page: int = 1
) -> tuple[discord.Embed, discord.ui.View]:
    """Return the embed and persistent view that show ``lesson`` in ``mode`` at ``page``."""
    pages = lesson_pages(lesson, mode)
    page = min(max(page, 1), len(pages))
    footer = f"{lesson.id} · {mode}"
    if len(pages) > 1:
        footer += f" · page {page}/{len(pages)}"
    embed = build_embed(
        f"{lesson.title} — {mode}", pages[page - 1], footer=footer, colour=LESSON_COLOUR
    )
    view = persistent_view(
        ModeSelect(lesson.id, mode),
        *page_buttons(page, len(pages), "pg", lesson.id, mode),
        *demo_buttons(lesson.demos, row=2),
    )
    return embed, view


def list_message(lessons: list[Lesson], page: int = 1) -> tuple[discord.Embed, discord.ui.View]:
    """Return the embed and view listing ``lessons`` at ``page``."""
    if not lessons:
        embed = build_embed("Lessons", "No lessons are loaded right now.", colour=LESSON_COLOUR)
        return embed, persistent_view()
    pages = fit_pages(render_lesson_list(lessons, limit=DESCRIPTION_PAGE, heading=False))
    page = min(max(page, 1), len(pages))
    footer = f"{plural(len(lessons), 'lesson')} · /lesson show to open one"
    if len(pages) > 1:
        footer += f" · page {page}/{len(pages)}"
    embed = build_embed("Lessons", pages[page - 1], footer=footer, colour=LESSON_COLOUR)
    return embed, persistent_view(*page_buttons(page, len(pages), "ls", row=0))


async def show_in_place_or_privately(
    interaction: discord.Interaction[Any], embed: discord.Embed, view: discord.ui.View
) -> None:
    """Show the new mode or page in place for whoever asked for the message; to others, privately.

    A lesson posted in a busy channel is being read by everyone: if anyone's
    menu choice or page turn changed it, it would change under the others'
    eyes. The person who ran the command steers it; anyone else gets their own
    ephemeral copy, which they can then steer.
    """
    message = interaction.message
    asker = None if message is None else message.interaction_metadata
    if (
        message is not None
        and not message.flags.ephemeral
        and asker is not None
        and asker.user.id != interaction.user.id
    ):
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
    else:
        await interaction.response.edit_message(embed=embed, view=view)


class ModeSelect(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=rf"sb:mode:(?P<lesson>{LESSON_ID_PATTERN})",
):
    """The menu under a lesson that switches its mode in place."""

    def __init__(self, lesson_id: str, mode: str) -> None:
        options = [
            discord.SelectOption(
                label=name, value=name, description=MODE_BLURBS.get(name), default=name == mode
            )
            for name in MODES
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=custom_id("mode", lesson_id),
                placeholder="Show another part of this lesson",
                options=options,
                row=0,
            )
        )
        self.lesson_id = lesson_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ModeSelect:
        """Rebuild the menu from its custom id (the chosen mode arrives with the click)."""
        return cls(match["lesson"], MODES[0])

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        """Show the chosen mode in the same message."""
        mode = self.item.values[0] if self.item.values else MODES[0]
        lesson = study_bot(interaction).library.get(self.lesson_id)
        embed, view = lesson_message(lesson, mode if mode in MODES else MODES[0])
        await show_in_place_or_privately(interaction, embed, view)


class PageButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=(
        rf"sb:(?P<kind>pg|ls):(?:(?P<lesson>{LESSON_ID_PATTERN}):(?P<mode>{MODE_PATTERN}):)?"
        r"(?P<page>\d{1,4}):(?P<dir>[pn])"
    ),
):
    """◀ or ▶ under a paginated lesson or lesson list (others turn a private copy's page)."""

    def __init__(
        self, kind: str, parts: tuple[object, ...], page: int, direction: str, **button: Any
    ) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="◀" if direction == "p" else "▶",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id(kind, *parts, page, direction),
                **button,
            )
        )
        self.kind = kind
        self.parts = parts
        self.page = page

    @classmethod
    def make(
        cls, kind: str, parts: tuple[object, ...], page: int, direction: str, **button: Any
    ) -> PageButton:
        """Return a page button for ``kind`` ('pg' lesson, 'ls' list) going to ``page``."""
        return cls(kind, parts, max(page, 0), direction, **button)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PageButton:
        """Rebuild the button from its custom id."""
        parts: tuple[object, ...] = ()
        if match["lesson"] is not None:
            parts = (match["lesson"], match["mode"])
        return cls(match["kind"], parts, int(match["page"]), match["dir"])

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        """Show the page in the same message."""
        library = study_bot(interaction).library
        if self.kind == "ls":
            embed, view = list_message(library.all(), self.page)
        else:
            lesson_id, mode = str(self.parts[0]), str(self.parts[1])
            lesson = library.get(lesson_id)
            embed, view = lesson_message(lesson, mode if mode in MODES else MODES[0], self.page)
        await show_in_place_or_privately(interaction, embed, view)


async def lesson_autocomplete(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Suggest lessons whose id or title matches what the user typed so far."""
    lessons = study_bot(interaction).library.search(current[:100], limit=CHOICES)
    # The id is what /lesson show … takes: the title is cut to leave it in view.
    return [
        app_commands.Choice(
            name=f"{shorten(lesson.title, max(1, CHOICE_NAME - len(lesson.id) - 3))} ({lesson.id})",
            value=lesson.id,
        )
        for lesson in lessons
    ]


class LessonsCog(commands.GroupCog, group_name="lesson", group_description="Browse the lessons"):
    """Slash commands that show lessons."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(
        name="list", description="List the lessons with id, title, language and tags"
    )
    async def list_lessons(self, interaction: discord.Interaction[Any]) -> None:
        """Send the list of lessons."""
        embed, view = list_message(self.bot.library.all())
        await interaction.response.send_message(embed=embed, view=view)

    @app_commands.command(
        name="show", description="Show one lesson; a menu below switches the part shown"
    )
    @app_commands.describe(
        lesson="The lesson to show (start typing its id or title)",
        mode="Which part to show first (default: overview)",
    )
    @app_commands.choices(
        mode=[
            app_commands.Choice(name=f"{m} — {MODE_BLURBS.get(m, m)}"[:100], value=m) for m in MODES
        ]
    )
    @app_commands.autocomplete(lesson=lesson_autocomplete)
    async def show(
        self, interaction: discord.Interaction[Any], lesson: str, mode: str = MODES[0]
    ) -> None:
        """Send one lesson in the chosen mode."""
        found = self.bot.library.resolve(lesson)
        embed, view = lesson_message(found, mode if mode in MODES else MODES[0])
        await interaction.response.send_message(embed=embed, view=view)


async def setup(bot: StudyBot) -> None:
    """Load the lesson commands and register their persistent items."""
    bot.add_dynamic_items(ModeSelect, PageButton)
    await bot.add_cog(LessonsCog(bot))
