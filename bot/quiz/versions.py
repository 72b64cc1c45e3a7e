"""Which version of a lesson's quiz a run asks: a short hash of its questions.

A run stores it when it starts. Content changes (an answer key fixed, questions
reordered) arrive with a reload or a restart; a run is only picked up again, or
reviewed, against the same questions it was asked, never graded by another key.
"""

from __future__ import annotations

import hashlib
import json

from bot.lessons.model import Lesson


def quiz_version(lesson: Lesson) -> str:
    """Return a hash of what grades the quiz: each question's prompt, choices and answer."""
    questions = [[q.prompt, [[c.letter, c.text] for c in q.choices], q.answer] for q in lesson.quiz]
    encoded = json.dumps(questions, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]
