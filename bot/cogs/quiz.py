"""/quiz start: a personal quiz on Discord, one question at a time, edited in place.

The quiz service keeps the run (question, hints, score) and commits every
answer; this cog renders the run as embeds and buttons. Every button carries
its run, the question's position and its action in the custom id
(``sb:qz:<run>:<pos>:<action>``), so a click after a restart reaches the
service, which says the quiz has ended instead of Discord showing
"interaction failed". ``/quiz round`` lives in this command group too; the
rounds cog runs it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any, Protocol, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.errors import show_deferred
from bot.cogs.lessons import lesson_autocomplete
from bot.cogs.limits import DESCRIPTION_PAGE, EMBED_TOTAL, build_embed, shorten
from bot.cogs.trace import trace_link_button
from bot.cogs.views import GuardedItem, consume, custom_id, persistent_view, study_bot
from bot.errors import UserError
from bot.lessons.model import Lesson
from bot.quiz.personal import PersonalQuiz
from bot.quiz.results import AnswerResult, QuizSummary
from bot.quiz.service import ROUND_SECONDS_MAX, ROUND_SECONDS_MIN, QuizService

if TYPE_CHECKING:
    from bot.app import StudyBot

log = logging.getLogger("studybot.quiz")

QUIZ_COLOUR = discord.Colour.gold()
RIGHT_COLOUR = discord.Colour.green()
WRONG_COLOUR = discord.Colour.red()
ROUNDS_COG = "RoundsCog"
# Discord lays out at most 5 buttons per row; choices take rows 0-1, tools row 2.
ROW_WIDTH = 5
TOOLS_ROW = 2
ANSWER, HINT, RETRY, REVIEW = "a", "h", "r", "m"


class QuizUnavailableError(UserError):
    """The quiz service is not wired into this bot."""

    def __init__(self) -> None:
        super().__init__("Quizzes are not available on this bot right now.")


class RoundHost(Protocol):
    """What /quiz round needs from the rounds cog (bot.cogs.rounds.RoundsCog)."""

    async def start_round(
        self, interaction: discord.Interaction[Any], lesson: Lesson, seconds: int
    ) -> None:
        """Start a timed round of ``lesson`` in the interaction's channel."""


def quiz_service(bot: StudyBot) -> QuizService:
    """Return the bot's quiz service; raise a friendly error when it is not wired."""
    service = bot.services.quiz
    if service is None:
        raise QuizUnavailableError()
    return service


def display_name(user: discord.abc.User) -> str:
    """Return the name stored for ``user``: their account-wide name, at most 80 characters.

    Not a server nickname: the store keeps one name per user, shown on every
    server's board, so a nickname from one server would leak onto the others.
    """
    return (user.global_name or user.name)[:80]


BIDI_CONTROLS = dict.fromkeys(
    (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
)
"""Direction overrides and isolates: in a name they would reorder the rest of its line
(a board line's points included)."""


def safe_name(name: str) -> str:
    """Return a stored display name fit to show: markdown escaped, no direction controls."""
    return discord.utils.escape_markdown(name.translate(BIDI_CONTROLS))


def choice_lines(lesson: Lesson, index: int) -> str:
    """Return the question's choices, one '**A.** text' per line."""
    question = lesson.quiz[index]
    return "\n".join(f"**{c.letter}.** {c.text}" for c in question.choices)


def run_label(quiz: PersonalQuiz) -> str:
    """Return what kind of run this is, for the footer."""
    if quiz.kind == "review":
        return "review of missed questions (practice)"
    return "practice run" if quiz.practice else "counts for the leaderboard"


def question_embed(quiz: PersonalQuiz) -> discord.Embed:
    """Return the embed asking the run's current question."""
    question = quiz.question
    index = quiz.question_index
    assert question is not None and index is not None
    text = f"**{question.prompt}**\n\n{choice_lines(quiz.lesson, index)}"
    fields: list[tuple[str, str]] = []
    if quiz.hint_used:
        fields.append(("💡 Hint (a right answer now scores half)", question.hint or "No hint."))
    return build_embed(
        f"Quiz: {quiz.lesson.title}",
        text,
        fields=fields,
        footer=f"{quiz.lesson.id} · question {quiz.number} of {quiz.total} · {run_label(quiz)}",
        colour=QUIZ_COLOUR,
    )


def feedback_embed(result: AnswerResult, room: int = EMBED_TOTAL) -> discord.Embed:
    """Return the embed saying whether the last answer was right, and why."""
    correct = result.correct_choice
    if result.correct:
        head = f"✅ Right: **{correct.letter}. {correct.text}** (+{result.points} points"
        head += ", hint used)" if result.hint_used else ")"
        colour = RIGHT_COLOUR
    else:
        head = (
            f"❌ Not quite: you chose **{result.choice}**. "
            f"The answer is **{correct.letter}. {correct.text}**"
        )
        colour = WRONG_COLOUR
    explanation = result.explanation
    # The question embed shares the message's 6000-character budget.
    budget = max(200, min(room, DESCRIPTION_PAGE) - len(head) - 100)
    if len(explanation) > budget:
        explanation = shorten(explanation, budget)
    text = f"{head}\n\n{explanation}" if explanation else head
    return build_embed("Your answer", text, colour=colour)


def summary_embed(summary: QuizSummary, lesson: Lesson) -> discord.Embed:
    """Return the embed with the final score of a finished run."""
    lines = [
        f"**{summary.score} / {summary.max_score} points** — "
        f"{summary.correct} of {summary.total} right."
    ]
    note = summary.practice_note
    lines.append(note if note else "This run counts for the leaderboard.")
    if summary.missed:
        missed = ", ".join(f"Q{i + 1}" for i in summary.missed)
        lines.append(f"Missed: {missed}. Press **Review missed** to practise just those.")
    else:
        lines.append("No question missed. 🎉")
    return build_embed(
        f"Quiz finished: {lesson.title}",
        "\n".join(lines),
        footer=f"{lesson.id} · /leaderboard to compare",
        colour=QUIZ_COLOUR,
    )


BEHIND = "You already answered that question; the message now shows where your quiz is."
GONE_PRIVATE = (
    "This quiz goes on privately now: use the message only you see, "
    "or /quiz start to bring it up again."
)
GOES_ON_PRIVATELY = "🔒 Your unfinished quiz was private, so it goes on in a message only you see."
RESUMED_PRIVATELY = (
    "You left this private quiz unfinished, so it goes on here, shown only to you, "
    "from question {number}."
)
RESUMED = (
    "You left this quiz unfinished, so it goes on from question {number}: "
    "the answers you gave stand."
)


def quiz_message(quiz: PersonalQuiz) -> tuple[list[discord.Embed], discord.ui.View]:
    """Return the embeds and persistent buttons showing ``quiz`` as it stands now."""
    embeds: list[discord.Embed] = []
    items: list[discord.ui.Item[Any]] = []
    last = quiz.last
    if quiz.finished:
        summary = quiz.summary
        assert summary is not None
        main = summary_embed(summary, quiz.lesson)
        # Once one was pressed the new run is below, with buttons of its own.
        items.append(QuizButton(quiz.run_id, quiz.position, RETRY, disabled=quiz.followed))
        items.append(
            QuizButton(
                quiz.run_id, quiz.position, REVIEW, disabled=quiz.followed or not summary.missed
            )
        )
    else:
        main = question_embed(quiz)
        question = quiz.question
        assert question is not None
        for number, choice in enumerate(question.choices):
            items.append(
                QuizButton(quiz.run_id, quiz.position, ANSWER + choice.letter, row=number // 5)
            )
        items.append(
            QuizButton(
                quiz.run_id,
                quiz.position,
                HINT,
                disabled=quiz.hint_used or not question.hint,
            )
        )
    if last is not None:
        embeds.append(feedback_embed(last, EMBED_TOTAL - len(main)))
        if last.steps:
            step = last.steps[0]
            items.append(
                trace_link_button(quiz.lesson.id, step, label=f"See step {step} in the trace")
            )
    embeds.append(main)
    for item in items:
        if item.row is None:
            item.row = TOOLS_ROW
    return embeds, persistent_view(*items)


def quiz_update(quiz: PersonalQuiz) -> dict[str, Any]:
    """Return the edit that brings a quiz's message up to date.

    ``content=None`` clears a note the message carried (the "goes on from question
    N" line): it is about the step it was posted with, not the ones after.
    """
    embeds, view = quiz_message(quiz)
    return {"content": None, "embeds": embeds, "view": view}


class QuizButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:qz:(?P<run>\d{1,20}):(?P<pos>\d{1,4}):(?P<action>a[A-Z]|h|r|m)",
):
    """A button of a personal quiz: a choice, the hint, retry or review; only its owner's."""

    def __init__(
        self,
        run_id: int,
        position: int,
        action: str,
        *,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        label, emoji, style = self.look(action)
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji,
                style=style,
                custom_id=custom_id("qz", run_id, position, action),
                disabled=disabled,
                row=row,
            )
        )
        self.run_id = run_id
        self.position = position
        self.action = action

    @staticmethod
    def look(action: str) -> tuple[str, str | None, discord.ButtonStyle]:
        """Return the label, emoji and style of the button for ``action``."""
        if action == HINT:
            return "Hint", "💡", discord.ButtonStyle.secondary
        if action == RETRY:
            return "Retry", "🔁", discord.ButtonStyle.primary
        if action == REVIEW:
            return "Review missed", "📝", discord.ButtonStyle.secondary
        return action[1:], None, discord.ButtonStyle.primary

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> QuizButton:
        """Rebuild the button from its custom id."""
        return cls(int(match["run"]), int(match["pos"]), match["action"])

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        """Answer, hint, retry or review for the quiz's owner; refuse anyone else."""
        bot = study_bot(interaction)
        service = quiz_service(bot)
        user_id = interaction.user.id
        # Picks the quiz up from the store after a restart; raises (and the error
        # handler answers ephemerally) when it is gone or belongs to someone else.
        quiz = await service.find_personal(self.run_id, user_id)
        shown_to_all = interaction.message is not None and not interaction.message.flags.ephemeral
        if quiz.private and shown_to_all and self.action not in (RETRY, REVIEW):
            # A public copy of a run that went private: updating it would show the
            # channel the answers given since.
            raise UserError(GONE_PRIVATE)
        if self.action not in (RETRY, REVIEW) and quiz.moved_past(self.position):
            # The message still shows a question answered since (its edit was lost, or
            # the answer's wait was cut by a restart): bring it up to date.
            await interaction.response.edit_message(**quiz_update(quiz))
            await interaction.followup.send(BEHIND, ephemeral=True)
            return
        if self.action == HINT:
            service.use_hint(self.run_id, user_id, self.position)
            await interaction.response.edit_message(**quiz_update(quiz))
            return
        if self.action not in (RETRY, REVIEW):
            await self.answer(interaction, service, quiz)
            return
        # Retry and review wait for the store: acknowledge inside the 3 s window first.
        await interaction.response.defer()
        if self.action == RETRY:
            fresh = await service.retry(self.run_id, user_id)
        else:
            fresh = await service.review_missed(self.run_id, user_id)
        embeds, view = quiz_message(fresh)
        # A private quiz leads to a private retry or review (as does a private run continued).
        private = fresh.private or (
            interaction.message is not None and interaction.message.flags.ephemeral
        )
        note = RESUMED.format(number=fresh.number) if fresh.resumed and fresh.position else ""
        try:
            await interaction.followup.send(
                content=note, embeds=embeds, view=view, ephemeral=private
            )
        except BaseException:
            service.follow_not_shown(self.run_id)
            raise
        # Its Retry and Review are spent now.
        await interaction.edit_original_response(**quiz_update(quiz))

    async def answer(
        self, interaction: discord.Interaction[Any], service: QuizService, quiz: PersonalQuiz
    ) -> None:
        """Record the answer, acknowledging at once; show the next question once committed.

        The answer is started before the acknowledgement goes out, so it is
        scored as things stood at the press: a Hint tapped during the round
        trip to Discord finds the answer in flight and is refused, instead of
        halving an answer given before it.
        """
        # start_answer checks and queues the answer before it returns (no await).
        pending = asyncio.ensure_future(
            service.start_answer(self.run_id, interaction.user.id, self.action[1:], self.position)
        )
        try:
            await interaction.response.defer()
        except BaseException:
            pending.add_done_callback(consume)
            raise
        await pending  # a refused answer raises here, for the error handler
        try:
            await interaction.edit_original_response(**quiz_update(quiz))
        except discord.NotFound as exc:
            # The message is gone (deleted) or the interaction expired: the answer is
            # recorded all the same, so no apology; a press on a stale copy catches up.
            log.warning("Quiz %d: could not show the answer recorded: %s", self.run_id, exc)


class QuizCog(commands.GroupCog, group_name="quiz", group_description="Quizzes on the lessons"):
    """/quiz start (a personal quiz) and /quiz round (a timed channel round)."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(
        name="start", description="Take a lesson's quiz yourself: buttons, hints, explanations"
    )
    @app_commands.describe(
        lesson="The lesson to be quizzed on (start typing its id or title)",
        private="Only you see the quiz and its answers; your score still counts on the boards",
    )
    @app_commands.autocomplete(lesson=lesson_autocomplete)
    async def start(
        self, interaction: discord.Interaction[Any], lesson: str, private: bool = False
    ) -> None:
        """Start a personal quiz and show its first question."""
        found = self.bot.library.resolve(lesson)
        if not found.quiz:
            raise UserError(f"`{found.id}` has no quiz questions.")
        service = quiz_service(self.bot)
        await interaction.response.defer(thinking=True, ephemeral=private)
        quiz = await service.start_personal(
            interaction.guild_id,
            interaction.user.id,
            display_name(interaction.user),
            found,
            private=private,
        )
        embeds, view = quiz_message(quiz)
        note = RESUMED.format(number=quiz.number) if quiz.resumed and quiz.position else None
        if quiz.private and not private:
            # A private run continued by a plain start: its answers stay out of the
            # channel. The public "thinking…" becomes a neutral line first: a followup
            # sent while it is still loading would take it over, public flags and all.
            await show_deferred(interaction, content=GOES_ON_PRIVATELY)
            note = RESUMED_PRIVATELY.format(number=quiz.number)
            await interaction.followup.send(content=note, embeds=embeds, view=view, ephemeral=True)
            return
        await show_deferred(interaction, content=note, embeds=embeds, view=view)

    @app_commands.command(
        name="round", description="Run a timed quiz round in this channel (quiz masters)"
    )
    @app_commands.describe(
        lesson="The lesson to quiz the channel on (start typing its id or title)",
        seconds=f"Seconds per question ({ROUND_SECONDS_MIN}-{ROUND_SECONDS_MAX})",
    )
    @app_commands.autocomplete(lesson=lesson_autocomplete)
    @app_commands.guild_only()
    async def start_round(
        self,
        interaction: discord.Interaction[Any],
        lesson: str,
        seconds: app_commands.Range[int, ROUND_SECONDS_MIN, ROUND_SECONDS_MAX] | None = None,
    ) -> None:
        """Hand the round to the rounds cog, which checks who may start one."""
        found = self.bot.library.resolve(lesson)
        if not found.quiz:
            raise UserError(f"`{found.id}` has no quiz questions.")
        host = self.bot.get_cog(ROUNDS_COG)
        if host is None:
            raise QuizUnavailableError()
        chosen = self.bot.settings.quiz_round_seconds if seconds is None else seconds
        await cast(RoundHost, host).start_round(interaction, found, chosen)


async def setup(bot: StudyBot) -> None:
    """Load /quiz and register the personal quiz's persistent buttons."""
    bot.add_dynamic_items(QuizButton)
    await bot.add_cog(QuizCog(bot))
