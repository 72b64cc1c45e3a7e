"""The narrow interface the quiz service needs from a store.

``Store`` (SQLite) implements it today; a shared server database serving
several sharded processes could implement the same methods later without the
quiz service changing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from bot.store.records import (
    AnswerRecord,
    AnswersExport,
    LeaderboardEntry,
    QuestionStats,
    RunFinish,
    RunStart,
    SavedRun,
    UnfinishedRound,
    UserStats,
)


class QuizStore(Protocol):
    """Everything the quiz core reads and writes; every write returns after commit."""

    async def start_run(self, run: RunStart) -> int: ...

    async def start_personal_run(
        self, run: RunStart, *, resume: bool = True
    ) -> tuple[int, bool, bool]: ...

    async def set_round_state(
        self, run_id: int, *, message_id: int | None, current_question: int | None
    ) -> None: ...

    async def make_private(self, run_id: int) -> None: ...

    def record_answer(self, answer: AnswerRecord) -> asyncio.Future[int]: ...

    async def finish_run(self, finish: RunFinish) -> bool: ...

    async def reset_scores(self, guild_id: int) -> None: ...

    async def remember_user(self, user_id: int, name: str) -> None: ...

    async def has_completed(self, guild_id: int, user_id: int, lesson_id: str) -> bool: ...

    async def leaderboard(
        self, guild_id: int, lesson_id: str, week: int, limit: int = 10
    ) -> list[LeaderboardEntry]: ...

    async def rank_of(
        self, guild_id: int, user_id: int, lesson_id: str, week: int
    ) -> LeaderboardEntry | None: ...

    async def user_stats(
        self, guild_id: int, user_id: int, today: int, hardest: int = 3
    ) -> UserStats: ...

    async def question_stats(self, guild_id: int, lesson_id: str) -> list[QuestionStats]: ...

    async def export_answers_csv(self, guild_id: int) -> AnswersExport: ...

    async def unfinished_rounds(self) -> list[UnfinishedRound]: ...

    async def saved_run(self, run_id: int) -> SavedRun | None: ...

    async def latest_personal_run(self, guild_id: int, user_id: int) -> int | None: ...

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def backup(self, dest: Path) -> None: ...
