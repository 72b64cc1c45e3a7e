"""Hold the users, roles, channels and guilds that exist inside the fake Discord.

Tests build their cast from these (an admin with Manage Server, a plain member,
a second guild) and the fake turns them into gateway and REST payloads.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

# Discord's epoch (2015-01-01) in milliseconds; snowflakes count from it.
DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """Hand out unique, increasing snowflake ids that look like Discord's."""

    def __init__(self) -> None:
        self._base = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._counter = itertools.count(1)

    def next(self) -> int:
        """Return a fresh snowflake id."""
        return self._base + next(self._counter)


class Perm:
    """Permission bits used by the fake (a subset of Discord's)."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38

    ALL = (1 << 51) - 1
    # What @everyone gets in a freshly created server, roughly.
    DEFAULT_MEMBER = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS
        | SEND_MESSAGES_IN_THREADS
    )
    # What the bot's managed role gets from a typical invite link.
    DEFAULT_BOT = DEFAULT_MEMBER | MANAGE_MESSAGES


@dataclass
class FakeUser:
    """A Discord user account (a person or the bot)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    @property
    def mention(self) -> str:
        """Return the mention markup for this user."""
        return f"<@{self.id}>"


@dataclass
class FakeRole:
    """A guild role; the @everyone role shares its guild's id."""

    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False


@dataclass
class FakeChannel:
    """A guild channel (text by default: type 0)."""

    id: int
    guild_id: int
    name: str
    type: int = 0
    position: int = 0


@dataclass
class FakeMember:
    """A user's membership in one guild.

    ``permissions`` overrides the value computed from roles when set, which is
    the quickest way to make "a user with Manage Server".
    """

    user: FakeUser
    guild_id: int
    roles: list[int] = field(default_factory=list)
    permissions: int | None = None
    nick: str | None = None


@dataclass
class FakeGuild:
    """A guild with its roles, channels and members."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    locale: str = "en-US"

    @property
    def everyone(self) -> FakeRole:
        """Return the @everyone role."""
        return self.roles[self.id]

    @property
    def default_channel(self) -> FakeChannel:
        """Return the first text channel."""
        return next(c for c in self.channels.values() if c.type == 0)

    def permissions_of(self, member: FakeMember) -> int:
        """Compute a member's guild-level permissions (no channel overwrites)."""
        if member.user.id == self.owner_id:
            return Perm.ALL
        if member.permissions is not None:
            value = member.permissions
        else:
            value = self.everyone.permissions
            for role_id in member.roles:
                value |= self.roles[role_id].permissions
        return Perm.ALL if value & Perm.ADMINISTRATOR else value
