"""Fixtures for the quiz tests: a small lesson, a store in tmp_path, a service with fake clocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.lessons.model import (
    Checkpoint,
    Choice,
    ExecutionTable,
    Lesson,
    QuizQuestion,
    TableRow,
    TrackedVariable,
    VariableTracker,
)
from bot.quiz.service import QuizService
from bot.store.database import Store
from bot.store.records import AnswerRecord, WriteNotConfirmedError

DAY_MS = 86_400_000
START_MS = 20_000 * DAY_MS + 12 * 3_600_000  # a Wednesday, noon UTC


class FakeClock:
    """A monotonic clock and a wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = START_MS

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += int(seconds * 1000)


def make_lesson(lesson_id: str = "demo-lesson", questions: int = 3) -> Lesson:
    """Build a lesson whose question i has the correct answer 'ABCD'[i % 4]."""
    quiz = tuple(
        QuizQuestion(
            prompt=f"Question {i + 1}?",
            choices=tuple(Choice(letter, f"option {letter}") for letter in "ABCD"),
            answer="ABCD"[i % 4],
            hint=f"hint {i + 1}",
            explanation=f"because {i + 1}",
            steps=(1,),
        )
        for i in range(questions)
    )
    return Lesson(
        id=lesson_id,
        title=f"Lesson {lesson_id}",
        language="Python",
        tags=("async",),
        summary="A test lesson.",
        minutes=5,
        flows=(),
        flow_caption="",
        code=(),
        table=ExecutionTable(("t1",), (TableRow(1, "start", {"t1": "Started"}),)),
        tracker=VariableTracker((Checkpoint("Start"),), (TrackedVariable("x", ("0",)),)),
        moments=(),
        quiz=quiz,
        snapshot=(),
        transcript="",
    )


@pytest.fixture
def lesson() -> Lesson:
    return make_lesson()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store.open(tmp_path / "data" / "quiz.db") as opened:
        yield opened


@pytest.fixture
def service(store: Store, clock: FakeClock) -> QuizService:
    return QuizService(store, clock=clock.monotonic, wall_ms=clock.wall_ms)


def lost_answer(answer: AnswerRecord) -> asyncio.Future[int]:
    """Stand in for ``Store.record_answer`` when its writer stopped with the answer in hand."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    future.set_exception(WriteNotConfirmedError("the writer process stopped"))
    return future
