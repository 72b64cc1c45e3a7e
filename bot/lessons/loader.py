"""Turn lesson YAML files into validated ``Lesson`` objects, reporting every problem at once.

Authors fix a lesson faster when they see all of its problems together, each
naming the file, the field path and the reason; a broken file never stops the
good ones from loading, and nothing a file contains can raise a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from bot.demos.engine import validate_options
from bot.demos.model import MODES as DEMO_MODES
from bot.errors import OptionError
from bot.lessons.model import (
    Checkpoint,
    Choice,
    CodeSample,
    ExecutionTable,
    Flow,
    KeyMoment,
    Lesson,
    LessonDemo,
    QuizQuestion,
    TableRow,
    TrackedVariable,
    VariableTracker,
)

MAX_FILE_BYTES = 1024 * 1024
LESSON_SUFFIXES = (".yaml", ".yml")
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ID_LENGTH = 60
LETTERS = "ABCDEFGHIJ"

# Length limits keep every field inside what a Discord message, embed field or
# button can show (embed field name 256, field value 1024, button label 80).
MAX_TITLE = 100
MAX_SHORT = 256
MAX_FIELD = 1024
MAX_CHOICE = 80
MAX_DEMOS = 5  # one row of buttons under the lesson

TOP_LEVEL_KEYS = (
    "id",
    "title",
    "language",
    "tags",
    "summary",
    "minutes",
    "flows",
    "flow_caption",
    "code",
    "table",
    "tracker",
    "moments",
    "quiz",
    "snapshot",
    "transcript",
    "demos",
)
OPTIONAL_TOP_LEVEL = ("tags", "flow_caption", "demos")
REQUIRED_TOP_LEVEL = tuple(k for k in TOP_LEVEL_KEYS if k not in OPTIONAL_TOP_LEVEL)

T = TypeVar("T")


class _Missing:
    """The value of a key the file leaves out (already reported if it is required)."""


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lesson file: where it is and why it is wrong."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.file}: {self.field}: {self.reason}"
        return f"{self.file}: {self.reason}"


class LessonFileError(Exception):
    """A lesson file could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class LoadResult:
    """The lessons that loaded, keyed by id, and the problems of the files that did not."""

    lessons: dict[str, Lesson] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class _DuplicateKeyError(yaml.YAMLError):
    """A mapping in the file repeats a key (YAML would silently keep the last one)."""

    def __init__(self, key: object, line: int) -> None:
        self.key = key
        self.line = line
        super().__init__(f"line {line}: duplicate key {key!r}")


MAX_DEPTH = 50


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys and absurdly deep nesting."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose a node, failing fast (before recursing) if nesting is too deep."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key; the safe constructor reports it
            continue
        if duplicate:
            raise _DuplicateKeyError(key, key_node.start_mark.line + 1)
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    """Return a one-line description of a YAML error with its line number."""
    if isinstance(exc, _DuplicateKeyError):
        return f"line {exc.line}: duplicate key {exc.key!r}"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"
        return f"invalid YAML: {what}"
    return "invalid YAML: " + " ".join(str(exc).split())


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: object) -> str:
    if not isinstance(value, str | int | float | bool) and value is not None:
        return _type_name(value)  # never repr a container: YAML aliases can make it huge
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    """Walk one parsed document, collecting problems and building model parts."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: str, reason: str) -> None:
        self.problems.append(Problem(self.file, path, reason))

    # -- primitives ---------------------------------------------------------

    def text(
        self,
        value: object,
        path: str,
        *,
        max_length: int | None = None,
        allow_empty: bool = False,
        allow_numbers: bool = False,
    ) -> str:
        """Return ``value`` as stripped-of-nothing text, or report why it is not text."""
        if value is MISSING:
            return ""
        if allow_numbers and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            hint = ""
            if isinstance(value, bool):
                hint = " (quote it: YAML reads yes/no/true/false as booleans)"
            self.add(path, f"expected text, got {_type_name(value)}{hint}")
            return ""
        if not allow_empty and not value.strip():
            self.add(path, "must not be empty")
        if max_length is not None and len(value) > max_length:
            self.add(path, f"is {len(value)} characters long; the limit is {max_length}")
        return value

    def integer(self, value: object, path: str, *, minimum: int = 1) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"expected a whole number, got {_type_name(value)}")
            return None
        if value < minimum:
            self.add(path, f"must be at least {minimum}, got {value}")
            return None
        return value

    def mapping(
        self,
        value: object,
        path: str,
        *,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> dict[str, Any] | None:
        """Return ``value`` if it is a mapping with the expected keys; report missing/unknown."""
        if value is MISSING:
            return None
        if not isinstance(value, dict):
            self.add(path or "(top level)", f"expected a mapping, got {_type_name(value)}")
            return None
        allowed = tuple(k for k in TOP_LEVEL_KEYS if k in required + optional) if not path else ()
        allowed = allowed or required + optional
        prefix = f"{path}." if path else ""
        for key in value:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean '{near[0]}'?)" if near else ""
                allowed_list = ", ".join(allowed)
                self.add(f"{prefix}{key}", f"unknown key{hint}; allowed keys: {allowed_list}")
        for key in required:
            if key not in value:
                self.add(f"{prefix}{key}", "is required but missing")
        return value

    def items(self, value: object, path: str, *, minimum: int = 1) -> list[Any]:
        if value is MISSING:
            return []
        if not isinstance(value, list):
            self.add(path, f"expected a list, got {_type_name(value)}")
            return []
        if len(value) < minimum:
            self.add(path, f"needs at least {minimum} item{'s' if minimum != 1 else ''}")
        return value

    def each(
        self, value: object, path: str, build: Callable[[Any, str], T | None], *, minimum: int = 1
    ) -> tuple[T, ...]:
        built: list[T] = []
        for index, item in enumerate(self.items(value, path, minimum=minimum)):
            result = build(item, f"{path}[{index}]")
            if result is not None:
                built.append(result)
        return tuple(built)

    def texts(self, value: object, path: str, *, minimum: int = 1, **kw: Any) -> tuple[str, ...]:
        return self.each(value, path, lambda item, p: self.text(item, p, **kw), minimum=minimum)

    def steps(self, value: object, path: str, valid: set[int]) -> tuple[int, ...]:
        """Return cited table steps, reporting any that the table does not have."""
        cited: list[int] = []
        for index, item in enumerate(self.items(value, path, minimum=0)):
            step = self.integer(item, f"{path}[{index}]")
            if step is None:
                continue
            if valid and step not in valid:
                self.add(f"{path}[{index}]", f"cites step {step}, but the table has {_span(valid)}")
            cited.append(step)
        return tuple(cited)

    def demo_modes(self, value: object, path: str) -> tuple[LessonDemo, ...]:
        """Return the live demos a lesson points to: ``mode [seconds …]`` each, checked as
        /demo checks its options, so every one of them runs.

        Each becomes a button under the lesson on Discord: a repeat would give two
        buttons one custom id (Discord refuses the whole message), and a row holds five.
        """
        demos: list[LessonDemo] = []
        items = self.items(value, path, minimum=0)
        if len(items) > MAX_DEMOS:
            self.add(path, f"has {len(items)} demos; the limit is {MAX_DEMOS}")
        for index, item in enumerate(items):
            where = f"{path}[{index}]"
            words = self.text(item, where, max_length=60).split()
            if not words:
                continue
            name, *seconds = words
            if name not in DEMO_MODES:
                near = difflib.get_close_matches(name, DEMO_MODES, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                self.add(
                    where,
                    f"{_show(name)} is not a demo mode (one of {', '.join(DEMO_MODES)}){hint}",
                )
                continue
            try:
                durations = tuple(float(word) for word in seconds)
                validate_options(name, durations or None)
            except (ValueError, OptionError) as exc:
                problem = str(exc) if isinstance(exc, OptionError) else "durations are seconds"
                self.add(where, f"{_show(' '.join(words))}: {problem}")
                continue
            demo = LessonDemo(name, durations)
            if demo in demos:
                self.add(where, f"{_show(demo.command)} is listed twice")
            else:
                demos.append(demo)
        return tuple(demos)

    # -- lesson parts -------------------------------------------------------

    def flow(self, value: object, path: str) -> Flow | None:
        raw = self.mapping(value, path, required=("name", "steps"))
        if raw is None:
            return None
        return Flow(
            name=self.text(raw.get("name", MISSING), f"{path}.name", max_length=MAX_SHORT),
            steps=self.texts(raw.get("steps", MISSING), f"{path}.steps", max_length=MAX_SHORT),
        )

    def code(self, value: object, path: str) -> CodeSample | None:
        raw = self.mapping(value, path, required=("language", "source"), optional=("caption",))
        if raw is None:
            return None
        language = self.text(raw.get("language", MISSING), f"{path}.language", max_length=30)
        if language and not re.fullmatch(r"[A-Za-z0-9_+#.-]+", language):
            self.add(f"{path}.language", f"{language!r} is not a highlighting language name")
        return CodeSample(
            language=language,
            source=self.text(raw.get("source", MISSING), f"{path}.source").rstrip("\n"),
            caption=self.text(raw.get("caption", MISSING), f"{path}.caption", allow_empty=True),
        )

    def table(self, value: object, path: str) -> ExecutionTable:
        raw = self.mapping(value, path, required=("tasks", "rows"), optional=("footnote",)) or {}
        tasks = self.texts(raw.get("tasks", MISSING), f"{path}.tasks", max_length=40)
        for name in {t for t in tasks if tasks.count(t) > 1}:
            self.add(f"{path}.tasks", f"task {name!r} is listed twice")
        rows: list[TableRow] = []
        seen: set[int] = set()
        for index, item in enumerate(self.items(raw.get("rows", MISSING), f"{path}.rows")):
            row_path = f"{path}.rows[{index}]"
            row = self.mapping(
                item, row_path, required=("step", "action", "status"), optional=("notes",)
            )
            if row is None:
                continue
            step = self.integer(row.get("step"), f"{row_path}.step") if "step" in row else None
            if step is not None:
                if step in seen:
                    self.add(f"{row_path}.step", f"duplicate step {step}")
                elif step != len(rows) + 1:
                    self.add(
                        f"{row_path}.step",
                        f"steps must be numbered 1, 2, 3, ... in order: expected {len(rows) + 1}, "
                        f"got {step}",
                    )
                seen.add(step)
            statuses = self.statuses(row.get("status", MISSING), f"{row_path}.status", tasks)
            rows.append(
                TableRow(
                    step=len(rows) + 1,
                    action=self.text(
                        row.get("action", MISSING), f"{row_path}.action", max_length=MAX_SHORT
                    ),
                    statuses=statuses,
                    notes=self.text(
                        row.get("notes", MISSING),
                        f"{row_path}.notes",
                        allow_empty=True,
                        max_length=MAX_SHORT,
                    ),
                )
            )
        footnote = self.text(raw.get("footnote", MISSING), f"{path}.footnote", allow_empty=True)
        return ExecutionTable(tasks=tasks, rows=tuple(rows), footnote=footnote)

    def statuses(self, value: object, path: str, tasks: tuple[str, ...]) -> dict[str, str]:
        if value is MISSING:
            return {}
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping of task to status, got {_type_name(value)}")
            return {}
        result: dict[str, str] = {}
        for key, status in value.items():
            if key not in tasks:
                known = ", ".join(tasks) or "none"
                self.add(f"{path}.{key}", f"status for unknown task {key!r} (tasks are: {known})")
                continue
            result[key] = self.text(status, f"{path}.{key}", max_length=40)
        for task in tasks:
            if task not in value:
                self.add(path, f"missing status for task {task!r}")
        # Keep the table's column order, whatever order the file used.
        return {task: result[task] for task in tasks if task in result}

    def tracker(self, value: object, path: str, valid: set[int]) -> VariableTracker:
        raw = self.mapping(value, path, required=("checkpoints", "variables")) or {}
        checkpoints: list[Checkpoint] = []
        raw_checkpoints = self.items(raw.get("checkpoints", MISSING), f"{path}.checkpoints")
        for index, item in enumerate(raw_checkpoints):
            cp_path = f"{path}.checkpoints[{index}]"
            cp = self.mapping(item, cp_path, required=("label",), optional=("step",))
            if cp is None:
                continue
            label = self.text(cp.get("label", MISSING), f"{cp_path}.label", max_length=40)
            step: int | None = None
            if "step" in cp:
                step = self.integer(cp["step"], f"{cp_path}.step")
                if step is not None and valid and step not in valid:
                    self.add(
                        f"{cp_path}.step", f"cites step {step}, but the table has {_span(valid)}"
                    )
            elif 0 < index < len(raw_checkpoints) - 1:
                self.add(
                    cp_path,
                    "only the first (start) and last (final) checkpoints may leave out 'step'",
                )
            checkpoints.append(Checkpoint(label=label, step=step))
        numbered = [c.step for c in checkpoints if c.step is not None]
        if numbered != sorted(numbered) or len(set(numbered)) != len(numbered):
            self.add(f"{path}.checkpoints", "checkpoint steps must increase from left to right")
        labels = [c.label for c in checkpoints]
        for label in {x for x in labels if labels.count(x) > 1}:
            self.add(f"{path}.checkpoints", f"label {label!r} is used twice")
        variables: list[TrackedVariable] = []
        for index, item in enumerate(
            self.items(raw.get("variables", MISSING), f"{path}.variables")
        ):
            var_path = f"{path}.variables[{index}]"
            var = self.mapping(item, var_path, required=("name", "values"))
            if var is None:
                continue
            name = self.text(var.get("name", MISSING), f"{var_path}.name", max_length=40)
            values = self.texts(
                var.get("values", MISSING), f"{var_path}.values", max_length=60, allow_numbers=True
            )
            cells = var.get("values")
            if isinstance(cells, list) and len(cells) != len(raw_checkpoints):
                self.add(
                    f"{var_path}.values",
                    f"has {len(cells)} cells but there are {len(raw_checkpoints)} checkpoints",
                )
            elif len(values) == len(checkpoints):
                variables.append(TrackedVariable(name=name, values=values))
        names = [v.name for v in variables]
        for name in {x for x in names if names.count(x) > 1}:
            self.add(f"{path}.variables", f"variable {name!r} is listed twice")
        return VariableTracker(checkpoints=tuple(checkpoints), variables=tuple(variables))

    def moment(self, value: object, path: str, valid: set[int]) -> KeyMoment | None:
        raw = self.mapping(value, path, required=("question", "answer"), optional=("steps",))
        if raw is None:
            return None
        return KeyMoment(
            question=self.text(
                raw.get("question", MISSING), f"{path}.question", max_length=MAX_SHORT
            ),
            answer=self.text(raw.get("answer", MISSING), f"{path}.answer", max_length=MAX_FIELD),
            steps=self.steps(raw.get("steps", MISSING), f"{path}.steps", valid),
        )

    def question(self, value: object, path: str, valid: set[int]) -> QuizQuestion | None:
        raw = self.mapping(
            value,
            path,
            required=("prompt", "choices", "answer"),
            optional=("hint", "explanation", "steps"),
        )
        if raw is None:
            return None
        choices: list[Choice] = []
        raw_choices = raw.get("choices", MISSING)
        if raw_choices is MISSING:
            pass
        elif not isinstance(raw_choices, dict):
            self.add(
                f"{path}.choices",
                f"expected a mapping of letter to text, got {_type_name(raw_choices)}",
            )
        else:
            if len(raw_choices) < 2:
                self.add(f"{path}.choices", "needs at least 2 choices")
            for index, (letter, text) in enumerate(raw_choices.items()):
                expected = LETTERS[index] if index < len(LETTERS) else None
                if letter != expected:
                    self.add(
                        f"{path}.choices",
                        f"choice letters must be A, B, C, ... in order: expected {expected!r}, "
                        f"got {_show(letter)}",
                    )
                choices.append(
                    Choice(
                        letter=str(letter),
                        text=self.text(
                            text,
                            f"{path}.choices.{letter}",
                            max_length=MAX_CHOICE,
                            allow_numbers=True,
                        ),
                    )
                )
        answer = raw.get("answer")
        letters = [c.letter for c in choices]
        if "answer" in raw and choices and answer not in letters:
            span = f"{letters[0]}-{letters[-1]}" if len(letters) > 1 else letters[0]
            self.add(f"{path}.answer", f"{_show(answer)} is not one of the choices {span}")
        return QuizQuestion(
            prompt=self.text(raw.get("prompt", MISSING), f"{path}.prompt", max_length=MAX_SHORT),
            choices=tuple(choices),
            answer=answer if isinstance(answer, str) else "",
            hint=self.text(
                raw.get("hint", MISSING), f"{path}.hint", allow_empty=True, max_length=MAX_FIELD
            ),
            explanation=self.text(
                raw.get("explanation", MISSING),
                f"{path}.explanation",
                allow_empty=True,
                max_length=MAX_FIELD,
            ),
            steps=self.steps(raw.get("steps", MISSING), f"{path}.steps", valid),
        )

    def lesson(self, document: object, source: Path) -> Lesson | None:
        raw = self.mapping(document, "", required=REQUIRED_TOP_LEVEL, optional=OPTIONAL_TOP_LEVEL)
        if raw is None:
            return None
        lesson_id = self.text(raw.get("id", MISSING), "id")
        if lesson_id and not ID_PATTERN.fullmatch(lesson_id):
            self.add(
                "id",
                f"{_show(lesson_id)} must be lowercase letters, digits and single hyphens "
                "(like 'python-gather-vs-taskgroup')",
            )
        elif len(lesson_id) > MAX_ID_LENGTH:
            self.add("id", f"is {len(lesson_id)} characters long; the limit is {MAX_ID_LENGTH}")
        minutes = self.integer(raw.get("minutes"), "minutes") if "minutes" in raw else None
        table = self.table(raw.get("table", MISSING), "table")
        # Rows must be numbered 1..N (reported otherwise), so row N is step N.
        valid = set(range(1, len(table.rows) + 1))
        lesson = Lesson(
            id=lesson_id,
            title=self.text(raw.get("title", MISSING), "title", max_length=MAX_TITLE),
            language=self.text(raw.get("language", MISSING), "language", max_length=40),
            tags=self.texts(raw.get("tags", MISSING), "tags", minimum=0, max_length=30),
            summary=self.text(raw.get("summary", MISSING), "summary", max_length=MAX_FIELD),
            minutes=minutes or 1,
            flows=self.each(raw.get("flows", MISSING), "flows", self.flow),
            flow_caption=self.text(
                raw.get("flow_caption", MISSING), "flow_caption", allow_empty=True
            ),
            code=self.each(raw.get("code", MISSING), "code", self.code),
            table=table,
            tracker=self.tracker(raw.get("tracker", MISSING), "tracker", valid),
            moments=self.each(
                raw.get("moments", MISSING),
                "moments",
                lambda v, p: self.moment(v, p, valid),
                minimum=0,
            ),
            quiz=self.each(
                raw.get("quiz", MISSING), "quiz", lambda v, p: self.question(v, p, valid)
            ),
            snapshot=self.texts(raw.get("snapshot", MISSING), "snapshot", max_length=MAX_SHORT),
            transcript=self.text(raw.get("transcript", MISSING), "transcript"),
            demos=self.demo_modes(raw.get("demos", MISSING), "demos"),
            source=source,
        )
        return None if self.problems else lesson


def _span(steps: set[int]) -> str:
    ordered = sorted(steps)
    if not ordered:
        return "no steps"
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"steps {ordered[0]}-{ordered[-1]}"
    return "steps " + ", ".join(str(s) for s in ordered)


def _read_text(path: Path, file: str) -> str:
    """Return the file's text, refusing huge, binary and non-UTF-8 files with one problem."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LessonFileError(
                [Problem(file, "", f"file is {size:,} bytes; lesson files are limited to 1 MiB")]
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        # A name without .yaml/.yml was most likely meant as a folder of lessons.
        what = "no such file" if has_lesson_suffix(path) else "no such file or folder"
        raise LessonFileError([Problem(file, "", what)]) from None
    except IsADirectoryError:
        raise LessonFileError([Problem(file, "", "is a directory, not a lesson file")]) from None
    except OSError as exc:
        raise LessonFileError([Problem(file, "", f"cannot read file: {exc.strerror}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise LessonFileError([Problem(file, "", "file is larger than 1 MiB")])
    if b"\x00" in data:
        raise LessonFileError(
            [Problem(file, "", "looks like a binary file (it contains NUL bytes)")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LessonFileError(
            [Problem(file, "", f"is not UTF-8 text (bad byte at offset {exc.start})")]
        ) from None
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise LessonFileError([Problem(file, "", "the file is empty")])
    return text


def load_lesson_file(path: Path) -> Lesson:
    """Load and validate one lesson file; raise LessonFileError listing every problem."""
    file = str(path)
    text = _read_text(path, file)
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise LessonFileError([Problem(file, "", _describe_yaml_error(exc))]) from None
    except RecursionError:
        raise LessonFileError([Problem(file, "", "invalid YAML: nested too deeply")]) from None
    if document is None:
        raise LessonFileError([Problem(file, "", "the file is empty")])
    checker = _Checker(file)
    lesson = checker.lesson(document, path)
    if lesson is None:
        raise LessonFileError(checker.problems)
    return lesson


def has_lesson_suffix(path: Path) -> bool:
    """Return whether ``path`` is named like a lesson file, ``.yaml`` or ``.yml`` in any case.

    ``studybot validate x.YAML`` reads the file it is given, so a folder must
    find it too, or the file validates yet is never served.
    """
    return path.suffix.lower() in LESSON_SUFFIXES


def lesson_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield lesson files: each file as given, each directory's *.yaml/*.yml sorted by name.

    A file named twice (``validate a.yaml a.yaml``, or a folder and a file in
    it) is yielded once, or it would be reported as a duplicate of itself.
    """
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if has_lesson_suffix(p) and p.is_file())
        else:
            found = [path]
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                yield file


def load_lessons(paths: Iterable[Path]) -> LoadResult:
    """Load every lesson under ``paths``; a broken file is skipped and its problems kept.

    When files share an id, the one named ``<id>.yaml`` is served and the
    others are reported: that is the file an author edits to change the
    lesson, whatever a stray copy's name sorts as.
    """
    result = LoadResult()
    loaded: list[tuple[Path, Lesson]] = []
    for path in lesson_files(paths):
        try:
            loaded.append((path, load_lesson_file(path)))
        except LessonFileError as exc:
            result.problems.extend(exc.problems)
    chosen: dict[str, Path] = {}
    for path, lesson in loaded:
        if lesson.id not in chosen or (
            path.stem == lesson.id and chosen[lesson.id].stem != lesson.id
        ):
            chosen[lesson.id] = path
    for path, lesson in loaded:
        origin = chosen[lesson.id]
        if path is origin:
            result.lessons[lesson.id] = lesson
        else:
            result.problems.append(
                Problem(str(path), "id", f"duplicate lesson id {lesson.id!r} (also in {origin})")
            )
    return result
