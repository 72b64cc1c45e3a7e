"""Settings: environment, YAML file, validation and token masking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import config
from bot.config import ConfigError, Settings, check_paths, load_settings


def test_defaults_need_no_configuration() -> None:
    """With an empty environment every setting has a usable default."""
    settings = load_settings({})
    assert settings.token is None
    assert settings.database_path.name == "studybot.db"
    assert settings.content_dir.is_dir()
    assert settings.log_level == "INFO"


def test_a_relative_xdg_data_home_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The XDG spec ignores a relative XDG_DATA_HOME: it would move with the working folder."""
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
    assert config.default_data_dir() == Path.home() / ".local" / "share" / "studybot"
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/data")
    assert config.default_data_dir() == Path("/srv/data/studybot")


def test_environment_overrides_yaml_file(tmp_path: Path) -> None:
    """A YAML file provides values and the environment wins over it."""
    config = tmp_path / "studybot.yaml"
    config.write_text("log_level: debug\nquiz_round_seconds: 30\ndemo_max_per_guild: 5\n")
    settings = load_settings({"STUDYBOT_QUIZ_SECONDS": "45"}, config_file=config)
    assert settings.log_level == "DEBUG"
    assert settings.quiz_round_seconds == 45
    assert settings.demo_max_per_guild == 5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STUDYBOT_QUIZ_SECONDS": "5"}, "STUDYBOT_QUIZ_SECONDS: 5 is below the minimum 10"),
        ({"STUDYBOT_DEV_GUILD": "abc"}, "STUDYBOT_DEV_GUILD: 'abc' is not a whole number"),
        ({"STUDYBOT_LOG_LEVEL": "loud"}, "STUDYBOT_LOG_LEVEL: 'loud' is not one of"),
        ({"STUDYBOT_SPOILER_ANSWERS": "maybe"}, "'maybe' is not true or false"),
        ({"STUDYBOT_SHARD_IDS": "0,1"}, "set STUDYBOT_SHARD_COUNT (shard_count) as well"),
        (
            {"STUDYBOT_SHARD_COUNT": "2", "STUDYBOT_SHARD_IDS": "0,2"},
            "2 is not below the shard count 2",
        ),
        (
            {"STUDYBOT_SHARD_COUNT": "2", "STUDYBOT_SHARD_IDS": "1,1"},
            "STUDYBOT_SHARD_IDS (shard_ids): a shard is listed twice",
        ),
    ],
)
def test_invalid_values_name_the_setting(env: dict[str, str], message: str) -> None:
    """A bad value fails with a message that names the setting and the problem."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(env)


def test_a_cross_check_names_the_config_file_setting_too(tmp_path: Path) -> None:
    """shard_ids set in a config file: the message names it as the file does, not only as
    the environment variable the user never set."""
    config = tmp_path / "studybot.yaml"
    config.write_text("shard_count: 4\nshard_ids: [0, 7]\n")
    with pytest.raises(ConfigError, match=re.escape("STUDYBOT_SHARD_IDS (shard_ids): 7 is not")):
        load_settings({}, config_file=config)


def test_unknown_key_in_config_file(tmp_path: Path) -> None:
    """An unknown key in the YAML file is refused, listing the known ones."""
    config = tmp_path / "c.yaml"
    config.write_text("tokn: x\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({}, config_file=config)


def test_token_file_is_read_and_masked(tmp_path: Path) -> None:
    """DISCORD_TOKEN_FILE supplies the token, and describe() never shows it."""
    secret = tmp_path / "token"
    secret.write_text("abcdefghijklmnopqrstuvwxyz.123456\n")
    settings = load_settings({"DISCORD_TOKEN_FILE": str(secret)})
    assert settings.token == "abcdefghijklmnopqrstuvwxyz.123456"
    shown = dict(settings.describe())
    assert "abcdefghijklmnop" not in shown["token"]
    assert shown["token"].endswith("3456")
    assert "abcdefghij" not in repr(settings)


def test_missing_token_file_is_a_config_error(tmp_path: Path) -> None:
    """An unreadable token file is a clear ConfigError, not a traceback."""
    with pytest.raises(ConfigError, match=r"DISCORD_TOKEN_FILE \(token_file\): cannot read"):
        load_settings({"DISCORD_TOKEN_FILE": str(tmp_path / "nope")})


def test_an_empty_token_file_is_named(tmp_path: Path) -> None:
    """An empty token file is reported as empty, by name, not as 'no token set'."""
    secret = tmp_path / "token"
    secret.write_text("\n")
    with pytest.raises(ConfigError) as refused:
        load_settings({"DISCORD_TOKEN_FILE": str(secret)})
    assert (
        str(refused.value) == f"DISCORD_TOKEN_FILE (token_file): the token file {secret} is empty"
    )


def test_short_token_fully_masked() -> None:
    """A short token is masked entirely."""
    assert Settings(token="abc").masked_token() == "***"


def test_shard_ids_as_a_yaml_list(tmp_path: Path) -> None:
    """A config file may list shard ids as YAML does, [0, 1], as well as "0,1"."""
    config = tmp_path / "studybot.yaml"
    config.write_text("shard_count: 4\nshard_ids: [2, 3]\n")
    assert load_settings({}, config_file=config).shard_ids == (2, 3)
    config.write_text("shard_count: 4\nshard_ids: '0,1'\n")
    assert load_settings({}, config_file=config).shard_ids == (0, 1)
    config.write_text("shard_count: 4\nshard_ids: [0, x]\n")
    with pytest.raises(ConfigError, match="shard_ids: 'x' is not a whole number"):
        load_settings({}, config_file=config)


def test_a_bad_value_in_the_config_file_names_the_file(tmp_path: Path) -> None:
    """A value error from the config file starts with the file's path, like its syntax errors."""
    config = tmp_path / "studybot.yaml"
    config.write_text("quiz_round_seconds: 5\n")
    with pytest.raises(ConfigError) as refused:
        load_settings({}, config_file=config)
    assert str(refused.value) == f"{config}: quiz_round_seconds: 5 is below the minimum 10"


def test_default_lessons_of_a_plain_install_come_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed without the checkout beside the package, the default is ./content/lessons."""
    monkeypatch.setattr(config, "DEFAULT_CONTENT_DIR", tmp_path / "site-packages" / "content")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content" / "lessons").mkdir(parents=True)
    settings = load_settings({}, config_file=None)
    assert settings.content_dir == tmp_path / "content" / "lessons"
    assert not [p for p in check_paths(settings) if "CONTENT_DIR" in p]
    (tmp_path / "content" / "lessons").rmdir()
    [problem] = [p for p in check_paths(load_settings({})) if "CONTENT_DIR" in p]
    assert problem.startswith(
        f"STUDYBOT_CONTENT_DIR (content_dir): not set, and there is no lesson folder at "
        f"{tmp_path / 'content' / 'lessons'} "
    )
    assert problem.endswith(
        "set STUDYBOT_CONTENT_DIR (or content_dir in the config file) "
        "to your folder of lesson files"
    )


def test_the_checkout_lessons_are_the_default_when_present() -> None:
    """Run from a checkout (or an editable install), the lessons beside the package are used."""
    assert load_settings({}).content_dir == config.DEFAULT_CONTENT_DIR
    assert (config.DEFAULT_CONTENT_DIR / "node-sequential-vs-parallel.yaml").is_file()
