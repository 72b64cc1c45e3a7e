"""The writes the store hands to its writer process: plain, picklable data.

An answer, the hot path, is a plain tuple (``AnswerRow``): pickling a tuple is
done in C, a dataclass costs a Python call per object, and on a quiz night the
process that pickles is the one serving Discord. The rarer writes are small
dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.records import AnswerRecord, RunFinish, RunStart, pickled_by_fields

AnswerRow = tuple[int, int, int, str, int, str, int, str, bool, bool, int, int, int]
"""``(answer_id, *AnswerRecord)``: insert one answer and bump its choice count."""


def answer_row(answer_id: int, answer: AnswerRecord) -> AnswerRow:
    """Return the write for one answer."""
    return (answer_id, *answer)


@pickled_by_fields
@dataclass(slots=True, eq=False)
class EnsureUser:
    """Insert or rename a user."""

    user_id: int
    name: str
    at: int


@pickled_by_fields
@dataclass(slots=True, eq=False)
class EnsureGuild:
    """Insert a guild if it is new."""

    guild_id: int
    at: int


@pickled_by_fields
@dataclass(slots=True, eq=False)
class StartRun:
    """Create a quiz run with an id chosen by the store.

    With ``check_completion`` the result is ``(run_id, completed, resumed)``:
    whether the owner already had a counted run of the lesson in the guild, read
    in the same transaction, and (with ``resume``) whether an unfinished
    personal run of theirs was found for the lesson, whose id is then returned
    and no new run is created.
    """

    run_id: int
    run: RunStart
    check_completion: bool = False
    resume: bool = False


@pickled_by_fields
@dataclass(slots=True, eq=False)
class SetRoundState:
    """Remember a round's message and open question, for recovery after a restart."""

    run_id: int
    message_id: int | None
    current_question: int | None


@pickled_by_fields
@dataclass(slots=True, eq=False)
class MakePrivate:
    """Mark a run private: it was continued by a start that asked for privacy."""

    run_id: int


@pickled_by_fields
@dataclass(slots=True, eq=False)
class FinishRun:
    """Close a run and add its players' totals to scores, stats and streaks."""

    finish: RunFinish


@pickled_by_fields
@dataclass(slots=True, eq=False)
class ResetScores:
    """Delete a guild's leaderboard scores and first-completion marks."""

    guild_id: int


@pickled_by_fields
@dataclass(slots=True, eq=False)
class SetMeta:
    """Set a key in the meta table."""

    key: str
    value: str


Op = (
    AnswerRow
    | EnsureUser
    | EnsureGuild
    | StartRun
    | SetRoundState
    | MakePrivate
    | FinishRun
    | ResetScores
    | SetMeta
)
