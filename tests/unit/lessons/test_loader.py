"""Tests for the lesson loader: the seed loads exactly, and every broken file says why."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.lessons.loader import (
    MAX_FILE_BYTES,
    LessonFileError,
    Problem,
    load_lesson_file,
    load_lessons,
)
from bot.lessons.validation_report import validate_paths

ROOT = Path(__file__).resolve().parents[3]
LESSONS = ROOT / "content" / "lessons"
SEED = LESSONS / "node-sequential-vs-parallel.yaml"
BROKEN = ROOT / "tests" / "fixtures" / "broken_lessons"


def expectations(path: Path) -> list[str]:
    """Return the `# expect:` lines at the top of a broken fixture."""
    return [
        line.removeprefix("# expect: ")
        for line in path.read_text().splitlines()
        if line.startswith("# expect: ")
    ]


def problems_of(path: Path) -> list[str]:
    """Return the problems of one file as 'field: reason' strings."""
    with pytest.raises(LessonFileError) as caught:
        load_lesson_file(path)
    return [str(p).removeprefix(f"{path}: ") for p in caught.value.problems]


def test_seed_loads_with_exact_table() -> None:
    """The seed lesson's eight rows carry exactly the seed's actions, statuses and notes."""
    lesson = load_lesson_file(SEED)
    expected = [
        (1, "Call task1()", "Started", "Not started", "Sequential: task1 starts"),
        (2, "Wait for task1 to finish", "Finished", "Not started", "Sequential: waiting for task1"),
        (3, "Call task2()", "Finished", "Started", "Sequential: task2 starts after task1"),
        (4, "Wait for task2 to finish", "Finished", "Finished", "Sequential: waiting for task2"),
        (5, "Sequential done", "Finished", "Finished", "Both tasks done one after another"),
        (
            6,
            "Call task1() and task2() together",
            "Started",
            "Started",
            "Parallel: both tasks start at same time",
        ),
        (
            7,
            "Wait for both tasks to finish",
            "Finished",
            "Finished",
            "Parallel: waiting for both tasks",
        ),
        (8, "Parallel done", "Finished", "Finished", "Both tasks done together"),
    ]
    got = [
        (r.step, r.action, r.statuses["Task 1 Status"], r.statuses["Task 2 Status"], r.notes)
        for r in lesson.table.rows
    ]
    assert got == expected
    assert lesson.table.tasks == ("Task 1 Status", "Task 2 Status")  # the seed's headings
    assert lesson.table.footnote == "Execution stops after both tasks finish in each approach."


def test_seed_tracker_cells_match_seed() -> None:
    """The tracker has the seed's seven checkpoints and every cell of both variables."""
    tracker = load_lesson_file(SEED).tracker
    assert [c.label for c in tracker.checkpoints] == [
        "Start",
        "After Step 1",
        "After Step 3",
        "After Step 4",
        "After Step 6",
        "After Step 7",
        "Final",
    ]
    assert [c.step for c in tracker.checkpoints] == [None, 1, 3, 4, 6, 7, None]
    values = {v.name: list(v.values) for v in tracker.variables}
    assert values == {
        "task1Status": [
            "Not started", "Started", "Finished", "Finished", "Started", "Finished", "Finished",
        ],
        "task2Status": [
            "Not started", "Not started", "Started", "Finished", "Started", "Finished", "Finished",
        ],
    }  # fmt: skip


def test_seed_quiz_and_moments_match_seed() -> None:
    """The quiz keeps all choices with answers A, B, C and both key moments cite their rows."""
    lesson = load_lesson_file(SEED)
    assert [q.answer for q in lesson.quiz] == ["A", "B", "C"]
    assert [[c.text for c in q.choices] for q in lesson.quiz] == [
        ["Step 3", "Step 2", "Step 6", "Step 1"],
        ["Step 1", "Step 6", "Step 3", "Step 4"],
        [
            "Both tasks never start",
            "Task2 waits for task1 to finish",
            "Task2 starts immediately after task1 starts",
            "Task1 never starts",
        ],
    ]
    assert lesson.quiz[0].hint.startswith("Check the 'Action' and 'Task 2 Status'")
    assert [m.steps for m in lesson.moments] == [(1, 2, 3), (6, 7, 8)]
    assert lesson.snapshot[0] == "Sequential async: await each task one by one"
    assert lesson.transcript.startswith("This lesson shows two ways")


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_fixture_reports_exactly_its_problems(path: Path) -> None:
    """Each broken fixture yields exactly the problems listed in its header, in order."""
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' lines"
    assert problems_of(path) == expected


def test_every_shipped_lesson_validates() -> None:
    """All shipped lessons load together; any failures are reported at once."""
    result = load_lessons([LESSONS])
    assert [str(p) for p in result.problems] == []
    assert len(result.lessons) >= 4


def test_empty_file_is_one_line(tmp_path: Path) -> None:
    """An empty (or comment-only) file is one problem, not a traceback."""
    for text in ("", "   \n", "# just a comment\n"):
        path = tmp_path / "empty.yaml"
        path.write_text(text)
        assert problems_of(path) == ["the file is empty"]


def test_huge_file_refused_before_parsing(tmp_path: Path) -> None:
    """A file over 1 MiB is refused with its size, without being parsed."""
    path = tmp_path / "huge.yaml"
    path.write_text("[" * (MAX_FILE_BYTES + 10))  # would be a deep-nesting bomb if parsed
    [problem] = problems_of(path)
    assert problem.startswith("file is 1,048,586 bytes")


def test_binary_and_non_utf8_files(tmp_path: Path) -> None:
    """Binary and non-UTF-8 files are each one readable problem."""
    binary = tmp_path / "image.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("id: caf\xe9\n".encode("latin-1"))
    assert problems_of(binary) == ["looks like a binary file (it contains NUL bytes)"]
    assert problems_of(latin) == ["is not UTF-8 text (bad byte at offset 7)"]


def test_unsafe_yaml_tag_is_rejected(tmp_path: Path) -> None:
    """A python/object tag is a YAML error, never executed."""
    path = tmp_path / "evil.yaml"
    path.write_text("id: !!python/object/apply:os.system ['echo hacked']\n")
    [problem] = problems_of(path)
    assert problem.startswith("invalid YAML at line 1")


def test_wrong_types_everywhere_are_all_reported(tmp_path: Path) -> None:
    """A document of wrong types reports a problem per field, never a traceback."""
    path = tmp_path / "types.yaml"
    path.write_text(
        "id: 5\ntitle: [x]\nlanguage: {}\nsummary: 1.5\nminutes: true\nflows: 3\ncode: x\n"
        "table: []\ntracker: 7\nmoments: {}\nquiz: null\nsnapshot: x\ntranscript: []\n"
    )
    problems = problems_of(path)
    fields = [p.split(":")[0] for p in problems]
    for name in ("id", "title", "language", "summary", "minutes", "flows", "code", "table"):
        assert name in fields
    assert "tracker" in fields and "quiz" in fields and "transcript" in fields


def test_missing_file_and_directory(tmp_path: Path) -> None:
    """A missing path or a directory given as a file is one problem."""
    assert problems_of(tmp_path / "nope.yaml") == ["no such file"]
    assert problems_of(tmp_path / "nope.YML") == ["no such file"]
    assert [str(p) for p in load_lessons([tmp_path / "nope"]).problems] == [
        f"{tmp_path / 'nope'}: no such file or folder"
    ]
    assert problems_of(tmp_path) == ["is a directory, not a lesson file"]


def test_broken_file_is_skipped_and_good_ones_served(tmp_path: Path) -> None:
    """load_lessons keeps good lessons and reports the broken file's problems."""
    (tmp_path / "a.yaml").write_text(SEED.read_text())
    (tmp_path / "b.yml").write_text("id: [\n")
    (tmp_path / "notes.txt").write_text("ignored")
    result = load_lessons([tmp_path])
    assert list(result.lessons) == ["node-sequential-vs-parallel"]
    assert [p.file for p in result.problems] == [str(tmp_path / "b.yml")]


def test_duplicate_lesson_ids_across_files(tmp_path: Path) -> None:
    """Two files with the same id: the second is reported and skipped."""
    (tmp_path / "a.yaml").write_text(SEED.read_text())
    (tmp_path / "b.yaml").write_text(SEED.read_text())
    result = load_lessons([tmp_path])
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'b.yaml'}: id: duplicate lesson id 'node-sequential-vs-parallel' "
        f"(also in {tmp_path / 'a.yaml'})"
    ]
    assert len(result.lessons) == 1


def test_a_duplicate_id_is_served_from_the_file_named_after_it(tmp_path: Path) -> None:
    """Of two files with one id, <id>.yaml wins even when the other sorts first."""
    named = tmp_path / "node-sequential-vs-parallel.yaml"
    named.write_text(SEED.read_text())
    copy = tmp_path / "a-copy.yaml"
    copy.write_text(SEED.read_text().replace("title: ", "title: Old copy of ", 1))
    result = load_lessons([tmp_path])
    assert [str(p) for p in result.problems] == [
        f"{copy}: id: duplicate lesson id 'node-sequential-vs-parallel' (also in {named})"
    ]
    assert result.lessons["node-sequential-vs-parallel"].source == named
    assert not result.lessons["node-sequential-vs-parallel"].title.startswith("Old copy")


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    """validate a.yaml a.yaml (or a folder and a file in it) is not a duplicate of itself."""
    lesson = tmp_path / "a.yaml"
    lesson.write_text(SEED.read_text())
    result = load_lessons([lesson, tmp_path / "." / "a.yaml", tmp_path])
    assert result.problems == []
    assert list(result.lessons) == ["node-sequential-vs-parallel"]
    out = io.StringIO()
    assert validate_paths([lesson, lesson], out) == 0
    assert out.getvalue() == "The lesson is OK.\n"


def test_problem_str_without_field() -> None:
    """A file-level problem prints as 'file: reason'."""
    assert str(Problem("x.yaml", "", "the file is empty")) == "x.yaml: the file is empty"
    assert str(Problem("x.yaml", "id", "bad")) == "x.yaml: id: bad"


def test_validate_paths_reports_and_summarises(tmp_path: Path) -> None:
    """validate_paths prints each problem and a summary, returning 1 on problems, 0 when clean."""
    out = io.StringIO()
    assert validate_paths([LESSONS], out) == 0
    assert out.getvalue().startswith("All ")
    out = io.StringIO()
    assert validate_paths([BROKEN / "many_problems.yaml", SEED], out) == 1
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert lines[-1] == "4 problems in 1 file; 1 lesson OK."
    out = io.StringIO()
    assert validate_paths([tmp_path], out) == 1
    assert "No lesson files found" in out.getvalue()
    nested = tmp_path / "lessons"
    nested.mkdir()
    (nested / "seed.yml").write_text(SEED.read_text())
    out = io.StringIO()
    assert validate_paths([tmp_path], out) == 1
    assert f"Lesson files are in a subfolder: try {nested}" in out.getvalue()
    out = io.StringIO()
    assert validate_paths([nested], out) == 0
    assert out.getvalue() == "The lesson is OK.\n"


def test_readme_example_is_a_valid_lesson(tmp_path: Path) -> None:
    """The complete example in content/README.md loads without problems."""
    readme = (ROOT / "content" / "README.md").read_text()
    example = (
        readme.split("## A complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    )
    path = tmp_path / "example.yaml"
    path.write_text(example)
    lesson = load_lesson_file(path)
    assert lesson.id == "python-two-awaits"
    assert lesson.quiz[0].correct.text == "3 s"


def test_deep_nesting_and_alias_bombs_are_one_line(tmp_path: Path) -> None:
    """Deeply nested YAML and alias 'billion laughs' structures fail fast with short problems."""
    deep = tmp_path / "deep.yaml"
    deep.write_text("id: " + "[" * 5_000 + "]" * 5_000 + "\n")
    [problem] = problems_of(deep)
    assert problem == "invalid YAML at line 1, column 54: nested more than 50 levels deep"
    bomb = tmp_path / "bomb.yaml"
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb.write_text(
        "\n".join(levels) + "\nid: *i\nquiz: [{prompt: p, choices: {A: a, B: b}, answer: *i}]\n"
    )
    problems = problems_of(bomb)
    assert all(len(p) < 300 for p in problems)
    assert "id: expected text, got a list" in problems


def test_upper_case_suffixes_are_lesson_files(tmp_path: Path) -> None:
    """A folder serves x.YAML and y.Yml too, as validate of the file itself accepts them."""
    (tmp_path / "x.YAML").write_text(SEED.read_text())
    (tmp_path / "y.Yml").write_text(SEED.read_text().replace(SEED.stem, "second-lesson", 1))
    (tmp_path / "z.yaml.txt").write_text("not a lesson")
    result = load_lessons([tmp_path])
    assert sorted(result.lessons) == ["node-sequential-vs-parallel", "second-lesson"]
    assert result.problems == []
    nested = tmp_path / "nested"
    nested.mkdir()
    (tmp_path / "x.YAML").rename(nested / "x.YAML")
    (tmp_path / "y.Yml").unlink()
    out = io.StringIO()
    assert validate_paths([tmp_path], out) == 1
    assert f"Lesson files are in a subfolder: try {nested}" in out.getvalue()


def test_a_lessons_demos_are_checked_as_demo_options(tmp_path: Path) -> None:
    """A demo's durations must be ones /demo accepts; the problem names the entry."""
    text = SEED.read_text().replace(
        "demos: [sequential, parallel, compare, fire_and_forget]",
        "demos: [semaphore 4 1 1 1, parallel 99, parallel x, compare 1 2]",
    )
    broken = tmp_path / "demos.yaml"
    broken.write_text(text)
    problems = problems_of(broken)
    assert problems == [
        "demos[1]: 'parallel 99': task1 must be between 0.05 and 10 seconds (you gave 99).",
        "demos[2]: 'parallel x': durations are seconds",
    ]
