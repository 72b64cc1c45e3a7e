"""The state of a timed channel round: the open question, who answered it, the totals.

Accepting an answer and closing a question are plain synchronous methods: in
one event loop nothing can run between the check and the change, so an answer
is either accepted before the close (and counted once) or refused after it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.lessons.model import Lesson, QuizQuestion
from bot.quiz.errors import AlreadyAnsweredError, InvalidChoiceError, QuestionClosedError
from bot.quiz.results import FastestAnswer, QuestionResult, RoundStandings, Standing
from bot.store.records import PlayerTotals


@dataclass(eq=False, slots=True)
class RoundAnswer:
    """An accepted answer to the open question; ``write`` commits it."""

    user_id: int
    name: str
    choice: str
    correct: bool
    points: int
    answer_ms: int
    write: asyncio.Future[int] | None = None


@dataclass(eq=False, slots=True)
class Player:
    """A participant's running totals in the round."""

    user_id: int
    name: str
    points: int = 0
    answered: int = 0
    correct: int = 0
    questions: list[tuple[int, bool]] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ChannelRound:
    """One timed round in one channel; only ``QuizService`` changes it."""

    run_id: int
    guild_id: int
    channel_id: int
    owner_id: int
    lesson: Lesson
    questions: tuple[int, ...]
    seconds: int
    message_id: int | None = None
    position: int = -1
    is_open: bool = False
    opened_at: float = 0.0
    answers: dict[int, RoundAnswer] = field(default_factory=dict)
    players: dict[int, Player] = field(default_factory=dict)
    results: list[QuestionResult] = field(default_factory=list)
    closing: asyncio.Future[QuestionResult] | None = None
    finishing: bool = False
    finished: bool = False
    closed_before: tuple[RoundStandings, ...] = ()
    """A round left open in this channel (its finish was not saved), closed to start this one:
    its results are for the front end to show."""

    @property
    def total(self) -> int:
        """Return how many questions the round asks."""
        return len(self.questions)

    @property
    def question_index(self) -> int | None:
        """Return the lesson index of the current (open or last closed) question."""
        if 0 <= self.position < len(self.questions):
            return self.questions[self.position]
        return None

    @property
    def question(self) -> QuizQuestion | None:
        """Return the current (open or last closed) question."""
        index = self.question_index
        return None if index is None else self.lesson.quiz[index]

    @property
    def has_next(self) -> bool:
        """Return whether another question is left to open."""
        return self.position + 1 < len(self.questions)

    def accept(
        self, user_id: int, name: str, position: int | None, letter: str, now: float
    ) -> tuple[QuizQuestion, float]:
        """Check an answer against the open question and reserve the user's one answer.

        Return the question and the seconds since it opened. Raise
        ``QuestionClosedError`` (closed, timed out, or a stale button),
        ``AlreadyAnsweredError`` or ``InvalidChoiceError``.
        """
        question = self.question
        if not self.is_open or question is None:
            raise QuestionClosedError()
        if position is not None and position != self.position:
            raise QuestionClosedError()
        elapsed = now - self.opened_at
        if elapsed > self.seconds:
            raise QuestionClosedError()
        if user_id in self.answers:
            raise AlreadyAnsweredError()
        if letter not in {c.letter for c in question.choices}:
            raise InvalidChoiceError(letter, tuple(c.letter for c in question.choices))
        return question, elapsed

    def close(self) -> list[RoundAnswer]:
        """Close the open question and return the answers accepted before the close."""
        self.is_open = False
        return list(self.answers.values())

    def tally(self, accepted: list[RoundAnswer]) -> QuestionResult:
        """Count the committed answers of the closed question into the result and totals."""
        question = self.question
        index = self.question_index
        assert question is not None and index is not None
        counts = {c.letter: 0 for c in question.choices}
        fastest: RoundAnswer | None = None
        points: dict[int, int] = {}
        for answer in accepted:
            write = answer.write
            if write is None or write.cancelled() or write.exception() is not None:
                continue  # never committed: the user was told it failed
            counts[answer.choice] = counts.get(answer.choice, 0) + 1
            player = self.players.get(answer.user_id)
            if player is None:
                player = self.players[answer.user_id] = Player(answer.user_id, answer.name)
            player.name = answer.name
            player.points += answer.points
            player.answered += 1
            player.correct += answer.correct
            player.questions.append((index, answer.correct))
            points[answer.user_id] = answer.points
            if answer.correct and (fastest is None or answer.answer_ms < fastest.answer_ms):
                fastest = answer
        result = QuestionResult(
            run_id=self.run_id,
            position=self.position,
            question_index=index,
            correct_choice=question.correct,
            counts=counts,
            fastest=None
            if fastest is None
            else FastestAnswer(fastest.user_id, fastest.name, fastest.answer_ms),
            points=points,
        )
        self.results.append(result)
        return result

    def totals(self) -> tuple[PlayerTotals, ...]:
        """Return every player's totals for the store."""
        return tuple(
            PlayerTotals(p.user_id, p.points, p.answered, p.correct, tuple(p.questions))
            for p in self.players.values()
        )


def rank_players(players: list[tuple[int, str, int, int, int]]) -> tuple[Standing, ...]:
    """Rank (user id, name, points, correct, answered) rows, best first; ties share a rank."""
    ordered = sorted(players, key=lambda p: (-p[2], -p[3], p[0]))
    standings: list[Standing] = []
    for position, (user_id, name, points, correct, answered) in enumerate(ordered, start=1):
        rank = standings[-1].rank if standings and standings[-1].points == points else position
        standings.append(Standing(rank, user_id, name, points, correct, answered))
    return tuple(standings)
