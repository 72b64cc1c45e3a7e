"""Check message and command payloads against Discord's documented limits.

Discord answers a payload that breaks a limit with HTTP 400, code 50035
"Invalid Form Body", and a tree of errors keyed by the JSON path of each bad
field. ``FormErrors`` builds that tree; the ``check_*`` functions fill it.
"""

from __future__ import annotations

import re
from typing import Any

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
BUTTONS_PER_ROW_MAX = 5
SELECT_OPTIONS_MAX = 25
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTION_TEXT_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_STRING_VALUE_MAX = 100
GLOBAL_CHAT_COMMANDS_MAX = 100

Path = tuple[str | int, ...]


class FormErrors:
    """Collect problems keyed by JSON path, rendered the way Discord does."""

    def __init__(self) -> None:
        self._items: list[tuple[Path, str, str]] = []

    def add(self, path: Path, code: str, message: str) -> None:
        """Record one problem at ``path``."""
        self._items.append((path, code, message))

    def too_long(self, path: Path, value: object, limit: int) -> None:
        """Record a problem if ``value`` is a string longer than ``limit``."""
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def too_many(self, path: Path, items: object, limit: int) -> None:
        """Record a problem if ``items`` is a list with more than ``limit`` entries."""
        if isinstance(items, list) and len(items) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def merge(self, prefix: Path, other: FormErrors) -> None:
        """Add every problem of ``other`` under ``prefix``."""
        for path, code, message in other._items:
            self.add((*prefix, *path), code, message)

    def __bool__(self) -> bool:
        return bool(self._items)

    def to_dict(self) -> dict[str, Any]:
        """Return the nested ``errors`` object of Discord's 400 body."""
        tree: dict[str, Any] = {}
        for path, code, message in self._items:
            node = tree
            for part in path:
                node = node.setdefault(str(part), {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        return tree

    def problems(self) -> list[str]:
        """Return one readable line per problem, e.g. ``embeds.0.title: Must be ...``."""
        return [
            f"{'.'.join(str(p) for p in path) or '<body>'}: {message} ({code})"
            for path, code, message in self._items
        ]


def embed_length(embed: dict[str, Any]) -> int:
    """Count the characters Discord sums towards the 6000-per-message limit."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for embed_field in embed.get("fields") or []:
        total += len(embed_field.get("name") or "") + len(embed_field.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def check_embeds(embeds: object, errors: FormErrors) -> None:
    """Check the ``embeds`` array of a message body."""
    if not isinstance(embeds, list):
        return
    errors.too_many(("embeds",), embeds, EMBEDS_MAX)
    total = 0
    for i, embed in enumerate(embeds):
        path: Path = ("embeds", i)
        errors.too_long((*path, "title"), embed.get("title"), EMBED_TITLE_MAX)
        errors.too_long((*path, "description"), embed.get("description"), EMBED_DESCRIPTION_MAX)
        fields = embed.get("fields") or []
        errors.too_many((*path, "fields"), fields, EMBED_FIELDS_MAX)
        for j, embed_field in enumerate(fields):
            fpath: Path = (*path, "fields", j)
            for key, limit in (("name", EMBED_FIELD_NAME_MAX), ("value", EMBED_FIELD_VALUE_MAX)):
                value = embed_field.get(key)
                if not value:
                    errors.add((*fpath, key), "BASE_TYPE_REQUIRED", "This field is required")
                errors.too_long((*fpath, key), value, limit)
        errors.too_long(
            (*path, "footer", "text"), (embed.get("footer") or {}).get("text"), EMBED_FOOTER_MAX
        )
        errors.too_long(
            (*path, "author", "name"), (embed.get("author") or {}).get("name"), EMBED_AUTHOR_MAX
        )
        total += embed_length(embed)
    if total > EMBED_TOTAL_MAX:
        errors.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
        )


def check_components(components: object, errors: FormErrors) -> None:
    """Check classic (non-V2) components: action rows, buttons and selects."""
    if not isinstance(components, list):
        return
    errors.too_many(("components",), components, ACTION_ROWS_MAX)
    seen: set[str] = set()
    for i, row in enumerate(components):
        path: Path = ("components", i)
        if row.get("type") != 1:
            continue  # Components V2 layouts are not checked here.
        children = row.get("components") or []
        if not children:
            errors.add(
                (*path, "components"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length."
            )
        buttons = [c for c in children if c.get("type") == 2]
        if len(buttons) != len(children) and len(children) > 1:
            errors.add(
                (*path, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        errors.too_many((*path, "components"), buttons, BUTTONS_PER_ROW_MAX)
        for j, child in enumerate(children):
            check_component(child, (*path, "components", j), errors, seen)


def check_component(child: dict[str, Any], path: Path, errors: FormErrors, seen: set[str]) -> None:
    """Check one button or select menu inside an action row."""
    custom_id = child.get("custom_id")
    errors.too_long((*path, "custom_id"), custom_id, CUSTOM_ID_MAX)
    if isinstance(custom_id, str):
        if custom_id in seen:
            errors.add(
                (*path, "custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        seen.add(custom_id)
    if child.get("type") == 2:
        errors.too_long((*path, "label"), child.get("label"), BUTTON_LABEL_MAX)
        is_link = child.get("style") == 5
        if is_link and not child.get("url"):
            errors.add((*path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
        if not is_link and child.get("style") != 6 and not custom_id:
            errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        return
    if child.get("type") in (3, 5, 6, 7, 8):
        if not custom_id:
            errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        errors.too_long((*path, "placeholder"), child.get("placeholder"), SELECT_PLACEHOLDER_MAX)
        options = child.get("options") or []
        errors.too_many((*path, "options"), options, SELECT_OPTIONS_MAX)
        if child.get("type") == 3 and not options:
            errors.add((*path, "options"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        for k, option in enumerate(options):
            for key in ("label", "value", "description"):
                errors.too_long((*path, "options", k, key), option.get(key), SELECT_OPTION_TEXT_MAX)
        max_values = child.get("max_values", 1)
        if child.get("type") == 3 and options and max_values > len(options):
            errors.add(
                (*path, "max_values"),
                "BASE_TYPE_MAX",
                f"int value should be less than or equal to {len(options)}.",
            )


def check_message(body: dict[str, Any]) -> FormErrors:
    """Check a message create/edit body (also used for interaction responses)."""
    errors = FormErrors()
    errors.too_long(("content",), body.get("content"), CONTENT_MAX)
    check_embeds(body.get("embeds"), errors)
    check_components(body.get("components"), errors)
    return errors


def is_empty_message(body: dict[str, Any], file_count: int) -> bool:
    """Tell whether a new message would have nothing to show (Discord code 50006)."""
    return not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("poll")
        or body.get("sticker_ids")
        or file_count
    )


def check_choices(choices: object, path: Path, errors: FormErrors) -> None:
    """Check a list of command option choices (also autocomplete results)."""
    if not isinstance(choices, list):
        return
    errors.too_many(path, choices, COMMAND_CHOICES_MAX)
    for i, choice in enumerate(choices):
        name = choice.get("name")
        if not name:
            errors.add((*path, i, "name"), "BASE_TYPE_REQUIRED", "This field is required")
        errors.too_long((*path, i, "name"), name, CHOICE_NAME_MAX)
        errors.too_long((*path, i, "value"), choice.get("value"), CHOICE_STRING_VALUE_MAX)


def check_name(name: object, path: Path, errors: FormErrors) -> None:
    """Check a command or option name: lowercase, 1-32, no spaces."""
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
        errors.add(
            path,
            "APPLICATION_COMMAND_INVALID_NAME",
            f"Command name is invalid: {name!r}",
        )


def check_description(description: object, path: Path, errors: FormErrors) -> None:
    """Check a chat-input description: 1-100 characters."""
    if not isinstance(description, str) or not description:
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    errors.too_long(path, description, COMMAND_DESCRIPTION_MAX)


def check_options(options: object, path: Path, errors: FormErrors, depth: int) -> None:
    """Check a command's options, recursing into subcommands and groups."""
    if not isinstance(options, list):
        return
    errors.too_many(path, options, COMMAND_OPTIONS_MAX)
    names: set[str] = set()
    optional_seen = False
    for i, option in enumerate(options):
        opath: Path = (*path, i)
        kind = option.get("type")
        check_name(option.get("name"), (*opath, "name"), errors)
        check_description(option.get("description"), (*opath, "description"), errors)
        if option.get("name") in names:
            errors.add(
                (*opath, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Duplicate"
            )
        names.add(option.get("name"))
        if kind in (1, 2):
            if depth >= 2 or (kind == 2 and depth >= 1):
                errors.add((*opath, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Nesting")
            if kind == 2 and any(o.get("type") != 1 for o in option.get("options") or []):
                errors.add(
                    (*opath, "options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "A subcommand group may contain only subcommands",
                )
            check_options(option.get("options"), (*opath, "options"), errors, depth + 1)
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(
                    (*opath, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        check_choices(option.get("choices"), (*opath, "choices"), errors)
        if option.get("choices") and option.get("autocomplete"):
            errors.add((*opath, "autocomplete"), "AUTOCOMPLETE_AND_CHOICES", "Both set")


def check_command(command: dict[str, Any], path: Path, errors: FormErrors) -> None:
    """Check one application command definition."""
    kind = command.get("type", 1)
    if kind == 1:
        check_name(command.get("name"), (*path, "name"), errors)
        check_description(command.get("description"), (*path, "description"), errors)
    else:
        name = command.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "1-32 characters")
        if command.get("description"):
            errors.add((*path, "description"), "BASE_TYPE_MAX_LENGTH", "Must be empty")
    check_options(command.get("options"), (*path, "options"), errors, depth=0)


def check_commands(commands: list[dict[str, Any]]) -> FormErrors:
    """Check a bulk overwrite of application commands."""
    errors = FormErrors()
    chat = [c for c in commands if c.get("type", 1) == 1]
    if len(chat) > GLOBAL_CHAT_COMMANDS_MAX:
        errors.add((), "BASE_TYPE_MAX_LENGTH", f"Must be {GLOBAL_CHAT_COMMANDS_MAX} or fewer")
    seen: set[tuple[int, str]] = set()
    for i, command in enumerate(commands):
        check_command(command, (i,), errors)
        key = (command.get("type", 1), command.get("name", ""))
        if key in seen:
            errors.add((i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate name")
        seen.add(key)
    return errors
