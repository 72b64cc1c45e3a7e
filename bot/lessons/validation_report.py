"""Print a readable validation report for lesson files (what `studybot validate` shows)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.lessons.loader import has_lesson_suffix, lesson_files, load_lessons


def validate_paths(paths: Sequence[Path], out: TextIO) -> int:
    """Print every problem in the lesson files under ``paths`` and a summary; return 0 or 1."""
    files = list(lesson_files(paths))
    result = load_lessons(paths)
    for problem in result.problems:
        print(problem, file=out)
    if not files:
        shown = ", ".join(str(p) for p in paths) or "(no paths)"
        print(f"No lesson files found in {shown}.", file=out)
        nested = sorted(
            {
                str(f.parent)
                for p in paths
                if p.is_dir()
                for f in p.rglob("*")
                if has_lesson_suffix(f)
            }
            - {str(p) for p in paths}
        )
        if nested:  # a folder is read itself, not its subfolders
            print(f"Lesson files are in a subfolder: try {' '.join(nested[:3])}", file=out)
        return 1
    broken = len({p.file for p in result.problems})
    count = len(result.lessons)
    if result.problems:
        print(
            f"{len(result.problems)} problem{'s' if len(result.problems) != 1 else ''} "
            f"in {broken} file{'s' if broken != 1 else ''}; "
            f"{count} lesson{'s' if count != 1 else ''} OK.",
            file=out,
        )
        return 1
    print("The lesson is OK." if count == 1 else f"All {count} lessons OK.", file=out)
    return 0
