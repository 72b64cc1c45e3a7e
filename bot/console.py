"""The terminal front end: browse lessons and walk traces over the same core as Discord.

It is what a newcomer runs first, so it greets them, says what to try, accepts
id prefixes, and answers every input (even garbage) with a friendly line rather
than a traceback. Commands live in a table so other features (quizzes, demos,
stats) can register their own.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from bot.config import Settings
from bot.errors import OptionError, UnknownLessonError, UserError, clip
from bot.lessons.library import LessonLibrary
from bot.lessons.model import MODES, Lesson
from bot.lessons.render import render, render_trace_step
from bot.plaintext import terminal_text

log = logging.getLogger(__name__)

PROMPT = "studybot> "
DROPPED = "\x03"
"""What ``read_line`` returns for a line dropped by Ctrl-C: a prompt that gives Enter a
meaning (the next trace step) must tell the two apart. ``clean`` strips control
characters from typed lines, so no typed line equals it."""
MAX_LINE = 500
LEAVE_STUDYBOT = "Type quit to leave studybot."
# The terminal has no message limit; one big "page" keeps the text whole.
TERMINAL_LIMIT = 1_000_000
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")  # arrow keys and the like
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

Handler = Callable[["Console", list[str]], None]


@dataclass(frozen=True)
class ConsoleCommand:
    """A console command: its name, a one-line help, how to call it, and its handler."""

    name: str
    help: str
    handler: Handler
    usage: str = ""
    aliases: tuple[str, ...] = field(default=())
    max_args: int | None = None
    """The most words it takes after its name (None: any number, or it checks them itself).
    A word too many is refused with the usage, never silently dropped."""


def _fit(console: Console) -> int | None:
    """Return the width tables must fit in a real terminal (None: keep the wide layout)."""
    return console.width if console.is_terminal else None


def _is_number(text: str) -> bool:
    """Return whether ``text`` is plain ASCII digits (``"²".isdigit()`` is True)."""
    return text.isascii() and text.isdigit()


def clean(line: str) -> str:
    """Return ``line`` without control characters and surrounding whitespace."""
    return _CONTROL.sub("", _ESCAPE.sub("", line.replace("\t", " "))).strip()


class Console:
    """A read-eval-print loop over a LessonLibrary; add commands with ``register``."""

    def __init__(self, library: LessonLibrary, *, stdin: TextIO, stdout: TextIO) -> None:
        self.library = library
        self.stdin = stdin
        self.stdout = stdout
        self.narrow = False
        self._commands: dict[str, ConsoleCommand] = {}
        self._names: dict[str, str] = {}
        self._running = False
        for command in _builtin_commands():
            self.register(command)

    # -- the command table -----------------------------------------------------

    def register(self, command: ConsoleCommand) -> None:
        """Add ``command``; refuse a name or alias that is already taken."""
        for name in (command.name, *command.aliases):
            if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
                raise ValueError(f"command name {name!r} must be a lowercase word")
            if name in self._names:
                raise ValueError(f"command name {name!r} is already taken")
        self._commands[command.name] = command
        for name in (command.name, *command.aliases):
            self._names[name] = command.name

    @property
    def commands(self) -> list[ConsoleCommand]:
        """Return the registered commands in registration order."""
        return list(self._commands.values())

    def command(self, name: str) -> ConsoleCommand | None:
        """Return the command called ``name`` (or one of its aliases), if any."""
        key = self._names.get(name.lower())
        return self._commands[key] if key is not None else None

    # -- input and output ------------------------------------------------------

    def write(self, text: str = "") -> None:
        """Print ``text`` (Discord Markdown turned into plain terminal text) and a newline."""
        self.stdout.write(terminal_text(text, self.width) + "\n")
        self.stdout.flush()

    @property
    def width(self) -> int:
        """Return the width to wrap prose at: the terminal's, or 100 when not a terminal."""
        if self._interactive:
            return max(40, shutil.get_terminal_size((100, 24)).columns - 1)
        return 100

    @property
    def is_terminal(self) -> bool:
        """Return whether a person is typing at a terminal (not a pipe or a test)."""
        return self._interactive

    @property
    def _interactive(self) -> bool:
        try:
            return self.stdin is sys.stdin and sys.stdin.isatty() and self.stdout is sys.stdout
        except (AttributeError, ValueError):
            return False

    def read_line(self, prompt: str, *, leave: str = LEAVE_STUDYBOT) -> str | None:
        """Show ``prompt`` and return the next cleaned line, or None at end of input.

        Ctrl-C drops the line being typed, as in a shell: it returns ``DROPPED``
        after saying so and how to leave (``leave``, for the prompt at hand).
        """
        try:
            try:
                if self._interactive:
                    # input() gives line editing and history (arrow keys) through readline.
                    with contextlib.suppress(ImportError):
                        import readline  # noqa: F401
                    try:
                        raw = input(prompt) + "\n"
                    except EOFError:
                        raw = ""
                else:
                    self.stdout.write(prompt)
                    self.stdout.flush()
                    raw = self.stdin.readline()
            except KeyboardInterrupt:
                self.write(f"\n(Ctrl-C: line dropped. {leave})")
                return DROPPED
        except (UnicodeDecodeError, ValueError):
            self.write()
            self.write("Sorry, I could not read that input as text.")
            return ""
        if not raw:
            self.write()
            return None
        line = clean(raw)
        if len(line) > MAX_LINE:
            self.write(f"That line is too long ({len(line)} characters); try a shorter one.")
            return ""
        return line

    def resolve(self, text: str) -> Lesson:
        """Return the lesson ``text`` names (an id or a unique prefix of one)."""
        try:
            return self.library.resolve(text)
        except UnknownLessonError as exc:
            wanted = text.strip().lower()
            inside = [x for x in self.library.all() if len(wanted) >= 3 and wanted in x.id]
            if len(inside) == 1:
                return inside[0]
            message = f"There is no lesson called '{clip(exc.lesson_id, 80)}'."
            if exc.suggestions:
                message += " Did you mean " + " or ".join(exc.suggestions) + "?"
            raise UserError(message + " Type list to see the lessons.") from None

    def stop(self) -> None:
        """End the loop after the current command."""
        self._running = False

    @property
    def running(self) -> bool:
        """Return whether the loop is still taking commands."""
        return self._running

    # -- the loop ----------------------------------------------------------------

    def dispatch(self, line: str) -> None:
        """Run one command line, turning any mistake into a friendly message."""
        words = line.split()
        if not words:
            return
        name, args = words[0].lower(), words[1:]
        try:
            command = self.command(name)
            if command is None:
                self._unknown(name, args)
                return
            if command.max_args is not None and len(args) > command.max_args:
                extra = clip(" ".join(args[command.max_args :]), 40)
                usage = command.usage or command.name
                raise UserError(f"'{command.name}' does not take '{extra}'. Use: {usage}")
            command.handler(self, args)
        except UserError as exc:
            self.write(str(exc))
        except Exception:
            log.debug("console command %r failed", line, exc_info=True)
            self.write("Sorry, something went wrong with that command. Please try another.")

    def _unknown(self, name: str, args: list[str]) -> None:
        if name in self.library or (
            len(name) >= 3 and len([x for x in self.library.all() if x.id.startswith(name)]) == 1
        ):
            _show(self, [name, *args])
            return
        if name == "q":
            self.write("To leave studybot, type quit (q leaves a trace or a quiz).")
            return
        near = difflib.get_close_matches(name, list(self._names), n=1)
        hint = f" Did you mean '{near[0]}'?" if near else ""
        self.write(f"Unknown command '{clip(name, 40)}'.{hint} Type help to see the commands.")

    def banner(self) -> None:
        """Greet the user: what studybot is, the lessons, and the first things to try."""
        self.write("Welcome to studybot: learn async concurrency one step at a time.")
        lessons = self.library.all()
        tries: list[tuple[str, str]] = []
        if not lessons:
            self.write(
                "No lessons are loaded. Check the content directory and run: studybot validate"
            )
        else:
            self.write(f"{len(lessons)} lesson{'s' if len(lessons) != 1 else ''}:")
            width = max(len(x.id) for x in lessons)
            for lesson in lessons:
                self.write(f"  {lesson.id.ljust(width)}  {lesson.title}")
            first = lessons[0].id
            short = first.split("-")[0]
            if len([x for x in lessons if x.id.startswith(short)]) != 1:
                short = first
            tries = [
                (f"show {short}", "the lesson's overview"),
                (f"show {short} table", "its execution table"),
                (f"trace {short}", "walk the trace step by step"),
            ]
        tries.append(("help", "every command (quit to leave)"))
        self.write("")
        self.write("Try:")
        width = max(len(x) for x, _ in tries)
        for example, what in tries:
            self.write(f"  {example.ljust(width)}  {what}")
        self.write("")

    def run(self) -> int:
        """Greet, then read and run commands until quit or end of input; return 0."""
        self._running = True
        self.banner()
        while self._running:
            line = self.read_line(PROMPT)
            if line is None:
                self.write("Bye! Happy studying.")
                break
            if line != DROPPED:
                self.dispatch(line)
        self._running = False
        return 0


# -- built-in commands ----------------------------------------------------------


def _help(console: Console, args: list[str]) -> None:
    if args:
        command = console.command(args[0])
        if command is None:
            raise UserError(
                f"There is no command '{clip(args[0], 40)}'. Type help to see them all."
            )
        console.write(f"{command.usage or command.name}: {command.help}")
        if command.aliases:
            console.write("Also: " + ", ".join(command.aliases))
        return
    console.write("Commands:")
    width = max(len(c.usage or c.name) for c in console.commands)
    for command in console.commands:
        console.write(f"  {(command.usage or command.name).ljust(width)}  {command.help}")
    console.write("A lesson can be named by the start of its id, e.g. 'show node'.")


def _list(console: Console, args: list[str]) -> None:
    if not len(console.library):
        raise UserError("No lessons are loaded. Check the content directory.")
    lessons = console.library.search(" ".join(args), limit=1000)
    if not lessons:
        what = " ".join(args)
        raise UserError(f"No lesson matches '{clip(what, 40)}'. Type list to see them all.")
    width = max(len(x.id) for x in lessons)
    for lesson in lessons:
        tags = ", ".join(lesson.tags)
        console.write(f"  {lesson.id.ljust(width)}  {lesson.title}")
        console.write(f"  {''.ljust(width)}  {lesson.language} · ~{lesson.minutes} min · {tags}")


def _modes(console: Console, args: list[str]) -> None:
    console.write("Modes: " + ", ".join(MODES))
    console.write("Add 'narrow' for a phone-sized table, e.g. show <id> table narrow.")


def _layout(console: Console, words: Sequence[str]) -> tuple[list[str], bool]:
    """Split off a trailing 'narrow' or 'wide' word; return the rest and the choice."""
    rest = list(words)
    narrow = console.narrow
    while rest and rest[-1].lower() in ("narrow", "wide"):
        narrow = rest.pop().lower() == "narrow"
    return rest, narrow


def _show(console: Console, args: list[str]) -> None:
    args, narrow = _layout(console, args)
    if not args:
        raise UserError("Which lesson? Use: show <lesson> [mode], e.g. show node table.")
    if len(args) > 2:
        raise UserError("Too many words. Use: show <lesson> [mode] [narrow|wide].")
    lesson = console.resolve(args[0])
    mode = args[1].lower() if len(args) > 1 else "overview"
    if mode not in MODES:
        near = difflib.get_close_matches(mode, MODES, n=1)
        hint = f" Did you mean '{near[0]}'?" if near else ""
        raise OptionError(f"There is no mode '{clip(mode, 40)}'.{hint} Modes: {', '.join(MODES)}.")
    pages = render(lesson, mode, narrow=narrow, limit=TERMINAL_LIMIT, width=_fit(console))
    console.write("\n".join(pages))
    if mode == "overview":
        console.write(f"Next: show {lesson.id} table, or trace {lesson.id}")


def _quit(console: Console, args: list[str]) -> None:
    console.write("Bye! Happy studying.")
    console.stop()


TRACE_HELP = (
    "Trace keys: n or Enter = next, p = previous, f = first, l = last, "
    "a number or 'goto N' = jump to that step, q = leave the trace."
)


def _trace(console: Console, args: list[str]) -> None:
    args, narrow = _layout(console, args)
    if not args:
        raise UserError("Which lesson? Use: trace <lesson> [step], e.g. trace node 3.")
    if len(args) > 2 or (len(args) == 2 and not _is_number(args[1])):
        raise UserError("Use: trace <lesson> [step], e.g. trace node 3.")
    lesson = console.resolve(args[0])
    steps = lesson.table.steps
    index = 0
    if len(args) == 2:
        wanted = int(args[1])
        if wanted not in steps:
            raise UserError(
                f"{lesson.id} has steps {steps[0]}-{steps[-1]}; there is no step {wanted}."
            )
        index = steps.index(wanted)
    console.write(f"Tracing {lesson.title}: {len(steps)} steps.")
    console.write(TRACE_HELP)
    show = True
    while True:
        if show:
            console.write("")
            console.write(
                render_trace_step(
                    lesson, steps[index], narrow=narrow, limit=TERMINAL_LIMIT, width=_fit(console)
                )
            )
        show = True
        line = console.read_line(
            f"trace {index + 1}/{len(steps)}> ", leave="Type q to leave the trace."
        )
        if line is None:  # Ctrl-D leaves the trace, as it leaves a quiz; piped input then ends
            console.write(f"Left the trace of {lesson.id}.")
            return
        if line == DROPPED:  # not Enter: Enter moves on a step
            show = False
            continue
        word = line.lower()
        parts = word.split()
        if word in ("", "n", "next"):
            if index == len(steps) - 1:
                console.write("That was the last step. Type f to start over or q to leave.")
                show = False
            else:
                index += 1
        elif word in ("p", "prev", "previous", "back"):
            if index == 0:
                console.write("This is the first step. Type n for the next one.")
                show = False
            else:
                index -= 1
        elif word in ("f", "first"):
            index = 0
        elif word in ("l", "last"):
            index = len(steps) - 1
        elif word in ("q", "quit", "exit", "leave", "done"):
            console.write(f"Left the trace of {lesson.id}.")
            return
        elif word in ("h", "help", "?"):
            console.write(TRACE_HELP)
            show = False
        elif parts and (_is_number(parts[0]) or (parts[0] == "goto" and len(parts) == 2)):
            target = parts[-1]
            if len(parts) > 2 or (parts[0] != "goto" and len(parts) != 1) or not _is_number(target):
                console.write("Use a step number, e.g. 3 or goto 3.")
                show = False
            elif not 1 <= int(target[:6]) <= len(steps):
                console.write(
                    f"There is no step {target[:6]}: this trace has steps 1-{len(steps)}."
                )
                show = False
            else:
                index = int(target) - 1
        else:
            console.write(f"I did not understand '{clip(line, 40)}'. {TRACE_HELP}")
            show = False


def _builtin_commands() -> list[ConsoleCommand]:
    return [
        ConsoleCommand(
            "help", "show the commands (or help <command>)", _help, "help [command]", max_args=1
        ),
        ConsoleCommand("list", "list the lessons (optionally matching text)", _list, "list [text]"),
        ConsoleCommand(
            "show",
            "show a lesson in a mode (overview if left out)",
            _show,
            "show <lesson> [mode] [narrow|wide]",
            max_args=3,
        ),
        ConsoleCommand("modes", "list the modes a lesson can be shown in", _modes, max_args=0),
        ConsoleCommand(
            "trace",
            "walk a lesson's execution table step by step",
            _trace,
            "trace <lesson> [step]",
        ),
        # No 'q': in the trace and the quiz q leaves them, and one q too many must
        # not end studybot.
        ConsoleCommand("quit", "leave studybot", _quit, aliases=("exit",)),  # always leaves
    ]


def run_console(
    library: LessonLibrary,
    *,
    stdin: TextIO,
    stdout: TextIO,
    extra_commands: Iterable[ConsoleCommand] | None = None,
) -> int:
    """Run the interactive console over ``library`` until quit or end of input; return 0."""
    console = Console(library, stdin=stdin, stdout=stdout)
    for command in extra_commands or ():
        console.register(command)
    return console.run()


def main(
    settings: Settings,
    *,
    stdin: TextIO,
    stdout: TextIO,
    extra_commands: Iterable[ConsoleCommand] | None = None,
) -> int:
    """Load the lessons from ``settings.content_dir`` and run the console; return 0."""
    library, problems = LessonLibrary.from_directory(settings.content_dir)
    if problems:
        stdout.write("Some lesson files have problems and were skipped:\n")
        for problem in problems[:20]:
            stdout.write(f"  {problem}\n")
        if len(problems) > 20:
            stdout.write(f"  ... and {len(problems) - 20} more (run: studybot validate)\n")
        stdout.write("\n")
    return run_console(library, stdin=stdin, stdout=stdout, extra_commands=extra_commands)
