"""End to end: /quiz start answered to the end, hints, the trace link, retry, review, strangers.

The real StudyBot, with every service wired as ``studybot run`` wires it,
runs against the loopback fake Discord.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import StudyBot, build_services, create_bot, load_content
from bot.cogs.quiz import GOES_ON_PRIVATELY
from bot.config import DEFAULT_CONTENT_DIR, Settings
from bot.store.database import Store
from bot.store.records import ALL_TIME
from bot.store.writer import WorkerProcess
from tests.e2e.conftest import RunningBot
from tests.e2e.test_lessons_e2e import SEED
from tests.fakediscord import FakeDiscord, StoredMessage
from tests.fakediscord.rest import ApiError
from tests.unit.quiz.conftest import lost_answer
from tests.unit.store.processes import writer_dies_after_committing


@contextlib.asynccontextmanager
async def quizbot(
    fake: FakeDiscord,
    running_bot: RunningBot,
    database: Path,
    content_dir: Path = DEFAULT_CONTENT_DIR,
    **overrides: object,
) -> AsyncIterator[StudyBot]:
    """Run a StudyBot with its services (quiz included) on the fake until the block ends."""
    settings = Settings(
        token=fake.token,
        database_path=database,
        content_dir=content_dir,
        **overrides,  # type: ignore[arg-type]
    )
    content = await load_content(settings)
    async with Store.open(database) as store:
        bot = create_bot(settings, content, store, build_services(settings, store, content))
        async with running_bot(bot):
            yield bot


async def answered(fake: FakeDiscord, interaction_id: int) -> StoredMessage:
    """Wait for the interaction's response message, past any "thinking…" state; return it."""
    await fake.wait_for_response(interaction_id)

    def settled() -> StoredMessage | None:
        message = fake.original_message(interaction_id)
        return message if message is not None and not message.loading else None

    return await fake.wait_for(settled, what=f"the settled response to {interaction_id}")


async def edited(fake: FakeDiscord, message_id: int, revisions: int) -> StoredMessage:
    """Wait until the message has been edited ``revisions`` times; return it."""

    def done() -> StoredMessage | None:
        message = fake.messages.get(message_id)
        return message if message is not None and message.revisions >= revisions else None

    return await fake.wait_for(done, what=f"edit {revisions} of message {message_id}")


async def followup(fake: FakeDiscord, interaction_id: int) -> StoredMessage:
    """Wait for the first followup message of an interaction; return it."""

    def first() -> StoredMessage | None:
        found = fake.followups(interaction_id)
        return found[0] if found else None

    return await fake.wait_for(first, what=f"a followup to {interaction_id}")


def run_of(message: StoredMessage) -> int:
    """Return the quiz run id carried by the message's buttons."""
    for custom_id in message.custom_ids():
        match = re.fullmatch(r"sb:qz:(\d+):\d+:\w+", custom_id)
        if match:
            return int(match[1])
    raise AssertionError(f"no quiz button in {message.custom_ids()}")


def quiz_id(run: int, position: int, action: str) -> str:
    """Return a quiz button's custom id."""
    return f"sb:qz:{run}:{position}:{action}"


async def press(fake: FakeDiscord, message: StoredMessage, custom_id: str) -> StoredMessage:
    """Press a button that edits its own message; return the message after the edit."""
    before = message.revisions
    await fake.wait_for_response(await fake.click(message.id, custom_id))
    return await edited(fake, message.id, before + 1)


async def start_quiz(fake: FakeDiscord, **options: object) -> tuple[StoredMessage, int]:
    """Start a personal quiz of the seed lesson; return its message and run id."""
    message = await answered(fake, await fake.slash("quiz start", {"lesson": SEED, **options}))
    return message, run_of(message)


async def answer_all(
    fake: FakeDiscord, message: StoredMessage, run: int, letters: str, first: int = 0
) -> StoredMessage:
    """Answer the quiz's questions from ``first`` on with ``letters``; return the message."""
    for position, letter in enumerate(letters, first):
        message = await press(fake, message, quiz_id(run, position, "a" + letter))
    return message


async def retry_spent(fake: FakeDiscord, message_id: int, run: int, position: int) -> StoredMessage:
    """Wait until the finished quiz's Retry is disabled (a retry or review was started)."""

    def spent() -> StoredMessage | None:
        found = fake.messages[message_id]
        return found if found.component(quiz_id(run, position, "r"))["disabled"] else None

    return await fake.wait_for(spent, what=f"Retry of run {run} disabled")


async def test_a_personal_quiz_from_hint_to_review(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Hint, right and wrong answers, the trace link, final score, review missed and retry."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message, run = await start_quiz(fake_discord)
        assert not message.ephemeral
        assert "question 1 of 3" in message.text
        assert "counts for the leaderboard" in message.text
        assert set(message.custom_ids()) >= {quiz_id(run, 0, a) for a in ("aA", "aD", "h")}

        message = await press(fake_discord, message, quiz_id(run, 0, "h"))
        assert "Check the 'Action'" in message.text
        assert message.component(quiz_id(run, 0, "h"))["disabled"]

        message = await press(fake_discord, message, quiz_id(run, 0, "aA"))
        assert "✅ Right" in message.text
        assert "+50 points, hint used" in message.text
        assert "At step 3 the sequential code calls task2()" in message.text
        assert "question 2 of 3" in message.text
        link = f"sb:trs:{SEED}:2"
        assert link in message.custom_ids()
        trace = await answered(fake_discord, await fake_discord.click(message.id, link))
        assert trace.ephemeral
        assert "Step 2 of 8" in trace.text

        message = await press(fake_discord, message, quiz_id(run, 1, "aA"))
        assert "❌ Not quite: you chose **A**" in message.text
        assert "The answer is **B. Step 6**" in message.text

        message = await press(fake_discord, message, quiz_id(run, 2, "aC"))
        assert "Quiz finished" in message.text
        assert "150 / 300 points" in message.text
        assert "2 of 3 right" in message.text
        assert "This run counts for the leaderboard." in message.text
        assert "Missed: Q2" in message.text

        review_click = await fake_discord.click(message.id, quiz_id(run, 3, "m"))
        review = await followup(fake_discord, review_click)
        review_run = run_of(review)
        assert review_run != run
        assert "In the parallel execution" in review.text
        assert "question 1 of 1" in review.text
        assert "review of missed questions" in review.text
        review = await press(fake_discord, review, quiz_id(review_run, 0, "aB"))
        assert "1 of 1 right" in review.text
        assert "Review runs are practice" in review.text
        assert review.component(quiz_id(review_run, 1, "m"))["disabled"]
        # The first run led to its review: its Retry and Review are spent, so a
        # second tap cannot post another quiz; the review's own Retry is live.
        spent = await retry_spent(fake_discord, message.id, run, 3)
        assert spent.component(quiz_id(run, 3, "m"))["disabled"]

        retry = await followup(
            fake_discord, await fake_discord.click(review.id, quiz_id(review_run, 1, "r"))
        )
        assert "question 1 of 3" in retry.text
        assert "practice run" in retry.text
    fake_discord.assert_clean()


async def test_someone_else_cannot_press_my_quiz(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Another member's press gets an ephemeral note and leaves the quiz untouched."""
    bob = fake_discord.add_member("bob")
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message, run = await start_quiz(fake_discord)
        before = message.revisions
        for action in ("aA", "h"):
            note = await answered(
                fake_discord,
                await fake_discord.click(message.id, quiz_id(run, 0, action), user=bob),
            )
            assert note.ephemeral
            assert "belongs to someone else" in note.text
        unchanged = fake_discord.messages[message.id]
        assert unchanged.revisions == before
        message = await press(fake_discord, message, quiz_id(run, 0, "aA"))
        assert "✅ Right" in message.text
    fake_discord.assert_clean()


async def test_a_quiz_picks_up_where_it_was_after_a_restart(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Buttons on a quiz from before a restart keep working: answered questions stay answered."""
    bob = fake_discord.add_member("bob")
    database = tmp_path / "db.sqlite"
    async with quizbot(fake_discord, running_bot, database):
        message, run = await start_quiz(fake_discord)
        message = await press(fake_discord, message, quiz_id(run, 0, "aA"))
        assert "question 2 of 3" in message.text
    async with quizbot(fake_discord, running_bot, database):
        # Its owner is restored with it: a stranger's press is still refused.
        note = await answered(
            fake_discord, await fake_discord.click(message.id, quiz_id(run, 1, "aA"), user=bob)
        )
        assert note.ephemeral and "belongs to someone else" in note.text
        message = await press(fake_discord, message, quiz_id(run, 1, "aA"))
        assert "question 3 of 3" in message.text
        assert "counts for the leaderboard" in message.text
    with sqlite3.connect(database) as db:
        given = db.execute(
            "SELECT question_index FROM answers WHERE run_id = ? ORDER BY id", (run,)
        ).fetchall()
    assert given == [(0,), (1,)]
    fake_discord.assert_clean()


async def test_a_quiz_whose_lesson_is_gone_after_a_restart_says_so(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A press on a quiz whose lesson was removed explains itself instead of failing."""
    database = tmp_path / "db.sqlite"
    content = tmp_path / "lessons"
    content.mkdir()
    shutil.copy(DEFAULT_CONTENT_DIR / f"{SEED}.yaml", content / f"{SEED}.yaml")
    other = next(p for p in DEFAULT_CONTENT_DIR.glob("*.yaml") if p.stem != SEED)
    shutil.copy(other, content / other.name)
    async with quizbot(fake_discord, running_bot, database, content_dir=content):
        message = await answered(
            fake_discord, await fake_discord.slash("quiz start", {"lesson": SEED})
        )
    run = run_of(message)
    (content / f"{SEED}.yaml").unlink()
    async with quizbot(fake_discord, running_bot, database, content_dir=content):
        note = await answered(
            fake_discord, await fake_discord.click(message.id, quiz_id(run, 0, "aA"))
        )
    assert note.ephemeral
    assert f"The lesson `{SEED}` is no longer available" in note.text
    assert "/lesson list" in note.text
    fake_discord.assert_clean()


async def test_an_unknown_lesson_is_a_friendly_error(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/quiz start with a lesson that does not exist answers ephemerally, naming it."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        note = await answered(
            fake_discord, await fake_discord.slash("quiz start", {"lesson": "no-such-lesson"})
        )
    assert note.ephemeral
    assert "no-such-lesson" in note.text
    fake_discord.assert_clean()


async def test_an_answer_the_database_lost_asks_to_press_again(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the writer stops with the answer in hand, the user is told; pressing again works."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        message, run = await start_quiz(fake_discord)
        real = bot.store.record_answer

        monkeypatch.setattr(bot.store, "record_answer", lost_answer)
        note = await followup(
            fake_discord, await fake_discord.click(message.id, quiz_id(run, 0, "aA"))
        )
        assert note.ephemeral
        assert (
            "Your answer was not recorded" in note.text and "press your answer again" in note.text
        )
        monkeypatch.setattr(bot.store, "record_answer", real)
        message = await press(
            fake_discord, fake_discord.messages[message.id], quiz_id(run, 0, "aA")
        )
        assert "✅ Right" in message.text and "question 2 of 3" in message.text
    fake_discord.assert_clean()


async def test_a_quiz_goes_on_when_its_writer_dies_after_committing(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Writers that die between a commit and its reply (an answer, then the finish) lose nothing.

    Each time the dying writer is a real process that exits after COMMIT, so the
    bot has to find out what is on disk: the answer is confirmed and the quiz
    moves on; the finish is sent again and the final score counts once.
    """
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        message, run = await start_quiz(fake_discord)
        await writer_dies_after_committing(bot.store, monkeypatch, once=True)
        message = await press(fake_discord, message, quiz_id(run, 0, "aA"))
        assert "✅ Right" in message.text and "question 2 of 3" in message.text

        message = await press(fake_discord, message, quiz_id(run, 1, "aB"))
        await writer_dies_after_committing(bot.store, monkeypatch, "finish", once=True)
        message = await press(fake_discord, message, quiz_id(run, 2, "aC"))
        assert "Quiz finished" in message.text
        assert "300 / 300 points" in message.text
        assert "This run counts for the leaderboard." in message.text

        board = await answered(fake_discord, await fake_discord.slash("leaderboard", {}))
        assert "300" in board.text
    fake_discord.assert_clean()
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        answers = db.execute("SELECT count(*) FROM answers WHERE run_id = ?", (run,)).fetchone()
        points = db.execute(
            "SELECT points FROM scores WHERE lesson_id = ? AND week = ?", (SEED, ALL_TIME)
        ).fetchall()
    assert answers == (3,)
    assert points == [(300,)]


async def test_a_quiz_whose_score_was_not_saved_is_closed_by_the_next_press(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last answer is saved but not the close: the user is told, and a press finishes it."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        message, run = await start_quiz(fake_discord)
        message = await press(fake_discord, message, quiz_id(run, 0, "aA"))
        message = await press(fake_discord, message, quiz_id(run, 1, "aB"))
        await writer_dies_after_committing(bot.store, monkeypatch, "finish")
        note = await followup(
            fake_discord, await fake_discord.click(message.id, quiz_id(run, 2, "aC"))
        )
        assert note.ephemeral
        assert "final score could not be saved" in note.text

        monkeypatch.setattr(WorkerProcess, "MODULE", "bot.store.write_worker")
        message = await press(
            fake_discord, fake_discord.messages[message.id], quiz_id(run, 2, "aA")
        )
        assert "Quiz finished" in message.text
        assert "300 / 300 points" in message.text
        assert quiz_id(run, 3, "r") in message.custom_ids()
    fake_discord.assert_clean()


async def test_a_double_tap_on_retry_posts_one_quiz(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Two presses of Retry before the first is handled start one run; the other is told."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message, run = await start_quiz(fake_discord)
        message = await answer_all(fake_discord, message, run, "ABC")
        assert "Quiz finished" in message.text
        first = await fake_discord.click(message.id, quiz_id(run, 3, "r"))
        second = await fake_discord.click(message.id, quiz_id(run, 3, "r"))
        replies = [await followup(fake_discord, first), await followup(fake_discord, second)]
        quizzes = [r for r in replies if "question 1 of 3" in r.text]
        refusals = [r for r in replies if "already started a new run" in r.text]
        assert len(quizzes) == 1 and not quizzes[0].ephemeral
        assert len(refusals) == 1 and refusals[0].ephemeral
        await retry_spent(fake_discord, message.id, run, 3)
    fake_discord.assert_clean()


async def test_a_retry_that_could_not_be_posted_can_be_pressed_again(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
) -> None:
    """If posting the new quiz fails, Retry is not refused next time for a quiz never shown."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message, run = await start_quiz(fake_discord)
        message = await answer_all(fake_discord, message, run, "ABC")
        # The new quiz is posted as a followup (a webhook POST): refuse the first one.
        fake_discord.fail_requests(
            lambda r: r.method == "POST" and "/webhooks/" in r.path,
            ApiError(403, 50013, "Missing Permissions"),
        )
        first = await fake_discord.click(message.id, quiz_id(run, 3, "r"))
        apology = await followup(fake_discord, first)  # the press is over once it has said so
        assert apology.ephemeral and "went wrong" in apology.text
        retried = await followup(
            fake_discord, await fake_discord.click(message.id, quiz_id(run, 3, "r"))
        )
        assert "question 1 of 3" in retried.text
        assert "already started" not in retried.text
    fake_discord.assert_clean()


async def test_a_quiz_that_could_not_be_shown_takes_its_thinking_placeholder_down(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
) -> None:
    """/quiz start defers ("thinking…" in the channel); if showing the quiz fails, the
    placeholder goes and only the taker gets the apology, instead of both staying up."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        refused = fake_discord.fail_requests(
            lambda r: r.method == "PATCH" and r.path.endswith("/messages/@original"),
            ApiError(403, 50013, "Missing Permissions"),
        )
        interaction = await fake_discord.slash("quiz start", {"lesson": SEED})
        apology = await followup(fake_discord, interaction)
        assert apology.ephemeral and "went wrong" in apology.text
        assert refused
        original = fake_discord.original_message(interaction)
        assert original is not None and original.deleted
    fake_discord.assert_clean()


async def test_a_second_quiz_start_goes_on_with_the_unfinished_one(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
) -> None:
    """A wrong answer shows the right one; /quiz start again continues that run, so its
    score stays what was earned instead of a fresh counted run with full marks."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        message, run = await start_quiz(fake_discord)
        message = await press(fake_discord, message, quiz_id(run, 0, "aB"))  # wrong: A is right
        assert "question 2 of 3" in message.text
        again, same = await start_quiz(fake_discord)
        assert same == run and again.id != message.id
        assert "left this quiz unfinished, so it goes on from question 2" in again.text
        assert "question 2 of 3" in again.text
        again = await answer_all(fake_discord, again, run, "BC", first=1)
        assert "200 / 300 points" in again.text and "counts for the leaderboard" in again.text
        assert "unfinished" not in again.text  # the note went with the next answer
        assert bot.services.quiz is not None
        board = await bot.services.quiz.leaderboard(fake_discord.guild.id)
        assert [(e.user_id, e.points) for e in board] == [(fake_discord.member.user.id, 200)]
    fake_discord.assert_clean()


async def test_a_private_quiz_continued_by_a_plain_start_stays_private(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
) -> None:
    """private:True, one answer, then /quiz start without private: the run goes on only for
    its taker; the channel never sees its questions or the right answer already shown."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message, run = await start_quiz(fake_discord, private=True)
        message = await press(fake_discord, message, quiz_id(run, 0, "aA"))
        interaction = await fake_discord.slash("quiz start", {"lesson": SEED})
        again = await followup(fake_discord, interaction)
        assert again.ephemeral and run_of(again) == run
        assert (
            "private quiz unfinished, so it goes on here, shown only to you, from question 2"
            in (again.text)
        )
        placeholder = fake_discord.original_message(interaction)
        assert placeholder is not None and not placeholder.loading
        assert placeholder.text == GOES_ON_PRIVATELY  # all the channel sees of it
        shown = fake_discord.messages.in_channel(fake_discord.channel.id)
        public = [m for m in shown if not m.ephemeral and not m.deleted]
        assert [m.id for m in public] == [placeholder.id]
    fake_discord.assert_clean()


async def test_a_public_quiz_gone_on_with_privately_keeps_its_public_copy_still(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
) -> None:
    """Public start, one answer, then private:True: the quiz goes on privately, and a press
    on the old public message is refused instead of showing the channel what came since."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        public, run = await start_quiz(fake_discord)
        public = await press(fake_discord, public, quiz_id(run, 0, "aA"))
        shown = public.text
        private, same = await start_quiz(fake_discord, private=True)
        assert same == run and private.ephemeral
        private = await press(fake_discord, private, quiz_id(run, 1, "aB"))
        refused = await answered(
            fake_discord, await fake_discord.click(public.id, quiz_id(run, 1, "aB"))
        )
        assert refused.ephemeral and "goes on privately now" in refused.text
        assert fake_discord.messages[public.id].text == shown  # the channel's copy is as it was
    fake_discord.assert_clean()


async def test_a_private_quiz_is_seen_by_its_taker_only(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """private:True keeps the questions, answers, score and the retry out of the channel."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message, run = await start_quiz(fake_discord, private=True)
        assert message.ephemeral and "question 1 of 3" in message.text
        message = await answer_all(fake_discord, message, run, "ABD")
        assert message.ephemeral
        assert "Quiz finished" in message.text and "200 / 300 points" in message.text
        retry = await followup(
            fake_discord, await fake_discord.click(message.id, quiz_id(run, 3, "r"))
        )
        assert retry.ephemeral and "question 1 of 3" in retry.text
        shown = fake_discord.messages.in_channel(fake_discord.channel.id)
        assert shown and all(m.ephemeral for m in shown)  # nothing the channel sees
    fake_discord.assert_clean()


async def test_a_hint_tapped_just_after_an_answer_does_not_halve_it(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Answer then Hint in quick succession: the answer scores as given, the hint is refused."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message, run = await start_quiz(fake_discord)
        before = message.revisions
        answer = await fake_discord.click(message.id, quiz_id(run, 0, "aA"))
        hint = await fake_discord.click(message.id, quiz_id(run, 0, "h"))
        await fake_discord.wait_for_response(answer)
        refused = await answered(fake_discord, hint)
        assert refused.ephemeral and "already answered" in refused.text
        message = await edited(fake_discord, message.id, before + 1)
        assert "✅ Right" in message.text and "(+100 points)" in message.text
    fake_discord.assert_clean()


async def test_a_message_left_behind_its_quiz_is_brought_up_to_date_by_a_press(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """The edit after an answer is lost: the message still shows question 1. Pressing it
    again shows where the quiz is (question 2), instead of refusing every press for good."""
    async with quizbot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        message, run = await start_quiz(fake_discord)
        lost = fake_discord.fail_requests(
            lambda r: r.method == "PATCH" and r.path.endswith("/@original"),
            ApiError(404, 10008, "Unknown Message"),
        )
        first = await fake_discord.click(message.id, quiz_id(run, 0, "aA"))
        await fake_discord.wait_for(lambda: lost, what="the lost edit")
        await fake_discord.wait_for_response(first)
        assert "question 1 of 3" in (fake_discord.messages.get(message.id) or message).text
        again = await fake_discord.click(message.id, quiz_id(run, 0, "aB"))
        note = await followup(fake_discord, again)
        assert note.ephemeral and "already answered that question" in note.text
        current = fake_discord.messages.get(message.id)
        assert current is not None and "question 2 of 3" in current.text
        assert "✅ Right" in current.text  # the first answer's result, as it was recorded
        assert fake_discord.followups(first) == []  # recorded: no apology for the lost edit
    assert [v for v in fake_discord.violations if v.code != 10008] == []
