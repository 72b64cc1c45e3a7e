"""Store the application commands the bot synced, global and per guild.

Discord keeps command ids stable across bulk overwrites of the same name, and
the fake does the same, so ``fake.slash("lesson show", ...)`` can find the
command (and its option tree) that the bot registered.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakediscord.entities import Snowflakes

SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2


class CommandStore:
    """Hold synced command definitions keyed by scope (None = global)."""

    def __init__(self, snowflakes: Snowflakes, application_id: int) -> None:
        self._snowflakes = snowflakes
        self._application_id = application_id
        self._scopes: dict[int | None, list[dict[str, Any]]] = {}
        self.sync_count = 0

    def in_scope(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Return the stored commands of a scope."""
        return self._scopes.get(guild_id, [])

    def overwrite(
        self, guild_id: int | None, commands: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Replace a scope's commands (bulk PUT), keeping ids of unchanged names."""
        old = {(c.get("type", 1), c["name"]): c for c in self.in_scope(guild_id)}
        stored = [
            self._stamp(guild_id, command, old.get((command.get("type", 1), command["name"])))
            for command in commands
        ]
        self._scopes[guild_id] = stored
        self.sync_count += 1
        return stored

    def upsert(self, guild_id: int | None, command: dict[str, Any]) -> dict[str, Any]:
        """Create or replace one command (POST)."""
        commands = self.in_scope(guild_id)
        key = (command.get("type", 1), command["name"])
        old = next((c for c in commands if (c.get("type", 1), c["name"]) == key), None)
        stored = self._stamp(guild_id, command, old)
        self._scopes[guild_id] = [c for c in commands if c is not old] + [stored]
        return stored

    def delete(self, guild_id: int | None, command_id: int) -> bool:
        """Delete one command; tell whether it existed."""
        commands = self.in_scope(guild_id)
        kept = [c for c in commands if int(c["id"]) != command_id]
        self._scopes[guild_id] = kept
        return len(kept) != len(commands)

    def get(self, guild_id: int | None, command_id: int) -> dict[str, Any] | None:
        """Return one command by id, or None."""
        return next((c for c in self.in_scope(guild_id) if int(c["id"]) == command_id), None)

    def find(self, name: str, guild_id: int | None, kind: int = 1) -> tuple[dict[str, Any], bool]:
        """Find a top-level command visible in ``guild_id``: (command, is_guild_command).

        Guild commands shadow global ones, as in the Discord client's picker.
        """
        if guild_id is not None:
            for command in self.in_scope(guild_id):
                if command["name"] == name and command.get("type", 1) == kind:
                    return command, True
        for command in self.in_scope(None):
            if command["name"] == name and command.get("type", 1) == kind:
                return command, False
        known = sorted({c["name"] for scope in self._scopes.values() for c in scope})
        raise LookupError(f"no synced command named {name!r}; synced: {known}")

    def _stamp(
        self, guild_id: int | None, command: dict[str, Any], old: dict[str, Any] | None
    ) -> dict[str, Any]:
        stored = copy.deepcopy(command)
        stored.setdefault("type", 1)
        stored.setdefault("options", [])
        stored.setdefault("default_member_permissions", None)
        stored.setdefault("nsfw", False)
        stored["id"] = old["id"] if old else str(self._snowflakes.next())
        stored["application_id"] = str(self._application_id)
        stored["version"] = str(self._snowflakes.next())
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored


def walk_to_leaf(command: dict[str, Any], path: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Follow subcommand group / subcommand names; return the leaf and the names used.

    Raises ``LookupError`` if a name is not a subcommand of its parent, or if
    the path stops at a group (Discord cannot invoke a group by itself).
    """
    node = command
    for name in path:
        children = [
            o for o in node.get("options") or [] if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
        ]
        match = next((o for o in children if o["name"] == name), None)
        if match is None:
            names = [o["name"] for o in children]
            raise LookupError(f"{node['name']!r} has no subcommand {name!r}; it has {names}")
        node = match
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in node.get("options") or []):
        raise LookupError(f"{' '.join([command['name'], *path])!r} is a group: name a subcommand")
    return node, path
