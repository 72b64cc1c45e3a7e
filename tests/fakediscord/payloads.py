"""Build the JSON payloads Discord sends: users, guilds, READY, messages, interactions.

The shapes follow Discord's API v10 documentation closely enough that
discord.py's parsers (state.py, guild.py, message.py, interactions.py) accept
them without special cases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.fakediscord.entities import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser

# discord.py reads this (required) and caps file uploads with it: 10 MiB.
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def timestamp(moment: datetime | None = None) -> str:
    """Return an ISO-8601 timestamp as Discord writes them."""
    return (moment or datetime.now(UTC)).isoformat()


def user_payload(user: FakeUser) -> dict[str, Any]:
    """Return a user object."""
    return {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": None,
        "bot": user.bot,
        "system": False,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
    }


def current_user_payload(user: FakeUser) -> dict[str, Any]:
    """Return the bot's own user object (GET /users/@me, READY.user)."""
    return {**user_payload(user), "verified": True, "mfa_enabled": False, "email": None}


def role_payload(role: FakeRole) -> dict[str, Any]:
    """Return a role object."""
    return {
        "id": str(role.id),
        "name": role.name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": role.position,
        "permissions": str(role.permissions),
        "managed": role.managed,
        "mentionable": False,
        "flags": 0,
    }


def channel_payload(channel: FakeChannel, permissions: int | None = None) -> dict[str, Any]:
    """Return a guild channel object (``permissions`` is set in interactions)."""
    payload: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }
    if permissions is not None:
        payload["permissions"] = str(permissions)
    return payload


def member_payload(
    member: FakeMember, guild: FakeGuild, *, with_permissions: bool = False
) -> dict[str, Any]:
    """Return a guild member object (with ``permissions`` inside interactions)."""
    payload: dict[str, Any] = {
        "user": user_payload(member.user),
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in member.roles],
        "joined_at": timestamp(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_permissions:
        payload["permissions"] = str(guild.permissions_of(member))
    return payload


def guild_create_payload(guild: FakeGuild, bot: FakeUser) -> dict[str, Any]:
    """Return the GUILD_CREATE payload for ``guild``, including the bot's member."""
    members = [m for m in guild.members.values() if m.user.id == bot.id]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": guild.locale,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "vanity_url_code": None,
        "features": [],
        "roles": [role_payload(r) for r in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "channels": [channel_payload(c) for c in guild.channels.values()],
        "threads": [],
        "members": [member_payload(m, guild) for m in members],
        "member_count": len(guild.members),
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "large": False,
        "unavailable": False,
        "joined_at": timestamp(),
        "max_members": 250000,
        "max_video_channel_users": 25,
        "premium_progress_bar_enabled": False,
        "application_id": None,
    }


def application_payload(application_id: int, owner: FakeUser, flags: int) -> dict[str, Any]:
    """Return the application object (GET /oauth2/applications/@me)."""
    return {
        "id": str(application_id),
        "name": "Fake Application",
        "icon": None,
        "description": "An application served by the fake Discord.",
        "rpc_origins": [],
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user_payload(owner),
        "verify_key": "0" * 64,
        "team": None,
        "flags": flags,
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "approximate_guild_count": 1,
        "integration_types_config": {"0": {}},
    }


def ready_payload(
    *,
    bot: FakeUser,
    application_id: int,
    application_flags: int,
    guild_ids: list[int],
    session_id: str,
    resume_gateway_url: str,
    shard: list[int] | None,
) -> dict[str, Any]:
    """Return the READY payload; guilds arrive later as GUILD_CREATE."""
    payload: dict[str, Any] = {
        "v": 10,
        "user": current_user_payload(bot),
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "application": {"id": str(application_id), "flags": application_flags},
        "private_channels": [],
        "relationships": [],
        "user_settings": {},
        "_trace": ['["fake-gateway",{"micros":0}]'],
    }
    if shard is not None:
        payload["shard"] = shard
    return payload
