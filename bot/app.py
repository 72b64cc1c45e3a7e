"""Wire the core to Discord: build the bot, load its cogs, sync commands, run until stopped.

The bot receives everything it needs in its constructor (settings, the lesson
library, the store, the services) so that cogs never open anything themselves
and tests can build a real bot without logging in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import signal
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import discord.abc
import discord.gateway
import discord.http
import yarl
from discord import app_commands
from discord.ext import commands

from bot.cogs.views import FromBeforeRestart, new_boot_id
from bot.config import Settings
from bot.demos.limits import DemoGuard
from bot.errors import ShuttingDownError
from bot.health import HEARTBEAT_INTERVAL, Heartbeat, health_path, write_heartbeat
from bot.lessons.library import LessonLibrary
from bot.lessons.loader import Problem
from bot.lessons.model import Lesson
from bot.quiz.service import QuizService
from bot.store.collector import tune_collector
from bot.store.database import Store
from bot.store.migrations import DatabaseTooNewError, MigrationError

log = logging.getLogger("studybot.app")

# Every extension the bot loads, in order; later features append theirs here.
# The error handler comes first so that it is in place before any command runs.
EXTENSIONS: tuple[str, ...] = (
    "bot.cogs.errors",
    "bot.cogs.lessons",
    "bot.cogs.trace",
    "bot.cogs.help",
    "bot.cogs.demo",
    "bot.cogs.quiz",
    "bot.cogs.rounds",
    "bot.cogs.boards",
    "bot.cogs.admin",
)

SYNC_HASH_KEY = "command_sync_hash"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

NO_TOKEN_MESSAGE = (
    "No Discord token: set DISCORD_TOKEN (or DISCORD_TOKEN_FILE) to the bot token "
    "from the Discord developer portal."
)
REJECTED_TOKEN_MESSAGE = (
    "Discord rejected the token: check DISCORD_TOKEN (or the file DISCORD_TOKEN_FILE "
    "names) against the Bot page of the Discord developer portal, or reset it there."
)


@dataclass(slots=True)
class LibraryHolder:
    """The lessons currently served and the problems found loading them; swapped on reload."""

    library: LessonLibrary
    problems: list[Problem] = field(default_factory=list)

    def replace(self, library: LessonLibrary, problems: Sequence[Problem]) -> None:
        """Serve ``library`` from now on, remembering the problems of its load."""
        self.library = library
        self.problems = list(problems)


@dataclass(slots=True)
class Services:
    """Feature services the cogs call; features that are not wired stay None.

    Tests build a bot with only the services they exercise; ``build_services``
    wires them all for a real run.
    """

    quiz: QuizService | None = None
    demo: DemoGuard | None = None


def build_services(settings: Settings, store: Store, content: LibraryHolder) -> Services:
    """Create every feature service over the open store, configured from ``settings``.

    The quiz service finds lessons in ``content`` as it is at the time (after
    an /admin reload too), to pick personal quizzes up again after a restart.
    """

    def lesson(lesson_id: str) -> Lesson | None:
        library = content.library
        return library.get(lesson_id) if lesson_id in library else None

    return Services(
        quiz=QuizService(store, lessons=lesson),
        demo=DemoGuard(
            cooldown=settings.demo_cooldown_seconds, max_per_guild=settings.demo_max_per_guild
        ),
    )


class TokenFilter(logging.Filter):
    """Mask the bot token in every log record that passes through a handler."""

    MASK = "[token hidden]"

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def mask(self, text: str) -> str:
        """Return ``text`` with every occurrence of the token masked."""
        return text.replace(self.token, self.MASK) if self.token else text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, exception and stack text without the token."""
        if not self.token:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the formatter to report
            return True
        record.msg = self.mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def install_token_filter(token: str, handlers: Iterable[logging.Handler] | None = None) -> None:
    """Add a token-masking filter to ``handlers`` (default: every root handler).

    Filters on a logger do not apply to records from its children, but filters
    on a handler see every record the handler writes, discord.py's included.
    """
    root = logging.getLogger()
    if handlers is None:
        if not root.handlers:
            handler: logging.Handler = logging.StreamHandler()
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
            )
            root.addHandler(handler)
        handlers = root.handlers
    for handler in handlers:
        if not any(isinstance(f, TokenFilter) and f.token == token for f in handler.filters):
            handler.addFilter(TokenFilter(token))


def commands_hash(payload: list[dict[str, Any]]) -> str:
    """Return a stable hash of the command payloads, independent of their order."""
    ordered = sorted(payload, key=lambda p: (int(p.get("type", 1)), str(p.get("name", ""))))
    text = json.dumps(ordered, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StudyTree(app_commands.CommandTree["StudyBot"]):
    """The command tree: refuses new commands once a graceful shutdown has begun."""

    async def interaction_check(self, interaction: discord.Interaction[StudyBot]) -> bool:
        """Let the interaction through unless the bot is stopping (then say so, ephemerally)."""
        if not interaction.client.stopping:
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(str(ShuttingDownError()), ephemeral=True)
        return False


class StudyBot(commands.Bot):
    """The studybot Discord client: a Bot that owns the settings, lessons, store and services."""

    def __init__(
        self,
        settings: Settings,
        content: LibraryHolder,
        store: Store,
        services: Services | None = None,
        *,
        extensions: Sequence[str] = EXTENSIONS,
        sync_on_start: bool = True,
        heartbeat: bool = True,
        **options: Any,
    ) -> None:
        # studybot never joins voice: skip discord.py's start-up warnings about
        # the optional voice libraries, which only confuse people reading the log.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        # No privileged intents: slash commands need neither members, presences
        # nor message content.
        intents.members = False
        intents.presences = False
        intents.message_content = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=StudyTree,
            **options,
        )
        self.stopping = False
        self.settings = settings
        self.content = content
        self.store = store
        self.services = services or Services()
        self.initial_extensions = tuple(extensions)
        self.sync_on_start = sync_on_start
        self.heartbeat = heartbeat
        self.started_at = time.monotonic()
        self.boot_id = new_boot_id()
        """Marks the short-lived buttons this run sends (``bot.cogs.views.session_id``)."""
        self._heartbeat_task: asyncio.Task[None] | None = None

    @property
    def library(self) -> LessonLibrary:
        """Return the lesson library currently served."""
        return self.content.library

    async def setup_hook(self) -> None:
        """Load every extension (each registers its persistent items), then sync if changed."""
        self.add_dynamic_items(FromBeforeRestart)
        for extension in self.initial_extensions:
            await self.load_extension(extension)
        if self.sync_on_start:
            await self.sync_if_changed()
        if self.heartbeat:
            self._heartbeat_task = asyncio.create_task(self._beat(), name="studybot-heartbeat")

    def sync_target(self, guild_id: int | None = None) -> discord.Object | None:
        """Return the guild to sync to (the given one, else the dev guild), or None for global."""
        chosen = guild_id if guild_id is not None else self.settings.dev_guild_id
        if chosen is None:
            return None
        guild = discord.Object(id=chosen)
        # A development guild gets a copy of the global commands: guild
        # commands update instantly, global ones can take a while to show.
        self.tree.copy_global_to(guild=guild)
        return guild

    def command_payload(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        """Return the JSON payloads a sync to ``guild`` (None: global) would send."""
        return [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]

    async def sync_commands(self, guild_id: int | None = None, *, force: bool = False) -> bool:
        """Sync the command tree when its definitions changed (or ``force``); return if synced.

        Discord rate-limits command registration hard, so a hash of what was
        last synced is kept in the database and an unchanged tree is not sent.
        The hash is kept per application: a database that served another bot
        (a test bot, before the token was switched to the real one) says
        nothing about what this one has registered.
        """
        guild = self.sync_target(guild_id)
        key = f"{SYNC_HASH_KEY}:{self.application_id}:{guild.id if guild else 'global'}"
        digest = commands_hash(self.command_payload(guild))
        if not force and await self.store.get_meta(key) == digest:
            log.info("Commands unchanged since the last sync; not syncing")
            return False
        synced = await self.tree.sync(guild=guild)
        await self.store.set_meta(key, digest)
        where = f"guild {guild.id}" if guild else "globally"
        log.info("Synced %d commands %s", len(synced), where)
        return True

    async def clear_guild_commands(self, guild_id: int) -> None:
        """Remove the guild copies of the commands that a guild sync (or a dev guild) made.

        Beside the global commands they show every command twice in that server.
        """
        guild = discord.Object(id=guild_id)
        self.tree.clear_commands(guild=guild)
        await self.tree.sync(guild=guild)
        # A later guild sync must send the commands again, not find them "unchanged".
        await self.store.set_meta(f"{SYNC_HASH_KEY}:{self.application_id}:{guild_id}", "")
        log.info("Removed the guild copies of the commands from guild %d", guild_id)

    async def sync_if_changed(self) -> None:
        """Sync on start-up when needed; a failed sync is logged, never fatal."""
        try:
            await self.sync_commands()
        except discord.Forbidden:
            log.error("Command sync refused: invite the bot with the applications.commands scope")
        except discord.HTTPException as exc:
            log.error("Command sync failed (%s %s); will retry on the next start", exc.status, exc)

    async def on_ready(self) -> None:
        """Log who the bot is logged in as."""
        user = self.user
        log.info(
            "Ready as %s (id %s) in %d guild(s)", user, user.id if user else "?", len(self.guilds)
        )
        if self.heartbeat:
            # Report healthy as soon as we are connected, not one interval later.
            await self.write_heartbeat()

    async def _beat(self) -> None:
        """Write the health heartbeat while running (see bot.health)."""
        while not self.is_closed():
            await self.write_heartbeat()
            await asyncio.sleep(HEARTBEAT_INTERVAL)

    async def write_heartbeat(self, *, stopped: bool = False) -> None:
        """Check the database takes a write and record whether the gateway is connected."""
        if stopped:
            await self._save_heartbeat(Heartbeat(time.time(), False, False, stopped=True))
            return
        try:
            await self.store.set_meta("heartbeat", str(time.time()))
            writable = True
        except Exception:
            log.exception("The database is not writable")
            writable = False
        latency: float | None = self.latency * 1000 if self.is_ready() else None
        if latency is not None and not math.isfinite(latency):
            latency = None
        beat = Heartbeat(
            written_at=time.time(),
            connected=self.is_ready() and not self.is_closed(),
            database_writable=writable,
            latency_ms=latency,
            guilds=len(self.guilds),
        )
        await self._save_heartbeat(beat)

    async def _save_heartbeat(self, beat: Heartbeat) -> None:
        path = health_path(self.settings.database_path)
        try:
            await asyncio.to_thread(write_heartbeat, path, beat)
        except OSError as exc:
            log.warning("Cannot write the heartbeat %s: %s", path, exc)

    async def close(self) -> None:
        """Stop running demos (their messages say why), stop the heartbeat, and disconnect.

        From the first line on, new commands get a "restarting" reply
        (``StudyTree``); clicks on buttons are refused by ``GuardedItem``.
        """
        self.stopping = True
        if self.services.demo is not None:
            await self.services.demo.cancel_all()
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
            self._heartbeat_task = None
            await self.write_heartbeat(stopped=True)  # not healthy for another minute
        await super().close()


class ShardedStudyBot(StudyBot, commands.AutoShardedBot):
    """A StudyBot that runs several gateway shards in this process."""


def create_bot(
    settings: Settings,
    content: LibraryHolder,
    store: Store,
    services: Services | None = None,
    **options: Any,
) -> StudyBot:
    """Build the bot, sharded when the settings ask for a shard count."""
    if settings.shard_count is not None:
        options.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids is not None:
            options.setdefault("shard_ids", list(settings.shard_ids))
            # Commands belong to the application, not to a shard: of processes that split
            # the shards, the one running shard 0 registers them, the others never sync.
            if 0 not in settings.shard_ids:
                options.setdefault("sync_on_start", False)
        return ShardedStudyBot(settings, content, store, services, **options)
    return StudyBot(settings, content, store, services, **options)


async def load_content(settings: Settings) -> LibraryHolder:
    """Load the lessons in a thread; log each broken file and serve the rest."""
    library, problems = await asyncio.to_thread(LessonLibrary.from_directory, settings.content_dir)
    for problem in problems:
        log.error("Lesson not loaded: %s", problem)
    log.info("Serving %d lesson(s) from %s", len(library.all()), settings.content_dir)
    return LibraryHolder(library, list(problems))


def _install_signal_handlers(bot: StudyBot) -> list[signal.Signals]:
    """Close the bot on SIGTERM/SIGINT; return the signals handled (none on Windows)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    closing: set[asyncio.Task[None]] = set()

    def stop(signame: str) -> None:
        log.info("Received %s; shutting down", signame)
        task = loop.create_task(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop, sig.name)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(sig)
    return installed


async def run_bot(settings: Settings, **options: Any) -> int:
    """Run the bot until it is stopped; return the process exit code.

    ``options`` go to the discord.py client. A missing or rejected token and
    an unusable database end the run with one explanatory log line.
    """
    token = ready_for_discord(settings)
    if token is None:
        return EXIT_CONFIG
    content = await load_content(settings)
    try:
        store = await Store.open(settings.database_path)
    except (DatabaseTooNewError, MigrationError, sqlite3.Error, OSError) as exc:
        log.error("Cannot use the database %s: %s", settings.database_path, exc)
        return EXIT_FAILED
    try:
        services = build_services(settings, store, content)
        bot = create_bot(settings, content, store, services, **options)
        tune_collector()  # after start-up: see bot/store/collector.py
        return await _run_until_stopped(bot, token)
    finally:
        # Closing the store commits every answer still queued in the writer.
        await store.close()


def ready_for_discord(settings: Settings) -> str | None:
    """Return the token, masked in every log line from now on, after pointing at Discord.

    Return None (having logged why) when there is no token.
    """
    if not settings.token:
        log.error(NO_TOKEN_MESSAGE)
        return None
    install_token_filter(settings.token)
    point_at_discord(settings)
    return settings.token


def point_at_discord(settings: Settings) -> None:
    """Use a Discord-compatible API and gateway other than discord.com when configured.

    Only for local test servers (the end-to-end tests run ``studybot run`` against a
    loopback fake); real deployments leave both settings unset.
    """
    if settings.discord_api_url:
        discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
        log.warning("Using the Discord API at %s", discord.http.Route.BASE)
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def _run_until_stopped(bot: StudyBot, token: str) -> int:
    """Connect ``bot`` and run it until it closes (SIGTERM/SIGINT close it gracefully)."""
    installed = _install_signal_handlers(bot)
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        log.error(REJECTED_TOKEN_MESSAGE)
        return EXIT_FAILED
    except discord.PrivilegedIntentsRequired:
        log.error("Discord asks for privileged intents, which studybot never requests")
        return EXIT_FAILED
    except (aiohttp.ClientConnectionError, OSError) as exc:
        log.error("Cannot reach Discord (%s); check the network and try again", exc)
        return EXIT_FAILED
    finally:
        loop = asyncio.get_running_loop()
        for sig in installed:
            loop.remove_signal_handler(sig)
    log.info("Stopped")
    return EXIT_OK


async def sync_commands(
    settings: Settings, guild_id: int | None, *, clear: bool = False, **options: Any
) -> int:
    """Log in, load every cog, force a command sync (to ``guild_id`` or globally), log out.

    With ``clear``, remove the guild copies from ``guild_id`` instead.
    """
    token = ready_for_discord(settings)
    if token is None:
        return EXIT_CONFIG
    content = await load_content(settings)
    async with Store.open(settings.database_path) as store:
        bot = create_bot(settings, content, store, sync_on_start=False, heartbeat=False, **options)
        try:
            async with bot:
                await bot.login(token)
                if clear:
                    assert guild_id is not None
                    await bot.clear_guild_commands(guild_id)
                else:
                    await bot.sync_commands(guild_id, force=True)
        except discord.LoginFailure:
            log.error(REJECTED_TOKEN_MESSAGE)
            return EXIT_FAILED
        except discord.HTTPException as exc:
            log.error("Command sync failed: %s %s", exc.status, exc)
            return EXIT_FAILED
        except (aiohttp.ClientConnectionError, OSError) as exc:
            log.error("Cannot reach Discord (%s); check the network and try again", exc)
            return EXIT_FAILED
    return EXIT_OK
