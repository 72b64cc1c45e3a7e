"""End to end: /lesson list, /lesson show, its mode menu and page buttons, autocomplete, /help.

The real StudyBot (every cog, a real store) runs against the loopback fake
Discord, which rejects anything over Discord's limits and records answers
that miss the 3-second window.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import yaml

from bot.app import StudyBot, build_services, create_bot, load_content
from bot.config import DEFAULT_CONTENT_DIR, Settings
from bot.store.database import Store
from tests.e2e.conftest import RunningBot
from tests.fakediscord import PRIVILEGED_INTENTS, FakeDiscord, Perm, StoredMessage

SEED = "node-sequential-vs-parallel"
LONG = "long-transcript-lesson"


@contextlib.asynccontextmanager
async def studybot(
    fake: FakeDiscord,
    running_bot: RunningBot,
    database: Path,
    content_dir: Path = DEFAULT_CONTENT_DIR,
) -> AsyncIterator[StudyBot]:
    """Run a StudyBot, built as ``studybot run`` builds it, on the fake until the block ends."""
    settings = Settings(token=fake.token, database_path=database, content_dir=content_dir)
    content = await load_content(settings)
    async with Store.open(database) as store:
        bot = create_bot(settings, content, store, build_services(settings, store, content))
        async with running_bot(bot):
            yield bot


async def answered(fake: FakeDiscord, interaction_id: int) -> StoredMessage:
    """Wait for the interaction's response and return the message it produced."""
    await fake.wait_for_response(interaction_id)
    message = await fake.wait_for(
        lambda: fake.original_message(interaction_id), what="the response message"
    )
    assert message is not None
    return message


def content_with_long_lesson(tmp_path: Path) -> Path:
    """Return a content dir: the shipped lessons plus one whose transcript spans many pages."""
    directory = tmp_path / "lessons"
    directory.mkdir()
    for source in DEFAULT_CONTENT_DIR.glob("*.yaml"):
        (directory / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    seed = yaml.safe_load((DEFAULT_CONTENT_DIR / f"{SEED}.yaml").read_text(encoding="utf-8"))
    seed["id"] = LONG
    seed["title"] = "A lesson with a very long transcript"
    seed["transcript"] = " ".join(f"Sentence number {i} of a long talk." for i in range(1500))
    (directory / f"{LONG}.yaml").write_text(yaml.safe_dump(seed), encoding="utf-8")
    return directory


async def test_lesson_list_names_every_lesson(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/lesson list answers with every loaded lesson id, asking for no privileged intent."""
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        message = await answered(fake_discord, await fake_discord.slash("lesson list"))
        for lesson in bot.library.all():
            assert lesson.id in message.text
        assert "## Lessons" not in message.text  # the embed's title says it once
    assert fake_discord.intents & PRIVILEGED_INTENTS == 0
    fake_discord.assert_clean()


async def test_lesson_show_and_the_mode_menu_edit_in_place(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/lesson show sends the chosen mode; the menu switches modes by editing the same message."""
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        shown = await answered(
            fake_discord, await fake_discord.slash("lesson show", {"lesson": SEED, "mode": "code"})
        )
        assert "async function sequential" in shown.text
        assert not shown.ephemeral
        for mode, expected in (("table", "Call task2()"), ("tracker", "task1Status")):
            click = await fake_discord.select(shown.id, f"sb:mode:{SEED}", [mode])
            await fake_discord.wait_for_response(click)
            current = fake_discord.messages.get(shown.id)
            assert current is not None
            assert expected in current.text
            assert f"{SEED} · {mode}" in current.text
    fake_discord.assert_clean()


async def test_others_steer_a_private_copy_of_a_lesson_posted_in_the_channel(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Someone else's menu choice leaves the channel's message alone and shows them a copy."""
    bob = fake_discord.add_member("bob")
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        shown = await answered(
            fake_discord, await fake_discord.slash("lesson show", {"lesson": SEED, "mode": "code"})
        )
        before = shown.revisions
        pick = await fake_discord.select(shown.id, f"sb:mode:{SEED}", ["table"], user=bob)
        copy = await answered(fake_discord, pick)
        assert copy.ephemeral and copy.id != shown.id
        assert "Call task2()" in copy.text and f"{SEED} · table" in copy.text
        unchanged = fake_discord.messages[shown.id]
        assert unchanged.revisions == before and "async function sequential" in unchanged.text

        again = await fake_discord.select(copy.id, f"sb:mode:{SEED}", ["tracker"], user=bob)
        await fake_discord.wait_for_response(again)
        assert "task1Status" in fake_discord.messages[copy.id].text  # bob steers his copy
        mine = await fake_discord.select(shown.id, f"sb:mode:{SEED}", ["moments"])
        await fake_discord.wait_for_response(mine)
        assert f"{SEED} · moments" in fake_discord.messages[shown.id].text
    fake_discord.assert_clean()


async def test_long_lessons_page_with_buttons(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A transcript longer than one embed is paged with ◀ ▶, every page within limits."""
    content = content_with_long_lesson(tmp_path)
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite", content):
        shown = await answered(
            fake_discord,
            await fake_discord.slash("lesson show", {"lesson": LONG, "mode": "transcript"}),
        )
        assert "page 1/" in shown.text
        total = int(shown.text.split("page 1/")[1].split()[0])
        assert total > 2
        seen = {"Sentence number 0 "} if "Sentence number 0 " in shown.text else set()
        for page in range(2, total + 1):
            click = await fake_discord.click(shown.id, f"sb:pg:{LONG}:transcript:{page}:n")
            await fake_discord.wait_for_response(click)
            current = fake_discord.messages.get(shown.id)
            assert current is not None
            assert f"page {page}/{total}" in current.text
            seen.add(current.text)
        assert "Sentence number 1499 of a long talk." in current.text
        back = await fake_discord.click(shown.id, f"sb:pg:{LONG}:transcript:{total - 1}:p")
        await fake_discord.wait_for_response(back)
        current = fake_discord.messages.get(shown.id)
        assert current is not None
        assert f"page {total - 1}/{total}" in current.text
    fake_discord.assert_clean()


async def test_autocomplete_matches_ids_and_titles(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Typing part of an id or of a title suggests the matching lessons, at most 25."""
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        by_id = await fake_discord.autocomplete(
            "lesson show", {"lesson": "node-seq"}, focused="lesson"
        )
        by_title = await fake_discord.autocomplete(
            "trace", {"lesson": "sequential"}, focused="lesson"
        )
        id_choices = (await fake_discord.wait_for_response(by_id)).data["choices"]
        title_choices = (await fake_discord.wait_for_response(by_title)).data["choices"]
    assert [c["value"] for c in id_choices] == [SEED]
    assert SEED in [c["value"] for c in title_choices]
    assert all(1 <= len(c["name"]) <= 100 for c in id_choices + title_choices)
    fake_discord.assert_clean()


async def test_a_title_sent_before_a_suggestion_was_picked_names_its_lesson(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Autocomplete offers titles, so the start of a title typed and sent names the lesson."""
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        typed = await answered(
            fake_discord,
            await fake_discord.slash("lesson show", {"lesson": "when one PARALLEL task"}),
        )
    assert not typed.ephemeral
    assert "When one parallel task fails" in typed.text
    fake_discord.assert_clean()


async def test_autocomplete_keeps_a_long_lessons_id_in_view(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A 60-character id under a long title: the suggestion's name is cut in the title."""
    directory = content_with_long_lesson(tmp_path)
    seed = yaml.safe_load((DEFAULT_CONTENT_DIR / f"{SEED}.yaml").read_text(encoding="utf-8"))
    long_id = "a-lesson-" + "x" * 51
    seed["id"], seed["title"] = long_id, "A title far too long for a suggestion, twice over " * 2
    (directory / f"{long_id}.yaml").write_text(yaml.safe_dump(seed), encoding="utf-8")
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite", directory):
        asked = await fake_discord.autocomplete("lesson show", {"lesson": "a ti"}, focused="lesson")
        choices = (await fake_discord.wait_for_response(asked)).data["choices"]
    [choice] = [c for c in choices if c["value"] == long_id]
    assert len(choice["name"]) <= 100 and choice["name"].endswith(f"({long_id})")
    assert choice["name"].startswith("A title far too long")
    fake_discord.assert_clean()


async def test_help_explains_every_command(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/help answers ephemerally with one embed naming each synced command."""
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message = await answered(fake_discord, await fake_discord.slash("help"))
    assert message.ephemeral
    assert len(message.embeds) == 1
    for name in ("/lesson list", "/lesson show", "/trace", "/help"):
        assert name in message.text
    assert "Gateway latency" in message.text
    fake_discord.assert_clean()


async def test_help_in_direct_messages_lists_what_works_there(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/help from DMs leaves out the server-only commands and says the boards are yours only;
    in a server it lists them, /admin only to those Discord shows it to (Manage Server)."""
    ada = fake_discord.add_member("ada", permissions=Perm.MANAGE_GUILD | Perm.DEFAULT_MEMBER)
    async with studybot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        in_dm = await answered(fake_discord, await fake_discord.slash("help", in_dm=True))
        in_server = await answered(fake_discord, await fake_discord.slash("help"))
        as_admin = await answered(fake_discord, await fake_discord.slash("help", user=ada))
    assert "/quiz start" in in_dm.text and "/leaderboard" in in_dm.text
    assert "/quiz round" not in in_dm.text and "/admin" not in in_dm.text
    assert "your own scores only" in in_dm.text
    assert "/quiz round" in in_server.text and "/admin" not in in_server.text
    assert "/admin export" in as_admin.text and "your own scores only" not in as_admin.text
    fake_discord.assert_clean()


async def test_old_buttons_work_after_a_restart_and_commands_are_not_resynced(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A new bot on the same database serves the old message's menu and skips an unchanged sync."""
    database = tmp_path / "db.sqlite"
    async with studybot(fake_discord, running_bot, database):
        shown = await answered(
            fake_discord, await fake_discord.slash("lesson show", {"lesson": SEED})
        )
    syncs = fake_discord.commands.sync_count
    assert syncs == 1
    async with studybot(fake_discord, running_bot, database):
        click = await fake_discord.select(shown.id, f"sb:mode:{SEED}", ["snapshot"])
        await fake_discord.wait_for_response(click)
        current = fake_discord.messages.get(shown.id)
        assert current is not None
        assert f"{SEED} · snapshot" in current.text
    assert fake_discord.commands.sync_count == syncs
    fake_discord.assert_clean()
