"""/demo: run a built-in asyncio scenario live in the bot's own loop and show what happened.

The command answers at once, then runs the demo as a task of its own (so the
handler never holds up the gateway) and edits the message as tasks start and
finish. Edits go through an ``EditThrottle`` at ``settings.demo_edit_interval``
(about one per second), well under Discord's edit rate limit. The final edit
carries the real run's table, tracker, timings, a text Gantt chart and the
PNG chart, split over followups when the report outgrows one message.

``DemoGuard`` decides who may start a demo (cooldown, per-guild cap); its
errors are ``UserError``s, so the one error handler answers them ephemerally.
On shutdown ``StudyBot.close`` cancels every demo first; each session then
edits its message to say the demo was stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import secrets
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.errors import APOLOGY, new_error_id
from bot.cogs.limits import (
    BUTTON_LABEL,
    CHOICE_NAME,
    EMBED_DESCRIPTION,
    EMBED_TITLE,
    EMBED_TOTAL,
    FIELDS,
    fit_field,
    shorten,
)
from bot.cogs.views import (
    PREDICTION,
    GuardedItem,
    GuardedView,
    custom_id,
    session_id,
    study_bot,
)
from bot.demos.chart import render_gantt_png
from bot.demos.engine import DemoHandle, validate_options
from bot.demos.limits import SHUTDOWN_NOTE, DemoGuard, Reservation
from bot.demos.model import (
    MAX_DURATION,
    MIN_DURATION,
    MODE_SUMMARIES,
    MODES,
    DemoOptions,
    DemoRun,
    mode_summary,
)
from bot.demos.prediction import PredictionQuestion, ask_prediction, judge_prediction
from bot.demos.report import DemoReport, build_report, render_progress
from bot.demos.throttle import EditThrottle, MessageGoneError
from bot.errors import UserError
from bot.lessons.model import LessonDemo
from bot.lessons.render import PHONE_WIDTH

if TYPE_CHECKING:
    from bot.app import StudyBot

log = logging.getLogger("studybot.demo")

DEMO_COLOUR = discord.Colour.gold()
STOPPED_COLOUR = discord.Colour.dark_grey()
GANTT_FILENAME = "demo-gantt.png"
FINAL_RETRY_SECONDS = 1.0
"""The pause before trying a failed final edit (the report) once more."""
PREDICTION_TIMEOUT = 60.0
# How long unloading the cog waits for sessions to post their last edit.
UNLOAD_GRACE = 10.0
# Room kept under Discord's 6000-character total per message, for safety.
MESSAGE_BUDGET = EMBED_TOTAL - 200
# How long an admitted demo may take to start before its reservation lapses.
RESERVE_SECONDS = 5.0
UNLOAD_NOTE = "the demo feature was reloaded"
UNAVAILABLE = "Demos are not available on this bot right now."
NOT_YOUR_PREDICTION = (
    "This prediction belongs to <@{owner}>. Run `/demo` with `predict:True` to make your own."
)
DEMO_KIND = "dm"
BUTTONS_PER_ROW = 5
FOOTER = "Run in the bot's own event loop: asyncio.sleep stands in for real work."


def mode_choices() -> list[app_commands.Choice[str]]:
    """Return one readable choice per demo mode (``sequential: await each task before …``)."""
    return [
        app_commands.Choice(
            name=shorten(
                f"{mode.replace('_', ' ')}: {MODE_SUMMARIES.get(mode, mode)}", CHOICE_NAME
            ),
            value=mode,
        )
        for mode in MODES
    ]


def durations_text(options: DemoOptions) -> str:
    """Return ``task1 1 s · task2 1.5 s`` (and the limit for semaphore)."""
    text = " · ".join(
        f"{name} {seconds:g} s"
        for name, seconds in zip(options.task_names, options.durations, strict=True)
    )
    return text + (f" · at most {options.limit} at once" if options.limit else "")


def _description(*parts: str) -> str:
    text = "\n".join(p for p in parts if p)
    return text if len(text) <= EMBED_DESCRIPTION else shorten(text, EMBED_DESCRIPTION)


def question_embed(
    options: DemoOptions, question: PredictionQuestion, timeout: float
) -> discord.Embed:
    """Return the 'predict first' question shown before the run."""
    return discord.Embed(
        title=shorten(f"Demo: {options.mode} · predict first", EMBED_TITLE),
        description=_description(
            mode_summary(options),
            durations_text(options),
            "",
            f"🔮 **{question.prompt}**",
            f"Pick an answer below within {timeout:g} s; then the demo runs.",
        ),
        colour=DEMO_COLOUR,
    )


def progress_embed(
    options: DemoOptions,
    bars: str,
    *,
    notes: Sequence[str] = (),
) -> discord.Embed:
    """Return the live view: the mode, its durations, one progress bar per task, any notes."""
    return discord.Embed(
        title=shorten(f"Demo: {options.mode} · running", EMBED_TITLE),
        description=_description(
            mode_summary(options),
            durations_text(options),
            bars,
            *notes,
        ),
        colour=DEMO_COLOUR,
    )


def not_started_embed(options: DemoOptions, notes: Sequence[str]) -> discord.Embed:
    """Return the message of a demo that ended before it ran: no bars, no "running" title."""
    return discord.Embed(
        title=shorten(f"Demo: {options.mode} · not started", EMBED_TITLE),
        description=_description(mode_summary(options), durations_text(options), "", *notes),
        colour=STOPPED_COLOUR,
    )


def initial_bars(options: DemoOptions) -> str:
    """Return the progress bars before any task exists."""
    return render_progress((), 0.0, mode=options.mode, expected=len(options.durations))


def live_bars(handle: DemoHandle) -> str:
    """Return the progress bars of a running demo."""
    options = handle.options
    return render_progress(
        handle.progress(), handle.elapsed, mode=options.mode, expected=len(options.durations)
    )


def report_embeds(
    report: DemoReport,
    *,
    notes: Sequence[str] = (),
    image: str | None = None,
    colour: discord.Colour = DEMO_COLOUR,
) -> list[list[discord.Embed]]:
    """Pack the report into messages of embeds, each message within Discord's limits.

    Every section becomes a field (the core keeps each within 1024 characters);
    a message holds at most ``MESSAGE_BUDGET`` characters over all its embeds
    and each embed at most 25 fields. The first message gets the title, the
    summary, ``notes`` and, if ``image`` names an attachment, the chart image.
    """
    title = shorten(report.title, EMBED_TITLE)
    first = discord.Embed(
        title=title, description=_description(report.summary, *notes), colour=colour
    )
    first.set_footer(text=FOOTER)
    if image is not None:
        first.set_image(url=f"attachment://{image}")
    messages: list[list[discord.Embed]] = [[first]]
    embed = first
    used = len(first)
    for section, text in report.sections():
        name, value = fit_field(section, text)
        cost = len(name) + len(value)
        if used + cost > MESSAGE_BUDGET:
            embed = discord.Embed(
                title=shorten(f"{report.title} (continued)", EMBED_TITLE), colour=colour
            )
            messages.append([embed])
            used = len(embed)
        elif len(embed.fields) >= FIELDS:
            embed = discord.Embed(colour=colour)
            messages[-1].append(embed)
        embed.add_field(name=name, value=value, inline=False)
        used += cost
    return messages


def stopped_notes(run: DemoRun) -> list[str]:
    """Return the line that says why a run did not complete (nothing when it did)."""
    if run.status == "cancelled":
        return [f"⏹ **Demo stopped**: {run.note}."]
    if run.status == "timed_out":
        return [f"⏱ **Demo stopped**: {run.note}."]
    return []


@dataclass(frozen=True, slots=True)
class Frame:
    """One state of the demo's message: its embeds and, at the end, the PNG chart."""

    embeds: list[discord.Embed]
    png: bytes | None = None
    followups: list[list[discord.Embed]] = field(default_factory=list)


class PredictionView(GuardedView):
    """Buttons for the 'predict first' choices; only the person who ran /demo can press them."""

    def __init__(
        self,
        options: DemoOptions,
        question: PredictionQuestion,
        owner_id: int,
        timeout: float,
        boot_id: str,
    ) -> None:
        super().__init__(timeout=timeout)
        self.options = options
        self.owner_id = owner_id
        self.choice: str | None = None
        nonce = secrets.token_hex(6)
        for index, (value, label) in enumerate(question.choices):
            self.add_item(
                PredictionButton(value, label, session_id(boot_id, PREDICTION, nonce, index))
            )

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Let only the owner answer; tell anyone else, ephemerally, how to make their own."""
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            NOT_YOUR_PREDICTION.format(owner=self.owner_id), ephemeral=True
        )
        return False


class PredictionButton(discord.ui.Button[PredictionView]):
    """One possible answer to the prediction question."""

    def __init__(self, value: str, label: str, custom_id: str) -> None:
        super().__init__(
            label=shorten(label, 80), style=discord.ButtonStyle.primary, custom_id=custom_id
        )
        self.value = value

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Record the guess, show it in place of the buttons and let the demo start."""
        view = self.view
        if view is None:
            return
        if view.choice is not None or view.is_finished():
            # A second quick press was dispatched before the first took the buttons away.
            note = (
                "Your prediction is already in; the demo is starting."
                if view.choice is not None
                else "The time to predict is over; the demo runs without a prediction."
            )
            await interaction.response.send_message(note, ephemeral=True)
            return
        view.choice = self.value  # before the await: a second press sees it
        embed = progress_embed(
            view.options,
            initial_bars(view.options),
            notes=[f"🔮 You predicted **{self.label}**. Starting…"],
        )
        try:
            await interaction.response.edit_message(embed=embed, view=None)
        finally:
            # After the edit, so the demo's own edits come after this one; but also
            # when it fails (a dropped connection), or the demo would wait out the
            # whole prediction time with the guess already made.
            view.stop()


class DemoCog(commands.Cog):
    """The /demo command and the sessions that keep each demo's message up to date."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        self.prediction_timeout = PREDICTION_TIMEOUT
        self._sessions: set[asyncio.Task[None]] = set()
        self._handles: set[DemoHandle] = set()
        self._views: set[PredictionView] = set()
        self._closing = False

    @property
    def guard(self) -> DemoGuard:
        """Return the bot's DemoGuard; raise a friendly error when demos are not wired."""
        guard = self.bot.services.demo
        if guard is None:
            raise UserError(UNAVAILABLE)
        return guard

    @app_commands.command(
        name="demo", description="Run an asyncio demo live: sequential vs parallel, and more"
    )
    @app_commands.describe(
        mode="Which scenario to run (e.g. compare runs sequential, then parallel)",
        task1=f"How long task1 takes, in seconds ({MIN_DURATION:g}-{MAX_DURATION:g}, default 1)",
        task2=f"How long task2 takes, in seconds ({MIN_DURATION:g}-{MAX_DURATION:g}, default 1.5)",
        task3="Adds a third task taking this long (semaphore: task3 of its four)",
        task4="Adds a fourth task taking this long (semaphore: task4 of its four)",
        predict="Guess the outcome before the run, then see if you were right",
    )
    @app_commands.choices(mode=mode_choices())
    async def demo(
        self,
        interaction: discord.Interaction[Any],
        mode: str,
        task1: app_commands.Range[float, MIN_DURATION, MAX_DURATION] | None = None,
        task2: app_commands.Range[float, MIN_DURATION, MAX_DURATION] | None = None,
        task3: app_commands.Range[float, MIN_DURATION, MAX_DURATION] | None = None,
        task4: app_commands.Range[float, MIN_DURATION, MAX_DURATION] | None = None,
        predict: bool = False,
    ) -> None:
        """Answer at once, then run the demo in a task that edits the message live."""
        options = validate_options(mode, [task1, task2, task3, task4])
        await self.start(interaction, options, predict=predict)

    async def start(
        self, interaction: discord.Interaction[Any], options: DemoOptions, *, predict: bool = False
    ) -> None:
        """Post the demo's message in reply to ``interaction``, then run it live.

        /demo and a lesson's demo button both start here, so either way the
        same cooldown and cap apply and the message is kept up to date alike.
        """
        guard = self.guard
        user_id = interaction.user.id
        # The reply, and any prediction, come before the demo starts: hold its place.
        waits = self.prediction_timeout if predict else 0.0
        reservation = guard.reserve(
            user_id, interaction.guild_id, RESERVE_SECONDS + waits, options=options, starts_in=waits
        )
        view: PredictionView | None = None
        try:
            if predict:
                question = ask_prediction(options)
                view = PredictionView(
                    options, question, user_id, self.prediction_timeout, self.bot.boot_id
                )
                await interaction.response.send_message(
                    embed=question_embed(options, question, self.prediction_timeout), view=view
                )
                self._views.add(view)
            else:
                await interaction.response.send_message(
                    embed=progress_embed(options, initial_bars(options), notes=["Starting…"])
                )
        except BaseException:
            guard.release(reservation)
            raise
        self._spawn(self._session(interaction, guard, options, view, reservation))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine, name="demo:session")
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)

    async def _session(
        self,
        interaction: discord.Interaction[Any],
        guard: DemoGuard,
        options: DemoOptions,
        view: PredictionView | None,
        reservation: Reservation,
    ) -> None:
        """Ask for a prediction if wanted, run the demo, keep the message live, post the report."""
        try:
            await self._run_session(interaction, guard, options, view, reservation)
        except Exception:
            error_id = new_error_id()
            log.exception("Demo session failed %s (user %s)", error_id, interaction.user.id)
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(
                    content=APOLOGY.format(error_id=error_id), embeds=[], view=None
                )
        finally:
            guard.release(reservation)  # if the demo never started (start took it otherwise)

    async def _run_session(
        self,
        interaction: discord.Interaction[Any],
        guard: DemoGuard,
        options: DemoOptions,
        view: PredictionView | None,
        reservation: Reservation,
    ) -> None:
        notes: list[str] = []
        guess: str | None = None
        if view is not None:
            try:
                await view.wait()
            finally:
                self._views.discard(view)
            guess = view.choice
            if self._closing:
                stopped = f"⏹ **Demo stopped** before it started: {SHUTDOWN_NOTE}."
                embed = not_started_embed(options, [stopped])
                with contextlib.suppress(discord.HTTPException):
                    await interaction.edit_original_response(embed=embed, view=None)
                return
            if guess is None:
                notes.append(
                    f"🔮 No prediction within {self.prediction_timeout:g} s; running without one."
                )
            else:
                label = dict(ask_prediction(options).choices).get(guess, guess)
                notes.append(f"🔮 You predicted **{label}**.")
        handle_changed = asyncio.Event()
        try:
            handle = guard.start(
                options,
                user_id=interaction.user.id,
                guild_id=interaction.guild_id,
                observer=lambda _event: handle_changed.set(),
                reservation=reservation,
            )
        except UserError as exc:
            embed = not_started_embed(options, [*notes, f"⚠️ {exc}"])
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(embed=embed, view=None)
            return
        self._handles.add(handle)
        handle.add_done_callback(handle_changed.set)
        interval = self.bot.settings.demo_edit_interval

        def live() -> Frame:
            return Frame([progress_embed(options, live_bars(handle), notes=notes)])

        # The throttle holds a function, not a frame: the bars are drawn when the
        # edit is actually sent, so a coalesced edit never shows stale progress.
        throttle: EditThrottle[Callable[[], Frame]] = EditThrottle(
            lambda make: self._edit(interaction, make()), interval=interval
        )
        try:
            while not handle.done():
                throttle.push(live)
                handle_changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(handle_changed.wait(), interval)
            run = await handle.wait()
        except BaseException:
            throttle.cancel()
            handle.cancel("the demo's session stopped")
            raise
        finally:
            self._handles.discard(handle)
        final = await self.final_frame(run, guess, notes)
        if throttle.gone:
            return  # the message was deleted: the report is not wanted there
        if not await throttle.close(lambda: final) and not throttle.gone:
            await self._report_anyway(interaction, final)
        for embeds in final.followups:
            with contextlib.suppress(discord.HTTPException):
                await interaction.followup.send(embeds=embeds)

    async def final_frame(self, run: DemoRun, guess: str | None, notes: Sequence[str]) -> Frame:
        """Return the finished message: the report, the verdict and (if it completed) the PNG."""
        lines = [n for n in notes if not n.startswith("🔮 You predicted")]
        if guess is not None:
            lines.append("🔮 " + judge_prediction(run, guess).message)
        lines += stopped_notes(run)
        png: bytes | None = None
        if run.completed and run.spans:
            # Pillow is CPU work: off the loop, so other demos keep their timing.
            png = await asyncio.to_thread(render_gantt_png, run)
        pages = report_embeds(
            # Tables within a phone's width: wrapped code-block rows are unreadable.
            build_report(run, width=PHONE_WIDTH),
            notes=lines,
            image=GANTT_FILENAME if png is not None else None,
            colour=DEMO_COLOUR if run.completed else STOPPED_COLOUR,
        )
        return Frame(pages[0], png, pages[1:])

    async def _edit(self, interaction: discord.Interaction[Any], frame: Frame) -> None:
        """Show ``frame`` in the demo's message; raise ``MessageGoneError`` if it was deleted."""
        try:
            if frame.png is not None:
                chart = discord.File(io.BytesIO(frame.png), filename=GANTT_FILENAME)
                await interaction.edit_original_response(
                    embeds=frame.embeds, attachments=[chart], view=None
                )
            else:
                await interaction.edit_original_response(embeds=frame.embeds, view=None)
        except discord.NotFound as exc:
            raise MessageGoneError(str(exc)) from exc

    async def _report_anyway(self, interaction: discord.Interaction[Any], final: Frame) -> None:
        """The final edit failed: try it once more, then post the report as a new message.

        Otherwise the channel would keep the last live frame ("running") for good.
        """
        await asyncio.sleep(FINAL_RETRY_SECONDS)
        try:
            await self._edit(interaction, final)
            return
        except MessageGoneError:
            return
        except Exception as exc:  # an HTTP error, or the connection dropped again
            log.warning("the demo's final edit failed again (%r); posting the report", exc)
        try:
            if final.png is not None:
                chart = discord.File(io.BytesIO(final.png), filename=GANTT_FILENAME)
                await interaction.followup.send(embeds=final.embeds, file=chart)
            else:
                await interaction.followup.send(embeds=final.embeds)
        except Exception:
            log.exception("could not show the demo's report")

    async def cog_unload(self) -> None:
        """Stop pending predictions and running demos; let each session post its last edit."""
        self._closing = True
        for view in list(self._views):
            view.stop()
        for handle in list(self._handles):
            handle.cancel(UNLOAD_NOTE)
        if self._sessions:
            _done, pending = await asyncio.wait(set(self._sessions), timeout=UNLOAD_GRACE)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)


class DemoButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:dm:(?P<mode>[a-z_]{1,20})(?::(?P<seconds>[0-9.,]{1,60}))?",
):
    """▶ under a lesson: run one of its live demos, with the lesson's own durations.

    The demo gets a message of its own in the channel, as /demo would post it.
    The durations travel in the custom id, so a press after a restart runs the same.
    """

    def __init__(self, demo: LessonDemo, row: int | None = None) -> None:
        seconds = ",".join(f"{d:g}" for d in demo.durations)
        runs = demo.durations or validate_options(demo.mode).durations  # the defaults shown too
        label = f"{demo.mode} ({', '.join(f'{d:g}' for d in runs)} s)"
        super().__init__(
            discord.ui.Button(
                label=shorten(label, BUTTON_LABEL),
                emoji="▶",
                style=discord.ButtonStyle.success,
                custom_id=custom_id(DEMO_KIND, demo.mode, *([seconds] if seconds else [])),
                row=row,
            )
        )
        self.demo = demo

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DemoButton:
        """Rebuild the button from its custom id."""
        seconds = match["seconds"]
        try:
            durations = tuple(float(s) for s in seconds.split(",")) if seconds else ()
        except ValueError:
            durations = ()  # not one this bot made: the mode's defaults
        return cls(LessonDemo(match["mode"], durations))

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        """Start the demo, exactly as /demo with this mode and these durations would."""
        # By name, not isinstance: the button under an old message may come from the
        # module as lessons.py imported it, and the cog from the one the bot loaded.
        cog = study_bot(interaction).get_cog(DemoCog.__cog_name__)
        if cog is None:
            raise UserError(UNAVAILABLE)
        options = validate_options(self.demo.mode, self.demo.durations or None)
        await cast(DemoCog, cog).start(interaction, options)


def demo_buttons(demos: Sequence[LessonDemo], row: int) -> list[discord.ui.Item[Any]]:
    """Return a ▶ button per lesson demo (at most a row's five) for a lesson's message."""
    # The loader refuses repeats and more than a row; this keeps any lesson showable.
    unique = list(dict.fromkeys(demos))[:BUTTONS_PER_ROW]
    return [DemoButton(demo, row=row) for demo in unique]


async def setup(bot: StudyBot) -> None:
    """Load /demo and the lessons' demo buttons."""
    await bot.add_cog(DemoCog(bot))
    bot.add_dynamic_items(DemoButton)
