"""Run the fake Discord on 127.0.0.1 and give tests one object to drive and inspect it.

``FakeDiscord`` owns the aiohttp server (gateway + REST), the world (guilds,
channels, users), the synced commands, the messages, and the records. Tests
use it as an async context manager, which also points discord.py at it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import discord.gateway
import discord.http
import yarl
from aiohttp import web

from tests.fakediscord.commands import CommandStore
from tests.fakediscord.entities import (
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Perm,
    Snowflakes,
)
from tests.fakediscord.gateway import Gateway
from tests.fakediscord.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    OptionBuilder,
    component_data,
    direct_message,
    interaction_payload,
    modal_submit_data,
)
from tests.fakediscord.messages import MessageStore, StoredMessage
from tests.fakediscord.recorder import (
    Callback,
    Identify,
    InteractionRecord,
    Recorder,
    Request,
    Violation,
)
from tests.fakediscord.rest import ApiError, Fault, RestApi, json_response

T = TypeVar("T")

# Discord's hard deadline for the first response to an interaction.
RESPONSE_WINDOW = 3.0


class FakeDiscord:
    """A loopback Discord: gateway, REST API, world state and records.

    Build the cast before the client connects (guilds in READY are the ones
    that exist then); drive it with ``slash``/``click``/``select``/
    ``autocomplete``; read ``messages``, ``requests``, ``violations`` and
    ``late_interactions`` to assert on what the bot did.
    """

    def __init__(
        self,
        *,
        token: str = "fake-token",
        heartbeat_interval: float = 41.25,
        application_flags: int = 0,
        allowed_privileged_intents: int = 0,
        response_window: float = RESPONSE_WINDOW,
    ) -> None:
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.application_flags = application_flags
        self.allowed_privileged_intents = allowed_privileged_intents
        self.response_window = response_window
        self.snowflakes = Snowflakes()
        self.recorder = Recorder()
        self.bot_user = FakeUser(self.snowflakes.next(), "fakebot", "Fake Bot", bot=True)
        self.application_id = self.bot_user.id
        self.owner = FakeUser(self.snowflakes.next(), "owner", "Server Owner")
        self.commands = CommandStore(self.snowflakes, self.application_id)
        self.messages = MessageStore(self.snowflakes)
        self.guilds: dict[int, FakeGuild] = {}
        self.guild = self.add_guild("Study Group")
        self.channel = self.guild.default_channel
        self.member = self.add_member("alice")
        self.gateway = Gateway(self)
        self.rest = RestApi(self)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._tokens: dict[str, int] = {}

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Listen on an ephemeral 127.0.0.1 port."""
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{channel}/{attachment}/{filename}", self._serve_attachment)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close open websockets and stop listening."""
        if self._runner is not None:
            await self.gateway.close_all()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        self._patch = self.patch_discord()
        self._patch.__enter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._patch.__exit__(None, None, None)
        await self.stop()

    @contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base, webhook routes and gateway at the fake.

        ``Route.BASE`` serves REST, interaction callbacks and webhook followups
        (discord.webhook.async_ builds its URLs with the same ``Route``);
        ``DiscordWebSocket.DEFAULT_GATEWAY`` is where ``Client.connect`` dials
        (discord.py 2.7 does not ask GET /gateway/bot first).
        """
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    @property
    def http_base(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Return the REST base that replaces ``https://discord.com/api/v10``."""
        return f"{self.http_base}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Return the websocket URL of the gateway."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        for message in self.messages:
            for attachment in message.attachments:
                if str(attachment.id) == request.match_info["attachment"]:
                    return web.Response(body=attachment.data, content_type=attachment.content_type)
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    # -- the world ----------------------------------------------------------------

    def add_guild(self, name: str, *, channels: tuple[str, ...] = ("general",)) -> FakeGuild:
        """Create a guild with @everyone, the bot (with its managed role) and text channels.

        Add guilds before the client connects: READY lists the guilds that exist then.
        """
        guild_id = self.snowflakes.next()
        guild = FakeGuild(guild_id, name, owner_id=self.owner.id)
        guild.roles[guild_id] = FakeRole(guild_id, "@everyone", permissions=Perm.DEFAULT_MEMBER)
        bot_role = self.add_role(guild, self.bot_user.username, permissions=Perm.DEFAULT_BOT)
        bot_role.managed = True
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, guild_id, roles=[bot_role.id])
        guild.members[self.owner.id] = FakeMember(self.owner, guild_id)
        for channel_name in channels:
            self.add_channel(guild, channel_name)
        self.guilds[guild_id] = guild
        return guild

    def add_channel(self, guild: FakeGuild, name: str, *, kind: int = 0) -> FakeChannel:
        """Create a channel (text by default) in ``guild``."""
        channel = FakeChannel(
            self.snowflakes.next(), guild.id, name, kind, position=len(guild.channels)
        )
        guild.channels[channel.id] = channel
        return channel

    def add_role(self, guild: FakeGuild, name: str, *, permissions: int = 0) -> FakeRole:
        """Create a role in ``guild``."""
        role = FakeRole(self.snowflakes.next(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def add_user(self, username: str, global_name: str | None = None) -> FakeUser:
        """Create a user account (not yet in any guild)."""
        return FakeUser(self.snowflakes.next(), username, global_name)

    def add_member(
        self,
        user: FakeUser | str,
        *,
        guild: FakeGuild | None = None,
        roles: tuple[FakeRole, ...] = (),
        permissions: int | None = None,
        nick: str | None = None,
    ) -> FakeMember:
        """Put a user (or a new user with this name) into a guild.

        ``permissions`` overrides the role-computed value, e.g. ``Perm.MANAGE_GUILD``
        for an admin, ``0`` for someone who may do nothing.
        """
        account = self.add_user(user) if isinstance(user, str) else user
        target = guild or self.guild
        member = FakeMember(account, target.id, [r.id for r in roles], permissions, nick)
        target.members[account.id] = member
        return member

    def bot_permissions(self, guild: FakeGuild) -> int:
        """Return the bot's permissions in ``guild`` (sent as ``app_permissions``)."""
        return guild.permissions_of(guild.members[self.bot_user.id])

    # -- sending interactions ---------------------------------------------------

    def _member_in(self, user: FakeMember | FakeUser | None, guild: FakeGuild) -> FakeMember:
        if user is None:
            return guild.members.get(self.member.user.id) or self.add_member(
                self.member.user, guild=guild
            )
        if isinstance(user, FakeMember):
            return user
        return guild.members.get(user.id) or self.add_member(user, guild=guild)

    async def _send_interaction(
        self,
        *,
        kind: int,
        data: dict[str, Any],
        guild: FakeGuild,
        channel: FakeChannel,
        user: FakeMember | FakeUser | None,
        message: StoredMessage | None = None,
        locale: str = "en-US",
        in_dm: bool = False,
    ) -> int:
        interaction_id = self.snowflakes.next()
        token = "fake-interaction-" + secrets.token_urlsafe(24)
        payload = interaction_payload(
            interaction_id=interaction_id,
            application_id=self.application_id,
            kind=kind,
            data=data,
            guild=guild,
            channel=channel,
            member=self._member_in(user, guild),
            token=token,
            app_permissions=self.bot_permissions(guild),
            message=None if message is None else message.payload(self.http_base),
            locale=locale,
        )
        # The record keeps the guild payload: replies are filed under its channel.
        record = InteractionRecord(interaction_id, token, kind, payload, self.recorder.now())
        self.recorder.interactions[interaction_id] = record
        self._tokens[token] = interaction_id
        await self.gateway.dispatch(
            "INTERACTION_CREATE", direct_message(payload) if in_dm else payload
        )
        return interaction_id

    def interaction_by_token(self, token: str) -> InteractionRecord | None:
        """Return the interaction an interaction token belongs to."""
        interaction_id = self._tokens.get(token)
        return None if interaction_id is None else self.recorder.interactions[interaction_id]

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: FakeMember | FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
        in_dm: bool = False,
    ) -> int:
        """Invoke a synced slash command, e.g. ``slash("lesson show", {"lesson": "x"})``.

        The name is the full path (command, group, subcommand); options are
        plain values (or FakeMember/FakeChannel/FakeRole for those types),
        checked against the synced definition. Returns the interaction id.
        ``in_dm`` sends it from the user's direct messages with the bot instead.
        """
        target = guild or self.guild
        root, *path = name.split()
        command, guild_scoped = self.commands.find(root, target.id)
        data = OptionBuilder(target).command_data(
            command, path, options or {}, guild_scoped=guild_scoped
        )
        return await self._send_interaction(
            kind=APPLICATION_COMMAND,
            data=data,
            guild=target,
            channel=channel or target.default_channel,
            user=user,
            locale=locale,
            in_dm=in_dm,
        )

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        focused: str,
        user: FakeMember | FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
    ) -> int:
        """Send an autocomplete request while the user types into option ``focused``."""
        target = guild or self.guild
        root, *path = name.split()
        command, guild_scoped = self.commands.find(root, target.id)
        data = OptionBuilder(target).command_data(
            command, path, options or {}, guild_scoped=guild_scoped, focused=focused
        )
        return await self._send_interaction(
            kind=AUTOCOMPLETE,
            data=data,
            guild=target,
            channel=channel or target.default_channel,
            user=user,
        )

    async def click(
        self, message_id: int, custom_id: str, *, user: FakeMember | FakeUser | None = None
    ) -> int:
        """Click a button on a message as it currently stands; return the interaction id."""
        return await self._component(message_id, custom_id, None, user)

    async def select(
        self,
        message_id: int,
        custom_id: str,
        values: list[str],
        *,
        user: FakeMember | FakeUser | None = None,
    ) -> int:
        """Choose ``values`` in a select menu on a message; return the interaction id."""
        return await self._component(message_id, custom_id, values, user)

    async def _component(
        self,
        message_id: int,
        custom_id: str,
        values: list[str] | None,
        user: FakeMember | FakeUser | None,
    ) -> int:
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise LookupError(f"no live message {message_id}")
        if message.guild_id is None:
            raise NotImplementedError("the fake only sends guild interactions")
        guild = self.guilds[message.guild_id]
        data = component_data(message.component(custom_id), values)
        return await self._send_interaction(
            kind=MESSAGE_COMPONENT,
            data=data,
            guild=guild,
            channel=guild.channels[message.channel_id],
            user=user,
            message=message,
        )

    async def submit_modal(
        self,
        interaction_id: int,
        values: dict[str, Any],
        *,
        user: FakeMember | FakeUser | None = None,
    ) -> int:
        """Fill in and submit the modal the bot opened in answer to ``interaction_id``.

        The submitter defaults to whoever triggered that interaction.
        """
        record = self.recorder.interactions[interaction_id]
        opened = record.first_callback
        if opened is None or opened.type != 9:
            raise LookupError(f"interaction {interaction_id} was not answered with a modal")
        payload = record.payload
        guild = self.guilds[int(payload["guild_id"])]
        message_id = int(payload["message"]["id"]) if "message" in payload else None
        return await self._send_interaction(
            kind=MODAL_SUBMIT,
            data=modal_submit_data(opened.data, values),
            guild=guild,
            channel=guild.channels[int(payload["channel_id"])],
            user=user or guild.members[int(payload["member"]["user"]["id"])],
            message=None if message_id is None else self.messages.get(message_id),
        )

    def fail_requests(
        self, when: Callable[[Request], bool], error: ApiError | None = None, *, times: int = 1
    ) -> list[Request]:
        """Answer the next ``times`` REST requests ``when`` picks with ``error`` (Discord's
        error body and status); with no error, drop the connection instead, as a network
        blip would. Return the list of requests it hits, filled in as they come."""
        fault = Fault(when, error, times, [])
        self.rest.faults.append(fault)
        return fault.hits

    async def request_reconnect(self) -> None:
        """Ask the client to reconnect (op 7); it resumes its session."""
        await self.gateway.request_reconnect()

    # -- reading results ------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Return every REST request so far."""
        return self.recorder.requests

    @property
    def violations(self) -> list[Violation]:
        """Return every request Discord would have rejected."""
        return self.recorder.violations

    @property
    def unknown_requests(self) -> list[Request]:
        """Return requests to routes the fake does not know (answered 404)."""
        return self.rest.unknown

    @property
    def identifies(self) -> list[Identify]:
        """Return every IDENTIFY received."""
        return self.recorder.identifies

    @property
    def intents(self) -> int:
        """Return the intents of the latest IDENTIFY."""
        if not self.recorder.identifies:
            raise LookupError("the client has not identified yet")
        return self.recorder.identifies[-1].intents

    @property
    def heartbeats(self) -> int:
        """Return how many heartbeats the client sent."""
        return self.recorder.heartbeats

    @property
    def heartbeat_acks(self) -> int:
        """Return how many HEARTBEAT_ACKs the fake sent."""
        return self.recorder.heartbeat_acks

    @property
    def interactions(self) -> dict[int, InteractionRecord]:
        """Return every dispatched interaction by id."""
        return self.recorder.interactions

    def requests_to(self, method: str, pattern: str) -> list[Request]:
        """Return requests whose method matches and whose path matches regex ``pattern``."""
        compiled = re.compile(pattern)
        return [r for r in self.requests if r.method == method and compiled.search(r.path)]

    def original_message(self, interaction_id: int) -> StoredMessage | None:
        """Return the interaction's original response message as it stands now."""
        message_id = self.recorder.interactions[interaction_id].original_message_id
        return None if message_id is None else self.messages.get(message_id)

    def followups(self, interaction_id: int) -> list[StoredMessage]:
        """Return the interaction's followup messages as they stand now."""
        return [self.messages[i] for i in self.recorder.interactions[interaction_id].followup_ids]

    def unanswered(self, after: float | None = None) -> list[InteractionRecord]:
        """Return interactions with no accepted callback within ``after`` seconds.

        That is: answered late, or not answered and older than ``after``
        (default: the 3-second window). Younger pending ones are not listed.
        """
        window = self.response_window if after is None else after
        now = self.recorder.now()
        return [r for r in self.recorder.interactions.values() if r.is_late(window, now)]

    @property
    def late_interactions(self) -> list[InteractionRecord]:
        """Return interactions that missed Discord's response window."""
        return self.unanswered()

    def assert_clean(self) -> None:
        """Fail if there were violations, unknown routes or late interactions."""
        problems = [f"violation: {v}" for v in self.violations]
        problems += [f"unknown route: {r.route}" for r in self.unknown_requests]
        problems += [
            f"late interaction {r.id} (type {r.type}, delay {r.response_delay})"
            for r in self.late_interactions
        ]
        if problems:
            raise AssertionError("fake Discord saw problems:\n" + "\n".join(problems))

    # -- waiting ---------------------------------------------------------------------

    # The waits below take ``timeout`` (not asyncio.timeout) so a failure names what
    # it waited for; each is bounded.
    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> T:
        """Wait (at most ``timeout`` s) until ``predicate()`` is truthy; return its value."""
        return await self.recorder.wait_for(predicate, timeout, what)

    async def wait_for_response(self, interaction_id: int, timeout: float = 5.0) -> Callback:  # noqa: ASYNC109
        """Wait for the first accepted callback of an interaction and return it."""
        record = self.recorder.interactions[interaction_id]
        return await self.wait_for(
            lambda: record.first_callback, timeout, f"a response to interaction {interaction_id}"
        )

    async def wait_for_request(
        self,
        method: str,
        pattern: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Request:
        """Wait until a request matching ``method`` and path regex ``pattern`` was answered."""

        def answered() -> Request | None:
            return next((r for r in self.requests_to(method, pattern) if r.status), None)

        return await self.wait_for(answered, timeout, f"{method} {pattern}")

    async def wait_until_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a client holds a live gateway session."""
        await self.wait_for(lambda: self.gateway.connected, timeout, "a gateway connection")
