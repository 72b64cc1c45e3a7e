"""End to end: /trace and its ⏮ ◀ ▶ ⏭ buttons, the wrong-user click, and a restart."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import RunningBot
from tests.e2e.test_lessons_e2e import SEED, answered, studybot
from tests.fakediscord import FakeDiscord, StoredMessage


def trace_ids(owner: int, step: int) -> dict[str, str]:
    """Return the custom ids of the four buttons of ``owner``'s walkthrough at ``step``."""
    return {action: f"sb:tr:{owner}:{SEED}:{step}:{action}" for action in "fpnl"}


def disabled(message: StoredMessage) -> dict[str, bool]:
    """Return each trace button's action letter and whether it is disabled."""
    return {b["custom_id"][-1]: bool(b.get("disabled")) for b in message.buttons()}


async def click_and_read(fake: FakeDiscord, message_id: int, custom_id: str) -> StoredMessage:
    """Click a button as its owner and return the message after the edit."""
    await fake.wait_for_response(await fake.click(message_id, custom_id))
    current = fake.messages.get(message_id)
    assert current is not None
    return current


async def test_buttons_walk_every_step_in_place(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """▶ ⏭ ◀ ⏮ move the walkthrough, editing one message, disabled at the ends."""
    owner = fake_discord.member.user.id
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message = await answered(fake_discord, await fake_discord.slash("trace", {"lesson": SEED}))
        assert "Step 1 of 8" in message.text
        assert "Call task1()" in message.text
        assert disabled(message) == {"f": True, "p": True, "n": False, "l": False}
        message = await click_and_read(fake_discord, message.id, trace_ids(owner, 1)["n"])
        assert "Step 2 of 8" in message.text
        assert "After Step 1" in message.text  # the tracker state holding at step 2
        message = await click_and_read(fake_discord, message.id, trace_ids(owner, 2)["l"])
        assert "Step 8 of 8" in message.text
        assert disabled(message) == {"f": False, "p": False, "n": True, "l": True}
        message = await click_and_read(fake_discord, message.id, trace_ids(owner, 8)["p"])
        assert "Step 7 of 8" in message.text
        assert "How can both tasks run at the same time" in message.text  # key moment citing 7
        message = await click_and_read(fake_discord, message.id, trace_ids(owner, 7)["f"])
        assert "Step 1 of 8" in message.text
        assert message.revisions == 4
    fake_discord.assert_clean()


async def test_trace_can_start_at_a_step_and_refuses_a_missing_one(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/trace step:6 starts there; step:42 gets a friendly ephemeral reply naming the range."""
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        start = await answered(
            fake_discord, await fake_discord.slash("trace", {"lesson": SEED, "step": 6})
        )
        wrong = await answered(
            fake_discord, await fake_discord.slash("trace", {"lesson": SEED, "step": 42})
        )
    assert "Step 6 of 8" in start.text
    assert wrong.ephemeral
    assert "steps 1-8" in wrong.text
    assert "no step 42" in wrong.text
    fake_discord.assert_clean()


async def test_someone_else_gets_their_own_walkthrough(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A click by another user leaves the walkthrough alone and offers them their own."""
    alice = fake_discord.member.user.id
    bob = fake_discord.add_member("bob")
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message = await answered(fake_discord, await fake_discord.slash("trace", {"lesson": SEED}))
        intruder = await fake_discord.click(message.id, trace_ids(alice, 1)["n"], user=bob)
        note = await answered(fake_discord, intruder)
        assert note.ephemeral
        assert "belongs to" in note.text
        unchanged = fake_discord.messages.get(message.id)
        assert unchanged is not None
        assert unchanged.revisions == 0
        assert "Step 1 of 8" in unchanged.text
        own = await answered(
            fake_discord, await fake_discord.click(note.id, f"sb:trs:{SEED}:1", user=bob)
        )
        assert own.ephemeral
        assert trace_ids(bob.user.id, 1)["n"] in own.custom_ids()
        moved = await fake_discord.click(own.id, trace_ids(bob.user.id, 1)["n"], user=bob)
        await fake_discord.wait_for_response(moved)
        after = fake_discord.messages.get(own.id)
        assert after is not None
        assert "Step 2 of 8" in after.text
    fake_discord.assert_clean()


async def test_walkthrough_buttons_survive_a_restart(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A walkthrough sent before a restart is driven by a fresh bot on the same database."""
    owner = fake_discord.member.user.id
    database = tmp_path / "db.sqlite"
    async with studybot(fake_discord, running_bot, database):
        message = await answered(
            fake_discord, await fake_discord.slash("trace", {"lesson": SEED, "step": 3})
        )
    async with studybot(fake_discord, running_bot, database):
        message = await click_and_read(fake_discord, message.id, trace_ids(owner, 3)["n"])
    assert "Step 4 of 8" in message.text
    fake_discord.assert_clean()
