"""The round schedule, without Discord: ask, count down, close, reveal, pause, standings."""

from __future__ import annotations

import pytest

from bot.lessons.model import Lesson
from bot.quiz.results import OpenQuestion, QuestionResult, RoundStandings
from bot.quiz.round_runner import RoundRunner
from bot.quiz.service import QuizService
from bot.store.database import Store

GUILD = 42
CHANNEL = 500
HOST = 9


class RecordingScreen:
    """Records what a round shows; can close each question as soon as it is asked."""

    def __init__(self, service: QuizService, *, close_at_once: bool = True) -> None:
        self.service = service
        self.close_at_once = close_at_once
        self.runner: RoundRunner | None = None
        self.shown: list[tuple[object, ...]] = []
        self.answers: dict[int, list[tuple[int, str]]] = {}
        self.fail_ask = False

    async def ask(self, opened: OpenQuestion) -> int | None:
        if self.fail_ask:
            raise RuntimeError("cannot post")
        self.shown.append(("ask", opened.position))
        for user, letter in self.answers.get(opened.position, []):
            await self.service.answer_round(opened.run_id, user, f"u{user}", letter)
        if self.close_at_once and self.runner is not None:
            self.runner.close_question_now()
        return 1000 + opened.position

    async def tick(self, opened: OpenQuestion, remaining: float) -> None:
        self.shown.append(("tick", opened.position))
        if self.runner is not None and len([s for s in self.shown if s[0] == "tick"]) >= 2:
            self.runner.close_question_now()

    async def reveal(
        self, opened: OpenQuestion, result: QuestionResult, note: str | None = None
    ) -> None:
        self.shown.append(
            ("reveal", opened.position, dict(result.counts), *([note] if note else []))
        )

    async def interrupt(self, opened: OpenQuestion, note: str) -> None:
        self.shown.append(("interrupt", opened.position, note))

    async def standings(self, standings: RoundStandings, note: str | None) -> None:
        self.shown.append(("standings", [s.user_id for s in standings.standings], note))

    async def notice(self, note: str) -> None:
        self.shown.append(("notice", note))


def runner_for(
    service: QuizService, screen: RecordingScreen, game: object, **timing: float
) -> RoundRunner:
    runner = RoundRunner(service, game, screen, pause_seconds=0, **timing)  # type: ignore[arg-type]
    screen.runner = runner
    return runner


@pytest.fixture
def live_service(store: Store) -> QuizService:
    """A service on real clocks: the runner counts down in real time."""
    return QuizService(store)


async def test_a_round_asks_reveals_each_question_then_shows_the_standings(
    live_service: QuizService, store: Store, lesson: Lesson
) -> None:
    """Every question is asked, answered, closed and revealed in order; standings last."""
    game = await live_service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 10)
    screen = RecordingScreen(live_service)
    screen.answers = {0: [(1, "A"), (2, "A")], 2: [(2, "C"), (1, "D")]}
    standings = await runner_for(live_service, screen, game).run()
    assert [s[:2] for s in screen.shown] == [
        ("ask", 0),
        ("reveal", 0),
        ("ask", 1),
        ("reveal", 1),
        ("ask", 2),
        ("reveal", 2),
        ("standings", [2, 1]),
    ]
    assert screen.shown[1][2]["A"] == 2 and screen.shown[5][2]["C"] == 1
    assert [s.user_id for s in standings.standings] == [2, 1]
    assert game.finished
    unfinished = await store.unfinished_rounds()
    assert unfinished == []  # the round is closed in the store too


async def test_the_countdown_ticks_until_the_question_is_closed(
    live_service: QuizService, lesson: Lesson
) -> None:
    """Between ask and reveal the screen is told the time left, every tick."""
    game = await live_service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 10)
    screen = RecordingScreen(live_service, close_at_once=False)
    runner = runner_for(live_service, screen, game, tick_seconds=0.01)
    await runner.run()
    first_reveal = next(i for i, s in enumerate(screen.shown) if s[0] == "reveal")
    assert screen.shown[0] == ("ask", 0)
    assert screen.shown[1:first_reveal] == [("tick", 0)] * (first_reveal - 1)
    assert first_reveal - 1 >= 2  # the screen closed the question at its second tick


async def test_ending_early_takes_the_open_question_off_and_shows_standings(
    live_service: QuizService, lesson: Lesson
) -> None:
    """end_early while a question is open: its buttons go off, standings carry the note."""
    game = await live_service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 10)
    screen = RecordingScreen(live_service, close_at_once=False)
    runner = runner_for(live_service, screen, game, tick_seconds=60)
    opened = await live_service.open_question(game.run_id)
    runner.opened = opened
    await live_service.answer_round(game.run_id, 7, "u7", "A")
    await runner.end_early("stopping")
    (kind, position, counts, note), standings = screen.shown
    assert (kind, position, counts["A"], note) == ("reveal", 0, 1, "stopping")  # u7's answer
    assert standings == ("standings", [7], "stopping")
    assert game.finished
    await runner.end_early("again")  # nothing left to finish or to show
    assert len(screen.shown) == 2


async def test_a_question_that_cannot_be_posted_stops_the_round(
    live_service: QuizService, lesson: Lesson
) -> None:
    """If asking fails the run raises, for the front end to end the round with a note."""
    game = await live_service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 10)
    screen = RecordingScreen(live_service)
    screen.fail_ask = True
    runner = runner_for(live_service, screen, game)
    with pytest.raises(RuntimeError, match="cannot post"):
        await runner.run()
    await runner.end_early("failed")
    (kind, position, counts, note), standings = screen.shown
    assert (kind, position, sum(counts.values()), note) == ("reveal", 0, 0, "failed")
    assert standings == ("standings", [], "failed")


async def test_a_round_whose_finish_cannot_be_saved_says_its_results_come_later(
    live_service: QuizService, store: Store, lesson: Lesson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finish fails: no standings to show, so the screen gets a notice, not silence."""
    game = await live_service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 10)
    screen = RecordingScreen(live_service)

    async def disk_full(finish: object) -> bool:
        raise OSError("disk full")

    monkeypatch.setattr(store, "finish_run", disk_full)
    runner = runner_for(live_service, screen, game)
    with pytest.raises(OSError, match="disk full"):
        await runner.run()
    await runner.end_early("⚠️ This round hit an error and was closed.")
    assert screen.shown[-1] == (
        "notice",
        "⚠️ This round hit an error and was closed. Its results could not be saved just now; "
        "they are posted when the next round starts here or the bot restarts.",
    )
    assert [s[0] for s in screen.shown].count("standings") == 0


async def test_standings_saved_but_not_shown_are_shown_again_not_called_unsaved(
    live_service: QuizService, store: Store, lesson: Lesson
) -> None:
    """Posting the standings fails after the finish was saved: end_early posts them again."""
    game = await live_service.start_round(GUILD, CHANNEL, HOST, "Host", lesson, 10)
    screen = RecordingScreen(live_service)
    real = screen.standings
    failures = iter([True])

    async def flaky(standings: RoundStandings, note: str | None) -> None:
        if next(failures, False):
            raise RuntimeError("could not post")
        await real(standings, note)

    screen.standings = flaky  # type: ignore[method-assign]
    runner = runner_for(live_service, screen, game)
    with pytest.raises(RuntimeError, match="could not post"):
        await runner.run()
    await runner.end_early("closed after an error")
    assert screen.shown[-1] == ("standings", [], "closed after an error")
    assert not [s for s in screen.shown if s[0] == "notice"]
    assert await store.unfinished_rounds() == []
