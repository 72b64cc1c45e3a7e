"""Errors a user can cause, shared by the core and every front end.

Front ends show ``str(error)`` of a ``UserError`` to the person who caused it
(ephemerally on Discord); anything else is a bug, logged with an error id.
"""

from __future__ import annotations


def code_span(text: str) -> str:
    """Return ``text`` as an inline code span that no backtick inside can break.

    For echoing what a user typed: raw text between backticks could close the
    span and be rendered as live Markdown.
    """
    return "`" + text.replace("`", "ˋ").replace("\n", " ") + "`"


def clip(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters, ending in "…" when it was longer.

    For echoing what a user typed: a silent cut would show a different name
    than the one they gave, with nothing saying it is not all of it.
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, word: str) -> str:
    """Return ``count`` with ``word``, in the plural unless it is one ("1 run", "3 runs")."""
    return f"{count} {word}{'' if count == 1 else 's'}"


class UserError(Exception):
    """A mistake the user made; its message is friendly and safe to show them."""


class UnknownLessonError(UserError):
    """The user named a lesson id that is not loaded."""

    def __init__(self, lesson_id: str, suggestions: tuple[str, ...] = ()) -> None:
        self.lesson_id = lesson_id
        self.suggestions = suggestions
        if lesson_id.strip():
            message = f"There is no lesson called {code_span(clip(lesson_id, 80))}."
        else:
            message = "Name a lesson: its id or the start of its title."
        if suggestions:
            message += " Did you mean " + ", ".join(code_span(s) for s in suggestions) + "?"
        else:
            message += " Use /lesson list to see the lessons."
        super().__init__(message)


class OptionError(UserError):
    """A command option is out of range or malformed."""


class ShuttingDownError(UserError):
    """The bot is stopping and takes no new commands or clicks."""

    def __init__(self) -> None:
        super().__init__("studybot is restarting right now; please try again in a minute.")
