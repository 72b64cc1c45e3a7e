"""The studybot command line: parsing, configuration errors, exit codes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from tests.unit.store.test_lock import HOLD


def test_every_documented_command_is_there() -> None:
    """The README's sub-commands all exist in the parser."""
    parser = build_parser()
    for argv in (
        ["run"],
        ["console"],
        ["validate", "x.yaml"],
        ["migrate"],
        ["backup", "b.db"],
        ["demo", "compare", "--task1", "0.1", "--json"],
        ["sync", "--guild", "1"],
        ["config", "check"],
        ["health"],
    ):
        assert callable(parser.parse_args(argv).handler)


def test_config_check_masks_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """config check prints the settings with the token masked and exits 0."""
    monkeypatch.setenv("DISCORD_TOKEN", "MTIzNDU2Nzg5.secret-part.abcdefWXYZ")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "secret-part" not in out
    assert "WXYZ" in out
    assert "Configuration is valid." in out


def test_invalid_configuration_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid value exits 2 with one line naming the variable."""
    monkeypatch.setenv("STUDYBOT_QUIZ_SECONDS", "9000")
    assert main(["config", "check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "STUDYBOT_QUIZ_SECONDS" in err


def test_run_without_token_explains(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """studybot run with no token exits 2 and says how to set one."""
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN_FILE", raising=False)
    assert main(["run"]) == 2
    assert "DISCORD_TOKEN" in capsys.readouterr().err


def test_run_with_an_empty_token_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """studybot run with an empty DISCORD_TOKEN_FILE names the empty file, not 'no token'."""
    secret = tmp_path / "token"
    secret.touch()
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("DISCORD_TOKEN_FILE", str(secret))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert f"the token file {secret} is empty" in err
    assert "no Discord token" not in err


def test_backup_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """backup will not overwrite an existing file without --force."""
    target = tmp_path / "exists.db"
    target.write_text("keep me")
    monkeypatch.setenv("STUDYBOT_DATABASE", str(tmp_path / "live.db"))
    assert main(["migrate"]) == 0
    assert "Created the database" in capsys.readouterr().out
    assert main(["backup", str(target)]) == 2
    assert target.read_text() == "keep me"
    assert "--force" in capsys.readouterr().err


def test_backup_of_a_missing_database_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped database path is reported; no empty database or backup is made."""
    monkeypatch.setenv("STUDYBOT_DATABASE", str(tmp_path / "typo.db"))
    assert main(["backup", str(tmp_path / "b.db")]) == 2
    assert "there is no database at" in capsys.readouterr().err
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "b.db").exists()


def test_config_check_finds_a_missing_content_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """config check fails when the content folder does not exist."""
    monkeypatch.setenv("STUDYBOT_CONTENT_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("STUDYBOT_DATABASE", str(tmp_path / "db" / "s.db"))
    assert main(["config", "check"]) == 1
    captured = capsys.readouterr()
    assert (
        "STUDYBOT_CONTENT_DIR (content_dir):" in captured.err and "is not a folder" in captured.err
    )
    assert "Configuration is valid." not in captured.out


def test_config_file_after_the_subcommand_and_bad_yaml_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--config works after the sub-command; broken YAML is one line with its position."""
    monkeypatch.setenv("STUDYBOT_DATABASE", str(tmp_path / "s.db"))
    good = tmp_path / "good.yaml"
    good.write_text("quiz_round_seconds: 33\n")
    assert main(["config", "check", "--config", str(good)]) == 0
    assert "33" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("log_level: [\n")
    assert main(["--config", str(bad), "config", "check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not valid YAML at line" in err


def test_migrate_then_backup_while_another_process_holds_the_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """migrate creates the database; backup copies it, meta rows included, while it is open."""
    import sqlite3

    live = tmp_path / "data" / "live.db"
    monkeypatch.setenv("STUDYBOT_DATABASE", str(live))
    assert main(["migrate"]) == 0
    holder = sqlite3.connect(live)
    holder.execute("INSERT INTO meta (key, value) VALUES ('marker', 'kept')")
    holder.commit()
    dest = tmp_path / "copy.db"
    assert main(["backup", str(dest)]) == 0
    holder.close()
    with sqlite3.connect(dest) as copy:
        assert copy.execute("SELECT value FROM meta WHERE key = 'marker'").fetchone() == ("kept",)
    assert f"Backed up {live} to {dest}" in capsys.readouterr().out


def test_migrate_says_whether_it_created_upgraded_or_found_the_database_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operator restoring an old backup is told it was upgraded, and from which version."""
    import sqlite3
    from contextlib import closing

    from bot.store.migrations import apply_migrations, load_migrations

    migrations = load_migrations()
    newest = migrations[-1].version
    live = tmp_path / "live.db"
    monkeypatch.setenv("STUDYBOT_DATABASE", str(live))
    assert main(["migrate"]) == 0
    assert f"Created the database (schema version {newest})" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert f"up to date (schema version {newest})" in capsys.readouterr().out
    live.unlink()
    with closing(sqlite3.connect(live, isolation_level=None)) as db:  # an older studybot's
        apply_migrations(db, migrations[:-1])
    assert main(["migrate"]) == 0
    said = capsys.readouterr().out
    assert f"Upgraded the database from schema version {newest - 1} to {newest}" in said


def test_too_new_database_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database from a newer studybot makes migrate exit 1 with one line, no traceback."""
    import sqlite3

    live = tmp_path / "live.db"
    monkeypatch.setenv("STUDYBOT_DATABASE", str(live))
    assert main(["migrate"]) == 0
    with sqlite3.connect(live) as db:
        db.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'x', 0)")
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err.strip()
    assert "999" in err and "Traceback" not in err and err.count("\n") == 0


def test_a_file_that_is_not_a_database_is_one_line_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-SQLite database file fails config check, migrate and backup without a traceback."""
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database\n" * 50)
    monkeypatch.setenv("STUDYBOT_DATABASE", str(bogus))
    assert main(["config", "check"]) == 1
    assert "is not a SQLite database" in capsys.readouterr().err
    assert main(["migrate"]) == 1
    assert main(["backup", str(tmp_path / "copy.db")]) == 1
    err = capsys.readouterr().err
    assert err.count("cannot use the database") == 2 and "Traceback" not in err
    assert bogus.read_text().startswith("these are my notes")


def test_backup_onto_the_database_itself_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """backup --force onto the live file is a one-line refusal, not a traceback."""
    live = tmp_path / "live.db"
    monkeypatch.setenv("STUDYBOT_DATABASE", str(live))
    assert main(["migrate"]) == 0
    assert main(["backup", "--force", str(live)]) == 2
    assert "the backup destination is the database itself" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_sigterm_leaves_the_console_like_quit_and_keeps_the_answers(tmp_path: Path) -> None:
    """kill <console> drains the store: the answer given is saved and the exit code is 0."""
    database = tmp_path / "local.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
        "STUDYBOT_DATABASE": str(database),
    }
    env.pop("DISCORD_TOKEN", None)
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(['console']))"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write("quiz node-sequential-vs-parallel\nA\n")
        child.stdin.flush()
        seen = ""
        deadline = time.monotonic() + 60
        while "(+" not in seen and time.monotonic() < deadline:  # the first answer's points
            line = child.stdout.readline()
            if not line:
                break
            seen += line
        assert "(+" in seen, seen
        child.send_signal(signal.SIGTERM)
        rest, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert child.returncode == 0, seen + rest
    assert "Stopped (SIGTERM). Answers you gave are saved." in rest
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM answers").fetchone() == (1,)


def test_a_demo_piped_into_a_reader_that_stops_ends_quietly(tmp_path: Path) -> None:
    """`studybot demo compare | head -1`: no traceback, the run stops, exit code 141 (SIGPIPE)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "compare", "--task1", "2", "--task2", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert child.stdout is not None and child.stderr is not None
    try:
        assert child.stdout.readline().startswith("Demo compare")
        child.stdout.close()  # what head does once it has its line
        started = time.monotonic()
        code = child.wait(timeout=30)
        errors = child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert code == 141
    assert errors == ""
    assert time.monotonic() - started < 4  # cancelled, not run to its 6-second end


def test_backup_runs_beside_the_bot_and_migrate_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a studybot process holding the database, backup copies it; migrate is refused."""

    live = tmp_path / "live.db"
    monkeypatch.setenv("STUDYBOT_DATABASE", str(live))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(live)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"open\n"
        assert main(["backup", str(tmp_path / "copy.db")]) == 0
        assert main(["migrate"]) == 1
        err = capsys.readouterr().err
        assert (
            f"cannot use the database {live}: another studybot process (pid {holder.pid}), "
            "a bot or a console, is using it. Stop that one first"
        ) in err
        folder = tmp_path / "backups"
        folder.mkdir()
        assert main(["backup", str(folder), "--force"]) == 2
        assert f"{folder} is a folder; give a file path" in capsys.readouterr().err
        notes = tmp_path / "notes.txt"
        notes.write_text("not a database\n" * 100)
        assert main(["backup", str(notes), "--force"]) == 2  # the destination is to blame
        assert f"cannot write {notes}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM schema_version").fetchone()[0] >= 3


def test_migrate_onto_a_file_that_is_not_a_database_leaves_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """STUDYBOT_DATABASE=/etc/passwd is refused naming the path, and no passwd.lock appears."""
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    monkeypatch.setenv("STUDYBOT_DATABASE", str(passwd))
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"studybot: cannot use the database {passwd}: it is not a SQLite database "
        "(it does not start with the SQLite header)"
    )
    (tmp_path / "folder").mkdir()
    monkeypatch.setenv("STUDYBOT_DATABASE", str(tmp_path / "folder"))
    assert main(["migrate"]) == 1
    assert "it is a folder, not a database file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "passwd"]
    assert passwd.read_text() == "root:x:0:0:root:/root:/bin/bash\n"


def test_a_failed_backup_leaves_no_target_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed backup removes the file and folders it created: a retry needs no --force."""
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database\n" * 50)
    monkeypatch.setenv("STUDYBOT_DATABASE", str(bogus))
    dest = tmp_path / "backups" / "daily" / "copy.db"
    assert main(["backup", str(dest)]) == 1
    assert "cannot use the database" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]
    kept = tmp_path / "kept.db"
    kept.write_text("an older copy")
    assert main(["backup", "--force", str(kept)]) == 1
    assert kept.exists()  # not created by this backup: not this backup's to remove
    live = tmp_path / "live.db"
    monkeypatch.setenv("STUDYBOT_DATABASE", str(live))
    assert main(["migrate"]) == 0
    assert main(["backup", str(dest)]) == 0  # the retry, without --force
    assert dest.read_bytes().startswith(b"SQLite format 3\x00")


@pytest.mark.parametrize("guild", ["-5", "0", "abc"])
def test_sync_refuses_a_guild_id_that_is_not_positive(
    guild: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """studybot sync --guild -5 is a usage error, before anything connects."""
    with pytest.raises(SystemExit) as leaving:
        main(["sync", "--guild", guild])
    assert leaving.value.code == 2
    assert "is not a server id" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "env", "said"),
    [
        (["sync"], {}, "Synced the slash commands globally"),
        (["sync", "--guild", "42"], {}, "Synced the slash commands to guild 42"),
        (["sync"], {"STUDYBOT_DEV_GUILD": "7"}, "Synced the slash commands to guild 7"),
        (["sync", "--clear-guild", "42"], {}, "Removed the guild copies of the slash commands"),
    ],
)
def test_sync_prints_its_result_whatever_the_log_level(
    argv: list[str],
    env: dict[str, str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A sync says what it did on stdout, even with STUDYBOT_LOG_LEVEL=ERROR."""
    import bot.app

    calls: list[int | None] = []

    async def fake_sync(settings: object, guild_id: int | None, *, clear: bool = False) -> int:
        assert clear is ("--clear-guild" in argv)
        calls.append(guild_id)
        return 0

    monkeypatch.setattr(bot.app, "sync_commands", fake_sync)
    monkeypatch.setenv("DISCORD_TOKEN", "a-token-for-the-fake")
    monkeypatch.setenv("STUDYBOT_LOG_LEVEL", "ERROR")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(said)
    assert calls == [42 if "42" in argv else None]
