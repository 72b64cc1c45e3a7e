"""End to end: /admin permissions, reset with confirmation, CSV export, question stats, reload."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from bot.app import StudyBot
from bot.config import DEFAULT_CONTENT_DIR
from tests.e2e.conftest import RunningBot
from tests.e2e.test_boards_e2e import quiz, take_quiz
from tests.e2e.test_lessons_e2e import SEED
from tests.e2e.test_quiz_e2e import (
    answer_all,
    answered,
    edited,
    followup,
    quiz_id,
    quizbot,
    start_quiz,
)
from tests.fakediscord import FakeDiscord, Perm, StoredMessage
from tests.fakediscord.entities import FakeMember
from tests.fakediscord.rest import ApiError

BROKEN = Path(__file__).resolve().parent.parent / "fixtures" / "broken_lessons" / "bad_id.yaml"


def admin(fake: FakeDiscord) -> FakeMember:
    """Add a member with Manage Server."""
    return fake.add_member("ada", permissions=Perm.MANAGE_GUILD | Perm.DEFAULT_MEMBER)


def copy_content(tmp_path: Path) -> Path:
    """Return a content directory holding a copy of the shipped lessons."""
    directory = tmp_path / "lessons"
    shutil.copytree(DEFAULT_CONTENT_DIR, directory)
    return directory


async def test_members_without_manage_server_are_refused(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Every /admin command checks Manage Server when it runs, not only in Discord's UI."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        synced = fake_discord.commands.find("admin", fake_discord.guild.id)[0]
        assert str(synced["default_member_permissions"]) == str(Perm.MANAGE_GUILD)
        for name, options in (
            ("admin reload", {}),
            ("admin reset-scores", {}),
            ("admin export", {}),
            ("admin question-stats", {"lesson": SEED}),
        ):
            refused = await answered(fake_discord, await fake_discord.slash(name, options))
            assert refused.ephemeral
            assert "Manage Server" in refused.text
            assert not refused.components
    fake_discord.assert_clean()


async def test_reset_scores_asks_first_and_only_the_admin_answers(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Cancel keeps the scores; another member cannot confirm; Confirm clears the board."""
    ada = admin(fake_discord)
    bob = fake_discord.add_member("bob")
    guild = fake_discord.guild.id
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        await take_quiz(quiz(bot), bot, guild, bob.user.id, "bob", right=3)
        ask = await answered(fake_discord, await fake_discord.slash("admin reset-scores", user=ada))
        assert ask.ephemeral
        assert "cannot be undone" in ask.text
        yes, no = ask.custom_ids()
        boot = f"sb:x:{bot.boot_id}:rs:"
        assert yes.startswith(boot) and no.startswith(boot)
        cancelled = await press(fake_discord, ask, no, ada)
        assert "Cancelled" in cancelled.text
        assert not cancelled.components
        assert len(await quiz(bot).leaderboard(guild)) == 1

        ask = await answered(fake_discord, await fake_discord.slash("admin reset-scores", user=ada))
        yes = ask.custom_ids()[0]
        stranger = await answered(fake_discord, await fake_discord.click(ask.id, yes, user=bob))
        assert stranger.ephemeral
        assert "Only the admin" in stranger.text
        assert len(await quiz(bot).leaderboard(guild)) == 1
        done = await press(fake_discord, ask, yes, ada)
        assert "Scores reset" in done.text
        assert await quiz(bot).leaderboard(guild) == []
    fake_discord.assert_clean()


@pytest.mark.parametrize("gap", [0, 2])
async def test_cancel_then_a_quick_reset_press_resets_nothing(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path, gap: int
) -> None:
    """Cancel and Reset pressed in quick succession: the first decides, the second is told.

    ``gap`` lets the bot's loop run a little between the presses, so the second
    also arrives while the first is being answered, not only before it starts.
    """
    ada = admin(fake_discord)
    guild = fake_discord.guild.id
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        await take_quiz(quiz(bot), bot, guild, ada.user.id, "ada", right=3)
        ask = await answered(fake_discord, await fake_discord.slash("admin reset-scores", user=ada))
        yes, no = ask.custom_ids()
        cancel = await fake_discord.click(ask.id, no, user=ada)
        for _ in range(gap):
            await asyncio.sleep(0)
        reset = await fake_discord.click(ask.id, yes, user=ada)  # before the cancel took effect
        await fake_discord.wait_for_response(cancel)
        late = await answered(fake_discord, reset)
        assert late.ephemeral
        assert "already answered (cancelled)" in late.text
        assert "Cancelled" in fake_discord.messages[ask.id].text
        assert len(await quiz(bot).leaderboard(guild)) == 1
    fake_discord.assert_clean()


async def test_a_reset_that_could_not_be_saved_says_so_and_takes_its_buttons_off(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store fails the reset: the message says it is unconfirmed, with no dead buttons."""
    ada = admin(fake_discord)
    guild = fake_discord.guild.id
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        await take_quiz(quiz(bot), bot, guild, ada.user.id, "ada", right=3)
        ask = await answered(fake_discord, await fake_discord.slash("admin reset-scores", user=ada))

        async def broken(guild_id: int) -> None:
            raise OSError("disk I/O error")

        monkeypatch.setattr(bot.store, "reset_scores", broken)
        failed = await press(fake_discord, ask, ask.custom_ids()[0], ada)
        assert "The reset could not be confirmed. Check /leaderboard" in failed.text
        assert not failed.components
        assert len(await quiz(bot).leaderboard(guild)) == 1
    fake_discord.assert_clean()


async def press(
    fake: FakeDiscord, message: StoredMessage, custom_id: str, user: FakeMember
) -> StoredMessage:
    """Press a button that edits its own message; return the message after the edit."""
    before = message.revisions
    await fake.wait_for_response(await fake.click(message.id, custom_id, user=user))
    return await edited(fake, message.id, before + 1)


async def test_a_reset_confirmation_from_before_a_restart_is_ended_not_failed(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """After a restart its buttons are taken away with an ephemeral why; nothing is reset."""
    ada = admin(fake_discord)
    guild = fake_discord.guild.id
    database = tmp_path / "db.sqlite"
    async with quizbot(fake_discord, running_bot, database) as bot:
        await take_quiz(quiz(bot), bot, guild, 4242, "bob", right=2)
        ask = await answered(fake_discord, await fake_discord.slash("admin reset-scores", user=ada))
        yes = ask.custom_ids()[0]
        first_boot = bot.boot_id
    async with quizbot(fake_discord, running_bot, database) as bot:
        assert bot.boot_id != first_boot
        click = await fake_discord.click(ask.id, yes, user=ada)
        ended = await edited(fake_discord, ask.id, ask.revisions + 1)
        assert not ended.components
        note = await followup(fake_discord, click)
        assert note.ephemeral
        assert "ended when the bot restarted: nothing was reset" in note.text
        assert [e.user_id for e in await quiz(bot).leaderboard(guild)] == [4242]
    fake_discord.assert_clean()


async def test_an_unanswered_reset_times_out(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Nobody presses: the question is replaced by a note and nothing is reset."""
    ada = admin(fake_discord)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cog = bot.get_cog("AdminCog")
        assert cog is not None
        cog.confirm_timeout = 0.2  # type: ignore[attr-defined]
        ask = await answered(fake_discord, await fake_discord.slash("admin reset-scores", user=ada))
        timed_out = await edited(fake_discord, ask.id, ask.revisions + 1)
        assert "nothing was reset" in timed_out.text
        assert not timed_out.components
    fake_discord.assert_clean()


async def test_export_is_a_csv_of_the_guilds_answers(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/admin export attaches a CSV with one row per answer given in the server."""
    ada = admin(fake_discord)
    guild = fake_discord.guild.id
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        await take_quiz(quiz(bot), bot, guild, 4242, "bob", right=1)
        await take_quiz(quiz(bot), bot, guild + 1, 4343, "elsewhere", right=3)
        export = await answered(fake_discord, await fake_discord.slash("admin export", user=ada))
    assert export.ephemeral
    assert "3 answers" in export.text
    (attachment,) = export.attachments
    assert attachment.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(attachment.data.decode("utf-8"), newline="")))
    assert len(rows) == 4  # the header and bob's three answers, nobody else's
    assert "4343" not in attachment.data.decode("utf-8")
    fake_discord.assert_clean()


async def test_export_keeps_names_with_line_breaks_and_formulas_in_their_cells(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A name holding a line break stays in one cell, and the count is of answers, not lines."""
    ada = admin(fake_discord)
    guild = fake_discord.guild.id
    names = {1: "cr\rinside", 2: "two\nlines", 3: "  =HYPERLINK(1)"}
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        for user, name in names.items():
            await take_quiz(quiz(bot), bot, guild, user, name, right=1)
        export = await answered(fake_discord, await fake_discord.slash("admin export", user=ada))
    assert "9 answers" in export.text
    data = export.attachments[0].data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    assert len(rows) == 9
    assert {r["user_name"] for r in rows} == {"cr\rinside", "two\nlines", "'  =HYPERLINK(1)"}
    assert len({len(r) for r in rows}) == 1  # every row has every column
    fake_discord.assert_clean()


async def test_question_stats_count_each_option(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/admin question-stats shows how many chose each option, the right one marked."""
    ada = admin(fake_discord)
    guild = fake_discord.guild.id
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        await take_quiz(quiz(bot), bot, guild, 1, "one", right=3)
        await take_quiz(quiz(bot), bot, guild, 2, "two", right=0)
        stats = await answered(
            fake_discord,
            await fake_discord.slash("admin question-stats", {"lesson": SEED}, user=ada),
        )
    assert stats.ephemeral
    first = stats.embeds[0]["fields"][0]
    assert first["name"].startswith("Q1.")
    assert first["value"].startswith("*2 answers*\n")
    assert "✅ **A** Step 3 — 1 (50%)" in first["value"]
    assert "**B** Step 2 — 1 (50%)" in first["value"]
    assert "**C** Step 6 — 0 (0%)" in first["value"]
    fake_discord.assert_clean()


async def test_reload_keeps_the_old_content_when_a_file_is_broken(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A broken file is named (file, field, reason) and nothing changes; a clean reload swaps."""
    ada = admin(fake_discord)
    content = copy_content(tmp_path)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite", content) as bot:
        served = bot.library
        count = len(served)
        shutil.copy(BROKEN, content / "bad_id.yaml")
        refused = await answered(fake_discord, await fake_discord.slash("admin reload", user=ada))
        assert refused.ephemeral
        assert "Reload refused" in refused.text
        assert "bad_id.yaml" in refused.text
        assert "id:" in refused.text
        assert "lowercase letters" in refused.text
        assert bot.library is served

        (content / "bad_id.yaml").unlink()
        extra = cast(
            dict[str, Any],
            yaml.safe_load((content / f"{SEED}.yaml").read_text(encoding="utf-8")),
        )
        extra["id"] = "reloaded-lesson"
        (content / "reloaded-lesson.yaml").write_text(yaml.safe_dump(extra), encoding="utf-8")
        swapped = await answered(fake_discord, await fake_discord.slash("admin reload", user=ada))
        assert f"Reloaded {count + 1} lessons (was {count})" in swapped.text
        assert "reloaded-lesson" in bot.library
        assert isinstance(bot, StudyBot)
    fake_discord.assert_clean()


async def test_a_reload_report_shown_before_a_failure_stays_up(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """The first page of a long reload report replaces "thinking…"; if a later page
    cannot be sent, the apology comes on its own and the first page is not taken down."""
    ada = admin(fake_discord)
    content = copy_content(tmp_path)
    for n in range(40):  # enough problems for more than one page
        shutil.copy(BROKEN, content / f"bad_id_{n:02}.yaml")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite", content):
        refused = fake_discord.fail_requests(
            lambda r: r.method == "POST" and "/webhooks/" in r.path,
            ApiError(403, 50013, "Missing Permissions"),
        )
        interaction = await fake_discord.slash("admin reload", user=ada)
        apology = await followup(fake_discord, interaction)
        assert refused and apology.ephemeral and "went wrong" in apology.text
        first_page = fake_discord.original_message(interaction)
        assert first_page is not None and not first_page.deleted
        assert "Reload refused" in first_page.text and "bad_id_00.yaml" in first_page.text
    fake_discord.assert_clean()


async def test_retry_of_a_lesson_a_reload_removed_says_it_is_gone(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A finished quiz's Retry after /admin reload dropped its lesson: a kind note, no new run."""
    ada = admin(fake_discord)
    content = copy_content(tmp_path)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite", content) as bot:
        message, run = await start_quiz(fake_discord)
        message = await answer_all(fake_discord, message, run, "ABC")
        (content / f"{SEED}.yaml").unlink()
        await answered(fake_discord, await fake_discord.slash("admin reload", user=ada))
        assert SEED not in bot.library
        note = await followup(
            fake_discord, await fake_discord.click(message.id, quiz_id(run, 3, "r"))
        )
        assert note.ephemeral and "is no longer available" in note.text
        assert [
            m
            for m in fake_discord.messages.in_channel(fake_discord.channel.id)
            if "question 1 of" in m.text
        ] == []
    fake_discord.assert_clean()


async def test_question_stats_of_a_long_quiz_show_every_question(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A quiz of 30 questions with long choices outgrows one embed: every question is shown,
    over as many ephemeral messages as it takes, none past Discord's limits."""
    ada = admin(fake_discord)
    content = copy_content(tmp_path)
    long = cast(
        dict[str, Any], yaml.safe_load((content / f"{SEED}.yaml").read_text(encoding="utf-8"))
    )
    long["id"] = "long-quiz"
    question = long["quiz"][0]
    question["choices"] = {k: (f"{v} " + "x" * 80)[:80] for k, v in question["choices"].items()}
    long["quiz"] = [{**question, "prompt": f"Question {n} {'y' * 150}"} for n in range(30)]
    (content / "long-quiz.yaml").write_text(yaml.safe_dump(long), encoding="utf-8")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite", content):
        interaction = await fake_discord.slash(
            "admin question-stats", {"lesson": "long-quiz"}, user=ada
        )
        first = await answered(fake_discord, interaction)
        await fake_discord.wait_for(
            lambda: len(fake_discord.followups(interaction)) >= 1, what="the later pages"
        )
        await asyncio.sleep(0.2)  # any further page
        pages = [first, *fake_discord.followups(interaction)]
    assert len(pages) > 1 and all(page.ephemeral for page in pages)
    names = [f["name"] for page in pages for f in page.embeds[0]["fields"]]
    assert [name.split(".")[0] for name in names] == [f"Q{n}" for n in range(1, 31)]
    values = [f["value"] for page in pages for f in page.embeds[0]["fields"]]
    assert all(value.startswith("*0 answers*") for value in values)  # not cut off a long name
    assert pages[0].embeds[0]["title"].endswith(f"(1/{len(pages)})")
    assert all("more not shown" not in page.embeds[0]["footer"]["text"] for page in pages)
    fake_discord.assert_clean()  # no request broke a limit
