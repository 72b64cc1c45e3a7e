"""An immutable snapshot of the loaded lessons, with lookup and search for every front end.

Reloading builds a new library and swaps it in whole, so a reader never sees a
half-loaded set of lessons.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from bot.errors import UnknownLessonError
from bot.lessons.loader import Problem, load_lessons
from bot.lessons.model import Lesson


class LessonLibrary:
    """The lessons that loaded, by id; never changes after it is built."""

    __slots__ = ("_lessons",)

    def __init__(self, lessons: Iterable[Lesson] = ()) -> None:
        by_id: dict[str, Lesson] = {}
        for lesson in sorted(lessons, key=lambda item: item.id):
            if lesson.id in by_id:
                raise ValueError(f"duplicate lesson id {lesson.id!r}")
            by_id[lesson.id] = lesson
        self._lessons: Mapping[str, Lesson] = MappingProxyType(by_id)

    @classmethod
    def from_directory(cls, path: Path) -> tuple[LessonLibrary, list[Problem]]:
        """Load every lesson file in ``path``; return the library and any problems.

        A missing folder is one problem that says how to point at the right one:
        the default folder depends on how studybot was installed.
        """
        if not path.is_dir():
            reason = "is not a folder" if path.exists() else "no such folder"
            hint = "set STUDYBOT_CONTENT_DIR to your folder of lesson files"
            return cls(), [Problem(str(path), "", f"{reason}; {hint}")]
        result = load_lessons([path])
        return cls(result.lessons.values()), result.problems

    def get(self, lesson_id: str) -> Lesson:
        """Return the lesson with exactly ``lesson_id``; raise UnknownLessonError if none."""
        try:
            return self._lessons[lesson_id]
        except KeyError:
            raise UnknownLessonError(lesson_id, self.suggestions(lesson_id)) from None

    def resolve(self, text: str) -> Lesson:
        """Return the lesson ``text`` names: its id, or the start of its id or title, if only
        one lesson's does (case and runs of spaces aside).

        Autocomplete offers lessons by title, so someone who types a title and
        sends before picking a suggestion means that lesson too.
        """
        wanted = " ".join(text.lower().split())
        if wanted in self._lessons:
            return self._lessons[wanted]
        if wanted:
            titled = {i: " ".join(x.title.lower().split()) for i, x in self._lessons.items()}
            exact = [i for i, title in titled.items() if title == wanted]
            if len(exact) == 1:
                return self._lessons[exact[0]]
            matches = [
                i for i, title in titled.items() if i.startswith(wanted) or title.startswith(wanted)
            ]
            if len(matches) == 1:
                return self._lessons[matches[0]]
        raise UnknownLessonError(text.strip(), self.suggestions(wanted))

    def suggestions(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """Return up to ``limit`` ids that look like ``text`` (prefix matches first)."""
        wanted = text.strip().lower()
        if not wanted:
            return ()
        prefixed = [i for i in self._lessons if i.startswith(wanted)]
        close = difflib.get_close_matches(wanted, list(self._lessons), n=limit, cutoff=0.5)
        containing = [i for i in self._lessons if wanted in i]
        ordered = dict.fromkeys([*prefixed, *close, *containing])
        return tuple(ordered)[:limit]

    def all(self) -> list[Lesson]:
        """Return every lesson, sorted by id."""
        return list(self._lessons.values())

    def search(self, text: str, limit: int = 25) -> list[Lesson]:
        """Return lessons whose id or title contains ``text`` (prefix matches first)."""
        wanted = " ".join(text.lower().split())
        if not wanted:
            return self.all()[:limit]
        prefix: list[Lesson] = []
        inside: list[Lesson] = []
        for lesson in self._lessons.values():
            title = lesson.title.lower()
            if lesson.id.startswith(wanted) or title.startswith(wanted):
                prefix.append(lesson)
            elif wanted in lesson.id or wanted in title:
                inside.append(lesson)
        return [*prefix, *inside][:limit]

    def __len__(self) -> int:
        return len(self._lessons)

    def __contains__(self, lesson_id: object) -> bool:
        return lesson_id in self._lessons

    def __iter__(self) -> Iterator[Lesson]:
        return iter(self._lessons.values())

    def __repr__(self) -> str:
        return f"LessonLibrary({len(self)} lessons)"
