"""A real StudyBot with every cog loaded, built without logging in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import EXTENSIONS, StudyBot, load_content
from bot.config import DEFAULT_CONTENT_DIR, Settings
from bot.store.database import Store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Return settings with a database in tmp_path and the shipped lessons."""
    return Settings(database_path=tmp_path / "studybot.db", content_dir=DEFAULT_CONTENT_DIR)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """Open a fresh store in tmp_path."""
    async with Store.open(settings.database_path) as opened:
        yield opened


@pytest.fixture
async def study_bot(settings: Settings, store: Store) -> AsyncIterator[StudyBot]:
    """Build a StudyBot with every extension loaded, never connected."""
    content = await load_content(settings)
    bot = StudyBot(settings, content, store, sync_on_start=False, heartbeat=False)
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    yield bot
    await bot.close()
