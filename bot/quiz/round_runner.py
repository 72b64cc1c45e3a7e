"""The schedule of a timed round: ask, count down, close, reveal, pause; then the standings.

``QuizService`` decides who may answer, when a question is closed and the
points; ``RoundRunner`` decides the order and the timing of a round's steps.
A front end only shows them, through a ``RoundScreen``: the Discord cog posts
and edits channel messages, a test records the calls. So no front end has to
copy the schedule to run a round, and the schedule is tested without Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Protocol

from bot.quiz.results import OpenQuestion, QuestionResult, RoundStandings
from bot.quiz.rounds import ChannelRound
from bot.quiz.service import QuizService


class RoundScreen(Protocol):
    """What a front end shows of a round.

    Changing what is shown (``tick``, ``reveal``, ``interrupt``) may fail
    quietly: the round goes on. Posting (``ask``, ``standings``, ``notice``)
    raises when it cannot post: a question nobody can see ends the round, and
    standings that were not shown are shown again by ``end_early``.
    """

    async def ask(self, opened: OpenQuestion) -> int | None:
        """Show the question with its answer buttons; return the message id, for recovery."""

    async def tick(self, opened: OpenQuestion, remaining: float) -> None:
        """Show how many seconds the open question has left."""

    async def reveal(
        self, opened: OpenQuestion, result: QuestionResult, note: str | None = None
    ) -> None:
        """Show the closed question's answer, counts and fastest; its buttons go off.

        ``note`` says why it closed early (the round was stopped).
        """

    async def interrupt(self, opened: OpenQuestion, note: str) -> None:
        """Take the buttons off a question that will not be revealed, saying why."""

    async def standings(self, standings: RoundStandings, note: str | None) -> None:
        """Show the round's final standings (with a note when it ended early)."""

    async def notice(self, note: str) -> None:
        """Say something about the round as a whole (it ended without standings to show)."""


class RoundRunner:
    """Run one round through its questions on a screen; can be closed early or ended."""

    def __init__(
        self,
        service: QuizService,
        game: ChannelRound,
        screen: RoundScreen,
        *,
        tick_seconds: float = 5.0,
        pause_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.game = game
        self.screen = screen
        self.tick_seconds = tick_seconds
        """Seconds between countdown updates (Discord rate-limits edits: never every second)."""
        self.pause_seconds = pause_seconds
        """Seconds between a question's reveal and the next question."""
        self._clock = clock
        self._close_now = asyncio.Event()
        self.opened: OpenQuestion | None = None
        """The question open now (asked and not yet revealed), if any."""
        self._standings: RoundStandings | None = None  # once the finish is saved
        self._shown_standings = False

    def close_question_now(self) -> None:
        """Close the open question before its time is up (tests; a future 'skip')."""
        self._close_now.set()

    async def run(self) -> RoundStandings:
        """Ask every question, reveal each result, then show and return the standings."""
        game = self.game
        while game.has_next:
            opened = await self.service.open_question(game.run_id)
            self.opened = opened
            self._close_now.clear()
            message_id = await self.screen.ask(opened)
            if message_id is not None:
                await self.service.set_round_message(game.run_id, message_id)
            await self._count_down(opened)
            result = await self.service.close_question(game.run_id)
            await self.screen.reveal(opened, result)
            self.opened = None
            if game.has_next and self.pause_seconds > 0:
                await asyncio.sleep(self.pause_seconds)
        self._standings = await self.service.finish_round(game.run_id)
        await self.screen.standings(self._standings, None)
        self._shown_standings = True
        return self._standings

    async def end_early(self, note: str) -> RoundStandings | None:
        """Finish the round now: close and reveal the open question, show the standings.

        The open question is closed as usual (its answers count, so they are
        shown); if that fails its buttons are just taken off. If the round's
        finish was attempted and failed, the screen says the results come later:
        the next start's recovery finishes it from the stored answers.
        """
        opened, self.opened = self.opened, None
        if opened is not None:
            try:
                result = await self.service.close_question(self.game.run_id)
            except Exception:
                await self.screen.interrupt(opened, note)
            else:
                await self.screen.reveal(opened, result, note)
        if self.game.finished:
            if self._standings is None:  # the finish was tried and not saved
                await self.screen.notice(
                    f"{note} Its results could not be saved just now; they are posted "
                    "when the next round starts here or the bot restarts."
                )
            elif not self._shown_standings:  # saved, but showing them failed or was cut
                await self.screen.standings(self._standings, note)
                self._shown_standings = True
            return self._standings
        self._standings = await self.service.finish_round(self.game.run_id)
        await self.screen.standings(self._standings, note)
        self._shown_standings = True
        return self._standings

    async def _count_down(self, opened: OpenQuestion) -> None:
        """Wait until the question's time is up (or it is closed now), ticking meanwhile."""
        while True:
            remaining = opened.closes_at - self._clock()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._close_now.wait(), timeout=min(self.tick_seconds, remaining)
                )
                return
            remaining = opened.closes_at - self._clock()
            if remaining > 1:
                await self.screen.tick(opened, remaining)
