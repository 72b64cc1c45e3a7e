"""Serve the REST endpoints discord.py calls, record each request, enforce limits.

Routes live under ``/api/v10``. Every request is recorded (``fake.requests``),
an unknown route gets Discord's 404 body, and a payload Discord would reject
gets the matching 400 body and a ``Violation`` record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from tests.fakediscord import limits
from tests.fakediscord.messages import EPHEMERAL, LOADING, StoredMessage
from tests.fakediscord.payloads import application_payload, channel_payload, current_user_payload
from tests.fakediscord.recorder import Callback, InteractionRecord, Request, UploadedFile, Violation

if TYPE_CHECKING:
    from tests.fakediscord.server import FakeDiscord

Reply = tuple[int, Any]
Handler = Callable[..., Awaitable[Reply]]

# Which callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
MESSAGE_CALLBACKS = {4, 5, 7}


class ApiError(Exception):
    """An error answer in Discord's shape: ``{"code", "message", "errors"?}``."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> dict[str, Any]:
        """Return the JSON body Discord would send."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


@dataclass(frozen=True)
class Route:
    """A method and a path pattern with named groups."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    needs_auth: bool


def compile_path(template: str) -> re.Pattern[str]:
    """Turn ``/channels/{channel}/messages`` into an anchored regex."""
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


async def read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """Parse a JSON body, or a multipart body with ``payload_json`` and ``files[n]``."""
    if request.content_type == "multipart/form-data":
        payload: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                files.append(
                    UploadedFile(
                        field=part.name or "",
                        filename=part.filename or "",
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                        data=bytes(await part.read()),
                    )
                )
        return payload, files
    text = await request.text() if request.can_read_body else ""
    return (json.loads(text) if text else None), []


def json_response(body: Any, status: int = 200) -> web.Response:
    """Answer JSON with the bare ``application/json`` type discord.py insists on.

    discord.py's ``json_or_text`` compares the Content-Type header exactly, so
    aiohttp's default ``application/json; charset=utf-8`` would be read as text.
    """
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


@dataclass
class Fault:
    """Answer the next ``times`` requests that ``when`` picks with ``error``, or drop them."""

    when: Callable[[Request], bool]
    error: ApiError | None
    """None: close the connection without an answer, as a network blip would."""
    times: int
    hits: list[Request]


class RestApi:
    """Route, record and answer REST requests against the fake's state."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.unknown: list[Request] = []
        self.faults: list[Fault] = []
        self.routes: list[Route] = []
        add = self._add
        add("GET", "/users/@me", self.get_me)
        add("GET", "/oauth2/applications/@me", self.get_application)
        add("GET", "/applications/@me", self.get_application)
        add("GET", "/gateway", self.get_gateway, auth=False)
        add("GET", "/gateway/bot", self.get_gateway)
        for scope in ("/applications/{app}", "/applications/{app}/guilds/{guild}"):
            add("GET", scope + "/commands", self.list_commands)
            add("PUT", scope + "/commands", self.put_commands)
            add("POST", scope + "/commands", self.post_command)
            add("GET", scope + "/commands/{command}", self.get_command)
            add("PATCH", scope + "/commands/{command}", self.patch_command)
            add("DELETE", scope + "/commands/{command}", self.delete_command)
        add("POST", "/interactions/{interaction}/{token}/callback", self.callback, auth=False)
        add("POST", "/webhooks/{app}/{token}", self.post_followup, auth=False)
        add(
            "GET",
            "/webhooks/{app}/{token}/messages/{message}",
            self.get_webhook_message,
            auth=False,
        )
        add(
            "PATCH",
            "/webhooks/{app}/{token}/messages/{message}",
            self.patch_webhook_message,
            auth=False,
        )
        add(
            "DELETE",
            "/webhooks/{app}/{token}/messages/{message}",
            self.delete_webhook_message,
            auth=False,
        )
        add("GET", "/channels/{channel}", self.get_channel)
        add("POST", "/channels/{channel}/typing", self.post_typing)
        add("GET", "/channels/{channel}/messages", self.list_channel_messages)
        add("POST", "/channels/{channel}/messages", self.post_channel_message)
        add("GET", "/channels/{channel}/messages/{message}", self.get_channel_message)
        add("PATCH", "/channels/{channel}/messages/{message}", self.patch_channel_message)
        add("DELETE", "/channels/{channel}/messages/{message}", self.delete_channel_message)

    def _add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        self.routes.append(Route(method, compile_path(template), handler, auth))

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one request under ``/api/v10``."""
        body, files = await read_body(request)
        path = "/" + request.match_info["tail"]
        record = Request(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body,
            files=files,
            at=self.fake.recorder.now(),
        )
        self.fake.recorder.requests.append(record)
        try:
            self._injected_fault(request, record)
            status, reply = await self._route(request, record)
        except ApiError as error:
            status, reply = error.status, error.body()
        record.status, record.response = status, reply
        self.fake.recorder.changed()
        if reply is None:
            return web.Response(status=status)
        return json_response(reply, status)

    def _injected_fault(self, request: web.Request, record: Request) -> None:
        """Raise the error of the first fault that picks ``record``, or drop the connection."""
        for fault in self.faults:
            if len(fault.hits) < fault.times and fault.when(record):
                fault.hits.append(record)
                if fault.error is not None:
                    raise fault.error
                if request.transport is not None:
                    request.transport.close()
                raise ApiError(500, 0, "never delivered: the connection was dropped")

    async def _route(self, request: web.Request, record: Request) -> Reply:
        for route in self.routes:
            match = route.pattern.match(record.path)
            if route.method != record.method or match is None:
                continue
            if (
                route.needs_auth
                and request.headers.get("Authorization") != f"Bot {self.fake.token}"
            ):
                raise ApiError(401, 0, "401: Unauthorized")
            return await route.handler(record, **match.groupdict())
        self.unknown.append(record)
        raise ApiError(404, 0, "404: Not Found")

    def reject(self, record: Request, error: ApiError) -> ApiError:
        """Record a request Discord would refuse as a violation; return the error to raise."""
        problem = f"{error.status} {error.message} (code {error.code})"
        self.fake.recorder.violations.append(
            Violation(record.method, record.path, error.code, error.errors or {}, [problem])
        )
        return error

    def invalid_form(self, record: Request, errors: limits.FormErrors) -> ApiError:
        """Record and return Discord's 50035 Invalid Form Body error."""
        error = ApiError(400, 50035, "Invalid Form Body", errors.to_dict())
        self.fake.recorder.violations.append(
            Violation(record.method, record.path, 50035, errors.to_dict(), errors.problems())
        )
        return error

    def check_message(self, record: Request, body: dict[str, Any], *, creating: bool) -> None:
        """Raise (and record) 50035 if a message body breaks Discord's limits.

        A new message with nothing to show gets 50006 instead, as on Discord.
        """
        errors = limits.check_message(body)
        if errors:
            raise self.invalid_form(record, errors)
        if creating and limits.is_empty_message(body, len(record.files)):
            raise self.reject(record, ApiError(400, 50006, "Cannot send an empty message"))

    # -- identity ---------------------------------------------------------------

    async def get_me(self, record: Request) -> Reply:
        """GET /users/@me: the bot user (discord.py's login check)."""
        return 200, current_user_payload(self.fake.bot_user)

    async def get_application(self, record: Request) -> Reply:
        """GET /oauth2/applications/@me: the application and its owner."""
        fake = self.fake
        return 200, application_payload(fake.application_id, fake.owner, fake.application_flags)

    async def get_gateway(self, record: Request) -> Reply:
        """GET /gateway(/bot): where to connect."""
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return 200, {"url": self.fake.gateway_url, "shards": 1, "session_start_limit": limit}

    # -- application commands -----------------------------------------------------

    def _scope(self, app: str, guild: str | None) -> int | None:
        if int(app) != self.fake.application_id:
            raise ApiError(404, 10002, "Unknown Application")
        if guild is not None and int(guild) not in self.fake.guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        return None if guild is None else int(guild)

    async def list_commands(self, record: Request, app: str, guild: str | None = None) -> Reply:
        """GET .../commands."""
        return 200, self.fake.commands.in_scope(self._scope(app, guild))

    async def put_commands(self, record: Request, app: str, guild: str | None = None) -> Reply:
        """PUT .../commands: bulk overwrite, validated like Discord."""
        scope = self._scope(app, guild)
        commands = record.json or []
        errors = limits.check_commands(commands)
        if errors:
            raise self.invalid_form(record, errors)
        return 200, self.fake.commands.overwrite(scope, commands)

    async def post_command(self, record: Request, app: str, guild: str | None = None) -> Reply:
        """POST .../commands: create or replace one command."""
        scope = self._scope(app, guild)
        errors = limits.FormErrors()
        limits.check_command(record.json or {}, (), errors)
        if errors:
            raise self.invalid_form(record, errors)
        return 201, self.fake.commands.upsert(scope, record.json)

    async def get_command(
        self, record: Request, app: str, command: str, guild: str | None = None
    ) -> Reply:
        """GET .../commands/{id}."""
        found = self.fake.commands.get(self._scope(app, guild), int(command))
        if found is None:
            raise ApiError(404, 10063, "Unknown application command")
        return 200, found

    async def patch_command(
        self, record: Request, app: str, command: str, guild: str | None = None
    ) -> Reply:
        """PATCH .../commands/{id}: merge the fields and re-validate."""
        scope = self._scope(app, guild)
        found = self.fake.commands.get(scope, int(command))
        if found is None:
            raise ApiError(404, 10063, "Unknown application command")
        merged = {**found, **(record.json or {})}
        errors = limits.FormErrors()
        limits.check_command(merged, (), errors)
        if errors:
            raise self.invalid_form(record, errors)
        return 200, self.fake.commands.upsert(scope, merged)

    async def delete_command(
        self, record: Request, app: str, command: str, guild: str | None = None
    ) -> Reply:
        """DELETE .../commands/{id}."""
        if not self.fake.commands.delete(self._scope(app, guild), int(command)):
            raise ApiError(404, 10063, "Unknown application command")
        return 204, None

    # -- interaction callbacks ------------------------------------------------------

    async def callback(self, record: Request, interaction: str, token: str) -> Reply:
        """POST /interactions/{id}/{token}/callback: the one initial response."""
        found = self.fake.recorder.interactions.get(int(interaction))
        if found is None or found.token != token:
            raise self.reject(record, ApiError(404, 10062, "Unknown interaction"))
        body = record.json or {}
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        callback = Callback(found.id, kind, data, record.files, record.at, accepted=False)
        if found.first_callback is not None:
            found.callbacks.append(callback)
            raise self.reject(
                record, ApiError(400, 40060, "Interaction has already been acknowledged.")
            )
        errors = self._check_callback(found, kind, data, record)
        if errors:
            found.callbacks.append(callback)
            raise self.invalid_form(record, errors)
        if kind == 4 and limits.is_empty_message(data, len(record.files)):
            found.callbacks.append(callback)
            raise self.reject(record, ApiError(400, 50006, "Cannot send an empty message"))
        found.callbacks.append(
            Callback(found.id, kind, data, record.files, record.at, accepted=True)
        )
        message = self._apply_callback(found, kind, data, record)
        return 200, self._callback_reply(found, kind, message)

    def _check_callback(
        self, found: InteractionRecord, kind: int, data: dict[str, Any], record: Request
    ) -> limits.FormErrors:
        errors = limits.FormErrors()
        if kind not in ALLOWED_CALLBACKS.get(found.type, set()):
            errors.add(
                ("type",),
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Callback type {kind} is not valid here",
            )
        elif kind in (4, 7):
            errors.merge(("data",), limits.check_message(data))
        elif kind == 8:
            limits.check_choices(data.get("choices"), ("data", "choices"), errors)
        elif kind == 9:
            errors.too_long(("data", "title"), data.get("title"), 45)
            errors.too_long(("data", "custom_id"), data.get("custom_id"), limits.CUSTOM_ID_MAX)
            errors.too_many(("data", "components"), data.get("components"), 5)
        return errors

    def _apply_callback(
        self, found: InteractionRecord, kind: int, data: dict[str, Any], record: Request
    ) -> StoredMessage | None:
        fake = self.fake
        payload = found.payload
        if kind in (4, 5):
            extra = LOADING if kind == 5 else 0
            body = data if kind == 4 else {"flags": data.get("flags", 0) & EPHEMERAL}
            message = fake.messages.create(
                channel_id=int(payload["channel_id"]),
                guild_id=int(payload["guild_id"]),
                author=fake.bot_user,
                body=body,
                files=record.files if kind == 4 else [],
                extra_flags=extra,
            )
            message.webhook_id = fake.application_id
            message.interaction_id = found.id
            message.interaction_metadata = {
                "id": str(found.id),
                "type": found.type,
                "user": payload["member"]["user"],
                "authorizing_integration_owners": payload["authorizing_integration_owners"],
            }
            found.original_message_id = message.id
            return message
        if kind in (6, 7):
            message = fake.messages[int(payload["message"]["id"])]
            found.original_message_id = message.id
            if kind == 7:
                fake.messages.edit(message, data, record.files)
            return message
        return None

    def _callback_reply(
        self, found: InteractionRecord, kind: int, message: StoredMessage | None
    ) -> dict[str, Any]:
        interaction: dict[str, Any] = {"id": str(found.id), "type": found.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None and kind in MESSAGE_CALLBACKS:
            interaction["response_message_id"] = str(message.id)
            interaction["response_message_loading"] = message.loading
            interaction["response_message_ephemeral"] = message.ephemeral
            resource["message"] = message.payload(self.fake.http_base)
        return {"interaction": interaction, "resource": resource}

    # -- webhooks: followups and the original response ----------------------------

    def _interaction_for(self, record: Request, app: str, token: str) -> InteractionRecord:
        found = self.fake.interaction_by_token(token)
        if int(app) != self.fake.application_id or found is None:
            raise self.reject(record, ApiError(404, 10015, "Unknown Webhook"))
        if found.first_callback is None:
            # Followups and edits need an acknowledged interaction first.
            raise self.reject(record, ApiError(404, 10015, "Unknown Webhook"))
        return found

    def _webhook_message(
        self, record: Request, found: InteractionRecord, message: str
    ) -> StoredMessage:
        if message == "@original":
            message_id = found.original_message_id
        else:
            message_id = int(message)
            if message_id != found.original_message_id and message_id not in found.followup_ids:
                message_id = None
        stored = None if message_id is None else self.fake.messages.get(message_id)
        if stored is None or stored.deleted:
            raise self.reject(record, ApiError(404, 10008, "Unknown Message"))
        return stored

    async def post_followup(self, record: Request, app: str, token: str) -> Reply:
        """POST /webhooks/{app}/{token}: a followup message."""
        found = self._interaction_for(record, app, token)
        body = record.json or {}
        self.check_message(record, body, creating=True)
        payload = found.payload
        message = self.fake.messages.create(
            channel_id=int(payload["channel_id"]),
            guild_id=int(payload["guild_id"]),
            author=self.fake.bot_user,
            body=body,
            files=record.files,
        )
        message.webhook_id = self.fake.application_id
        message.interaction_id = found.id
        found.followup_ids.append(message.id)
        if record.query.get("wait") in ("0", "false"):
            return 204, None
        return 200, message.payload(self.fake.http_base)

    async def get_webhook_message(
        self, record: Request, app: str, token: str, message: str
    ) -> Reply:
        """GET /webhooks/{app}/{token}/messages/{id|@original}."""
        found = self._interaction_for(record, app, token)
        return 200, self._webhook_message(record, found, message).payload(self.fake.http_base)

    async def patch_webhook_message(
        self, record: Request, app: str, token: str, message: str
    ) -> Reply:
        """PATCH /webhooks/{app}/{token}/messages/{id|@original}: edit in place."""
        found = self._interaction_for(record, app, token)
        stored = self._webhook_message(record, found, message)
        body = record.json or {}
        self.check_message(record, body, creating=False)
        self.fake.messages.edit(stored, body, record.files)
        return 200, stored.payload(self.fake.http_base)

    async def delete_webhook_message(
        self, record: Request, app: str, token: str, message: str
    ) -> Reply:
        """DELETE /webhooks/{app}/{token}/messages/{id|@original}."""
        found = self._interaction_for(record, app, token)
        self._webhook_message(record, found, message).deleted = True
        return 204, None

    # -- channels -------------------------------------------------------------------

    def _channel(self, record: Request, channel: str) -> tuple[int, int]:
        channel_id = int(channel)
        for guild in self.fake.guilds.values():
            if channel_id in guild.channels:
                return channel_id, guild.id
        raise self.reject(record, ApiError(404, 10003, "Unknown Channel"))

    def _message(self, record: Request, channel_id: int, message: str) -> StoredMessage:
        stored = self.fake.messages.get(int(message))
        if stored is None or stored.deleted or stored.channel_id != channel_id or stored.ephemeral:
            raise self.reject(record, ApiError(404, 10008, "Unknown Message"))
        return stored

    async def get_channel(self, record: Request, channel: str) -> Reply:
        """GET /channels/{id}."""
        channel_id, guild_id = self._channel(record, channel)
        return 200, channel_payload(self.fake.guilds[guild_id].channels[channel_id])

    async def post_typing(self, record: Request, channel: str) -> Reply:
        """POST /channels/{id}/typing."""
        self._channel(record, channel)
        return 204, None

    async def list_channel_messages(self, record: Request, channel: str) -> Reply:
        """GET /channels/{id}/messages: newest first, honouring ``limit``."""
        channel_id, _ = self._channel(record, channel)
        limit = int(record.query.get("limit", 50))
        messages = [m for m in self.fake.messages.in_channel(channel_id) if not m.ephemeral]
        newest_first = list(reversed(messages))[:limit]
        return 200, [m.payload(self.fake.http_base) for m in newest_first]

    async def post_channel_message(self, record: Request, channel: str) -> Reply:
        """POST /channels/{id}/messages."""
        channel_id, guild_id = self._channel(record, channel)
        body = record.json or {}
        self.check_message(record, body, creating=True)
        message = self.fake.messages.create(
            channel_id=channel_id,
            guild_id=guild_id,
            author=self.fake.bot_user,
            body=body,
            files=record.files,
        )
        return 200, message.payload(self.fake.http_base)

    async def get_channel_message(self, record: Request, channel: str, message: str) -> Reply:
        """GET /channels/{id}/messages/{id}."""
        channel_id, _ = self._channel(record, channel)
        return 200, self._message(record, channel_id, message).payload(self.fake.http_base)

    async def patch_channel_message(self, record: Request, channel: str, message: str) -> Reply:
        """PATCH /channels/{id}/messages/{id}: only the bot's own messages."""
        channel_id, _ = self._channel(record, channel)
        stored = self._message(record, channel_id, message)
        if stored.author.id != self.fake.bot_user.id:
            raise self.reject(
                record, ApiError(403, 50005, "Cannot edit a message authored by another user")
            )
        body = record.json or {}
        self.check_message(record, body, creating=False)
        self.fake.messages.edit(stored, body, record.files)
        return 200, stored.payload(self.fake.http_base)

    async def delete_channel_message(self, record: Request, channel: str, message: str) -> Reply:
        """DELETE /channels/{id}/messages/{id}."""
        channel_id, _ = self._channel(record, channel)
        self._message(record, channel_id, message).deleted = True
        return 204, None
