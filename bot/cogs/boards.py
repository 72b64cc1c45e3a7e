"""/leaderboard and /stats: the server's quiz scores and one member's progress.

Both are indexed reads in the store. Names come from the store, where each
answer left its author's display name, so a board of ten costs no Discord API
call per row; mentions are disabled bot-wide, so a name like ``@everyone``
is shown, never pinged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.lessons import lesson_autocomplete
from bot.cogs.limits import build_embed, shorten
from bot.cogs.quiz import display_name, quiz_service, safe_name
from bot.errors import UserError, plural
from bot.lessons.library import LessonLibrary
from bot.store.records import LeaderboardEntry, UserStats

if TYPE_CHECKING:
    from bot.app import StudyBot

BOARD_COLOUR = discord.Colour.purple()
TOP = 10
PERIOD_NAMES = {"week": "this week (UTC, from Monday)", "all": "all time"}


def board_line(entry: LeaderboardEntry, you: int) -> str:
    """Return one leaderboard row, bold when it is the caller's."""
    line = f"**{entry.rank}.** {safe_name(entry.name)} — {entry.points} points"
    return f"{line} ← you" if entry.user_id == you else line


def leaderboard_embed(
    entries: list[LeaderboardEntry],
    own: LeaderboardEntry | None,
    you: int,
    scope: str,
    period: str,
) -> discord.Embed:
    """Return the top entries and, when outside them, the caller's own rank."""
    lines = [board_line(e, you) for e in entries]
    if not lines:
        lines.append("No scores yet. Finish a /quiz start or join a /quiz round to get on it.")
    if own is None:
        lines.append("\nYou are not on this board yet.")
    elif all(e.user_id != you for e in entries):
        lines.append(f"\n…\n{board_line(own, you)}")
    return build_embed(
        f"Leaderboard: {scope}, {PERIOD_NAMES.get(period, period)}",
        "\n".join(lines),
        footer="Only a lesson's first completed personal run counts; rounds always count.",
        colour=BOARD_COLOUR,
    )


def own_score_embed(own: LeaderboardEntry | None, scope: str, period: str) -> discord.Embed:
    """Return the caller's own score from quizzes taken in direct messages, and no one else's."""
    score = "no score yet" if own is None else f"**{own.points}** points"
    return build_embed(
        f"Your score: {scope}, {PERIOD_NAMES.get(period, period)}",
        f"From quizzes taken in direct messages: {score}.\n"
        "Boards are per server: run /leaderboard in a server to compare with its members.",
        colour=BOARD_COLOUR,
    )


def stats_embed(stats: UserStats, name: str, library: LessonLibrary) -> discord.Embed:
    """Return a member's progress: lessons done, accuracy, streaks, hardest questions."""
    if stats.answered:
        answers = (
            f"Answers: **{stats.correct} / {stats.answered}** right "
            f"(**{stats.accuracy:.0%}** accuracy) over {plural(stats.runs, 'finished run')}"
        )
    else:
        answers = "Answers: none in a finished quiz yet. Try /quiz start."
    summary = (
        f"Lessons done: **{stats.lessons_done}** (personal quizzes finished)\n{answers}\n"
        f"Streak: **{plural(stats.current_streak, 'day')}** now, best **{stats.best_streak}**"
    )
    hardest: list[str] = []
    for missed in stats.hardest:
        if missed.lesson_id in library:
            lesson = library.get(missed.lesson_id)
            prompt = (
                lesson.quiz[missed.question_index].prompt
                if missed.question_index < len(lesson.quiz)
                else "(question removed)"
            )
        else:
            prompt = "(lesson removed)"
        hardest.append(
            f"`{missed.lesson_id}` Q{missed.question_index + 1}: {shorten(prompt, 120)} "
            f"— missed {missed.misses} of {missed.attempts}"
        )
    fields = [("Hardest questions", "\n".join(hardest))] if hardest else []
    return build_embed(
        f"Progress: {safe_name(name)}",
        summary,
        fields=fields,
        footer=(
            "A streak counts the days in a row on which you finished a quiz or played a round. "
            "Reviews of missed questions are practice: they count for the streak only."
        ),
        colour=BOARD_COLOUR,
    )


class BoardsCog(commands.Cog):
    """The /leaderboard and /stats commands."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="leaderboard", description="The server's top ten quiz scores, plus your own rank"
    )
    @app_commands.describe(
        lesson="Only this lesson's scores (default: all lessons)",
        period="This week or all time (default: all time)",
    )
    @app_commands.autocomplete(lesson=lesson_autocomplete)
    async def leaderboard(
        self,
        interaction: discord.Interaction[Any],
        lesson: str | None = None,
        period: Literal["week", "all"] = "all",
    ) -> None:
        """Send the top ten and the caller's own rank."""
        service = quiz_service(self.bot)
        lesson_id = self.bot.library.resolve(lesson).id if lesson else None
        you = interaction.user.id
        own = await service.rank_of(interaction.guild_id, you, lesson_id, period)
        scope = f"`{lesson_id}`" if lesson_id else "all lessons"
        if interaction.guild_id is None:
            # Every direct-message quiz shares one board of strangers: show only yours.
            await interaction.response.send_message(embed=own_score_embed(own, scope, period))
            return
        entries = await service.leaderboard(interaction.guild_id, lesson_id, period, TOP)
        await interaction.response.send_message(
            embed=leaderboard_embed(entries, own, you, scope, period)
        )

    @app_commands.command(
        name="stats", description="Quiz progress: lessons done, accuracy, streaks, hardest"
    )
    @app_commands.describe(user="Whose progress to show (default: yours)")
    async def stats(
        self,
        interaction: discord.Interaction[Any],
        user: discord.Member | discord.User | None = None,
    ) -> None:
        """Send a member's progress."""
        service = quiz_service(self.bot)
        target = user or interaction.user
        if interaction.guild_id is None and target.id != interaction.user.id:
            # As /leaderboard there: DM quizzes share no server, so only your own.
            raise UserError("In direct messages you can see only your own progress.")
        if target.bot:
            raise UserError(f"{safe_name(display_name(target))} is a bot: bots take no quizzes.")
        stats = await service.stats(interaction.guild_id, target.id)
        name = stats.name or display_name(target)
        await interaction.response.send_message(embed=stats_embed(stats, name, self.bot.library))


async def setup(bot: StudyBot) -> None:
    """Load /leaderboard and /stats."""
    await bot.add_cog(BoardsCog(bot))
