"""End to end: /leaderboard (top ten and the caller's own rank) and /stats."""

from __future__ import annotations

from pathlib import Path

from bot.app import StudyBot
from bot.quiz.service import QuizService
from bot.store.records import NO_GUILD
from tests.e2e.conftest import RunningBot
from tests.e2e.test_lessons_e2e import SEED
from tests.e2e.test_quiz_e2e import answered, edited, quiz_id, quizbot, run_of
from tests.fakediscord import FakeDiscord

RIGHT = ("A", "B", "C")  # the seed lesson's answers, in order
WRONG = ("B", "A", "A")


async def take_quiz(
    service: QuizService, bot: StudyBot, guild_id: int, user_id: int, name: str, right: int
) -> None:
    """Take the seed quiz through the service, getting the first ``right`` questions right."""
    quiz = await service.start_personal(guild_id, user_id, name, bot.library.get(SEED))
    for position in range(quiz.total):
        letter = RIGHT[position] if position < right else WRONG[position]
        await service.answer(quiz.run_id, user_id, letter, position)


def quiz(bot: StudyBot) -> QuizService:
    """Return the bot's quiz service."""
    assert bot.services.quiz is not None
    return bot.services.quiz


async def test_leaderboard_shows_the_top_ten_and_my_rank(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Eleven players above me: the board lists ten and then my own rank, pinging nobody."""
    guild = fake_discord.guild.id
    carol = fake_discord.add_member("carol")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        for number in range(11):
            name = {0: "@everyone", 1: "eve\u202e01 — 999"}.get(number, f"player{number}")
            await take_quiz(quiz(bot), bot, guild, 1000 + number, name, right=1 + number % 3)
        await take_quiz(quiz(bot), bot, guild, carol.user.id, "carol", right=0)
        board = await answered(fake_discord, await fake_discord.slash("leaderboard", user=carol))
        lines = [line for line in board.text.splitlines() if "points" in line]
        assert len(lines) == 11
        assert lines[0].startswith("**1.**")
        assert "300 points" in lines[0]
        assert "carol" not in "\n".join(lines[:10])
        assert "**12.** carol — 0 points ← you" in lines[10]
        assert "@everyone" in board.text
        assert "eve01 — 999" in board.text and "\u202e" not in board.text  # no line reversal
        assert not (board.allowed_mentions or {}).get("parse")

        weekly = await answered(
            fake_discord,
            await fake_discord.slash("leaderboard", {"lesson": SEED, "period": "week"}, user=carol),
        )
        assert f"`{SEED}`, this week" in weekly.text
        assert "← you" in weekly.text

        outsider = await answered(fake_discord, await fake_discord.slash("leaderboard"))
        assert "You are not on this board yet." in outsider.text
    fake_discord.assert_clean()


async def test_stats_show_progress_for_me_and_for_another_member(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/stats counts lessons done, accuracy and streaks, and names the hardest question."""
    guild = fake_discord.guild.id
    alice = fake_discord.member
    bob = fake_discord.add_member("bob")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        await take_quiz(quiz(bot), bot, guild, alice.user.id, "alice", right=2)
        mine = await answered(fake_discord, await fake_discord.slash("stats"))
        assert "Progress: alice" in mine.text
        assert "Lessons done: **1**" in mine.text
        assert "**2 / 3** right" in mine.text
        assert "**67%**" in mine.text
        assert "Streak: **1 day** now, best **1**" in mine.text
        assert "If we remove 'await'" in mine.text  # the one missed
        theirs = await answered(fake_discord, await fake_discord.slash("stats", {"user": bob}))
        assert "Lessons done: **0**" in theirs.text
        assert "Answers: none in a finished quiz yet." in theirs.text
        robot = fake_discord.guild.members[fake_discord.bot_user.id]
        refused = await answered(fake_discord, await fake_discord.slash("stats", {"user": robot}))
        assert refused.ephemeral and "is a bot: bots take no quizzes" in refused.text
    fake_discord.assert_clean()


async def test_leaderboard_in_direct_messages_shows_only_my_score(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Quizzes taken in DMs share no server: /leaderboard there names nobody else."""
    alice = fake_discord.member
    bob = fake_discord.add_member("bob")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        message = await answered(
            fake_discord, await fake_discord.slash("quiz start", {"lesson": SEED}, in_dm=True)
        )
        assert "question 1 of 3" in message.text  # a personal quiz works in DMs
        await take_quiz(quiz(bot), bot, NO_GUILD, alice.user.id, "alice", right=3)
        await take_quiz(quiz(bot), bot, NO_GUILD, bob.user.id, "bob", right=1)

        mine = await answered(
            fake_discord, await fake_discord.slash("leaderboard", {}, user=bob, in_dm=True)
        )
        assert "100** points" in mine.text
        assert "alice" not in mine.text and "300" not in mine.text
        assert "Boards are per server" in mine.text

        theirs = await answered(
            fake_discord,
            await fake_discord.slash("stats", {"user": alice}, user=bob, in_dm=True),
        )
        assert theirs.ephemeral and "only your own progress" in theirs.text
        mine = await answered(
            fake_discord, await fake_discord.slash("stats", {}, user=bob, in_dm=True)
        )
        assert "Progress: bob" in mine.text

        server = await answered(fake_discord, await fake_discord.slash("leaderboard", {}, user=bob))
        assert "You are not on this board yet." in server.text  # DM scores stay out of it
    fake_discord.assert_clean()


async def test_a_server_nickname_stays_on_its_server(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Boards show the account-wide name: a nickname from one server never reaches another."""
    dana = fake_discord.add_member(
        fake_discord.add_user("dana", global_name="Dana G"), nick="Dana from work"
    )
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message = await answered(
            fake_discord, await fake_discord.slash("quiz start", {"lesson": SEED}, user=dana)
        )
        run = run_of(message)
        for position, letter in enumerate(RIGHT):
            before = message.revisions
            click = await fake_discord.click(
                message.id, quiz_id(run, position, "a" + letter), user=dana
            )
            await fake_discord.wait_for_response(click)
            message = await edited(fake_discord, message.id, before + 1)
        board = await answered(fake_discord, await fake_discord.slash("leaderboard", {}))
        assert "Dana G — 300 points" in board.text
        assert "Dana from work" not in board.text
    fake_discord.assert_clean()
