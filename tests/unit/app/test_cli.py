"""The studybot command line: parsing, configuration errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser, main


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


def test_backup_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """backup will not overwrite an existing file without --force."""
    target = tmp_path / "exists.db"
    target.write_text("keep me")
    monkeypatch.setenv("STUDYBOT_DATABASE", str(tmp_path / "live.db"))
    assert main(["backup", str(target)]) == 2
    assert target.read_text() == "keep me"
    assert "--force" in capsys.readouterr().err
