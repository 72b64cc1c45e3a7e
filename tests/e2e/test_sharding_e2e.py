"""The sharded bot (AutoShardedBot) against the fake Discord."""

from __future__ import annotations

from pathlib import Path

from bot.app import ShardedStudyBot, build_services, create_bot, load_content
from bot.config import Settings
from bot.store.database import Store
from tests.e2e.conftest import RunningBot
from tests.e2e.test_lessons_e2e import answered
from tests.fakediscord import FakeDiscord


async def test_sharded_bot_identifies_each_shard_and_serves_commands(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """With a shard count of 2 the bot identifies shards 0 and 1 and still answers commands."""
    settings = Settings(token=fake_discord.token, database_path=tmp_path / "db", shard_count=2)
    content = await load_content(settings)
    async with Store.open(settings.database_path) as store:
        bot = create_bot(settings, content, store, build_services(settings, store, content))
        assert isinstance(bot, ShardedStudyBot)
        async with running_bot(bot):
            message = await answered(fake_discord, await fake_discord.slash("lesson list"))
            assert "node-sequential-vs-parallel" in message.text
    shards = sorted(tuple(identify.shard or ()) for identify in fake_discord.identifies)
    assert shards == [(0, 2), (1, 2)]
    fake_discord.assert_clean()


async def test_of_processes_that_split_the_shards_only_shard_zeros_syncs_the_commands(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """The process running shard 1 of 2 registers no commands; shard 0's does."""
    for shard_ids, syncs in (((1,), 0), ((0,), 1)):
        settings = Settings(
            token=fake_discord.token,
            database_path=tmp_path / f"db-{shard_ids[0]}",
            shard_count=2,
            shard_ids=shard_ids,
        )
        content = await load_content(settings)
        async with Store.open(settings.database_path) as store:
            bot = create_bot(settings, content, store, build_services(settings, store, content))
            async with running_bot(bot):
                pass
        assert fake_discord.commands.sync_count == syncs
    fake_discord.assert_clean()
