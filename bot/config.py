"""Settings from the environment, with an optional YAML file underneath.

One frozen ``Settings`` object is built at start-up and handed to everything
that needs it, so no module reads ``os.environ`` on its own and ``studybot
config check`` can show exactly what the bot will use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from bot.store.lock import check_database_path

PACKAGE_ROOT = Path(__file__).resolve().parent
# The checkout's lessons, beside the package: the default when they are there.
DEFAULT_CONTENT_DIR = PACKAGE_ROOT.parent / "content" / "lessons"
# Otherwise the lessons of the folder studybot runs in.
WORKING_CONTENT_DIR = Path("content") / "lessons"
CONTENT_DIR_HINT = (
    "set STUDYBOT_CONTENT_DIR (or content_dir in the config file) to your folder of lesson files"
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A setting has a value the bot cannot use; the message names the setting."""


def default_data_dir() -> Path:
    """Return where the database lives when no path is configured.

    ``$XDG_DATA_HOME/studybot`` (or ``~/.local/share/studybot``) keeps the data
    out of the source checkout and survives a reinstall. A relative
    ``XDG_DATA_HOME`` is ignored, as the XDG spec says: it would move the
    database with the working directory.
    """
    base = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        base = str(Path.home() / ".local" / "share")
    return Path(base) / "studybot"


def default_content_dir() -> Path:
    """Return the lesson folder used when none is configured.

    An editable install (or a run from the source tree) finds the checkout's
    ``content/lessons`` beside the package. A plain ``pip install .`` puts the
    package in site-packages, where no lessons are, so then ``content/lessons``
    in the working directory: the checkout it is run from.
    """
    if DEFAULT_CONTENT_DIR.is_dir():
        return DEFAULT_CONTENT_DIR
    return Path.cwd() / WORKING_CONTENT_DIR


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the bot can be configured with; see the README's table."""

    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    database_path: Path = field(default_factory=lambda: default_data_dir() / "studybot.db")
    content_dir: Path = field(default_factory=default_content_dir)
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    demo_cooldown_seconds: float = 10.0
    demo_max_per_guild: int = 3
    demo_edit_interval: float = 1.0
    quiz_round_seconds: int = 20
    quiz_master_role: str | None = None
    spoiler_answers: bool = False
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None

    def masked_token(self) -> str:
        """Return the token safe to print: its length and last four characters at most."""
        if not self.token:
            return "(not set)"
        if len(self.token) <= 8:
            return "*" * len(self.token)
        return "*" * 8 + self.token[-4:]

    def describe(self) -> list[tuple[str, str]]:
        """Return each setting as (name, printable value), the token masked."""
        rows: list[tuple[str, str]] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "token":
                shown = self.masked_token()
            elif value is None:
                shown = "(not set)"
            elif isinstance(value, tuple):
                shown = ",".join(str(v) for v in value)
            else:
                shown = str(value)
            rows.append((f.name, shown))
        return rows


def _int(name: str, raw: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}: {value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}: {value} is above the maximum {maximum}")
    return value


def _float(name: str, raw: str, *, minimum: float, maximum: float) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}: {value} is outside {minimum}-{maximum}")
    return value


def _bool(name: str, raw: str) -> bool:
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: {raw!r} is not true or false")


def _log_level(name: str, raw: str) -> str:
    level = str(raw).strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name}: {raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _shard_ids(name: str, raw: object) -> tuple[int, ...]:
    """Parse ``0,1`` (the environment's form) or a YAML list ``[0, 1]`` (a config file's)."""
    if isinstance(raw, list | tuple):
        parts = [str(p) for p in raw]
    else:
        parts = [p for p in str(raw).replace(" ", "").split(",") if p]
    if not parts:
        raise ConfigError(f"{name}: give shard ids as a comma-separated list, e.g. 0,1")
    return tuple(_int(name, p, minimum=0) for p in parts)


def _path(name: str, raw: str) -> Path:
    text = str(raw).strip()
    if not text:
        raise ConfigError(f"{name}: the path is empty")
    return Path(text).expanduser()


def _url(name: str, raw: str) -> str | None:
    text = str(raw).strip()
    if text and not text.startswith(("http://", "https://", "ws://", "wss://")):
        raise ConfigError(f"{name}: {raw!r} is not an http(s) or ws(s) URL")
    return text or None


def _text(name: str, raw: str) -> str | None:
    text = str(raw).strip()
    return text or None


# setting name -> (environment variable, parser)
PARSERS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "token": ("DISCORD_TOKEN", _text),
    "token_file": ("DISCORD_TOKEN_FILE", _path),
    "database_path": ("STUDYBOT_DATABASE", _path),
    "content_dir": ("STUDYBOT_CONTENT_DIR", _path),
    "dev_guild_id": ("STUDYBOT_DEV_GUILD", lambda n, r: _int(n, r, minimum=1)),
    "log_level": ("STUDYBOT_LOG_LEVEL", _log_level),
    "demo_cooldown_seconds": (
        "STUDYBOT_DEMO_COOLDOWN",
        lambda n, r: _float(n, r, minimum=0.0, maximum=3600.0),
    ),
    "demo_max_per_guild": ("STUDYBOT_DEMO_MAX_PER_GUILD", lambda n, r: _int(n, r, minimum=1)),
    "demo_edit_interval": (
        "STUDYBOT_DEMO_EDIT_INTERVAL",
        lambda n, r: _float(n, r, minimum=0.2, maximum=10.0),
    ),
    "quiz_round_seconds": (
        "STUDYBOT_QUIZ_SECONDS",
        lambda n, r: _int(n, r, minimum=10, maximum=120),
    ),
    "quiz_master_role": ("STUDYBOT_QUIZ_MASTER_ROLE", _text),
    "spoiler_answers": ("STUDYBOT_SPOILER_ANSWERS", _bool),
    "shard_count": ("STUDYBOT_SHARD_COUNT", lambda n, r: _int(n, r, minimum=1)),
    "shard_ids": ("STUDYBOT_SHARD_IDS", _shard_ids),
    "discord_api_url": ("STUDYBOT_DISCORD_API_URL", _url),
    "discord_gateway_url": ("STUDYBOT_DISCORD_GATEWAY_URL", _url),
}

CONFIG_FILE_ENV = "STUDYBOT_CONFIG"


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config file must be a mapping of setting: value")
    unknown = sorted(str(k) for k in raw if k not in PARSERS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(PARSERS)}"
        )
    return raw


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    """Build settings from an optional YAML file, overridden by the environment.

    The token file is read here so that a Docker secret and a plain variable
    end up in the same place; an unreadable or empty token file is a ConfigError.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (Path(env[CONFIG_FILE_ENV]) if env.get(CONFIG_FILE_ENV) else None)
    if path is not None:
        for key, raw in _read_config_file(path).items():
            if raw is None:
                continue
            _, parser = PARSERS[key]
            try:
                values[key] = parser(key, raw)
            except ConfigError as exc:  # name the file, as its syntax errors do
                raise ConfigError(f"{path}: {exc}") from None
    for key, (var, parser) in PARSERS.items():
        if var in env and env[var].strip() != "":
            values[key] = parser(var, env[var])
    settings = replace(Settings(), **values)
    if settings.token is None and settings.token_file is not None:
        try:
            token = settings.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{_both('token_file')}: cannot read {settings.token_file} ({exc.strerror})"
            ) from None
        if not token:  # else `run` would say no token is set, though the file is
            raise ConfigError(
                f"{_both('token_file')}: the token file {settings.token_file} is empty"
            )
        settings = replace(settings, token=token)
    if settings.shard_ids is not None:
        if settings.shard_count is None:
            raise ConfigError(f"{_both('shard_ids')}: set {_both('shard_count')} as well")
        too_big = [i for i in settings.shard_ids if i >= settings.shard_count]
        if too_big:
            raise ConfigError(
                f"{_both('shard_ids')}: {too_big[0]} is not below the shard count "
                f"{settings.shard_count}"
            )
        if len(set(settings.shard_ids)) != len(settings.shard_ids):
            raise ConfigError(f"{_both('shard_ids')}: a shard is listed twice")
    return settings


def _both(key: str) -> str:
    """Name a setting both ways, ``STUDYBOT_DATABASE (database_path)``: a check on the
    merged settings cannot tell whether the environment or the config file set it."""
    return f"{PARSERS[key][0]} ({key})"


def check_paths(settings: Settings) -> list[str]:
    """Return problems with the configured folders that a run would hit later.

    The content folder must exist, and the database's folder must exist or be
    creatable and be writable, so ``config check`` catches them up front.
    """
    problems: list[str] = []
    if not settings.content_dir.is_dir():
        if settings.content_dir == default_content_dir():
            problems.append(
                f"{_both('content_dir')}: not set, and there is no lesson folder at "
                f"{settings.content_dir} (studybot looks for content/lessons beside its package, "
                f"then in the working directory); {CONTENT_DIR_HINT}"
            )
        else:
            problems.append(
                f"{_both('content_dir')}: {settings.content_dir} is not a folder; "
                f"{CONTENT_DIR_HINT}"
            )
    try:
        check_database_path(settings.database_path)
    except OSError as exc:  # UnusableDatabasePathError, or one that cannot be read
        problems.append(f"{_both('database_path')}: cannot use {settings.database_path}: {exc}")
        return problems
    folder = settings.database_path.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        problems.append(f"{_both('database_path')}: cannot create or write {folder}")
    elif settings.database_path.exists() and not os.access(settings.database_path, os.W_OK):
        problems.append(f"{_both('database_path')}: {settings.database_path} is not writable")
    return problems
