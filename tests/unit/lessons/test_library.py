"""Tests for LessonLibrary: lookup, suggestions, search and the immutable snapshot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.errors import UnknownLessonError
from bot.lessons.library import LessonLibrary
from bot.lessons.loader import load_lesson_file

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "content" / "lessons" / "node-sequential-vs-parallel.yaml"


def make_library() -> LessonLibrary:
    """Build a library of the seed plus renamed copies of it."""
    seed = load_lesson_file(SEED)
    return LessonLibrary(
        [
            seed,
            dataclasses.replace(seed, id="python-gather-vs-taskgroup", title="Gather vs TaskGroup"),
            dataclasses.replace(seed, id="python-semaphore-limits", title="Limiting concurrency"),
            dataclasses.replace(seed, id="async-basics", title="Python gather basics"),
        ]
    )


def test_all_is_sorted_and_len_contains() -> None:
    """all() is sorted by id; len and `in` reflect the loaded ids."""
    library = make_library()
    assert [x.id for x in library.all()] == [
        "async-basics",
        "node-sequential-vs-parallel",
        "python-gather-vs-taskgroup",
        "python-semaphore-limits",
    ]
    assert len(library) == 4
    assert "async-basics" in library
    assert "nope" not in library


def test_get_unknown_suggests_close_ids() -> None:
    """get() of a misspelt id raises UnknownLessonError naming close matches."""
    library = make_library()
    with pytest.raises(UnknownLessonError) as caught:
        library.get("python-semaphore-limit")
    assert caught.value.suggestions[0] == "python-semaphore-limits"
    assert "Did you mean" in str(caught.value)
    with pytest.raises(UnknownLessonError) as caught:
        library.get("zzzzzz")
    assert caught.value.suggestions == ()


def test_resolve_accepts_unique_prefix_only() -> None:
    """resolve() accepts an exact id or a unique prefix and refuses an ambiguous one."""
    library = make_library()
    assert library.resolve("node").id == "node-sequential-vs-parallel"
    assert library.resolve("  PYTHON-SEM ").id == "python-semaphore-limits"
    with pytest.raises(UnknownLessonError) as caught:
        library.resolve("python")
    assert set(caught.value.suggestions) >= {"python-gather-vs-taskgroup"}
    with pytest.raises(UnknownLessonError):
        library.resolve("")


def test_resolve_accepts_the_start_of_a_title_as_autocomplete_offers_it() -> None:
    """A title, or the unique start of one, names its lesson; an ambiguous start does not."""
    library = make_library()
    assert library.resolve("Gather vs TaskGroup").id == "python-gather-vs-taskgroup"
    assert library.resolve("  LIMITING   conc ").id == "python-semaphore-limits"
    assert library.resolve("python gather b").id == "async-basics"
    with pytest.raises(UnknownLessonError):
        library.resolve("Python")  # two ids and a title start so


def test_search_prefix_first_then_substring() -> None:
    """search() is case-insensitive over id and title, prefix matches before substrings."""
    library = make_library()
    assert [x.id for x in library.search("PYTHON")] == [
        "async-basics",  # title starts with "Python"
        "python-gather-vs-taskgroup",
        "python-semaphore-limits",
    ]
    assert [x.id for x in library.search("gather")] == [
        "python-gather-vs-taskgroup",  # title prefix
        "async-basics",  # "gather" inside the title
    ]
    assert len(library.search("")) == 4
    assert len(library.search("", limit=2)) == 2
    assert library.search("no such thing") == []


def test_from_directory_returns_problems(tmp_path: Path) -> None:
    """from_directory serves good files and returns the broken files' problems."""
    (tmp_path / "seed.yaml").write_text(SEED.read_text())
    (tmp_path / "bad.yaml").write_text("id: x\n")
    library, problems = LessonLibrary.from_directory(tmp_path)
    assert [x.id for x in library] == ["node-sequential-vs-parallel"]
    assert problems and all(p.file == str(tmp_path / "bad.yaml") for p in problems)


def test_library_is_immutable() -> None:
    """The library's mapping cannot be changed after construction."""
    library = make_library()
    with pytest.raises(TypeError):
        library._lessons["x"] = library.all()[0]  # type: ignore[index]


def test_a_missing_lesson_folder_says_how_to_set_one(tmp_path: Path) -> None:
    """A missing content folder is one problem naming it and STUDYBOT_CONTENT_DIR."""
    library, problems = LessonLibrary.from_directory(tmp_path / "content" / "lessons")
    assert len(library) == 0
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'content' / 'lessons'}: no such folder; "
        "set STUDYBOT_CONTENT_DIR to your folder of lesson files"
    ]
