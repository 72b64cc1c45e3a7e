"""Build INTERACTION_CREATE payloads: slash commands, autocomplete, buttons, selects.

The option structure of a slash command is derived from the command tree the
bot synced, exactly as the Discord client would build it, so a test names the
command ("lesson show") and plain values, and gets a realistic payload.
"""

from __future__ import annotations

from typing import Any

from tests.fakediscord.commands import SUB_COMMAND, SUB_COMMAND_GROUP, walk_to_leaf
from tests.fakediscord.entities import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser
from tests.fakediscord.payloads import (
    ATTACHMENT_SIZE_LIMIT,
    channel_payload,
    member_payload,
    role_payload,
    user_payload,
)

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10


def interaction_payload(
    *,
    interaction_id: int,
    application_id: int,
    kind: int,
    data: dict[str, Any],
    guild: FakeGuild,
    channel: FakeChannel,
    member: FakeMember,
    token: str,
    app_permissions: int,
    message: dict[str, Any] | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """Return a guild INTERACTION_CREATE payload."""
    member_permissions = guild.permissions_of(member)
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": kind,
        "data": data,
        "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
        "guild_id": str(guild.id),
        "channel": channel_payload(channel, permissions=member_permissions),
        "channel_id": str(channel.id),
        "member": member_payload(member, guild, with_permissions=True),
        "token": token,
        "version": 1,
        "app_permissions": str(app_permissions),
        "locale": locale,
        "guild_locale": guild.locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if message is not None:
        payload["message"] = message
    return payload


def direct_message(payload: dict[str, Any]) -> dict[str, Any]:
    """Return ``payload`` as Discord sends it from a user's direct messages with the bot.

    No guild, no member (the user is top-level), a DM channel (type 1) and
    the bot-DM context. The channel id is kept, so replies land where tests look.
    """
    dm = {
        k: v for k, v in payload.items() if k not in ("guild", "guild_id", "member", "guild_locale")
    }
    user = payload["member"]["user"]
    dm["user"] = user
    dm["channel"] = {"id": payload["channel_id"], "type": 1, "recipients": [user]}
    dm["context"] = 1
    dm["authorizing_integration_owners"] = {"1": str(user["id"])}
    return dm


class OptionBuilder:
    """Turn ``{"lesson": "x"}`` into typed option objects plus ``resolved`` data."""

    def __init__(self, guild: FakeGuild) -> None:
        self.guild = guild
        self.resolved: dict[str, dict[str, Any]] = {}

    def command_data(
        self,
        command: dict[str, Any],
        path: list[str],
        values: dict[str, Any],
        *,
        guild_scoped: bool,
        focused: str | None = None,
    ) -> dict[str, Any]:
        """Return the ``data`` of an APPLICATION_COMMAND (or AUTOCOMPLETE) interaction."""
        leaf, _ = walk_to_leaf(command, path)
        leaf_options = self.leaf_options(leaf, values, focused=focused)
        options = leaf_options
        node_chain = self._chain(command, path)
        for node in reversed(node_chain):
            options = [{"name": node["name"], "type": node["type"], "options": options}]
        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": command.get("type", 1),
            "options": options,
        }
        if guild_scoped:
            data["guild_id"] = str(self.guild.id)
        if self.resolved:
            data["resolved"] = self.resolved
        return data

    @staticmethod
    def _chain(command: dict[str, Any], path: list[str]) -> list[dict[str, Any]]:
        chain: list[dict[str, Any]] = []
        node = command
        for name in path:
            node = next(
                o
                for o in node["options"]
                if o["name"] == name and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
            )
            chain.append(node)
        return chain

    def leaf_options(
        self, leaf: dict[str, Any], values: dict[str, Any], *, focused: str | None
    ) -> list[dict[str, Any]]:
        """Build the option list of a leaf command from user-supplied values."""
        definitions = {o["name"]: o for o in leaf.get("options") or []}
        unknown = set(values) - set(definitions)
        if unknown:
            raise LookupError(
                f"{leaf['name']!r} has no option(s) {sorted(unknown)}; it has {sorted(definitions)}"
            )
        if focused is None:
            missing = [n for n, o in definitions.items() if o.get("required") and n not in values]
            if missing:
                raise ValueError(f"{leaf['name']!r} needs required option(s) {missing}")
        elif focused not in definitions:
            raise LookupError(f"focused option {focused!r} is not an option of {leaf['name']!r}")
        options: list[dict[str, Any]] = []
        for name, definition in definitions.items():
            if name == focused:
                partial = values.get(name, "")
                options.append(
                    {
                        "name": name,
                        "type": definition["type"],
                        "value": str(partial),
                        "focused": True,
                    }
                )
            elif name in values:
                value = self.convert(definition, values[name])
                options.append({"name": name, "type": definition["type"], "value": value})
        return options

    def convert(self, definition: dict[str, Any], value: Any) -> Any:
        """Convert one value the way the Discord client would send it."""
        kind = definition["type"]
        converted: Any
        if kind == STRING:
            converted = str(value)
        elif kind == INTEGER:
            converted = int(value)
        elif kind == NUMBER:
            converted = float(value)
        elif kind == BOOLEAN:
            converted = bool(value)
        elif kind in (USER, CHANNEL, ROLE, MENTIONABLE):
            return self.resolve(kind, value)
        else:
            raise NotImplementedError(f"the fake cannot build option type {kind} yet")
        self._check_bounds(definition, converted)
        return converted

    @staticmethod
    def _check_bounds(definition: dict[str, Any], value: Any) -> None:
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"{value!r} is not a choice of {definition['name']!r}: {choices}")
        low, high = definition.get("min_value"), definition.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{value!r} is outside [{low}, {high}] for {definition['name']!r}")
        if isinstance(value, str):
            shortest, longest = definition.get("min_length", 0), definition.get("max_length", 6000)
            if not shortest <= len(value) <= longest:
                raise ValueError(f"{value!r} length outside [{shortest}, {longest}]")

    def resolve(self, kind: int, value: Any) -> str:
        """Add a user, member, channel or role to ``resolved``; return its id."""
        if isinstance(value, FakeMember):
            self.resolved.setdefault("users", {})[str(value.user.id)] = user_payload(value.user)
            member = member_payload(value, self.guild, with_permissions=True)
            member.pop("user")
            self.resolved.setdefault("members", {})[str(value.user.id)] = member
            return str(value.user.id)
        if isinstance(value, FakeUser):
            self.resolved.setdefault("users", {})[str(value.id)] = user_payload(value)
            return str(value.id)
        if isinstance(value, FakeChannel):
            channel = channel_payload(value, permissions=0)
            self.resolved.setdefault("channels", {})[str(value.id)] = channel
            return str(value.id)
        if isinstance(value, FakeRole):
            self.resolved.setdefault("roles", {})[str(value.id)] = role_payload(value)
            return str(value.id)
        raise TypeError(
            f"option type {kind} needs a FakeUser/FakeMember/FakeChannel/FakeRole, got {value!r}"
        )


def component_data(component: dict[str, Any], values: list[str] | None) -> dict[str, Any]:
    """Return the ``data`` of a MESSAGE_COMPONENT interaction for a click or choice."""
    data: dict[str, Any] = {
        "custom_id": component["custom_id"],
        "component_type": component["type"],
    }
    if component["type"] == 2:
        if values is not None:
            raise ValueError("a button click carries no values")
        if component.get("disabled"):
            raise ValueError(
                f"button {component['custom_id']!r} is disabled; a user cannot click it"
            )
        return data
    chosen = list(values or [])
    low, high = component.get("min_values", 1), component.get("max_values", 1)
    if not low <= len(chosen) <= high:
        raise ValueError(
            f"select {component['custom_id']!r} takes {low}-{high} values, got {chosen}"
        )
    if component["type"] == 3:
        offered = [o["value"] for o in component.get("options") or []]
        strays = [v for v in chosen if v not in offered]
        if strays:
            raise ValueError(f"{strays} are not options of {component['custom_id']!r}: {offered}")
    data["values"] = chosen
    return data


def modal_submit_data(modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Return the ``data`` of a MODAL_SUBMIT for a modal the bot opened (callback type 9).

    ``values`` maps text-input custom ids to strings (select custom ids to lists).
    """
    filled: set[str] = set()

    def answer(component: dict[str, Any]) -> dict[str, Any]:
        kind = component["type"]
        if kind == 1:
            return {"type": 1, "components": [answer(c) for c in component["components"]]}
        if kind == 18:
            return {"type": 18, "component": answer(component["component"])}
        custom_id = component.get("custom_id", "")
        filled.add(custom_id)
        if kind == 4:
            value = str(values.get(custom_id, component.get("value") or ""))
            if component.get("required", True) and not value:
                raise ValueError(f"text input {custom_id!r} is required")
            if len(value) > component.get("max_length", 4000):
                raise ValueError(
                    f"text input {custom_id!r} takes at most {component['max_length']}"
                )
            return {"type": 4, "custom_id": custom_id, "value": value}
        return {"type": kind, "custom_id": custom_id, "values": list(values.get(custom_id, []))}

    components = [answer(c) for c in modal.get("components") or []]
    strays = set(values) - filled
    if strays:
        raise LookupError(f"modal {modal.get('custom_id')!r} has no input(s) {sorted(strays)}")
    return {"custom_id": modal["custom_id"], "components": components}
