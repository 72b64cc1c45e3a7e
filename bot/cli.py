"""The ``studybot`` command: one entry point for running, checking and operating the bot.

Each sub-command is a thin wrapper over the core; heavy imports happen inside
the handlers so that ``studybot validate`` or ``studybot config check`` start
fast and do not need a Discord connection.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import __version__
from bot.config import ConfigError, Settings, check_paths, load_settings
from bot.demos.model import MODES as DEMO_MODES

log = logging.getLogger("studybot")

NO_TOKEN_MESSAGE = (
    "No DISCORD_TOKEN set, so studybot starts in console mode. "
    "To go live on Discord, set DISCORD_TOKEN (or DISCORD_TOKEN_FILE) and run `studybot run`; "
    "see the README."
)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _cmd_default(args: argparse.Namespace, settings: Settings) -> int:
    if settings.token:
        return _cmd_run(args, settings)
    print(NO_TOKEN_MESSAGE)
    return _cmd_console(args, settings)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.token:
        print(
            "studybot run: no Discord token. Set DISCORD_TOKEN or DISCORD_TOKEN_FILE "
            "(see the README), or run `studybot console` to try it in the terminal.",
            file=sys.stderr,
        )
        return 2
    from bot.app import run_bot

    return asyncio.run(run_bot(settings))


def _cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import main as console_main
    from bot.console_features import ConsoleSession, feature_commands

    session = ConsoleSession(settings)
    # SIGTERM (a terminal closing, kill, a service manager) leaves like "quit": the
    # finally below drains the writer, so an answer in flight is committed or refused.
    previous = signal.signal(signal.SIGTERM, _leave_console)
    try:
        return console_main(
            settings, stdin=sys.stdin, stdout=sys.stdout, extra_commands=feature_commands(session)
        )
    except SystemExit as leaving:
        sys.stdout.write("\nStopped (SIGTERM). Answers you gave are saved.\n")
        return int(leaving.code or 0)
    finally:
        signal.signal(signal.SIGTERM, previous)
        session.close()


def _leave_console(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.lessons.validation_report import validate_paths

    paths = [Path(p) for p in args.paths] or [settings.content_dir]
    return validate_paths(paths, sys.stdout)


def _cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.database import Store
    from bot.store.lock import check_database_path

    path = settings.database_path
    check_database_path(path)  # a file that is not SQLite is named as such, not read
    before = _schema_version(path) if path.exists() and path.stat().st_size else None

    async def migrate() -> None:
        async with Store.open(path):
            pass

    asyncio.run(migrate())
    after = _schema_version(path)
    if before is None:
        print(f"Created the database (schema version {after}): {path}")
    elif before < after:
        print(f"Upgraded the database from schema version {before} to {after}: {path}")
    else:
        print(f"The database is up to date (schema version {after}): {path}")
    return 0


def _schema_version(path: Path) -> int:
    """Return the database's schema version, read without writing anything."""
    import sqlite3
    from contextlib import closing

    from bot.store.migrations import current_version

    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        return current_version(conn)


def _cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    dest = Path(args.path)
    if not settings.database_path.exists():
        print(
            f"studybot backup: there is no database at {settings.database_path} "
            "(set STUDYBOT_DATABASE to the one to copy)",
            file=sys.stderr,
        )
        return 2
    if dest.exists() and not args.force:
        print(f"studybot backup: {dest} exists; pass --force to overwrite it", file=sys.stderr)
        return 2
    from bot.store.database import backup_database

    new_paths = _missing_paths(dest)
    try:
        backup_database(settings.database_path, dest)  # beside a running bot: no store needed
    except BaseException as exc:
        _remove_new_paths(new_paths)
        if not isinstance(exc, ValueError):
            raise
        print(f"studybot backup: {exc}", file=sys.stderr)
        return 2
    print(f"Backed up {settings.database_path} to {dest}")
    return 0


def _missing_paths(dest: Path) -> list[Path]:
    """Return ``dest`` and the folders above it that do not exist yet, deepest first."""
    missing: list[Path] = []
    for path in (dest, *dest.parents):
        if os.path.lexists(path):
            break
        missing.append(path)
    return missing


def _remove_new_paths(paths: list[Path]) -> None:
    """Remove what a failed backup created, so a retry needs no --force.

    Only paths that did not exist before are touched; a folder is removed only
    while empty.
    """
    for path in paths:
        try:
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        except OSError:
            return


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demos.terminal import fitted_width, run_terminal_demo

    given = [args.task1, args.task2, args.task3, args.task4]
    durations = given if any(d is not None for d in given) else None  # None: each default
    columns = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    demo = run_terminal_demo(
        args.mode,
        durations,
        as_json=args.json,
        out=sys.stdout,
        predict=args.predict,
        width=fitted_width(columns),
    )
    return asyncio.run(demo)


def _cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import sync_commands

    if not settings.token:
        print("studybot sync: set DISCORD_TOKEN first (see the README)", file=sys.stderr)
        return 2
    if args.clear_guild is not None:
        code = asyncio.run(sync_commands(settings, args.clear_guild, clear=True))
        if code != 0:
            print(
                "studybot sync: the guild copies were not removed (the log says why)",
                file=sys.stderr,
            )
        else:
            print(f"Removed the guild copies of the slash commands from guild {args.clear_guild}.")
        return code
    code = asyncio.run(sync_commands(settings, args.guild))
    # The outcome is also logged, but STUDYBOT_LOG_LEVEL=ERROR would leave a success silent.
    guild = args.guild if args.guild is not None else settings.dev_guild_id
    if code != 0:
        print("studybot sync: the commands were not synced (the log says why)", file=sys.stderr)
    elif guild is not None:
        print(f"Synced the slash commands to guild {guild}; they show there at once.")
    else:
        print("Synced the slash commands globally; they can take up to an hour to show.")
    return code


def _guild_id(text: str) -> int:
    """Parse a Discord server id for ``--guild``: a positive whole number."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a server id (a number)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a server id (they are positive)")
    return value


def _cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from bot.health import check_heartbeat, health_path

    healthy, reason = check_heartbeat(health_path(settings.database_path))
    print(reason)
    return 0 if healthy else 1


def _cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    width = max(len(name) for name, _ in settings.describe())
    for name, value in settings.describe():
        print(f"{name.ljust(width)}  {value}")
    problems = check_paths(settings)
    for problem in problems:
        print(f"studybot config: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("Configuration is valid.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser; each sub-command sets ``handler``."""
    parser = argparse.ArgumentParser(
        prog="studybot",
        description=(
            "A Discord bot for study groups that teaches async concurrency. "
            "With no command: runs the bot if DISCORD_TOKEN is set, else the terminal console."
        ),
    )
    parser.add_argument("--version", action="version", version=f"studybot {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="optional YAML file with settings (env vars win)",
    )
    parser.set_defaults(handler=_cmd_default)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="optional YAML file with settings (env vars win)",
    )

    def add(name: str, handler: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(handler=handler)
        return p

    add("run", _cmd_run, "connect to Discord with DISCORD_TOKEN and serve slash commands")
    add("console", _cmd_console, "try lessons, traces, demos and quizzes in the terminal")
    p = add("validate", _cmd_validate, "check lesson files and print every problem")
    p.add_argument("paths", nargs="*", help="lesson files or folders (default: the content dir)")
    add("migrate", _cmd_migrate, "create or upgrade the database")
    p = add("backup", _cmd_backup, "copy the live database safely (SQLite online backup)")
    p.add_argument("path", help="where to write the copy")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p = add("demo", _cmd_demo, "run a live async demo in the terminal")
    p.add_argument("mode", choices=DEMO_MODES, help="the scenario to run")
    p.add_argument("--task1", type=float, metavar="S", help="task 1 duration, 0.05-10 s")
    p.add_argument("--task2", type=float, metavar="S", help="task 2 duration, 0.05-10 s")
    p.add_argument("--task3", type=float, metavar="S", help="adds a task 3 of this duration")
    p.add_argument("--task4", type=float, metavar="S", help="adds a task 4 of this duration")
    p.add_argument("--json", action="store_true", help="print events and timings as JSON")
    p.add_argument("--predict", metavar="ANSWER", help="your prediction, checked after the run")
    p = add("sync", _cmd_sync, "force a slash-command sync with Discord")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--guild", type=_guild_id, metavar="ID", help="sync to one guild (instant)")
    target.add_argument(
        "--clear-guild",
        type=_guild_id,
        metavar="ID",
        help="remove the guild copies a guild sync made (each command then shows once)",
    )
    add("health", _cmd_health, "exit 0 if the running bot is connected and can write (healthcheck)")
    p = add("config", _cmd_config, "show the effective settings (token masked)")
    p.add_argument("action", choices=["check"], help="check: validate and print the settings")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the studybot command line and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = getattr(args, "config", None)
        settings = load_settings(config_file=Path(config) if config else None)
    except ConfigError as exc:
        print(f"studybot: invalid configuration: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    from bot.store.lock import DatabaseInUseError, UnusableDatabasePathError
    from bot.store.migrations import DatabaseTooNewError, MigrationError

    try:
        code: int = args.handler(args, settings)
    except KeyboardInterrupt:
        print("\nBye.")
        return 130
    except BrokenPipeError:
        # Output piped into a reader that stopped (`| head`): end quietly, as Unix tools
        # do. Python flushes stdout again at exit; point it at /dev/null so that is quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for such a command
    except (DatabaseTooNewError, MigrationError) as exc:
        print(f"studybot: {exc}", file=sys.stderr)
        return 1
    except (sqlite3.Error, DatabaseInUseError, UnusableDatabasePathError) as exc:
        print(f"studybot: cannot use the database {settings.database_path}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"studybot: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr
        )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
