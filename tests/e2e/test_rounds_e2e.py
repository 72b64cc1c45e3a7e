"""End to end: /quiz round with several members, late and repeated presses, standings, restarts.

Questions are closed by the test (``RoundsCog.close_question_now``) rather
than by waiting out the 10-120 s window, so the tests are fast and do not
depend on the machine's speed; the countdown itself runs as in production.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any, cast

import pytest

from bot.app import StudyBot
from bot.cogs.rounds import INTERRUPTED, SAVED_LATE, STOPPED, RoundsCog
from tests.e2e.conftest import RunningBot
from tests.e2e.test_lessons_e2e import SEED
from tests.e2e.test_quiz_e2e import answered, quizbot
from tests.fakediscord import FakeDiscord, Perm, StoredMessage
from tests.fakediscord.entities import FakeMember
from tests.fakediscord.rest import ApiError
from tests.unit.quiz.conftest import lost_answer
from tests.unit.store.processes import writer_dies_after_committing


def rounds_cog(bot: StudyBot) -> RoundsCog:
    """Return the bot's rounds cog, with no pause between questions."""
    found = bot.get_cog("RoundsCog")
    # discord.py imports each extension afresh, so compare by name, not identity.
    assert type(found).__name__ == "RoundsCog"
    cog = cast(RoundsCog, found)
    cog.pause_seconds = 0
    return cog


def quiz_master(fake: FakeDiscord) -> FakeMember:
    """Add ada, who has Manage Server and so may start rounds."""
    return fake.add_member("ada", permissions=Perm.MANAGE_GUILD | Perm.DEFAULT_MEMBER)


async def disk_error(*args: Any) -> Any:
    """Stand in for a store write that fails."""
    raise OSError("disk I/O error")


async def question(fake: FakeDiscord, position: int) -> tuple[int, StoredMessage]:
    """Wait for the round message asking question ``position``; return the run and message."""
    pattern = re.compile(rf"sb:rd:(\d+):{position}:A")

    def find() -> tuple[int, StoredMessage] | None:
        for message in fake.messages.in_channel(fake.channel.id):
            for custom_id in message.custom_ids():
                match = pattern.fullmatch(custom_id)
                if match:
                    return int(match[1]), message
        return None

    return await fake.wait_for(find, what=f"round question {position}")


async def press(
    fake: FakeDiscord, message: StoredMessage, custom_id: str, user: FakeMember
) -> StoredMessage:
    """Press a round button as ``user``; return the ephemeral reply."""
    click = await fake.click(message.id, custom_id, user=user)
    await fake.wait_for_response(click)

    def reply() -> StoredMessage | None:
        found = fake.followups(click)
        return found[0] if found else None

    return await fake.wait_for(reply, what=f"the reply to {custom_id}")


async def closed(fake: FakeDiscord, message_id: int) -> StoredMessage:
    """Wait until every button of the round message is disabled; return it."""

    def done() -> StoredMessage | None:
        message = fake.messages.get(message_id)
        if message is None:
            return None
        answers = [b for b in message.buttons() if b["custom_id"].startswith("sb:rd:")]
        return message if answers and all(b.get("disabled") for b in answers) else None

    return await fake.wait_for(done, what=f"message {message_id} closed")


async def standings(fake: FakeDiscord) -> StoredMessage:
    """Wait for the round standings message in the channel; return it."""

    def find() -> StoredMessage | None:
        return next(
            (m for m in fake.messages.in_channel(fake.channel.id) if "Round standings" in m.text),
            None,
        )

    return await fake.wait_for(find, what="the round standings")


async def test_a_round_with_several_members(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Members answer once each; a repeat and a late press are refused; results and standings."""
    ada = quiz_master(fake_discord)
    alice = fake_discord.member
    bob = fake_discord.add_member("bob")
    carol = fake_discord.add_member("carol")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cog = rounds_cog(bot)
        intro = await answered(
            fake_discord,
            await fake_discord.slash("quiz round", {"lesson": SEED, "seconds": 30}, user=ada),
        )
        assert "Quiz round" in intro.text
        assert not intro.ephemeral
        run, first = await question(fake_discord, 0)
        assert "question 1 of 3" in first.text
        assert "Closes <t:" in first.text

        recorded = await press(fake_discord, first, f"sb:rd:{run}:0:A", alice)
        assert recorded.ephemeral
        assert "Recorded: **A**" in recorded.text
        assert "Recorded: **B**" in (await press(fake_discord, first, f"sb:rd:{run}:0:B", bob)).text
        again = await press(fake_discord, first, f"sb:rd:{run}:0:A", bob)
        assert again.ephemeral
        assert "already answered" in again.text

        cog.close_question_now(run)
        result = await closed(fake_discord, first.id)
        assert "(closed)" in result.text
        assert "A: 1 ✅" in result.text
        assert "B: 1" in result.text
        assert "Fastest right answer" in result.text
        assert "alice in" in result.text
        assert "**A. Step 3**" in result.text  # not spoiler-tagged by default
        assert f"sb:trs:{SEED}:2" in result.custom_ids()

        # A client still showing the open question presses after the close.
        result.component(f"sb:rd:{run}:0:C")["disabled"] = False
        late = await press(fake_discord, result, f"sb:rd:{run}:0:C", carol)
        assert late.ephemeral
        assert "Too late" in late.text

        _, second = await question(fake_discord, 1)
        assert "Recorded" in (await press(fake_discord, second, f"sb:rd:{run}:1:B", carol)).text
        cog.close_question_now(run)
        await closed(fake_discord, second.id)
        _, third = await question(fake_discord, 2)
        cog.close_question_now(run)
        third = await closed(fake_discord, third.id)
        assert "Nobody answered right." in third.text

        board = await standings(fake_discord)
        lines = board.text.splitlines()
        ranked = [line for line in lines if "points" in line and "right)" in line]
        assert len(ranked) == 3
        assert "bob" in ranked[-1]
        assert "0 points" in ranked[-1]
        assert {"alice", "carol"} <= {
            name for line in ranked[:2] for name in ("alice", "carol") if name in line
        }

        # A client still showing the last question presses after the round has ended.
        third.component(f"sb:rd:{run}:2:A")["disabled"] = False
        ended = await press(fake_discord, third, f"sb:rd:{run}:2:A", carol)
        assert ended.ephemeral and "Too late: this round has ended." in ended.text
    fake_discord.assert_clean()


async def test_only_quiz_masters_start_rounds_one_per_channel(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A plain member is refused; the quiz-master role may start one; a second one is refused."""
    guild = fake_discord.guild
    role = fake_discord.add_role(guild, "Quizmaster")
    master = fake_discord.add_member("quinn", roles=(role,))
    async with quizbot(
        fake_discord, running_bot, tmp_path / "db.sqlite", quiz_master_role="quizmaster"
    ) as bot:
        rounds_cog(bot)
        refused = await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED})
        )
        assert refused.ephemeral
        assert "Manage Server" in refused.text
        assert "quizmaster" in refused.text
        started = await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=master)
        )
        assert "Quiz round" in started.text
        assert "20 s each" in started.text  # the configured default
        await question(fake_discord, 0)
        second = await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=master)
        )
        assert second.ephemeral
        assert "already running" in second.text
    fake_discord.assert_clean()


async def test_an_unfinished_round_is_closed_after_a_restart(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A round cut off by a crash has its buttons disabled and its result posted on restart."""
    database = tmp_path / "db.sqlite"
    ada = fake_discord.add_member("ada", permissions=Perm.MANAGE_GUILD)
    async with quizbot(fake_discord, running_bot, database, spoiler_answers=True) as bot:
        cog = rounds_cog(bot)
        await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        run, first = await question(fake_discord, 0)
        assert (
            "Recorded"
            in (await press(fake_discord, first, f"sb:rd:{run}:0:A", fake_discord.member)).text
        )
        # Simulate a crash: the round's task dies without closing anything.
        task = cog.running[run].task
        assert task is not None
        task.cancel()
        await fake_discord.wait_for(lambda: task.done(), what="the round task to stop")
    assert not fake_discord.messages[first.id].buttons()[0].get("disabled")
    async with quizbot(fake_discord, running_bot, database) as bot:
        recovered = await closed(fake_discord, first.id)
        assert INTERRUPTED in recovered.text
        # The open question shows its result, counted from the stored answers: the
        # players were scored on it, so its answer is no longer hidden behind a countdown.
        assert "Closes" not in recovered.text and "(closed)" in recovered.text
        assert "A: 1 ✅" in recovered.text
        assert "alice in " in recovered.text  # the fastest right answer
        board = await standings(fake_discord)
        assert INTERRUPTED in board.text
        assert "alice" in board.text
        assert "(1/1 right)" in board.text
    fake_discord.assert_clean()


async def test_stopping_the_bot_ends_a_running_round(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A graceful stop closes the open question and posts the standings with a note."""
    ada = fake_discord.add_member("ada", permissions=Perm.MANAGE_GUILD)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        rounds_cog(bot)
        await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        _, first = await question(fake_discord, 0)
    stopped = await closed(fake_discord, first.id)
    assert STOPPED in stopped.text
    board = await standings(fake_discord)
    assert STOPPED in board.text
    fake_discord.assert_clean()


async def test_results_are_spoiler_tagged_when_configured(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """With spoiler_answers the closed question shows the answer inside ||…||."""
    ada = fake_discord.add_member("ada", permissions=Perm.MANAGE_GUILD)
    async with quizbot(
        fake_discord, running_bot, tmp_path / "db.sqlite", spoiler_answers=True
    ) as bot:
        cog = rounds_cog(bot)
        await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        run, first = await question(fake_discord, 0)
        cog.close_question_now(run)
        result = await closed(fake_discord, first.id)
        assert "||**A. Step 3**||" in result.text
    fake_discord.assert_clean()


async def test_the_countdown_edits_the_question_in_place(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Each countdown tick edits the question message; no new message is sent for it."""
    ada = fake_discord.add_member("ada", permissions=Perm.MANAGE_GUILD)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cog = rounds_cog(bot)
        cog.tick_seconds = 0.1
        await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        run, first = await question(fake_discord, 0)
        sent = len(fake_discord.messages.in_channel(fake_discord.channel.id))
        ticked = await fake_discord.wait_for(
            lambda: first if first.revisions >= 2 else None, what="two countdown edits"
        )
        assert "s left" in ticked.text
        assert not any(b.get("disabled") for b in ticked.buttons())
        assert len(fake_discord.messages.in_channel(fake_discord.channel.id)) == sent
        cog.close_question_now(run)
        await closed(fake_discord, first.id)
    fake_discord.assert_clean()


async def test_round_answers_the_writer_lost_or_committed_as_it_died(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lost answer asks for another press; one committed as the writer died counts once.

    The first writer process dies right after committing bob's answer and
    before saying so (a real process exit, not a stand-in), so the bot has to
    find out from the database that bob's answer is on disk.
    """
    ada = quiz_master(fake_discord)
    alice = fake_discord.member
    bob = fake_discord.add_member("bob")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cog = rounds_cog(bot)
        await answered(
            fake_discord,
            await fake_discord.slash("quiz round", {"lesson": SEED, "seconds": 30}, user=ada),
        )
        run, first = await question(fake_discord, 0)

        real = bot.store.record_answer
        monkeypatch.setattr(bot.store, "record_answer", lost_answer)
        lost = await press(fake_discord, first, f"sb:rd:{run}:0:A", alice)
        assert lost.ephemeral
        assert "not recorded" in lost.text and "press your answer again" in lost.text
        monkeypatch.setattr(bot.store, "record_answer", real)
        given = await press(fake_discord, first, f"sb:rd:{run}:0:A", alice)
        assert "Recorded: **A**" in given.text

        await writer_dies_after_committing(bot.store, monkeypatch, once=True)
        kept = await press(fake_discord, first, f"sb:rd:{run}:0:B", bob)
        assert kept.ephemeral
        assert "Recorded: **B**" in kept.text
        again = await press(fake_discord, first, f"sb:rd:{run}:0:C", bob)
        assert "already answered" in again.text

        cog.close_question_now(run)
        result = await closed(fake_discord, first.id)
        assert "A: 1 ✅" in result.text
        assert "B: 1" in result.text and "C: 0" in result.text
    fake_discord.assert_clean()
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        stored = db.execute(
            "SELECT user_id, choice FROM answers WHERE run_id = ? ORDER BY choice", (run,)
        ).fetchall()
    assert stored == [(alice.user.id, "A"), (bob.user.id, "B")]


async def test_a_round_is_refused_where_the_bot_cannot_post_its_questions(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Without Send Messages and Embed Links the starter is told, and nothing is announced."""
    ada = quiz_master(fake_discord)
    guild = fake_discord.guild
    guild.members[fake_discord.bot_user.id].permissions = Perm.DEFAULT_BOT & ~(
        Perm.SEND_MESSAGES | Perm.EMBED_LINKS
    )
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        rounds_cog(bot)
        refused = await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        assert refused.ephemeral
        assert "missing Send Messages, Embed Links" in refused.text
        assert rounds_cog(bot).service.round_in(fake_discord.channel.id) is None
        assert not [
            m for m in fake_discord.messages.in_channel(fake_discord.channel.id) if not m.ephemeral
        ]
    fake_discord.assert_clean()


async def test_of_two_rounds_started_at_once_the_second_is_told_privately(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Two quiz masters start a round in one channel at once: one announcement, one private no."""
    ada = quiz_master(fake_discord)
    bea = fake_discord.add_member("bea", permissions=Perm.MANAGE_GUILD | Perm.DEFAULT_MEMBER)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        rounds_cog(bot)
        first = await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        second = await fake_discord.slash("quiz round", {"lesson": SEED}, user=bea)
        replies = [await answered(fake_discord, first), await answered(fake_discord, second)]
        await question(fake_discord, 0)
        public = [r for r in replies if not r.ephemeral]
        private = [r for r in replies if r.ephemeral]
        assert len(public) == 1 and "Quiz round" in public[0].text
        assert len(private) == 1 and "already running" in private[0].text
    fake_discord.assert_clean()


async def test_a_round_stopped_mid_question_reveals_what_was_answered(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A stop closes the open question as usual: its answer and counts are shown, then standings."""
    ada = quiz_master(fake_discord)
    bob = fake_discord.add_member("bob")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        rounds_cog(bot)
        await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        run, first = await question(fake_discord, 0)
        await press(fake_discord, first, f"sb:rd:{run}:0:A", bob)
    stopped = await closed(fake_discord, first.id)
    assert STOPPED in stopped.text
    assert "A: 1 ✅" in stopped.text and "Closes <t:" not in stopped.text
    board = await standings(fake_discord)
    assert "bob" in board.text and STOPPED in board.text
    fake_discord.assert_clean()


async def test_a_round_whose_announcement_failed_frees_its_channel(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
) -> None:
    """The reply fails (say, too late for Discord): the round is ended, the channel is free."""
    ada = quiz_master(fake_discord)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cog = rounds_cog(bot)
        expired = fake_discord.fail_requests(
            lambda r: r.path.endswith("/callback"), ApiError(404, 10062, "Unknown interaction")
        )
        await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        await fake_discord.wait_for(lambda: expired, what="the refused announcement")

        def ended() -> bool:
            with sqlite3.connect(tmp_path / "db.sqlite") as db:
                done = db.execute("SELECT count(*) FROM quiz_runs WHERE finished_at IS NOT NULL")
                return done.fetchone()[0] == 1 and not cog.service._channels

        await fake_discord.wait_for(ended, what="the unannounced round recorded and ended")
        assert await bot.store.unfinished_rounds() == []  # recorded and ended, nothing to recover
        again = await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        assert "Quiz round" in again.text and not again.ephemeral


async def test_a_slow_store_does_not_make_the_round_reply_late(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reply goes out before the round is written: a slow write cannot miss Discord's 3 s."""
    ada = quiz_master(fake_discord)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        rounds_cog(bot)
        real = bot.store.start_run

        async def slow(run: Any) -> int:
            await asyncio.sleep(3.3)
            return await real(run)

        monkeypatch.setattr(bot.store, "start_run", slow)
        intro = await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        assert "Quiz round" in intro.text
        await question(fake_discord, 0)
    assert fake_discord.late_interactions == []


async def test_a_round_that_cannot_be_written_edits_its_announcement(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store fails to record the round: the announcement says so, the channel stays free."""
    ada = quiz_master(fake_discord)
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cog = rounds_cog(bot)
        monkeypatch.setattr(bot.store, "start_run", disk_error)
        first = await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)

        def told() -> StoredMessage | None:
            message = fake_discord.original_message(first)
            return message if message and "could not be started" in message.text else None

        await fake_discord.wait_for(told, what="the announcement edited")
        assert cog.service.round_in(fake_discord.channel.id) is None
        assert not cog.service._channels


async def test_a_round_whose_finish_cannot_be_saved_is_closed_by_the_next_one(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The finish fails: the channel hears the results come later, and the next round there
    starts anyway, after posting them (the database still held the old round open)."""
    ada = quiz_master(fake_discord)
    alice = fake_discord.member
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cog = rounds_cog(bot)
        real_finish = bot.store.finish_run
        monkeypatch.setattr(bot.store, "finish_run", disk_error)
        await answered(
            fake_discord, await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        )
        for position in range(3):
            old_run, message = await question(fake_discord, position)
            if position == 0:
                await press(fake_discord, message, f"sb:rd:{old_run}:0:A", alice)
            cog.close_question_now(old_run)
            await closed(fake_discord, message.id)

        def channel_text(needle: str) -> StoredMessage | None:
            return next(
                (
                    m
                    for m in fake_discord.messages.in_channel(fake_discord.channel.id)
                    if needle in m.text
                ),
                None,
            )

        found = await fake_discord.wait_for(
            lambda: channel_text("posted when the next round starts here"), what="the notice"
        )
        assert "This round hit an error and was closed." in found.text
        assert channel_text("Round standings") is None

        monkeypatch.setattr(bot.store, "finish_run", real_finish)
        second = await fake_discord.slash("quiz round", {"lesson": SEED}, user=ada)
        await answered(fake_discord, second)
        late = await fake_discord.wait_for(
            lambda: channel_text("Round standings: "), what="the old round's results"
        )
        assert SAVED_LATE in late.text and "alice" in late.text
        new_run, _ = await fake_discord.wait_for(
            lambda: next(
                (
                    (run, m)
                    for m in fake_discord.messages.in_channel(fake_discord.channel.id)
                    for run in (int(c.split(":")[2]) for c in m.custom_ids() if c.endswith(":0:A"))
                    if run != old_run
                ),
                None,
            ),
            what="the new round's first question",
        )
        assert "could not be started" not in (fake_discord.original_message(second) or late).text
        board = await bot.services.quiz.leaderboard(fake_discord.guild.id)  # type: ignore[union-attr]
        assert [e.name for e in board] == ["alice"]
        cog.close_question_now(new_run)
    fake_discord.assert_clean()
