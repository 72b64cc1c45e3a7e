"""/admin: reload the lessons, reset scores, export answers, see which options people choose.

Discord hides the group from members without Manage Server
(``default_permissions``), but server admins can change that per command in
the server settings, so every command also checks the caller's permission
when it runs. Replies are ephemeral: they are for the admin only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import secrets
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.errors import show_deferred
from bot.cogs.lessons import lesson_autocomplete
from bot.cogs.limits import (
    CONTENT,
    EMBED_TITLE,
    FOOTER,
    build_embed,
    field_pages,
    shorten,
    split_text,
)
from bot.cogs.quiz import quiz_service
from bot.cogs.views import RESET, GuardedView, session_id
from bot.errors import UserError, plural
from bot.lessons.library import LessonLibrary
from bot.lessons.loader import Problem
from bot.lessons.model import Lesson
from bot.store.records import QuestionStats

if TYPE_CHECKING:
    from bot.app import StudyBot

ADMIN_COLOUR = discord.Colour.dark_grey()
# Ephemeral followups for a reload's problems; beyond this the admin is sent to the CLI.
MAX_PROBLEM_MESSAGES = 5
PAGE = CONTENT - 100
# Discord's smallest upload limit; a larger export is sent gzip-compressed.
UPLOAD_LIMIT = 8 * 1024 * 1024


class ReloadError(UserError):
    """The content directory could not be read at all."""


def problem_pages(problems: list[Problem], directory: str, *, empty: bool = False) -> list[str]:
    """Return why a reload was refused, one file:field:reason per line, in message-sized pages."""
    if empty:
        head = f"No lessons found in `{directory}`; the old content is still served."
    else:
        head = (
            f"Reload refused: {plural(len(problems), 'problem')} in `{directory}`. "
            "The old content is still served. Fix these and run /admin reload again:"
        )
    # In code spans, so file names like bad_id.yaml are shown exactly, not as markdown.
    lines = [head, *(f"• `{str(p).replace('`', chr(0x2CB))}`" for p in problems)]
    pages = split_text("\n".join(lines), PAGE)
    if len(pages) > MAX_PROBLEM_MESSAGES:
        shown = pages[: MAX_PROBLEM_MESSAGES - 1]
        shown.append(
            f"…and more ({plural(len(pages) - len(shown), 'page')}). "
            "Run `studybot validate` on the server to see every problem."
        )
        return shown
    return pages


def stats_fields(lesson: Lesson, stats: list[QuestionStats]) -> list[tuple[str, str]]:
    """Return one field per question: how many chose each option, the right one marked."""
    by_index = {s.question_index: s for s in stats}
    fields: list[tuple[str, str]] = []
    for index, question in enumerate(lesson.quiz):
        counts = by_index.get(index, QuestionStats(index)).counts
        total = sum(counts.values())
        lines = []
        for choice in question.choices:
            chosen = counts.get(choice.letter, 0)
            share = f"{chosen / total:.0%}" if total else "–"
            mark = "✅" if choice.letter == question.answer else "▫️"
            lines.append(
                f"{mark} **{choice.letter}** {shorten(choice.text, 60)} — {chosen} ({share})"
            )
        # The count leads the value: a long prompt is cut at the field name's 256 characters.
        answers = f"*{total} answer{'' if total == 1 else 's'}*"
        fields.append((f"Q{index + 1}. {question.prompt}", "\n".join([answers, *lines])))
    return fields


class ConfirmReset(GuardedView):
    """Confirm / Cancel for /admin reset-scores; only the admin who asked may press them."""

    def __init__(
        self, bot: StudyBot, origin: discord.Interaction[Any], guild_id: int, timeout: float
    ) -> None:
        super().__init__(timeout=timeout)
        self.bot = bot
        self.origin = origin
        self.guild_id = guild_id
        nonce = secrets.token_hex(6)
        self.confirm.custom_id = session_id(bot.boot_id, RESET, nonce, "y")
        self.cancel.custom_id = session_id(bot.boot_id, RESET, nonce, "n")
        self.outcome: str | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Let only the admin who ran the command press the buttons, and only once.

        Two quick presses (Cancel, then Reset) are both dispatched before the
        first one takes the buttons away; the second must not undo the first.
        """
        if interaction.user.id != self.origin.user.id:
            message = "Only the admin who ran /admin reset-scores can answer this."
        elif self.outcome is not None:
            message = f"This was already answered ({self.outcome}); nothing more was done."
        else:
            return True
        await interaction.response.send_message(message, ephemeral=True)
        return False

    @discord.ui.button(label="Reset all scores", style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        """Reset the guild's scores, then say so."""
        self.outcome = "reset"
        try:
            await interaction.response.defer()
            try:
                await quiz_service(self.bot).reset_scores(self.guild_id)
            except Exception:
                # The buttons would stay up behind a stopped View and fail if pressed.
                with contextlib.suppress(discord.HTTPException):
                    await interaction.edit_original_response(
                        content="⚠️ The reset could not be confirmed. Check /leaderboard, "
                        "and run /admin reset-scores again if the scores are still there.",
                        view=None,
                    )
                raise
            await interaction.edit_original_response(
                content="✅ Scores reset. Every lesson's next completed run counts again.",
                view=None,
            )
        finally:
            # Stopped only once the buttons are gone: a press before that still
            # reaches this view, whose check tells it the question was answered.
            self.stop()

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        """Leave the scores alone."""
        self.outcome = "cancelled"
        try:
            await interaction.response.edit_message(
                content="Cancelled: nothing was reset.", view=None
            )
        finally:
            self.stop()  # after the buttons are gone, as in confirm

    async def on_timeout(self) -> None:
        """Take the buttons away once nobody answered in time."""
        self.outcome = "timed out"
        # If the interaction token expired, the buttons stay but do nothing.
        with contextlib.suppress(discord.HTTPException):
            await self.origin.edit_original_response(
                content="No answer in time: nothing was reset.", view=None
            )


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class AdminCog(
    commands.GroupCog,
    group_name="admin",
    group_description="Server admin: reload lessons, reset scores, export answers",
):
    """The /admin commands, for members with Manage Server."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        self.confirm_timeout = 60.0
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Refuse anyone without Manage Server, whatever the server's command settings say."""
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @app_commands.command(
        name="reload", description="Reload the lessons from disk; keeps the old ones on any error"
    )
    async def reload(self, interaction: discord.Interaction[Any]) -> None:
        """Load the content again in a thread; swap it in only if every file is valid."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        directory = self.bot.settings.content_dir
        try:
            library, problems = await asyncio.to_thread(LessonLibrary.from_directory, directory)
        except (OSError, ValueError) as exc:
            raise ReloadError(
                f"Could not read `{directory}` ({exc}); the old content is still served."
            ) from exc
        if problems or len(library) == 0:
            pages = problem_pages(list(problems), str(directory), empty=not problems)
            await show_deferred(interaction, content=pages[0])
            for page in pages[1:]:
                await interaction.followup.send(page, ephemeral=True)
            return
        before = len(self.bot.library)
        self.bot.content.replace(library, problems)
        await show_deferred(
            interaction, content=f"✅ Reloaded {plural(len(library), 'lesson')} (was {before})."
        )

    @app_commands.command(
        name="reset-scores", description="Clear this server's leaderboards (asks to confirm)"
    )
    async def reset_scores(self, interaction: discord.Interaction[Any]) -> None:
        """Ask for confirmation; the view does the reset."""
        assert interaction.guild_id is not None  # guild_only
        quiz_service(self.bot)
        view = ConfirmReset(self.bot, interaction, interaction.guild_id, self.confirm_timeout)
        await interaction.response.send_message(
            "⚠️ Reset every leaderboard in this server? Answers stay recorded, "
            "but all scores start from zero. This cannot be undone.",
            view=view,
            ephemeral=True,
        )

    @app_commands.command(name="export", description="Download this server's quiz answers as CSV")
    async def export(self, interaction: discord.Interaction[Any]) -> None:
        """Send every answer given in the guild as a CSV attachment."""
        assert interaction.guild_id is not None  # guild_only
        service = quiz_service(self.bot)
        await interaction.response.defer(ephemeral=True, thinking=True)
        export = await service.export_answers_csv(interaction.guild_id)
        data = export.csv.encode("utf-8")
        filename = f"studybot-answers-{interaction.guild_id}.csv"
        if len(data) > UPLOAD_LIMIT:
            data = await asyncio.to_thread(gzip.compress, data)
            filename += ".gz"
        await show_deferred(
            interaction,
            content=f"📄 {plural(export.answers, 'answer')} from this server.",
            attachments=[discord.File(io.BytesIO(data), filename=filename)],
        )

    @app_commands.command(
        name="question-stats", description="How often each option of a lesson's quiz is chosen"
    )
    @app_commands.describe(lesson="The lesson whose quiz to look at (start typing)")
    @app_commands.autocomplete(lesson=lesson_autocomplete)
    async def question_stats(self, interaction: discord.Interaction[Any], lesson: str) -> None:
        """Send the per-option counts of each question: the wrong answers people give."""
        assert interaction.guild_id is not None  # guild_only
        service = quiz_service(self.bot)
        found = self.bot.library.resolve(lesson)
        await interaction.response.defer(ephemeral=True, thinking=True)  # a read comes first
        stats = await service.question_stats(interaction.guild_id, found.id)
        title = shorten(f"Question stats: {found.title}", EMBED_TITLE - 12)  # room for " (1/2)"
        intro = "How often each option was chosen in this server (✅ marks the right one)."
        footer = shorten(found.id, FOOTER - 20)
        # Every question is shown: a long quiz takes more than one embed, each its own message.
        reserved = len(title) + 12 + len(intro) + len(footer) + 20
        pages = field_pages(stats_fields(found, stats), reserved=reserved)
        embeds = [
            build_embed(
                title if len(pages) == 1 else f"{title} ({number}/{len(pages)})",
                intro if number == 1 else "",
                fields=page,
                footer=footer,
                colour=ADMIN_COLOUR,
            )
            for number, page in enumerate(pages, start=1)
        ]
        await show_deferred(interaction, embed=embeds[0])
        for embed in embeds[1:]:
            await interaction.followup.send(embed=embed, ephemeral=True)


async def setup(bot: StudyBot) -> None:
    """Load /admin."""
    await bot.add_cog(AdminCog(bot))
