"""Discord's size limits, and builders that keep every message inside them.

Discord rejects a message that breaks any limit with a 400 error, and the user
sees "The application did not respond". So text is split into pages at
paragraph, line or word boundaries (never mid-word unless one word is longer
than a page), short labels are shortened at a word with an ellipsis, and each
embed is checked before it is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import discord

CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS = 25
FOOTER = 2048
AUTHOR = 256
EMBED_TOTAL = 6000
EMBEDS = 10
ROWS = 5
ROW_WIDTH = 5
SELECT_OPTIONS = 25
SELECT_LABEL = 100
SELECT_DESCRIPTION = 100
BUTTON_LABEL = 80
CUSTOM_ID = 100
COMMAND_NAME = 32
COMMAND_DESCRIPTION = 100
CHOICES = 25
CHOICE_NAME = 100

# Room left under the description limit for a page, so a footer-free page of
# rendered text can be placed in an embed as is.
DESCRIPTION_PAGE = 4000

ELLIPSIS = "…"
FENCE = "```"
MAX_REOPEN = 24  # longest fence opener (```language) carried over to the next page
MIN_PAGE = 50


def shorten(text: str, limit: int, placeholder: str = ELLIPSIS) -> str:
    """Return ``text`` on one line, cut at a word boundary with ``placeholder`` if too long."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    room = limit - len(placeholder)
    if room <= 0:
        return flat[:limit]
    cut = flat[: room + 1]
    space = cut.rfind(" ")
    head = cut[:space] if space > 0 else flat[:room]
    return head.rstrip() + placeholder


def _split_line(line: str, limit: int) -> list[str]:
    """Split one over-long line at spaces; a word longer than ``limit`` is cut."""
    pieces: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = word if not current else f"{current} {word}"
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(word) > limit:
            pieces.append(word[:limit])
            word = word[limit:]
        current = word
    if current or not pieces:
        pieces.append(current)
    return pieces


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pages of at most ``limit`` characters.

    Pages break between lines where possible, else between words; a code
    fence open at a page break is closed on that page and reopened (with its
    language) on the next, so every page renders on its own.
    """
    if limit < MIN_PAGE:
        raise ValueError(f"limit must leave room for code fences (at least {MIN_PAGE})")
    closing = "\n" + FENCE
    budget = limit - len(closing)  # always leave room to close a fence
    pages: list[str] = []
    lines: list[str] = []
    size = 0
    reopen: str | None = None  # the fence to reopen a page with, while inside a code block

    def flush() -> None:
        nonlocal lines, size
        body = "\n".join(lines).strip("\n")
        if body.strip() and body != reopen:
            pages.append(body + closing if reopen is not None else body)
        lines = [reopen] if reopen is not None else []
        size = len(reopen) if reopen is not None else 0

    for raw in text.split("\n"):
        room = budget - (MAX_REOPEN + 1)  # a reopened fence and its newline
        for part in _split_line(raw, room) if len(raw) > room else [raw]:
            if lines and size + 1 + len(part) > budget:
                flush()
            size += len(part) + (1 if lines else 0)
            lines.append(part)
            if part.lstrip().startswith(FENCE):
                opener = part.strip()
                reopen = (
                    None if reopen is not None else (opener if len(opener) <= MAX_REOPEN else FENCE)
                )
    body = "\n".join(lines).strip("\n")
    if body.strip() and body != reopen:
        pages.append(body)
    return pages or [""]


def embed_length(embed: discord.Embed) -> int:
    """Return the characters of ``embed`` that count towards Discord's 6000 total."""
    return len(embed)


def embed_problems(embed: discord.Embed) -> list[str]:
    """Return every Discord limit ``embed`` breaks (empty when it is fine to send)."""
    problems: list[str] = []
    if embed.title and len(embed.title) > EMBED_TITLE:
        problems.append(f"title is {len(embed.title)} > {EMBED_TITLE} characters")
    if embed.description and len(embed.description) > EMBED_DESCRIPTION:
        problems.append(f"description is {len(embed.description)} > {EMBED_DESCRIPTION} characters")
    if len(embed.fields) > FIELDS:
        problems.append(f"{len(embed.fields)} > {FIELDS} fields")
    for index, field in enumerate(embed.fields):
        name, value = field.name or "", field.value or ""
        if not 1 <= len(name) <= FIELD_NAME:
            problems.append(f"field {index} name is {len(name)} characters (1-{FIELD_NAME})")
        if not 1 <= len(value) <= FIELD_VALUE:
            problems.append(f"field {index} value is {len(value)} characters (1-{FIELD_VALUE})")
    footer = embed.footer.text or ""
    if len(footer) > FOOTER:
        problems.append(f"footer is {len(footer)} > {FOOTER} characters")
    if embed_length(embed) > EMBED_TOTAL:
        problems.append(f"embed totals {embed_length(embed)} > {EMBED_TOTAL} characters")
    return problems


def message_problems(
    content: str | None = None,
    embeds: Sequence[discord.Embed] = (),
    view: discord.ui.View | None = None,
) -> list[str]:
    """Return every Discord limit a message with these parts breaks."""
    problems: list[str] = []
    if content and len(content) > CONTENT:
        problems.append(f"content is {len(content)} > {CONTENT} characters")
    if len(embeds) > EMBEDS:
        problems.append(f"{len(embeds)} > {EMBEDS} embeds")
    for index, embed in enumerate(embeds):
        problems.extend(f"embed {index}: {p}" for p in embed_problems(embed))
    total = sum(embed_length(e) for e in embeds)
    if total > EMBED_TOTAL:
        problems.append(f"embeds total {total} > {EMBED_TOTAL} characters")
    if view is not None:
        problems.extend(view_problems(view))
    return problems


def view_problems(view: discord.ui.View) -> list[str]:
    """Return every component limit ``view`` breaks (rows, custom ids, options, labels)."""
    problems: list[str] = []
    rows = view.to_components()
    if len(rows) > ROWS:
        problems.append(f"{len(rows)} > {ROWS} rows")
    seen: set[str] = set()
    for row in rows:
        children = row.get("components", [])
        if len(children) > ROW_WIDTH:
            problems.append(f"a row has {len(children)} > {ROW_WIDTH} components")
        for child in children:
            custom_id = child.get("custom_id")
            if custom_id is not None:
                if not 1 <= len(custom_id) <= CUSTOM_ID:
                    problems.append(f"custom id {custom_id!r} is {len(custom_id)} characters")
                if custom_id in seen:
                    problems.append(f"custom id {custom_id!r} is used twice")
                seen.add(custom_id)
            label = child.get("label")
            if label is not None and len(label) > BUTTON_LABEL:
                problems.append(f"label {label[:20]!r}… is {len(label)} > {BUTTON_LABEL}")
            options = child.get("options", [])
            if len(options) > SELECT_OPTIONS:
                problems.append(f"a select has {len(options)} > {SELECT_OPTIONS} options")
            for option in options:
                if len(option.get("label", "")) > SELECT_LABEL:
                    problems.append(f"select option label is over {SELECT_LABEL} characters")
                if len(option.get("description") or "") > SELECT_DESCRIPTION:
                    problems.append(f"select description is over {SELECT_DESCRIPTION}")
    return problems


def fit_field(name: str, value: str) -> tuple[str, str]:
    """Return an embed field's name and value cut to Discord's limits (never empty).

    One rule for every embed the bot packs, so what a packer counts is what is sent.
    """
    name = shorten(name, FIELD_NAME) or "\u200b"
    value = (value if len(value) <= FIELD_VALUE else shorten(value, FIELD_VALUE)) or "\u200b"
    return name, value


def build_embed(
    title: str,
    description: str = "",
    *,
    fields: Iterable[tuple[str, str]] = (),
    footer: str | None = None,
    colour: discord.Colour | None = None,
) -> discord.Embed:
    """Build an embed whose title, fields and footer are shortened to fit.

    The description is content and is never shortened: pass a page from
    ``split_text`` (a longer one raises ValueError). Fields that would not fit
    (more than 25, or past the 6000 total) are left out; the footer says so.
    """
    if len(description) > EMBED_DESCRIPTION:
        raise ValueError(f"description is {len(description)} characters; paginate it first")
    embed = discord.Embed(
        title=shorten(title, EMBED_TITLE),
        description=description or None,
        colour=colour or discord.Colour.blurple(),
    )
    footer_text = shorten(footer, FOOTER) if footer else ""
    used = len(embed.title or "") + len(description) + len(footer_text)
    dropped = 0
    for raw_name, raw_value in fields:
        name, value = fit_field(raw_name, raw_value)
        # Leave room for the "fields left out" note in the footer.
        if len(embed.fields) >= FIELDS or used + len(name) + len(value) > EMBED_TOTAL - 40:
            dropped += 1
            continue
        embed.add_field(name=name, value=value, inline=False)
        used += len(name) + len(value)
    if dropped:
        note = f"{dropped} more not shown"
        footer_text = shorten(f"{footer_text} · {note}" if footer_text else note, FOOTER)
    if footer_text:
        embed.set_footer(text=footer_text)
    return embed


def page_embeds(
    title: str,
    pages: Sequence[str],
    *,
    colour: discord.Colour | None = None,
    footer: str | None = None,
) -> list[discord.Embed]:
    """Return one embed per page of text, each titled and numbered when there are several."""
    total = len(pages)
    embeds: list[discord.Embed] = []
    for index, page in enumerate(pages, start=1):
        parts = [footer] if footer else []
        if total > 1:
            parts.append(f"page {index}/{total}")
        embeds.append(build_embed(title, page, footer=" · ".join(parts) or None, colour=colour))
    return embeds


def field_pages(fields: Sequence[tuple[str, str]], *, reserved: int) -> list[list[tuple[str, str]]]:
    """Split ``fields`` into groups that each fit one embed beside ``reserved`` characters.

    ``build_embed`` leaves out what does not fit; content that must all be
    seen goes through this first, one embed (or message) per group. Sizes are
    counted after ``fit_field``, as ``build_embed`` will cut them.
    """
    budget = EMBED_TOTAL - 40 - reserved  # build_embed keeps 40 for its note
    pages: list[list[tuple[str, str]]] = [[]]
    used = 0
    for name, value in fields:
        size = sum(map(len, fit_field(name, value)))
        if pages[-1] and (len(pages[-1]) >= FIELDS or used + size > budget):
            pages.append([])
            used = 0
        pages[-1].append((name, value))
        used += size
    return pages


def make_custom_id(*parts: object) -> str:
    """Join ``parts`` with ':' into a custom id, refusing one over Discord's 100 characters."""
    custom_id = ":".join(str(p) for p in parts)
    if not 1 <= len(custom_id) <= CUSTOM_ID:
        raise ValueError(f"custom id {custom_id[:40]!r}… is {len(custom_id)} > {CUSTOM_ID}")
    return custom_id
