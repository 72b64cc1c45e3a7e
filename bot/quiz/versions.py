"""Which version of a lesson's quiz a run asks: a short hash of its questions.

A run stores it when it starts. Content changes (an answer key fixed, questions
reordered) arrive with a reload or a restart; a run is only picked up again, or
reviewed, against the same questions it was asked, never graded by another key.
"""

from __future__ import annotations

import hashlib
import json

from bot.lessons.model import Lesson

_KNOWN: dict[int, tuple[Lesson, str]] = {}
"""Versions already worked out, by lesson object (kept alive here, so an id is not reused
while it is a key). A library holds a handful of lessons; a reload adds its new copies."""


def quiz_version(lesson: Lesson) -> str:
    """Return a hash of what grades the quiz: each question's prompt, choices and answer.

    Worked out once per lesson object: every personal quiz start asks for it.
    """
    known = _KNOWN.get(id(lesson))
    if known is not None and known[0] is lesson:
        return known[1]
    version = _hash(lesson)
    if len(_KNOWN) >= MAX_KNOWN:
        _KNOWN.clear()  # many reloads: start again rather than grow
    _KNOWN[id(lesson)] = (lesson, version)
    return version


MAX_KNOWN = 1024


def _hash(lesson: Lesson) -> str:
    questions = [[q.prompt, [[c.letter, c.text] for c in q.choices], q.answer] for q in lesson.quiz]
    encoded = json.dumps(questions, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]
