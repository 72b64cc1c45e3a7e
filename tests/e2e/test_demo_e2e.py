"""End to end: /demo runs live in the real StudyBot, through the loopback fake Discord.

Durations are short (0.1-0.15 s) and the edit interval small, so each test
takes about a second; the bot is built as ``studybot run`` builds it, with
its services (the DemoGuard) wired by ``build_services``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from bot.app import StudyBot, build_services, create_bot, load_content
from bot.cogs.demo import GANTT_FILENAME, DemoCog
from bot.config import Settings
from bot.store.database import Store
from tests.e2e.conftest import RunningBot
from tests.e2e.test_lessons_e2e import answered
from tests.e2e.test_quiz_e2e import edited, followup
from tests.fakediscord import FakeDiscord, StoredMessage
from tests.fakediscord.recorder import Request
from tests.fakediscord.rest import ApiError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INTERVAL = 0.1
SHORT = {"task1": 0.1, "task2": 0.15}
SHORT_PARALLEL = {"mode": "parallel", **SHORT}


@contextlib.asynccontextmanager
async def demobot(
    fake: FakeDiscord,
    running_bot: RunningBot,
    database: Path,
    **overrides: Any,
) -> AsyncIterator[StudyBot]:
    """Run a StudyBot with its services on the fake; ``overrides`` change the demo settings."""
    settings = Settings(
        token=fake.token,
        database_path=database,
        demo_edit_interval=INTERVAL,
        demo_cooldown_seconds=0.0,
    )
    settings = dataclasses.replace(settings, **overrides)
    content = await load_content(settings)
    async with Store.open(database) as store:
        bot = create_bot(settings, content, store, build_services(settings, store, content))
        async with running_bot(bot):
            yield bot


def finished(message: StoredMessage | None) -> bool:
    """Tell whether a demo message shows its final report."""
    return message is not None and "Execution table" in message.text


async def final_message(fake: FakeDiscord, interaction_id: int) -> StoredMessage:
    """Wait until the demo started by ``interaction_id`` shows its report; return the message."""
    await fake.wait_for_response(interaction_id)
    message = await fake.wait_for(
        lambda: (m := fake.original_message(interaction_id)) is not None and finished(m) and m,
        timeout=10,
        what="the demo's final report",
    )
    assert isinstance(message, StoredMessage)
    return message


async def test_sequential_demo_edits_live_and_ends_with_the_report(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/demo sequential answers at once, edits in place, throttled, and ends with the report."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash("demo", {"mode": "sequential", **SHORT})
        first = await answered(fake_discord, interaction)
        assert "running" in first.text
        assert "task1" in first.text
        message = await final_message(fake_discord, interaction)
    assert not message.ephemeral
    for heading in ("Timings", "Gantt chart", "Execution table", "Variable tracker"):
        assert heading in message.text
    assert "measured" in message.text
    assert "overhead" in message.text
    assert "task1 starts" in message.text
    assert "task1Status" in message.text
    assert "```" in message.text
    assert [a.filename for a in message.attachments] == [GANTT_FILENAME]
    assert message.attachments[0].data.startswith(PNG_SIGNATURE)
    assert message.embeds[0]["image"]["url"] == f"attachment://{GANTT_FILENAME}"
    assert message.revisions >= 2  # at least one live edit, then the report
    assert fake_discord.interactions[interaction].response_delay is not None
    fake_discord.assert_clean()


async def test_compare_demo_reports_both_phases_and_the_speedup(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/demo compare reports the sequential and parallel totals, the speedup and a PNG chart."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash("demo", {"mode": "compare", **SHORT})
        message = await final_message(fake_discord, interaction)
    assert "**sequential**: measured" in message.text
    assert "**parallel**: measured" in message.text
    assert "**speedup**:" in message.text
    assert "x (ideal 1.67x)" in message.text
    assert message.attachments[0].data.startswith(PNG_SIGNATURE)
    fake_discord.assert_clean()


def table_pages(messages: list[StoredMessage]) -> dict[str, str]:
    """Return the execution table's fields (name -> value) across the report's messages."""
    return {
        f["name"]: f["value"]
        for m in messages
        for embed in m.embeds
        for f in embed.get("fields") or []
        if f["name"].startswith("Execution table")
    }


async def test_a_four_task_compare_table_keeps_each_row_with_its_notes(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A 4-task compare's table runs over two pages; no page opens with a note cut off its row."""
    durations = {"task1": 0.05, "task2": 0.06, "task3": 0.07, "task4": 0.08}
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash("demo", {"mode": "compare", **durations})
        message = await final_message(fake_discord, interaction)
        pages = await fake_discord.wait_for(
            lambda: (
                (p := table_pages([message, *fake_discord.followups(interaction)]))
                and "Execution table (2/2)" in p
                and p
            ),
            timeout=5,
            what="both pages of the execution table",
        )
    assert sorted(pages) == ["Execution table (1/2)", "Execution table (2/2)"]
    for name, value in pages.items():
        first_row = value.split("\n")[3]  # after the fence, the header and its rule
        assert first_row[:1].isdigit(), f"{name} opens with {first_row!r}"
    assert "↳ Parallel: await asyncio.gather(" in pages["Execution table (2/2)"]
    fake_discord.assert_clean()


async def test_a_three_task_sequential_summary_names_no_two_task_plan(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/demo sequential task3:… reads "await each task…", not "await task1, then await task2"."""
    durations = {"task1": 0.05, "task2": 0.05, "task3": 0.1}
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash("demo", {"mode": "sequential", **durations})
        live = await answered(fake_discord, interaction)
        message = await final_message(fake_discord, interaction)
    for shown in (live.text, message.text):
        assert "await each task before starting the next" in shown
        assert "then await task2" not in shown
    assert "(task1 0.05 s, task2 0.05 s, task3 0.1 s)" in message.text
    fake_discord.assert_clean()


async def test_taskgroup_fail_demo_shows_the_failure_the_cancel_and_the_exception_group(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/demo taskgroup_fail runs the failures lesson's case: task2 raises, task3 is cancelled."""
    durations = {"task1": 0.05, "task2": 0.1, "task3": 0.4}
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash("demo", {"mode": "taskgroup_fail", **durations})
        message = await final_message(fake_discord, interaction)
    assert "**raised in main**: ExceptionGroup(" in message.text
    assert "task3 cancelled" in message.text
    assert "× cancelled" in message.text  # the Gantt chart's legend
    assert re.search(r"Final +Finished +Failed +Cancelled", message.text)  # the tracker
    fake_discord.assert_clean()


async def test_fail_fast_timings_explain_the_clean_up_and_the_error(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """fail_fast's total beyond the measured part is the clean-up; its error was on purpose."""
    durations = {"task1": 0.05, "task2": 0.1, "task3": 0.4}
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash("demo", {"mode": "fail_fast", **durations})
        message = await final_message(fake_discord, interaction)
    timings = next(
        f["value"] for e in message.embeds for f in e.get("fields") or [] if f["name"] == "Timings"
    )
    status = timings.split("\n")[0]
    assert re.fullmatch(
        r"✅ Completed in [\d.]+ ms, including [\d.]+ ms of clean-up that waited for the tasks "
        r"left running \(not measured below\); the error below was raised on purpose\.",
        status,
    ), status
    assert "**fail_fast**: measured" in timings
    fake_discord.assert_clean()


async def test_a_lessons_demo_button_runs_its_demo_in_a_message_of_its_own(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """/lesson show lists ▶ buttons for the lesson's demos; a press runs one as /demo would,
    with the lesson's durations, and leaves the lesson's message as it was."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite", demo_cooldown_seconds=60):
        lesson = await answered(
            fake_discord,
            await fake_discord.slash("lesson show", {"lesson": "python-gather-failures"}),
        )
        revisions = lesson.revisions
        buttons = [c for c in lesson.custom_ids() if c.startswith("sb:dm:")]
        assert buttons == [
            "sb:dm:fail_fast:1,2,3",
            "sb:dm:settled:1,2,3",
            "sb:dm:taskgroup_fail:1,2,3",
        ]
        press = await fake_discord.click(lesson.id, "sb:dm:taskgroup_fail:1,2,3")
        report = await final_message(fake_discord, press)
        assert report.id != lesson.id and not report.ephemeral
        assert "task1 1 s, task2 2 s, task3 3 s" in report.text  # the lesson's case
        assert "**raised in main**: ExceptionGroup(" in report.text
        again = await answered(
            fake_discord, await fake_discord.click(lesson.id, "sb:dm:settled:1,2,3")
        )
        assert again.ephemeral and "You just ran a demo" in again.text  # /demo's cooldown
        assert lesson.revisions == revisions  # the lesson itself was not edited
        semaphore = await answered(
            fake_discord,
            await fake_discord.slash("lesson show", {"lesson": "python-semaphore-limits"}),
        )
        # The semaphore lesson's own case, not the mode's defaults.
        assert "sb:dm:semaphore:4,1,1,1" in semaphore.custom_ids()
        labels = [b.get("label") for b in semaphore.buttons()]
        assert "semaphore (4, 1, 1, 1 s)" in labels
    fake_discord.assert_clean()


def live_edits(fake: FakeDiscord, interaction_id: int) -> list[float]:
    """Return when each edit of the interaction's original message reached the fake."""
    token = fake.interactions[interaction_id].token
    return [r.at for r in fake.requests_to("PATCH", rf"/{re.escape(token)}/messages/@original$")]


async def test_live_edits_are_throttled_to_one_per_interval(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A compare demo's many events become at most one message edit per edit interval."""
    interval = 0.15
    async with demobot(
        fake_discord, running_bot, tmp_path / "db.sqlite", demo_edit_interval=interval
    ):
        interaction = await fake_discord.slash("demo", {"mode": "compare", **SHORT})
        await final_message(fake_discord, interaction)
    edits = live_edits(fake_discord, interaction)
    assert len(edits) >= 2
    # N edits at least ``interval`` apart span at least (N - 1) * interval; one edit of slack
    # for the fake's receive times, which jitter around the bot's send times.
    span = edits[-1] - edits[0]
    assert len(edits) <= span / interval + 2
    fake_discord.assert_clean()


async def test_two_users_run_demos_at_the_same_time(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Demos from two users run concurrently, each finishing in its own message."""
    bob = fake_discord.add_member("bob")
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        durations = {"task1": 0.5, "task2": 0.6}
        alice_run = await fake_discord.slash("demo", {"mode": "parallel", **durations})
        bob_run = await fake_discord.slash("demo", {"mode": "taskgroup", **durations}, user=bob)
        await fake_discord.wait_for_response(alice_run)
        await fake_discord.wait_for_response(bob_run)
        guard = bot.services.demo
        assert guard is not None
        await fake_discord.wait_for(
            lambda: len(guard.running) == 2, timeout=5, what="both demos running at once"
        )
        alice_message = await final_message(fake_discord, alice_run)
        bob_message = await final_message(fake_discord, bob_run)
    assert alice_message.id != bob_message.id
    assert "Demo: parallel" in alice_message.text
    assert "Demo: taskgroup" in bob_message.text
    fake_discord.assert_clean()


async def test_a_second_demo_right_away_gets_a_friendly_cooldown(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A second /demo from the same user right away is refused ephemerally, the first runs on."""
    async with demobot(
        fake_discord, running_bot, tmp_path / "db.sqlite", demo_cooldown_seconds=60.0
    ):
        first = await fake_discord.slash("demo", {"mode": "parallel", **SHORT})
        await fake_discord.wait_for_response(first)
        second = await answered(
            fake_discord, await fake_discord.slash("demo", {"mode": "parallel"})
        )
        assert second.ephemeral
        assert "demo" in second.text
        assert "has not finished yet" in second.text or "try again" in second.text
        await final_message(fake_discord, first)
        third = await answered(fake_discord, await fake_discord.slash("demo", {"mode": "parallel"}))
    assert third.ephemeral
    assert "You just ran a demo; try again in" in third.text
    fake_discord.assert_clean()


async def test_two_demos_sent_at_once_by_one_user_start_only_one(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Two /demo at the same instant from one user: one runs, the other is refused ephemerally."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        first = await fake_discord.slash("demo", {"mode": "parallel", **SHORT})
        second = await fake_discord.slash("demo", {"mode": "parallel", **SHORT})
        replies = [await answered(fake_discord, first), await answered(fake_discord, second)]
        refused = [m for m in replies if m.ephemeral]
        assert len(refused) == 1
        assert "has not finished yet" in refused[0].text
        ran = first if replies[1].ephemeral else second
        await final_message(fake_discord, ran)
    fake_discord.assert_clean()


async def test_the_guild_cap_turns_away_a_demo_with_a_friendly_note(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """With the server at its cap of running demos, another user's /demo is refused ephemerally."""
    bob = fake_discord.add_member("bob")
    async with demobot(
        fake_discord, running_bot, tmp_path / "db.sqlite", demo_max_per_guild=1
    ) as bot:
        first = await fake_discord.slash("demo", {"mode": "sequential", "task1": 2, "task2": 2})
        await fake_discord.wait_for_response(first)
        guard = bot.services.demo
        assert guard is not None
        await fake_discord.wait_for(lambda: guard.running, timeout=5, what="the first demo")
        refused = await answered(
            fake_discord, await fake_discord.slash("demo", {"mode": "parallel"}, user=bob)
        )
    assert refused.ephemeral
    assert "This server already has 1 demo running" in refused.text
    stopped = fake_discord.original_message(first)
    assert stopped is not None
    assert "Demo stopped" in stopped.text
    fake_discord.assert_clean()


async def test_demos_in_direct_messages_share_one_cap(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """DMs have no server: with a cap of 1, two DM demos may run at once, a third is refused,
    and a server's place is still free."""
    bob, carol = fake_discord.add_member("bob"), fake_discord.add_member("carol")
    async with demobot(
        fake_discord, running_bot, tmp_path / "db.sqlite", demo_max_per_guild=1
    ) as bot:
        guard = bot.services.demo
        assert guard is not None
        long = {"mode": "sequential", "task1": 2, "task2": 2}
        for user in (fake_discord.member, bob):
            await fake_discord.wait_for_response(
                await fake_discord.slash("demo", long, user=user, in_dm=True)
            )
        await fake_discord.wait_for(lambda: len(guard.running) == 2, what="two DM demos")
        refused = await answered(
            fake_discord, await fake_discord.slash("demo", long, user=carol, in_dm=True)
        )
        in_server = await answered(
            fake_discord, await fake_discord.slash("demo", SHORT_PARALLEL, user=carol)
        )
    assert refused.ephemeral and "Direct messages already have 2 demos running" in refused.text
    assert not in_server.ephemeral and "Demo: parallel" in in_server.text


async def test_a_demo_waiting_for_its_prediction_holds_its_place_in_the_cap(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """While alice predicts, the server's one place is hers: bob is refused, her demo then runs."""
    bob = fake_discord.add_member("bob")
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite", demo_max_per_guild=1):
        interaction = await fake_discord.slash(
            "demo", {"mode": "sequential", "task1": 0.1, "task2": 0.1, "predict": True}
        )
        question = await answered(fake_discord, interaction)
        refused = await answered(
            fake_discord, await fake_discord.slash("demo", {"mode": "parallel"}, user=bob)
        )
        assert refused.ephemeral
        assert "This server already has 1 demo running" in refused.text
        labels = {b["label"]: b["custom_id"] for b in question.buttons()}
        await fake_discord.wait_for_response(await fake_discord.click(question.id, labels["task1"]))
        message = await final_message(fake_discord, interaction)
    assert "you said task1" in message.text  # admitted before bob, it ran
    fake_discord.assert_clean()


async def test_out_of_range_durations_are_refused(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Discord's picker refuses task1:20; if a value slips through, the reply is friendly."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        with pytest.raises(ValueError, match="outside"):
            await fake_discord.slash("demo", {"mode": "sequential", "task1": 20})
        # Drop the synced bounds, as an outdated client might, so the bot itself must refuse.
        command, _ = fake_discord.commands.find("demo", fake_discord.guild.id)
        for option in command["options"]:
            option.pop("min_value", None)
            option.pop("max_value", None)
        reply = await answered(
            fake_discord, await fake_discord.slash("demo", {"mode": "sequential", "task1": 20})
        )
    assert reply.ephemeral
    assert "task1 must be between 0.05 and 10 seconds" in reply.text
    fake_discord.assert_clean()


async def test_a_fourth_task_without_a_third_is_refused_where_no_default_fills_it(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """parallel task4:… alone gets a friendly ephemeral refusal; fail_fast has a task3 to keep."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        refused = await answered(
            fake_discord, await fake_discord.slash("demo", {"mode": "parallel", "task4": 0.1})
        )
        interaction = await fake_discord.slash(
            "demo",
            {"mode": "fail_fast", "task1": 0.05, "task2": 0.05, "task3": 0.05, "task4": 0.1},
        )
        ran = await final_message(fake_discord, interaction)
        kept = await answered(
            fake_discord,
            await fake_discord.slash(
                "demo", {"mode": "settled", "task1": 0.05, "task2": 0.05, "task4": 0.1}
            ),
        )
    assert refused.ephemeral
    assert "task4 needs task3 too" in refused.text
    # No demo ran with an invented task3: the refusal is the only message of that command.
    assert [
        m
        for m in fake_discord.messages.in_channel(fake_discord.channel.id)
        if "task3 1 s" in m.text
    ] == []
    assert "task4 0.1 s" in ran.text
    assert not kept.ephemeral and "task3 3 s" in kept.text  # settled's own task3
    fake_discord.assert_clean()


async def test_predict_first_asks_only_the_invoker_then_judges_the_guess(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """predict:True shows choices only the invoker may press, then judges their guess."""
    bob = fake_discord.add_member("bob")
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash(
            "demo", {"mode": "sequential", "task1": 0.15, "task2": 0.1, "predict": True}
        )
        question = await answered(fake_discord, interaction)
        assert "which task finishes" in question.text
        labels = {b["label"]: b["custom_id"] for b in question.buttons()}
        assert set(labels) == {"task1", "task2"}
        intruder = await answered(
            fake_discord, await fake_discord.click(question.id, labels["task1"], user=bob)
        )
        assert intruder.ephemeral
        assert "belongs to" in intruder.text
        click = await fake_discord.click(question.id, labels["task2"])
        await fake_discord.wait_for_response(click)
        message = await final_message(fake_discord, interaction)
    assert message.buttons() == []
    assert "Not quite: you said task2; task1 finished first." in message.text
    fake_discord.assert_clean()


async def test_a_prediction_whose_edit_is_lost_still_starts_the_demo(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """The press's reply is dropped: the guess is in, so the demo starts at once rather than
    after the whole time to predict."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cast(DemoCog, bot.get_cog("DemoCog")).prediction_timeout = 30.0
        interaction = await fake_discord.slash(
            "demo", {"mode": "sequential", "task1": 0.1, "task2": 0.1, "predict": True}
        )
        question = await answered(fake_discord, interaction)
        lost = fake_discord.fail_requests(lambda r: r.path.endswith("/callback"))
        click = await fake_discord.click(question.id, question.buttons()[0]["custom_id"])
        await fake_discord.wait_for(lambda: lost, what="the dropped reply")
        message = await final_message(fake_discord, interaction)  # well before 30 s
        assert "you said task1" in message.text
        assert f"/interactions/{click}/" in lost[0].path  # the press's own reply was lost


async def test_two_quick_prediction_presses_keep_the_first_guess(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A second choice pressed before the first took the buttons away does not change it."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash(
            "demo", {"mode": "sequential", "task1": 0.15, "task2": 0.1, "predict": True}
        )
        question = await answered(fake_discord, interaction)
        labels = {b["label"]: b["custom_id"] for b in question.buttons()}
        first = await fake_discord.click(question.id, labels["task1"])
        second = await fake_discord.click(question.id, labels["task2"])
        await fake_discord.wait_for_response(first)
        note = await answered(fake_discord, second)
        assert note.ephemeral
        assert "already in" in note.text
        message = await final_message(fake_discord, interaction)
    assert "Right: you said task1; task1 finished first." in message.text
    fake_discord.assert_clean()


async def test_prediction_buttons_left_up_by_a_crash_are_ended_by_the_next_run(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """A press on a prediction from an earlier run takes the buttons away and says why."""
    database = tmp_path / "db.sqlite"
    async with demobot(fake_discord, running_bot, database) as bot:
        interaction = await fake_discord.slash(
            "demo", {"mode": "sequential", "task1": 0.15, "task2": 0.1, "predict": True}
        )
        question = await answered(fake_discord, interaction)
        buttons = copy.deepcopy(question.components)
        assert all(c.startswith(f"sb:x:{bot.boot_id}:pd:") for c in question.custom_ids())
    # A clean shutdown takes the buttons away; a crash (SIGKILL) would have left them up.
    stale = fake_discord.messages[question.id]
    stale.components = buttons
    async with demobot(fake_discord, running_bot, database):
        click = await fake_discord.click(stale.id, stale.custom_ids()[0])
        ended = await edited(fake_discord, stale.id, stale.revisions + 1)
        assert not ended.components
        note = await followup(fake_discord, click)
    assert note.ephemeral
    assert "waiting for a prediction when the bot restarted" in note.text
    assert "/demo" in note.text
    fake_discord.assert_clean()


async def test_an_unanswered_prediction_times_out_and_the_demo_runs(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """With no answer before the timeout, the buttons go away and the demo runs anyway."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        # load_extension imports the cog module afresh, so check the class by name.
        cog = bot.get_cog("DemoCog")
        assert type(cog).__name__ == DemoCog.__name__
        cast(Any, cog).prediction_timeout = 0.3
        interaction = await fake_discord.slash(
            "demo", {"mode": "compare", **SHORT, "predict": True}
        )
        question = await answered(fake_discord, interaction)
        assert "how long will the whole run take" in question.text
        assert len(question.buttons()) >= 2
        message = await final_message(fake_discord, interaction)
    assert message.buttons() == []
    assert "No prediction within 0.3 s" in message.text
    fake_discord.assert_clean()


async def test_shutdown_mid_demo_says_the_demo_was_stopped(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Closing the bot cancels a running demo and edits its message to say why."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        interaction = await fake_discord.slash("demo", {"mode": "sequential", "task1": 10})
        await fake_discord.wait_for_response(interaction)
        await fake_discord.wait_for(
            lambda: (
                (m := fake_discord.original_message(interaction)) is not None and m.revisions >= 1
            ),
            timeout=5,
            what="a live edit",
        )
        guard = bot.services.demo
        assert guard is not None
        assert len(guard.running) == 1
    message = fake_discord.original_message(interaction)
    assert message is not None
    assert "Demo stopped" in message.text
    assert "the bot is shutting down" in message.text
    assert "Cancelled" in message.text
    assert message.attachments == []
    fake_discord.assert_clean()


async def test_shutdown_while_a_demo_waits_for_its_prediction_says_it_never_started(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Closing the bot before the prediction is answered: the message says the demo was
    stopped before it started, with no "running" title and no progress bars."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash("demo", {**SHORT_PARALLEL, "predict": True})
        question = await answered(fake_discord, interaction)
        assert question.buttons()
        asked = question.revisions
    message = fake_discord.original_message(interaction)
    assert message is not None
    assert message.revisions > asked
    assert message.embeds[0]["title"] == "Demo: parallel · not started"
    assert "⏹ **Demo stopped** before it started: the bot is shutting down." in message.text
    assert "running" not in message.text
    assert "░" not in message.text and "0%" not in message.text
    assert message.buttons() == []
    fake_discord.assert_clean()


def final_edit(request: Request) -> bool:
    """Pick the demo's final edit: the one that uploads the chart."""
    return request.method == "PATCH" and request.path.endswith("/@original") and bool(request.files)


@pytest.mark.parametrize(
    ("error", "times"),
    [(None, 1), (ApiError(400, 40005, "Request entity too large"), 2), (None, 2)],
)
async def test_a_failed_final_edit_still_shows_the_report(
    fake_discord: FakeDiscord,
    running_bot: RunningBot,
    tmp_path: Path,
    error: ApiError | None,
    times: int,
) -> None:
    """The report's edit is dropped once (a network blip), refused for good, or dropped twice:
    the channel does not keep showing "running"; the edit is tried again, else the report
    comes as a new message."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite") as bot:
        cog = cast(DemoCog, bot.get_cog("DemoCog"))
        hits = fake_discord.fail_requests(final_edit, error, times=times)
        interaction = await fake_discord.slash("demo", {"mode": "parallel", **SHORT})
        await answered(fake_discord, interaction)

        def report() -> StoredMessage | None:
            shown = [
                fake_discord.original_message(interaction),
                *fake_discord.followups(interaction),
            ]
            return next((m for m in shown if m is not None and finished(m)), None)

        message = await fake_discord.wait_for(report, timeout=10, what="the report")
        assert [a.filename for a in message.attachments] == [GANTT_FILENAME]
        assert len(hits) == times
        # Failed once: the retried edit shows it in place. Failed twice: a new message.
        assert (message.id == fake_discord.original_message(interaction).id) is (times == 1)
        assert not cog._handles
    assert [v for v in fake_discord.violations if v.code != 40005] == []


async def test_a_deleted_demo_message_is_not_edited_again(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """Discord says the live message is gone: the demo stops editing it and posts no report."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite", demo_edit_interval=0.05):
        gone = ApiError(404, 10008, "Unknown Message")
        interaction = await fake_discord.slash("demo", {"mode": "compare", **SHORT})
        await answered(fake_discord, interaction)
        hits = fake_discord.fail_requests(
            lambda r: r.method == "PATCH" and r.path.endswith("/@original"), gone, times=1000
        )
        await fake_discord.wait_for(lambda: hits, what="an edit of the deleted message")
        await asyncio.sleep(0.6)  # the rest of the demo, and its report's turn
        assert len(hits) == 1
        assert fake_discord.followups(interaction) == []


async def test_the_semaphore_lessons_case_runs_with_four_durations(
    fake_discord: FakeDiscord, running_bot: RunningBot, tmp_path: Path
) -> None:
    """The semaphore lesson's jobs (4 s, 1 s, 1 s, 1 s), scaled down: four tasks as given,
    done when task1 is; a mode left at two tasks gets no third or fourth."""
    async with demobot(fake_discord, running_bot, tmp_path / "db.sqlite"):
        interaction = await fake_discord.slash(
            "demo", {"mode": "semaphore", "task1": 0.2, "task2": 0.05, "task3": 0.05, "task4": 0.05}
        )
        message = await final_message(fake_discord, interaction)
        parallel = await final_message(
            fake_discord, await fake_discord.slash("demo", {"mode": "parallel", **SHORT})
        )
    assert "task4" in message.text and "ideal 200.0 ms" in message.text
    assert "task3" not in parallel.text
    fake_discord.assert_clean()
