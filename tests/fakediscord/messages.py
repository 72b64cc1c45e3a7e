"""Keep the current state of every message the bot sent, across edits.

Tests read a message as Discord would show it now (after every PATCH), while
the request log in ``recorder`` keeps the history of how it got there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakediscord.entities import FakeUser, Snowflakes
from tests.fakediscord.payloads import timestamp, user_payload
from tests.fakediscord.recorder import UploadedFile

EPHEMERAL = 1 << 6
LOADING = 1 << 7
# Fields of a message body that an edit replaces when present.
EDITABLE = ("content", "embeds", "components", "flags", "allowed_mentions", "poll")


@dataclass
class StoredAttachment:
    """A file attached to a message, with its bytes."""

    id: int
    filename: str
    content_type: str
    data: bytes
    description: str | None = None

    def payload(self, base_url: str, channel_id: int) -> dict[str, Any]:
        """Return the attachment object Discord would return."""
        url = f"{base_url}/attachments/{channel_id}/{self.id}/{self.filename}"
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
            "content_type": self.content_type,
        }
        if self.description:
            payload["description"] = self.description
        return payload


@dataclass
class StoredMessage:
    """A message as it currently stands."""

    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: dict[str, Any] | None = None
    poll: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    edited_at: datetime | None = None
    deleted: bool = False
    interaction_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    webhook_id: int | None = None
    revisions: int = 0

    @property
    def ephemeral(self) -> bool:
        """Tell whether only the invoking user can see this message."""
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Tell whether this is still a deferred "thinking…" placeholder."""
        return bool(self.flags & LOADING)

    @property
    def text(self) -> str:
        """Return content and all embed text joined, for "does it mention X" checks."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for embed_field in embed.get("fields") or []:
                parts += [embed_field.get("name") or "", embed_field.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
            parts.append((embed.get("author") or {}).get("name") or "")
        return "\n".join(p for p in parts if p)

    def walk_components(self) -> Iterator[dict[str, Any]]:
        """Yield every component, depth first (rows, then their children)."""
        stack = list(reversed(self.components))
        while stack:
            component = stack.pop()
            yield component
            stack.extend(reversed(component.get("components") or []))
            accessory = component.get("accessory")
            if accessory:
                stack.append(accessory)

    def component(self, custom_id: str) -> dict[str, Any]:
        """Return the component with ``custom_id`` or raise ``LookupError``."""
        for component in self.walk_components():
            if component.get("custom_id") == custom_id:
                return component
        raise LookupError(
            f"message {self.id} has no component {custom_id!r}; it has {self.custom_ids()}"
        )

    def custom_ids(self) -> list[str]:
        """Return the custom ids of every interactive component."""
        return [c["custom_id"] for c in self.walk_components() if c.get("custom_id")]

    def buttons(self) -> list[dict[str, Any]]:
        """Return every button component."""
        return [c for c in self.walk_components() if c.get("type") == 2]

    def payload(self, base_url: str) -> dict[str, Any]:
        """Return the message object Discord would return for this message."""
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": 20 if self.interaction_metadata else 0,
            "channel_id": str(self.channel_id),
            "author": user_payload(self.author),
            "content": self.content,
            "timestamp": timestamp(self.created_at),
            "edited_timestamp": timestamp(self.edited_at) if self.edited_at else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.payload(base_url, self.channel_id) for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "flags": self.flags,
            "reactions": [],
            "stickers": [],
        }
        if self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            payload["webhook_id"] = str(self.webhook_id)
            payload["application_id"] = str(self.webhook_id)
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = self.interaction_metadata
        if self.poll is not None:
            payload["poll"] = self.poll
        return payload


class MessageStore:
    """Create, edit and delete messages; look them up by id."""

    def __init__(self, snowflakes: Snowflakes) -> None:
        self._snowflakes = snowflakes
        self._messages: dict[int, StoredMessage] = {}

    def __iter__(self) -> Iterator[StoredMessage]:
        return iter(self._messages.values())

    def __len__(self) -> int:
        return len(self._messages)

    def get(self, message_id: int) -> StoredMessage | None:
        """Return the message or None."""
        return self._messages.get(message_id)

    def __getitem__(self, message_id: int) -> StoredMessage:
        return self._messages[message_id]

    def in_channel(self, channel_id: int) -> list[StoredMessage]:
        """Return the channel's live messages, oldest first."""
        return [m for m in self if m.channel_id == channel_id and not m.deleted]

    def create(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        author: FakeUser,
        body: dict[str, Any],
        files: list[UploadedFile],
        extra_flags: int = 0,
    ) -> StoredMessage:
        """Store a new message built from a create body and its uploads."""
        message = StoredMessage(
            id=self._snowflakes.next(),
            channel_id=channel_id,
            guild_id=guild_id,
            author=author,
        )
        self._apply(message, body, files)
        message.flags |= extra_flags
        message.revisions = 0
        self._messages[message.id] = message
        return message

    def edit(self, message: StoredMessage, body: dict[str, Any], files: list[UploadedFile]) -> None:
        """Apply an edit body: present fields replace, absent ones stay."""
        self._apply(message, body, files)
        message.flags &= ~LOADING
        message.edited_at = datetime.now(UTC)

    def _apply(
        self, message: StoredMessage, body: dict[str, Any], files: list[UploadedFile]
    ) -> None:
        for key in EDITABLE:
            if key not in body:
                continue
            value = body[key]
            if key == "flags":
                # Only some flags are editable; ephemeral/loading stick from creation.
                message.flags = (message.flags & (EPHEMERAL | LOADING)) | (value or 0)
            elif key in ("embeds", "components"):
                setattr(message, key, list(value or []))
            elif key == "content":
                message.content = value or ""
            else:
                setattr(message, key, value)
        message.attachments = self._attachments(message, body, files)
        message.revisions += 1

    def _attachments(
        self, message: StoredMessage, body: dict[str, Any], files: list[UploadedFile]
    ) -> list[StoredAttachment]:
        uploads = {f.field: f for f in files}
        if "attachments" not in body:
            kept = list(message.attachments)
            return kept + [self._new_attachment(f, None) for f in files]
        existing = {a.id: a for a in message.attachments}
        result: list[StoredAttachment] = []
        for entry in body["attachments"] or []:
            upload = uploads.pop(f"files[{entry['id']}]", None)
            if upload is not None:
                result.append(self._new_attachment(upload, entry.get("description")))
            elif int(entry["id"]) in existing:
                result.append(existing[int(entry["id"])])
        result += [self._new_attachment(f, None) for f in uploads.values()]
        return result

    def _new_attachment(self, upload: UploadedFile, description: str | None) -> StoredAttachment:
        return StoredAttachment(
            id=self._snowflakes.next(),
            filename=upload.filename,
            content_type=upload.content_type,
            data=upload.data,
            description=description,
        )
