"""/quiz round on Discord: timed channel rounds, their countdown, results and recovery.

The quiz service decides who may answer, when a question is closed and the
points; ``bot.quiz.round_runner.RoundRunner`` runs the schedule (ask, count
down, close, reveal, pause, standings). This cog shows it (``ChannelScreen``:
each question a channel message whose countdown is edited every few seconds,
as Discord rate-limits edits), acknowledges each press at once and confirms
it only after the service says the answer is committed. Messages go through the channel, not
the interaction's webhook, because a round outlives the 15 minutes an
interaction token is valid and because a restarted bot must be able to close
the last question's message. Rounds left open by a crash or restart are
closed on the next start: their buttons are disabled and their result posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.cogs.limits import FIELD_VALUE, build_embed, shorten
from bot.cogs.quiz import display_name, quiz_service, safe_name
from bot.cogs.trace import trace_link_button
from bot.cogs.views import GuardedItem, consume, custom_id, persistent_view, study_bot
from bot.errors import UserError, plural
from bot.lessons.model import Lesson, QuizQuestion
from bot.quiz.results import OpenQuestion, QuestionResult, RoundStandings
from bot.quiz.round_runner import RoundRunner
from bot.quiz.rounds import ChannelRound
from bot.quiz.service import QuizService

if TYPE_CHECKING:
    from bot.app import StudyBot

log = logging.getLogger("studybot.rounds")

ROUND_COLOUR = discord.Colour.orange()
STANDINGS_SHOWN = 20
INTERRUPTED = "⏹ This round was interrupted by a restart and has been closed."
STOPPED = "⏹ This round ended early because the bot is stopping."
SAVED_LATE = "⏹ The last round here could not save its results when it ended; here they are."


class NotQuizMasterError(UserError):
    """Someone without Manage Server or the quiz-master role tried to start a round."""

    def __init__(self, role: str | None) -> None:
        extra = f" or the `{role}` role" if role else ""
        super().__init__(
            f"Only members with the Manage Server permission{extra} can start a round."
        )


class GuildOnlyError(UserError):
    """A round was asked for outside a server."""

    def __init__(self) -> None:
        super().__init__("Quiz rounds run in a server channel, not in direct messages.")


class CannotPostError(UserError):
    """The bot may not post the round's questions in this channel."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"I can't run a round here: in this channel I am missing {', '.join(missing)}. "
            f"Give me {'that permission' if len(missing) == 1 else 'those permissions'} here, "
            "or start the round in another channel."
        )


def missing_for_rounds(interaction: discord.Interaction[Any]) -> list[str]:
    """Return the permissions the bot lacks in this channel to post a round's questions.

    The interaction's reply is a webhook and always works, but each question
    is a channel message with an embed: without checking first, the round would
    be announced and then fail at its first question, with no word to anyone.
    """
    have = interaction.app_permissions
    in_thread = isinstance(interaction.channel, discord.Thread)
    needed = {
        "View Channel": have.view_channel,
        "Send Messages in Threads" if in_thread else "Send Messages": (
            have.send_messages_in_threads if in_thread else have.send_messages
        ),
        "Embed Links": have.embed_links,
    }
    return [name for name, granted in needed.items() if not granted]


def may_run_rounds(interaction: discord.Interaction[Any], role: str | None) -> bool:
    """Return whether the caller has Manage Server or the quiz-master role (name or id)."""
    if interaction.permissions.manage_guild:
        return True
    user = interaction.user
    if not role or not isinstance(user, discord.Member):
        return False
    wanted = role.strip().lower()
    return any(str(r.id) == wanted or r.name.lower() == wanted for r in user.roles)


def answer_text(question: QuizQuestion, spoiler: bool) -> str:
    """Return the correct answer, spoiler-tagged when the guild prefers."""
    correct = question.correct
    text = f"**{correct.letter}. {discord.utils.escape_markdown(correct.text)}**"
    return f"||{text}||" if spoiler else text


def question_embed(lesson: Lesson, opened: OpenQuestion, remaining: float) -> discord.Embed:
    """Return a round question with its countdown."""
    question = lesson.quiz[opened.question_index]
    choices = "\n".join(f"**{c.letter}.** {c.text}" for c in question.choices)
    closes = int(time.time() + max(0.0, remaining))
    left = max(0, round(remaining))
    text = (
        f"**{question.prompt}**\n\n{choices}\n\n"
        f"⏳ Closes <t:{closes}:R> (about {left} s left). "
        "Everyone answers once; a faster right answer scores more."
    )
    return build_embed(
        f"Round: {lesson.title} — question {opened.number} of {opened.total}",
        text,
        footer=f"{lesson.id} · {opened.seconds} s per question",
        colour=ROUND_COLOUR,
    )


def result_embed(
    lesson: Lesson, opened: OpenQuestion, result: QuestionResult, spoiler: bool
) -> discord.Embed:
    """Return a closed question: the answer, how many chose each option, the fastest."""
    question = lesson.quiz[result.question_index]
    answer = question.correct.letter
    counts = "\n".join(
        f"{letter}: {count}{' ✅' if letter == answer else ''}"
        for letter, count in result.counts.items()
    )
    if result.fastest is not None:
        fastest = f"{safe_name(result.fastest.name)} in {result.fastest.answer_ms / 1000:.1f} s"
    else:
        fastest = "Nobody answered right."
    explanation = question.explanation or "—"
    fields = [
        ("Answer", answer_text(question, spoiler)),
        (f"Answers ({result.total})", counts or "No answers."),
        ("⚡ Fastest right answer", fastest),
        ("Why", explanation if len(explanation) <= FIELD_VALUE else shorten(explanation, 1000)),
    ]
    return build_embed(
        f"Round: {lesson.title} — question {opened.number} of {opened.total} (closed)",
        f"**{question.prompt}**",
        fields=fields,
        footer=f"{lesson.id} · closed",
        colour=ROUND_COLOUR,
    )


def standings_embed(
    standings: RoundStandings, title: str, note: str | None = None
) -> discord.Embed:
    """Return the round's final standings, best first."""
    lines = [
        f"**{s.rank}.** {safe_name(s.name)} — {s.points} points "
        f"({s.correct}/{max(standings.asked, s.answered)} right)"
        for s in standings.standings[:STANDINGS_SHOWN]
    ]
    hidden = len(standings.standings) - STANDINGS_SHOWN
    if hidden > 0:
        lines.append(f"…and {hidden} more.")
    if not lines:
        lines.append("Nobody answered.")
    if note:
        lines.insert(0, note + "\n")
    return build_embed(
        f"Round standings: {title}",
        "\n".join(lines),
        footer=f"{standings.lesson_id} · /leaderboard for the server's board",
        colour=ROUND_COLOUR,
    )


def round_view(
    lesson: Lesson, run_id: int, position: int, question_index: int, *, closed: bool = False
) -> discord.ui.View:
    """Return the question's choice buttons (disabled once closed; then a trace link too)."""
    question = lesson.quiz[question_index]
    items: list[discord.ui.Item[Any]] = [
        RoundButton(run_id, position, c.letter, disabled=closed, row=n // 5)
        for n, c in enumerate(question.choices)
    ]
    if closed and question.steps:
        step = question.steps[0]
        link = trace_link_button(lesson.id, step, label=f"See step {step} in the trace")
        link.row = 2
        items.append(link)
    return persistent_view(*items)


def disabled_copy(message: discord.Message) -> discord.ui.View:
    """Return the message's buttons, all disabled (for a message of a previous run)."""
    view = discord.ui.View.from_message(message, timeout=None)
    for item in view.children:
        if isinstance(item, discord.ui.Button):
            item.disabled = True
    return view


class RoundButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:rd:(?P<run>\d{1,20}):(?P<pos>\d{1,4}):(?P<letter>[A-Z])",
):
    """A choice of a round question; anyone may press it once while it is open."""

    def __init__(
        self,
        run_id: int,
        position: int,
        letter: str,
        *,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=letter,
                style=discord.ButtonStyle.primary,
                custom_id=custom_id("rd", run_id, position, letter),
                disabled=disabled,
                row=row,
            )
        )
        self.run_id = run_id
        self.position = position
        self.letter = letter

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> RoundButton:
        """Rebuild the button from its custom id."""
        return cls(int(match["run"]), int(match["pos"]), match["letter"])

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        """Acknowledge at once; confirm the answer only once the service has committed it."""
        service = quiz_service(study_bot(interaction))
        user = interaction.user
        # Started before the acknowledgement goes out, so the answer's time is
        # the press, not the press plus a round trip to Discord.
        pending = asyncio.ensure_future(
            service.answer_round(
                self.run_id, user.id, display_name(user), self.letter, self.position
            )
        )
        try:
            await interaction.response.defer()
        except BaseException:
            pending.add_done_callback(consume)
            raise
        receipt = await pending  # a refused answer raises here, for the error handler
        await interaction.followup.send(
            f"Recorded: **{receipt.choice}**. The answer is shown when the question closes.",
            ephemeral=True,
        )


class ChannelScreen:
    """Shows a round in its channel: one message per question, edited in place.

    Messages go through the channel, not the interaction's webhook: a round
    outlives the 15 minutes an interaction token is valid. Posting a question
    may fail (the round then ends); an edit that fails is logged and the round
    goes on.
    """

    def __init__(
        self, game: ChannelRound, channel: discord.PartialMessageable, spoiler: bool
    ) -> None:
        self.game = game
        self.channel = channel
        self.spoiler = spoiler
        self.message: discord.Message | None = None
        """The open question's message, if any."""

    async def ask(self, opened: OpenQuestion) -> int | None:
        """Post the question with its answer buttons."""
        game = self.game
        self.message = await self.channel.send(
            embed=question_embed(game.lesson, opened, opened.seconds),
            view=round_view(game.lesson, game.run_id, opened.position, opened.question_index),
        )
        return self.message.id

    async def tick(self, opened: OpenQuestion, remaining: float) -> None:
        """Edit the countdown into the question's message."""
        if self.message is not None:
            await self._edit(
                self.message, embed=question_embed(self.game.lesson, opened, remaining)
            )

    async def reveal(
        self, opened: OpenQuestion, result: QuestionResult, note: str | None = None
    ) -> None:
        """Edit the question into its result, buttons off (the note on top if it closed early)."""
        game = self.game
        if self.message is not None:
            await self._edit(
                self.message,
                content=note,
                embed=result_embed(game.lesson, opened, result, self.spoiler),
                view=self._closed_view(opened),
            )
        self.message = None

    async def interrupt(self, opened: OpenQuestion, note: str) -> None:
        """Take the open question's buttons off, with the reason on top."""
        if self.message is not None:
            await self._edit(self.message, content=note, view=self._closed_view(opened))

    async def standings(self, standings: RoundStandings, note: str | None) -> None:
        """Post the standings."""
        await self.channel.send(embed=standings_embed(standings, self.game.lesson.title, note=note))

    async def notice(self, note: str) -> None:
        """Post a note about the round in its channel."""
        await self.channel.send(content=note)

    def _closed_view(self, opened: OpenQuestion) -> discord.ui.View:
        game = self.game
        return round_view(
            game.lesson, game.run_id, opened.position, opened.question_index, closed=True
        )

    async def _edit(self, message: discord.Message, **changes: Any) -> None:
        try:
            await message.edit(**changes)
        except discord.HTTPException as exc:
            log.warning("Could not edit round message %s: %s %s", message.id, exc.status, exc)


@dataclass(eq=False, slots=True)
class RunningRound:
    """A round this process is running: its schedule, and the task running it."""

    runner: RoundRunner
    task: asyncio.Task[None] | None = None


class RoundsCog(commands.Cog):
    """Run timed rounds for /quiz round and close the ones a restart left open."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        # Seconds between countdown edits, and the pause between questions (RoundRunner).
        self.tick_seconds = 5.0
        self.pause_seconds = 3.0
        self.running: dict[int, RunningRound] = {}
        self.recovery: asyncio.Task[list[RoundStandings]] | None = None

    @property
    def service(self) -> QuizService:
        """Return the quiz service."""
        return quiz_service(self.bot)

    # --- starting ---------------------------------------------------------------------

    async def start_round(
        self, interaction: discord.Interaction[Any], lesson: Lesson, seconds: int
    ) -> None:
        """Check the caller may, announce the round, and run it in the background."""
        channel_id = interaction.channel_id
        if interaction.guild_id is None or channel_id is None:
            raise GuildOnlyError()
        role = self.bot.settings.quiz_master_role
        if not may_run_rounds(interaction, role):
            raise NotQuizMasterError(role)
        missing = missing_for_rounds(interaction)
        if missing:
            raise CannotPostError(missing)
        service = self.service
        # The channel is reserved before the reply (no await): of two /quiz round at
        # once, the loser is told privately by the error handler, not by editing a
        # public announcement into an error. The round is written after the reply.
        starting = service.begin_round(
            interaction.guild_id,
            channel_id,
            interaction.user.id,
            display_name(interaction.user),
            lesson,
            seconds,
        )
        try:
            await interaction.response.send_message(
                f"🏁 **Quiz round: {lesson.title}** — {plural(len(lesson.quiz), 'question')}, "
                f"{seconds} s each, started by {safe_name(display_name(interaction.user))}. "
                "Press a letter to answer; each person answers once per question."
            )
        except BaseException:
            # Nobody saw it announced: record and end it at once, so the channel is free.
            with contextlib.suppress(Exception):
                abandoned = await starting
                await service.finish_round(abandoned.run_id)
            raise
        try:
            game = await starting
        except Exception:
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(
                    content="⚠️ This round could not be started: the quiz database did not "
                    "answer. Try /quiz round again."
                )
            raise
        for earlier in game.closed_before:
            await self.show_closed(earlier, SAVED_LATE)
        channel = self.bot.get_partial_messageable(channel_id, guild_id=interaction.guild_id)
        screen = ChannelScreen(game, channel, self.bot.settings.spoiler_answers)
        runner = RoundRunner(
            service,
            game,
            screen,
            tick_seconds=self.tick_seconds,
            pause_seconds=self.pause_seconds,
        )
        running = RunningRound(runner)
        self.running[game.run_id] = running
        running.task = asyncio.create_task(self.run(running), name=f"round-{game.run_id}")

    def close_question_now(self, run_id: int) -> None:
        """Close the round's open question before its time is up (tests, future skip)."""
        running = self.running.get(run_id)
        if running is not None:
            running.runner.close_question_now()

    # --- running ----------------------------------------------------------------------

    async def run(self, running: RunningRound) -> None:
        """Run the round's schedule; a round that fails is closed with a note, never left open."""
        runner = running.runner
        try:
            await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Round %s failed; closing it", runner.game.run_id)
            with contextlib.suppress(Exception):
                await runner.end_early("⚠️ This round hit an error and was closed.")
        finally:
            self.running.pop(runner.game.run_id, None)

    async def cog_unload(self) -> None:
        """End running rounds with a clear message (the bot is stopping or reloading)."""
        for running in list(self.running.values()):
            if running.task is not None:
                running.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await running.task
            try:
                await asyncio.wait_for(running.runner.end_early(STOPPED), timeout=5)
            except Exception:
                log.exception("Could not end round %s cleanly", running.runner.game.run_id)
        self.running.clear()
        if self.recovery is not None and not self.recovery.done():
            self.recovery.cancel()

    # --- recovery ---------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Close the rounds a previous process left open, once per start."""
        if self.recovery is None and self.bot.services.quiz is not None:
            self.recovery = asyncio.create_task(self.recover(), name="round-recovery")

    async def recover(self) -> list[RoundStandings]:
        """Close every unfinished round: disable its last message, post its result."""
        try:
            leftovers = await self.service.recover_unfinished_rounds()
        except Exception:
            log.exception("Could not recover unfinished rounds")
            return []
        for standings in leftovers:
            await self.show_closed(standings, INTERRUPTED)
            log.info("Closed round %s left open by a restart", standings.run_id)
        return leftovers

    async def show_closed(self, standings: RoundStandings, note: str) -> None:
        """Take the buttons off a round closed from its stored answers, and post its result."""
        channel = self.bot.get_partial_messageable(
            standings.channel_id, guild_id=standings.guild_id
        )
        library = self.bot.library
        lesson = library.get(standings.lesson_id) if standings.lesson_id in library else None
        if standings.message_id is not None:
            try:
                message = await channel.fetch_message(standings.message_id)
                # The open question's countdown becomes its result: the players were
                # scored on it, so the channel sees its answer (as after a normal close).
                edit: dict[str, Any] = {}
                closed = standings.interrupted
                if closed is not None and lesson is not None:
                    shown = OpenQuestion(
                        closed.run_id,
                        closed.position,
                        closed.position + 1,
                        standings.total,
                        closed.question_index,
                        0,
                        0.0,
                    )
                    spoiler = self.bot.settings.spoiler_answers
                    edit["embed"] = result_embed(lesson, shown, closed, spoiler)
                await message.edit(content=note, view=disabled_copy(message), **edit)
            except discord.HTTPException as exc:
                log.warning(
                    "Could not close round %s's message: %s %s", standings.run_id, exc.status, exc
                )
        title = lesson.title if lesson is not None else standings.lesson_id
        try:
            await channel.send(embed=standings_embed(standings, title, note=note))
        except discord.HTTPException as exc:
            log.warning(
                "Could not post round %s's result: %s %s", standings.run_id, exc.status, exc
            )


async def setup(bot: StudyBot) -> None:
    """Load the round runner and register the round buttons."""
    bot.add_dynamic_items(RoundButton)
    await bot.add_cog(RoundsCog(bot))
