"""Typed, immutable lesson objects: the one shape every front end and service reads.

The YAML loader builds these after validation, so code that holds a ``Lesson``
can trust every cross-reference in it (a cited step exists, a tracker row has one
cell per checkpoint, a quiz answer is one of its choices).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MODES: tuple[str, ...] = (
    "overview",
    "flow",
    "code",
    "table",
    "tracker",
    "moments",
    "snapshot",
    "transcript",
)


@dataclass(frozen=True, slots=True)
class Flow:
    """A named concept flow: the steps of one approach, in order."""

    name: str
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CodeSample:
    """A code sample with the language used for syntax highlighting."""

    language: str
    source: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class TableRow:
    """One step of the execution table: what happened and each task's status after it."""

    step: int
    action: str
    statuses: Mapping[str, str]
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ExecutionTable:
    """The execution table; ``tasks`` fixes the column order of the statuses."""

    tasks: tuple[str, ...]
    rows: tuple[TableRow, ...]
    footnote: str = ""

    def row(self, step: int) -> TableRow:
        """Return the row for ``step`` (raise KeyError if the table has none)."""
        for row in self.rows:
            if row.step == step:
                return row
        raise KeyError(step)

    @property
    def steps(self) -> tuple[int, ...]:
        return tuple(row.step for row in self.rows)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A column of the variable tracker.

    ``step`` is the table step after which the values hold; ``None`` means the
    start (before step 1) for the first checkpoint, or the final state for a
    checkpoint labelled as such after the last step.
    """

    label: str
    step: int | None = None


@dataclass(frozen=True, slots=True)
class TrackedVariable:
    """One row of the tracker: a variable's value at each checkpoint."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VariableTracker:
    """Variables by checkpoints, as in the lesson's tracker table."""

    checkpoints: tuple[Checkpoint, ...]
    variables: tuple[TrackedVariable, ...]


@dataclass(frozen=True, slots=True)
class TrackerState:
    """The tracker as a trace step shows it.

    ``exact`` is False when the lesson has no checkpoint at the step itself and
    ``checkpoint`` is an earlier one: front ends must say so, or a learner sees
    values that contradict the step's table row.
    """

    step: int
    checkpoint: Checkpoint
    values: dict[str, str]
    exact: bool


@dataclass(frozen=True, slots=True)
class KeyMoment:
    """A question learners usually ask, its answer, and the table steps it cites."""

    question: str
    answer: str
    steps: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Choice:
    """One lettered choice of a quiz question."""

    letter: str
    text: str


@dataclass(frozen=True, slots=True)
class QuizQuestion:
    """A multiple-choice question; ``answer`` is the letter of the correct choice."""

    prompt: str
    choices: tuple[Choice, ...]
    answer: str
    hint: str = ""
    explanation: str = ""
    steps: tuple[int, ...] = ()

    def choice(self, letter: str) -> Choice:
        """Return the choice with ``letter`` (raise KeyError if there is none)."""
        for choice in self.choices:
            if choice.letter == letter:
                return choice
        raise KeyError(letter)

    @property
    def correct(self) -> Choice:
        return self.choice(self.answer)


@dataclass(frozen=True, slots=True)
class LessonDemo:
    """A live demo that shows a lesson running: a demo mode and the lesson's own durations.

    With no durations the mode's defaults run. ``command`` is how a learner runs it
    (``semaphore 4 1 1 1``: the console's ``demo`` takes it as it is).
    """

    mode: str
    durations: tuple[float, ...] = ()

    @property
    def command(self) -> str:
        return " ".join([self.mode, *(f"{d:g}" for d in self.durations)])


@dataclass(frozen=True, slots=True)
class Lesson:
    """A whole lesson, as validated from one YAML file."""

    id: str
    title: str
    language: str
    tags: tuple[str, ...]
    summary: str
    minutes: int
    flows: tuple[Flow, ...]
    flow_caption: str
    code: tuple[CodeSample, ...]
    table: ExecutionTable
    tracker: VariableTracker
    moments: tuple[KeyMoment, ...]
    quiz: tuple[QuizQuestion, ...]
    snapshot: tuple[str, ...]
    transcript: str
    demos: tuple[LessonDemo, ...] = ()
    """Live demo modes that show the lesson's code running (``/demo``, ``demo`` in the console)."""
    source: Path | None = field(default=None, compare=False)

    def tracker_at(self, step: int) -> TrackerState:
        """Return the tracker at table step ``step``: its checkpoint there, or the latest before.

        A first checkpoint without a step is the start (before step 1); a last
        checkpoint without a step (``Final``) is the state after the table's last step.
        """
        checkpoints = self.tracker.checkpoints
        last_step = self.table.steps[-1] if self.table.rows else 0
        chosen, chosen_at = 0, -1
        for index, checkpoint in enumerate(checkpoints):
            at = checkpoint.step
            if at is None:
                at = 0 if index == 0 else last_step if index == len(checkpoints) - 1 else None
            if at is not None and at <= step and at >= chosen_at:
                chosen, chosen_at = index, at
        values = {v.name: v.values[chosen] for v in self.tracker.variables}
        return TrackerState(step, checkpoints[chosen], values, exact=chosen_at == step)

    def moments_citing(self, step: int) -> tuple[KeyMoment, ...]:
        """Return the key moments that cite ``step``."""
        return tuple(m for m in self.moments if step in m.steps)
