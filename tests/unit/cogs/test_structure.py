"""Walk the real command tree, as python-discord's test_cogs.py does, and check Discord's rules.

Discord rejects a whole sync when one command breaks a rule, so these checks
run on the tree the bot would sync, with every extension loaded.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import discord
from discord import app_commands

from bot.app import EXTENSIONS, StudyBot
from bot.cogs.help import help_embed
from bot.cogs.lessons import lesson_message, list_message
from bot.cogs.limits import message_problems
from bot.cogs.trace import trace_embed, trace_view
from bot.cogs.views import LABEL_KIND, PREFIX
from bot.lessons.model import MODES

NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
# A Discord user id has at most 20 digits; the longest owner makes the longest custom id.
LONGEST_OWNER = 10**19


def walk(bot: StudyBot) -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
    """Return every slash command and group in the tree."""
    return list(bot.tree.walk_commands())


def custom_ids(view: discord.ui.View) -> list[str]:
    """Return every custom id in ``view``'s components."""
    return [
        child["custom_id"]
        for row in view.to_components()
        for child in row.get("components", [])
        if "custom_id" in child
    ]


async def test_every_extension_loads_a_cog(study_bot: StudyBot) -> None:
    """Each extension in EXTENSIONS loads and leaves at least one cog behind."""
    assert set(study_bot.extensions) == set(EXTENSIONS)
    modules = {type(cog).__module__ for cog in study_bot.cogs.values()}
    assert modules == set(EXTENSIONS)


async def test_command_names_are_valid(study_bot: StudyBot) -> None:
    """Every command, group and option name is lowercase and 1-32 characters."""
    bad = [c.qualified_name for c in walk(study_bot) if not NAME.fullmatch(c.name)]
    for command in walk(study_bot):
        if isinstance(command, app_commands.Command):
            bad += [
                f"{command.qualified_name} {p.display_name}"
                for p in command.parameters
                if not NAME.fullmatch(p.display_name)
            ]
    assert bad == []


async def test_descriptions_are_1_to_100_characters(study_bot: StudyBot) -> None:
    """Every command, group and option has a real description within Discord's 100 characters."""
    bad: list[str] = []
    for command in walk(study_bot):
        if not 1 <= len(command.description) <= 100 or command.description == "…":
            bad.append(command.qualified_name)
        if isinstance(command, app_commands.Command):
            for parameter in command.parameters:
                text = parameter.description
                if not 1 <= len(text) <= 100 or text == "…":
                    bad.append(f"{command.qualified_name} {parameter.display_name}")
    assert bad == []


async def test_option_and_choice_counts(study_bot: StudyBot) -> None:
    """No command has over 25 options or subcommands, nor an option over 25 choices."""
    for command in walk(study_bot):
        if isinstance(command, app_commands.Group):
            assert 1 <= len(command.commands) <= 25, command.qualified_name
            continue
        assert len(command.parameters) <= 25, command.qualified_name
        for parameter in command.parameters:
            assert len(parameter.choices) <= 25, parameter.display_name
            assert all(1 <= len(c.name) <= 100 for c in parameter.choices)
            assert not (parameter.choices and parameter.autocomplete), parameter.display_name


async def test_required_options_come_first(study_bot: StudyBot) -> None:
    """Discord refuses a required option after an optional one."""
    for command in walk(study_bot):
        if isinstance(command, app_commands.Command):
            required = [p.required for p in command.parameters]
            assert required == sorted(required, reverse=True), command.qualified_name


async def test_no_duplicate_or_shadowed_names(study_bot: StudyBot) -> None:
    """Each qualified name is unique, and every cog's commands made it into the tree."""
    names = Counter(c.qualified_name for c in walk(study_bot))
    assert [n for n, count in names.items() if count > 1] == []
    in_tree = {id(c) for c in study_bot.tree.get_commands()}
    for cog in study_bot.cogs.values():
        for command in cog.get_app_commands():
            assert id(command) in in_tree, f"{command.qualified_name} is shadowed"


async def test_every_payload_builds_within_discord_size(study_bot: StudyBot) -> None:
    """Each top-level command's sync payload builds and stays under Discord's 4000 characters."""
    payload = study_bot.command_payload(None)
    assert len(payload) == len(study_bot.tree.get_commands())
    assert len(payload) <= 100
    for command in payload:
        assert command["name"]
        size = _payload_text_size(command)
        assert size <= 4000, f"{command['name']} totals {size} characters"


def _payload_text_size(node: dict[str, Any]) -> int:
    """Return the characters Discord counts: names, descriptions and choice values."""
    size = len(node.get("name", "")) + len(node.get("description", ""))
    for choice in node.get("choices") or []:
        size += len(choice["name"]) + len(str(choice["value"]))
    return size + sum(_payload_text_size(o) for o in node.get("options") or [])


async def test_help_mentions_every_command(study_bot: StudyBot) -> None:
    """/help lists every leaf command, and its embed fits Discord's limits."""
    embed = help_embed(study_bot.tree, latency=0.042)
    text = "\n".join(f.value or "" for f in embed.fields)
    for command in walk(study_bot):
        if isinstance(command, app_commands.Command):
            assert f"/{command.qualified_name}" in text
    assert message_problems(embeds=[embed]) == []
    assert "42 ms" in (embed.footer.text or "")
    in_dm = "\n".join(f.value or "" for f in help_embed(study_bot.tree, in_dm=True).fields)
    assert "/quiz start" in in_dm and "/lesson show" in in_dm
    assert "/quiz round" not in in_dm and "/admin" not in in_dm  # server-only
    scoring = next(f.value or "" for f in embed.fields if f.name == "Scoring")
    assert "100 points (50 after a hint)" in scoring and "bonus points" in scoring


def _registered_templates(bot: StudyBot) -> list[re.Pattern[str]]:
    # discord.py keeps registered DynamicItems in the connection's view store.
    return list(bot._connection._view_store._dynamic_items)


async def test_every_message_fits_and_every_custom_id_is_parsed(study_bot: StudyBot) -> None:
    """Every lesson page, list page and trace step fits the limits; each custom id is persistent."""
    templates = _registered_templates(study_bot)
    lessons = study_bot.library.all()
    assert lessons, "the shipped lessons should load"
    messages = [list_message(lessons)]
    for lesson in lessons:
        for mode in MODES:
            first = lesson_message(lesson, mode)
            messages.append(first)
            total = len(first[1].children) and _page_count(first[0])
            messages.extend(lesson_message(lesson, mode, p) for p in range(2, total + 1))
        for step in lesson.table.steps:
            messages.append((trace_embed(lesson, step), trace_view(lesson, step, LONGEST_OWNER)))
    for embed, view in messages:
        assert message_problems(embeds=[embed], view=view) == [], embed.title
        for cid in custom_ids(view):
            if cid.startswith(f"{PREFIX}:{LABEL_KIND}:"):
                continue  # a disabled label such as "2/5" is never clicked
            assert any(t.fullmatch(cid) for t in templates), cid


def _page_count(embed: discord.Embed) -> int:
    match = re.search(r"page \d+/(\d+)", embed.footer.text or "")
    return int(match.group(1)) if match else 1
