"""Unit tests of the Discord limit helpers: pages, shortening, embeds, custom ids."""

from __future__ import annotations

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cogs.limits import (
    CUSTOM_ID,
    EMBED_TOTAL,
    FENCE,
    FIELDS,
    build_embed,
    embed_problems,
    make_custom_id,
    message_problems,
    page_embeds,
    shorten,
    split_text,
    view_problems,
)

words = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
lines = st.lists(words, min_size=0, max_size=15).map(" ".join)
documents = st.lists(lines, min_size=1, max_size=60).map("\n".join)


@given(text=documents, limit=st.integers(min_value=50, max_value=400))
@settings(max_examples=200, deadline=None)
def test_pages_fit_and_keep_every_word_in_order(text: str, limit: int) -> None:
    """Every page fits the limit and the pages hold the same words, in order, unbroken."""
    pages = split_text(text, limit)
    assert all(len(page) <= limit for page in pages)
    assert " ".join(pages).split() == text.split()


@given(
    before=documents,
    code=st.lists(lines, min_size=1, max_size=80).map("\n".join),
    after=documents,
    limit=st.integers(min_value=50, max_value=300),
)
@settings(max_examples=150, deadline=None)
def test_code_fences_are_closed_and_reopened_on_every_page(
    before: str, code: str, after: str, limit: int
) -> None:
    """A code block split across pages is closed and reopened, so each page renders alone."""
    text = f"{before}\n```python\n{code}\n```\n{after}"
    pages = split_text(text, limit)
    assert all(len(page) <= limit for page in pages)
    for page in pages:
        fences = [line for line in page.split("\n") if line.startswith(FENCE)]
        assert len(fences) % 2 == 0, page
    inside = [p for p in pages if FENCE in p]
    assert all("```python" in p for p in inside)


def test_long_word_is_cut_only_when_it_cannot_fit() -> None:
    """A single word longer than a page is the one thing split mid-word."""
    pages = split_text("short " + "x" * 130 + " tail", 60)
    assert all(len(p) <= 60 for p in pages)
    assert "".join(pages).replace(" ", "").replace("\n", "") == "short" + "x" * 130 + "tail"


@given(text=st.text(max_size=300), limit=st.integers(min_value=1, max_value=120))
def test_shorten_fits_and_keeps_a_prefix_of_whole_words(text: str, limit: int) -> None:
    """shorten never exceeds the limit and, when it cuts, ends with an ellipsis."""
    result = shorten(text, limit)
    flat = " ".join(text.split())
    assert len(result) <= limit
    if len(flat) <= limit:
        assert result == flat
    elif limit > 1:
        assert result.endswith("…")
        assert flat.startswith(result[:-1].rstrip())


def test_shorten_cuts_at_a_word_boundary() -> None:
    """A cut lands between words, not inside one."""
    assert shorten("hello wonderful world", 12) == "hello…"


def test_build_embed_clips_title_and_fields_and_drops_the_excess() -> None:
    """Titles and fields are shortened; fields past 25 or the 6000 total are noted in the footer."""
    fields = [(f"field {i} " + "n" * 300, "v" * 2000) for i in range(40)]
    embed = build_embed("t" * 500, "description", fields=fields, footer="foot")
    assert embed_problems(embed) == []
    assert len(embed.fields) <= FIELDS
    assert len(embed) <= EMBED_TOTAL
    assert "more not shown" in (embed.footer.text or "")


def test_build_embed_refuses_a_description_over_the_limit() -> None:
    """A description is content: build_embed refuses to cut it, the caller must paginate."""
    with pytest.raises(ValueError, match="paginate"):
        build_embed("title", "x" * 5000)


def test_page_embeds_number_their_pages() -> None:
    """Several pages get 'page n/N' footers; a single page gets none."""
    embeds = page_embeds("Lesson", ["one", "two", "three"], footer="lesson-id")
    assert [e.footer.text for e in embeds] == [
        "lesson-id · page 1/3",
        "lesson-id · page 2/3",
        "lesson-id · page 3/3",
    ]
    assert page_embeds("Lesson", ["only"])[0].footer.text is None


def test_message_problems_reports_content_embed_count_and_total() -> None:
    """Too much content, too many embeds and an oversize total are each reported."""
    big = [discord.Embed(description="d" * 4000) for _ in range(11)]
    problems = message_problems("c" * 2001, big)
    assert any("content" in p for p in problems)
    assert any("> 10 embeds" in p for p in problems)
    assert any("embeds total" in p for p in problems)
    assert message_problems("fine", [discord.Embed(title="ok")]) == []


def test_make_custom_id_refuses_over_100_characters() -> None:
    """A custom id over 100 characters raises instead of being rejected by Discord."""
    assert make_custom_id("sb", "tr", 1, "lesson") == "sb:tr:1:lesson"
    with pytest.raises(ValueError):
        make_custom_id("sb", "x" * CUSTOM_ID)


def test_view_problems_reports_duplicate_ids_and_crowded_rows() -> None:
    """Duplicate custom ids and over-long labels in a view are reported."""
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="a", custom_id="same"))
    view.add_item(discord.ui.Button(label="b" * 81, custom_id="same"))
    problems = view_problems(view)
    assert any("used twice" in p for p in problems)
    assert any("label" in p for p in problems)
