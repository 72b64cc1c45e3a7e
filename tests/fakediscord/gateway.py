"""Serve Discord's gateway websocket: HELLO, IDENTIFY, READY, heartbeats, RESUME, dispatch.

discord.py connects with ``?v=10&encoding=json&compress=zlib-stream`` (or
``zstd-stream``). It only decompresses *binary* frames; text frames are read
as plain JSON, so the fake sends uncompressed text frames and ignores the
``compress`` parameter (it is recorded in ``Gateway.connections``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakediscord.payloads import guild_create_payload, ready_payload
from tests.fakediscord.recorder import Identify

if TYPE_CHECKING:
    from tests.fakediscord.server import FakeDiscord

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE = 0, 1, 2, 3
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS = 6, 7, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11

GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_DISALLOWED_INTENTS = 4014


@dataclass
class Session:
    """A gateway session: survives a dropped socket until the client resumes."""

    session_id: str
    identify: Identify
    sequence: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    socket: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Gateway:
    """Accept gateway connections and push events to the connected client."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.connections: list[dict[str, str]] = []
        self.presence_updates: list[dict[str, Any]] = []
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    @property
    def connected(self) -> bool:
        """Tell whether a client holds a live, identified session."""
        current = self.current
        return current is not None and current.socket is not None and not current.socket.closed

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Run one websocket connection until either side closes it."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.add(socket)
        self.connections.append(dict(request.query))
        interval_ms = int(self.fake.heartbeat_interval * 1000)
        try:
            await socket.send_str(
                json.dumps({"op": HELLO, "d": {"heartbeat_interval": interval_ms}})
            )
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    break
                await self._receive(socket, json.loads(message.data), dict(request.query))
        except ConnectionResetError:
            pass  # The client went away while we were answering; nothing to clean up.
        finally:
            self._sockets.discard(socket)
            for session in self.sessions.values():
                if session.socket is socket:
                    session.socket = None
            self.fake.recorder.changed()
        return socket

    async def _receive(
        self, socket: web.WebSocketResponse, frame: dict[str, Any], query: dict[str, str]
    ) -> None:
        op = frame.get("op")
        data: dict[str, Any] = frame.get("d") or {}
        recorder = self.fake.recorder
        if op == HEARTBEAT:
            recorder.heartbeats += 1
            await socket.send_str(json.dumps({"op": HEARTBEAT_ACK}))
            recorder.heartbeat_acks += 1
        elif op == IDENTIFY:
            await self._identify(socket, data, query)
        elif op == RESUME:
            await self._resume(socket, data)
        elif op == PRESENCE_UPDATE:
            self.presence_updates.append(data)
        elif op == REQUEST_GUILD_MEMBERS:
            pass  # Needs the privileged GUILD_MEMBERS intent; the bot must not ask.
        recorder.changed()

    async def _identify(
        self, socket: web.WebSocketResponse, data: dict[str, Any], query: dict[str, str]
    ) -> None:
        identify = Identify(
            token=data.get("token", ""),
            intents=int(data.get("intents", 0)),
            properties=data.get("properties", {}),
            shard=data.get("shard"),
            query=query,
        )
        self.fake.recorder.identifies.append(identify)
        if identify.token != self.fake.token:
            await socket.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        if identify.intents & PRIVILEGED_INTENTS & ~self.fake.allowed_privileged_intents:
            await socket.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        session = Session(session_id=secrets.token_hex(16), identify=identify, socket=socket)
        self.sessions[session.session_id] = session
        self.current = session
        fake = self.fake
        ready = ready_payload(
            bot=fake.bot_user,
            application_id=fake.application_id,
            application_flags=fake.application_flags,
            guild_ids=list(fake.guilds),
            session_id=session.session_id,
            resume_gateway_url=fake.gateway_url,
            shard=identify.shard,
        )
        await self.dispatch("READY", ready)
        for guild in fake.guilds.values():
            await self.dispatch("GUILD_CREATE", guild_create_payload(guild, fake.bot_user))

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.fake.recorder.resumes.append(data)
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.fake.token:
            await socket.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return
        session.socket = socket
        self.current = session
        seen = data.get("seq") or 0
        async with session.lock:
            for event in session.events:
                if event["s"] > seen:
                    await socket.send_str(json.dumps(event))
            session.sequence += 1
            resumed = {"op": DISPATCH, "t": "RESUMED", "s": session.sequence, "d": {"_trace": []}}
            await socket.send_str(json.dumps(resumed))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to the connected client; fail if none is connected."""
        session = self.current
        if session is None or session.socket is None or session.socket.closed:
            raise RuntimeError(f"fake Discord: cannot dispatch {event}: no client is connected")
        async with session.lock:
            session.sequence += 1
            frame = {"op": DISPATCH, "t": event, "s": session.sequence, "d": data}
            session.events.append(frame)
            await session.socket.send_str(json.dumps(frame))

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client closes and resumes on a new socket."""
        session = self.current
        if session is None or session.socket is None:
            raise RuntimeError("fake Discord: no client is connected")
        await session.socket.send_str(json.dumps({"op": RECONNECT, "d": None}))

    async def close_all(self, code: int = 1001) -> None:
        """Close every open socket (used when the fake stops)."""
        for socket in list(self._sockets):
            await socket.close(code=code, message=b"fake Discord is shutting down")
