"""A graceful shutdown takes no new work: commands and clicks get a friendly 'restarting'."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import RunningBot
from tests.e2e.test_lessons_e2e import SEED, answered, studybot
from tests.fakediscord import FakeDiscord


async def test_commands_and_clicks_are_refused_once_stopping(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """After close() begins, a slash command and a button click are answered 'restarting'."""
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        trace = await answered(fake_discord, await fake_discord.slash("trace", {"lesson": SEED}))
        bot.stopping = True  # what StudyBot.close() sets first
        refused = await answered(fake_discord, await fake_discord.slash("lesson list"))
        assert refused.ephemeral
        assert "restarting" in refused.text
        button = trace.custom_ids()[2]  # ▶ next
        click = await fake_discord.click(trace.id, button)
        await fake_discord.wait_for_response(click)
        reply = await fake_discord.wait_for(
            lambda: fake_discord.followups(click) or fake_discord.original_message(click),
            what="the refusal",
        )
        text = reply[0].text if isinstance(reply, list) else reply.text
        assert "restarting" in text
        current = fake_discord.messages[trace.id].text
        assert "Step 1 of 8" in current and "Step 2 of 8" not in current  # not advanced
        bot.stopping = False
    fake_discord.assert_clean()
