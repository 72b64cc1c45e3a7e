"""A loopback fake Discord for end-to-end tests of the real discord.py client.

See README.md in this directory for what it fakes and how to use it.
"""

from tests.fakediscord.entities import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser, Perm
from tests.fakediscord.gateway import (
    GUILD_MEMBERS,
    GUILD_PRESENCES,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
)
from tests.fakediscord.messages import StoredMessage
from tests.fakediscord.recorder import Callback, InteractionRecord, Request, UploadedFile, Violation
from tests.fakediscord.runner import run_client
from tests.fakediscord.server import RESPONSE_WINDOW, FakeDiscord

__all__ = [
    "GUILD_MEMBERS",
    "GUILD_PRESENCES",
    "MESSAGE_CONTENT",
    "PRIVILEGED_INTENTS",
    "RESPONSE_WINDOW",
    "Callback",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "InteractionRecord",
    "Perm",
    "Request",
    "StoredMessage",
    "UploadedFile",
    "Violation",
    "run_client",
]
