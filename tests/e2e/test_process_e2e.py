"""``studybot run`` as a user runs it: a real process talking to the fake Discord.

The other end-to-end tests run the bot inside the test's event loop; this one
starts the installed console script in its own process, so start-up, logging,
signal handling, the healthcheck and shutdown are exercised exactly as
deployed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.e2e.test_quiz_e2e import answered, press, quiz_id, run_of
from tests.fakediscord import FakeDiscord
from tests.unit.store.processes import gone

SEED = "node-sequential-vs-parallel"


def _studybot() -> list[str]:
    script = Path(sys.executable).with_name("studybot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def _writer_children(pid: int) -> list[int]:
    """Return the ids of ``pid``'s child processes running the store's writer."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"bot.store.write_worker" in cmdline:
            found.append(int(entry.name))
    return found


def _env(fake: FakeDiscord, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STUDYBOT_"))}
    env.update(
        DISCORD_TOKEN=fake.token,
        STUDYBOT_DISCORD_API_URL=fake.api_base,
        STUDYBOT_DISCORD_GATEWAY_URL=fake.gateway_url,
        STUDYBOT_DATABASE=str(tmp_path / "data" / "studybot.db"),
        STUDYBOT_LOG_LEVEL="INFO",
        HOME=str(tmp_path),
    )
    return env


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="POSIX signals and /proc")
async def test_studybot_run_serves_commands_reports_health_and_stops_on_sigterm(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """The studybot process connects, syncs, serves a lesson list and a quiz answer (through its
    writer process), is healthy, and exits 0 on TERM, its writer with it."""
    env = _env(fake_discord, tmp_path)
    proc = await asyncio.create_subprocess_exec(
        *_studybot(),
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake_discord.wait_for_request("PUT", r"/applications/\d+/commands$", timeout=60)
        await fake_discord.wait_until_connected(timeout=30)
        # A heartbeat is written as soon as the bot is ready, not one interval later.
        beat = tmp_path / "data" / "studybot.db.health.json"
        await fake_discord.wait_for(
            lambda: beat.exists() and '"connected": true' in beat.read_text(),
            30,
            "a connected heartbeat",
        )
        interaction = await fake_discord.slash("lesson list")
        await fake_discord.wait_for_response(interaction, timeout=10)
        message = await fake_discord.wait_for(
            lambda: fake_discord.original_message(interaction), 10, "the lesson list"
        )
        assert SEED in message.text

        health = await asyncio.create_subprocess_exec(
            *_studybot(), "health", env=env, stdout=asyncio.subprocess.PIPE
        )
        health_out, _ = await asyncio.wait_for(health.communicate(), 60)
        assert health.returncode == 0, health_out
        assert b"healthy: connected to 1 guild(s)" in health_out

        # A quiz answer goes through the bot's writer process, its child.
        quiz = await answered(
            fake_discord, await fake_discord.slash("quiz start", {"lesson": SEED})
        )
        run = run_of(quiz)
        after = await press(fake_discord, quiz, quiz_id(run, 0, "aA"))
        assert "✅ Right" in after.text
        writers = _writer_children(proc.pid)
        assert len(writers) == 1, writers

        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = stderr.decode()
    assert proc.returncode == 0, log[-3000:]
    assert gone(writers[0]), "the writer process outlived the bot"
    with sqlite3.connect(tmp_path / "data" / "studybot.db") as db:
        assert db.execute("SELECT choice FROM answers WHERE run_id = ?", (run,)).fetchall() == [
            ("A",)
        ]
    assert "Received SIGTERM; shutting down" in log
    assert "Stopped" in log
    # Stopped is not healthy, at once; nor is a database no bot ever served, beside it.
    for database, said in ((None, b"the bot stopped"), ("other.db", b"no heartbeat at")):
        health = await asyncio.create_subprocess_exec(
            *_studybot(),
            "health",
            env={
                **env,
                **({"STUDYBOT_DATABASE": str(tmp_path / "data" / database)} if database else {}),
            },
            stdout=asyncio.subprocess.PIPE,
        )
        health_out, _ = await asyncio.wait_for(health.communicate(), 60)
        assert health.returncode == 1 and said in health_out, health_out
    assert fake_discord.token not in log
    assert "Traceback" not in log
    fake_discord.assert_clean()


async def test_studybot_run_with_a_rejected_token_says_so_in_one_line(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """A token Discord refuses ends the process with exit 1 and one explanatory line."""
    env = _env(fake_discord, tmp_path)
    env["DISCORD_TOKEN"] = "not-the-right-token"
    proc = await asyncio.create_subprocess_exec(
        *_studybot(),
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = stderr.decode()
    assert proc.returncode == 1
    assert "Discord rejected the token" in log
    assert "not-the-right-token" not in log
    assert "Traceback" not in log
