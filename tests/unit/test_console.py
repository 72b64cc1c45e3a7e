"""End-to-end tests of the terminal console, driven through stdin."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.console import PROMPT, Console, ConsoleCommand, run_console
from bot.errors import UserError
from bot.lessons.library import LessonLibrary

ROOT = Path(__file__).resolve().parents[2]
LIBRARY, PROBLEMS = LessonLibrary.from_directory(ROOT / "content" / "lessons")


def drive(text: str, library: LessonLibrary = LIBRARY, **kwargs: object) -> tuple[int, str]:
    """Run the console over ``text`` as stdin; return the exit code and everything printed."""
    stdout = io.StringIO()
    code = run_console(library, stdin=io.StringIO(text), stdout=stdout, **kwargs)  # type: ignore[arg-type]
    return code, stdout.getvalue()


def test_banner_lists_lessons_and_what_to_try() -> None:
    """The banner names every lesson and suggests first commands; EOF says bye, exits with 0."""
    assert PROBLEMS == []
    code, out = drive("")
    assert code == 0
    assert out.startswith("Welcome to studybot")
    for lesson in LIBRARY:
        assert lesson.id in out
    assert "show node table" in out and "trace node" in out
    assert out.rstrip().endswith(PROMPT + "\nBye! Happy studying.")


def test_help_list_and_modes() -> None:
    """help lists the commands, list shows lessons with their language, modes lists modes."""
    _, out = drive("help\nhelp trace\nlist gather\nmodes\nquit\n")
    assert "show <lesson> [mode] [narrow|wide]" in out
    assert "trace <lesson> [step]: walk a lesson's execution table step by step" in out
    assert "python-gather-failures" in out and "Python asyncio · ~12 min" in out
    assert "Modes: overview, flow, code, table, tracker, moments, snapshot, transcript" in out
    assert out.rstrip().endswith("Bye! Happy studying.")


def test_show_with_prefix_and_every_mode() -> None:
    """show accepts an id prefix and renders each mode of the lesson."""
    modes = ["overview", "flow", "code", "table", "tracker", "moments", "snapshot", "transcript"]
    script = "".join(f"show node {m}\n" for m in modes) + "exit\n"
    _, out = drive(script)
    assert "Sequential vs parallel async execution in Node.js\n-----" in out
    assert "## " not in out and "```" not in out
    assert "await Promise.all([task1(), task2()]);" in out
    assert "3    | Call task2()" in out
    assert "task1Status | Not started" in out
    assert "- Use parallel to save time when tasks don't depend on each other" in out
    assert "This lesson shows two ways to run asynchronous tasks" in out


def test_show_narrow_table() -> None:
    """'narrow' gives the phone-sized table."""
    _, out = drive("show node table narrow\n")
    assert "Step 3 · Call task2()\n  Task 1 Status: Finished\n  Task 2 Status: Started" in out


def test_bare_lesson_id_shows_overview() -> None:
    """Typing a lesson id (or unique prefix) on its own shows its overview."""
    _, out = drive("python-semaphore\n")
    assert "> Limiting concurrency in asyncio" in out


def test_trace_walks_forward_back_and_jumps() -> None:
    """trace moves with n, Enter, p, f, l, numbers and goto, and q leaves it."""
    _, out = drive("trace node\nn\n\np\nl\nf\n6\ngoto 4\nq\nquit\n")
    prompts = [line.split(">")[0] for line in out.split("\n") if line.startswith("trace ")]
    assert prompts == [
        "trace 1/8",
        "trace 2/8",
        "trace 3/8",
        "trace 2/8",
        "trace 8/8",
        "trace 1/8",
        "trace 6/8",
        "trace 4/8",
    ]
    assert "Left the trace of node-sequential-vs-parallel." in out
    assert "Tracker (After Step 3)" in out
    assert out.rstrip().endswith("Bye! Happy studying.")


def test_trace_edges_and_bad_input() -> None:
    """Stepping past either end, a bad step and garbage each get a friendly line."""
    _, out = drive("trace python-gather-v\np\nl\nn\n0\n99\ngoto x\nfoo bar\n?\nq\n")
    assert "This is the first step. Type n for the next one." in out
    assert "That was the last step. Type f to start over or q to leave." in out
    assert "There is no step 0: this trace has steps 1-10." in out
    assert "There is no step 99: this trace has steps 1-10." in out
    assert "Use a step number, e.g. 3 or goto 3." in out
    assert "I did not understand 'foo bar'." in out


class CtrlC(io.StringIO):
    """Standard input on which a line reading ``^C`` is the user pressing Ctrl-C instead."""

    def readline(self, size: int | None = -1, /) -> str:
        line = super().readline()
        if line == "^C\n":
            raise KeyboardInterrupt
        return line


def test_ctrl_c_drops_the_line_and_does_nothing_else() -> None:
    """Ctrl-C is not Enter: the trace stays on its step, and the main prompt runs nothing."""
    stdout = io.StringIO()
    code = run_console(LIBRARY, stdin=CtrlC("trace node\n^C\nq\n^C\nlist\n"), stdout=stdout)
    out = stdout.getvalue()
    assert code == 0
    assert "(Ctrl-C: line dropped. Type q to leave the trace.)" in out
    assert out.count("trace 1/8> ") == 2 and "trace 2/8> " not in out
    assert "(Ctrl-C: line dropped. Type quit to leave studybot.)" in out
    assert "Unknown command" not in out
    listed = "node-sequential-vs-parallel  Sequential vs parallel"
    assert listed in out.split("Left the trace")[1]  # list still ran


def test_q_at_the_main_prompt_does_not_leave_studybot() -> None:
    """q leaves a trace or a quiz; one q too many says how to leave instead of leaving."""
    _, out = drive("trace node\nq\nq\nlist\nquit\n")
    assert "To leave studybot, type quit (q leaves a trace or a quiz)." in out
    assert out.count("Bye! Happy studying.") == 1
    assert out.index("To leave studybot") < out.index("Bye!")
    listed = "node-sequential-vs-parallel  Sequential vs parallel"
    assert listed in out.split("To leave studybot")[1]


def test_trace_can_start_at_a_step() -> None:
    """trace node 3 opens the walkthrough at step 3; a step out of range is named."""
    _, out = drive("trace node 3\nq\ntrace node 9\ntrace node x\ntrace\n")
    assert "trace 3/8> " in out and "trace 1/8> " not in out
    assert "node-sequential-vs-parallel has steps 1-8; there is no step 9." in out
    assert out.count("Use: trace <lesson> [step], e.g. trace node 3.") == 2


def test_eof_inside_trace_exits_cleanly() -> None:
    """End of input in the middle of a trace ends the console with 0."""
    code, out = drive("trace node\nn\n")
    assert code == 0
    assert "trace 2/8> " in out


class TerminalInput(io.StringIO):
    """Stdin as a terminal gives it: Ctrl-D (an empty read) once, then more typed lines."""

    def __init__(self, *typed: str) -> None:
        super().__init__()
        self._reads = list(typed)

    def readline(self, size: int | None = -1) -> str:
        return self._reads.pop(0) if self._reads else ""


def test_ctrl_d_inside_a_trace_leaves_only_the_trace() -> None:
    """Ctrl-D at the trace prompt leaves the trace, as at a quiz prompt; studybot goes on."""
    stdout = io.StringIO()
    stdin = TerminalInput("trace node\n", "n\n", "", "list\n")
    assert run_console(LIBRARY, stdin=stdin, stdout=stdout) == 0
    out = stdout.getvalue()
    assert "Left the trace of node-sequential-vs-parallel." in out
    after = out[out.index("Left the trace") :]
    assert "4 lessons" in after or "node-sequential-vs-parallel" in after  # list still ran
    assert after.rstrip().endswith("Bye! Happy studying.")


def test_mistakes_get_friendly_messages() -> None:
    """Unknown commands, lessons and modes, and missing arguments, get one helpful line each."""
    _, out = drive("shwo node\nshow\nshow nosuch\nshow python\nshow node diagram\ntrace\nhelp zz\n")
    assert "Unknown command 'shwo'. Did you mean 'show'?" in out
    assert "Which lesson? Use: show <lesson> [mode]" in out
    assert "There is no lesson called 'nosuch'." in out
    assert "There is no lesson called 'python'. Did you mean python-gather-failures" in out
    assert "There is no mode 'diagram'." in out
    assert "Which lesson? Use: trace <lesson>" in out
    assert "There is no command 'zz'." in out
    assert "Traceback" not in out


def test_extra_commands_can_be_registered() -> None:
    """Commands registered by other features run, can read input, and show UserErrors."""

    def greet(console: Console, args: list[str]) -> None:
        answer = console.read_line("your name? ")
        console.write(f"hello {answer} {' '.join(args)}")

    def fail(console: Console, args: list[str]) -> None:
        raise UserError("That did not work, try again.")

    def crash(console: Console, args: list[str]) -> None:
        raise RuntimeError("boom")

    extra = [
        ConsoleCommand("greet", "say hello", greet, "greet [words]"),
        ConsoleCommand("fail", "fail politely", fail),
        ConsoleCommand("crash", "fail badly", crash),
    ]
    _, out = drive("help\ngreet a b\nAda\nfail\ncrash\n", extra_commands=extra)
    assert "greet [words]" in out
    assert "your name? hello Ada a b" in out
    assert "That did not work, try again." in out
    assert "Sorry, something went wrong with that command." in out
    assert "boom" not in out


def test_register_refuses_taken_names() -> None:
    """Registering a name or alias that exists raises ValueError."""
    console = Console(LIBRARY, stdin=io.StringIO(), stdout=io.StringIO())
    with pytest.raises(ValueError):
        console.register(ConsoleCommand("show", "again", lambda c, a: None))
    with pytest.raises(ValueError):
        console.register(ConsoleCommand("bye", "x", lambda c, a: None, aliases=("exit",)))
    with pytest.raises(ValueError):
        console.register(ConsoleCommand("Bad Name", "x", lambda c, a: None))


def test_a_long_name_echoed_back_says_it_was_cut() -> None:
    """What the user typed is echoed at most so long, and a cut ends in "…"."""
    long = "x" * 200
    _, out = drive(f"show {long}\nzz{long}\n")
    out = " ".join(out.split())  # the console wraps long lines
    assert f"There is no lesson called '{'x' * 79}…'." in out
    assert f"Unknown command 'zz{'x' * 37}…'." in out


def test_a_word_too_many_is_refused_with_the_usage() -> None:
    """Extra words are not silently dropped: the command says what it takes."""
    _, out = drive("show node table wide extra\nmodes node\nhelp show me\n")
    assert "'show' does not take 'extra'. Use: show <lesson> [mode] [narrow|wide]" in out
    assert "'modes' does not take 'node'. Use: modes" in out
    assert "'help' does not take 'me'. Use: help [command]" in out
    assert "Execution table" not in out


def test_empty_library_still_helps() -> None:
    """With no lessons the banner says so and commands still answer."""
    _, out = drive("list\nshow x\n", library=LessonLibrary())
    assert out.count("No lessons are loaded.") == 2  # the banner and the list command
    assert "There is no lesson called 'x'." in out


def test_control_characters_and_long_lines() -> None:
    """Control characters are stripped and very long lines refused politely."""
    _, out = drive("\x1b[Ashow\x00 node\x07\n" + "x" * 5000 + "\n")
    assert "Sequential vs parallel async execution in Node.js" in out
    assert "That line is too long (5000 characters)" in out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(["trace node", "n", "p", "goto", "goto -1", "show node", "9" * 30]),
        ),
        max_size=15,
    )
)
def test_no_input_raises(lines: list[str]) -> None:
    """Any sequence of input lines ends cleanly with 0 and prints no traceback."""
    code, out = drive("\n".join(lines) + "\n")
    assert code == 0
    assert "Traceback" not in out
    assert "Sorry, something went wrong" not in out


def test_main_loads_content_dir_and_reports_problems(tmp_path: Path) -> None:
    """main() loads lessons from the configured directory and lists broken files first."""
    from bot.config import Settings
    from bot.console import main

    seed = ROOT / "content" / "lessons" / "node-sequential-vs-parallel.yaml"
    (tmp_path / "seed.yaml").write_text(seed.read_text())
    (tmp_path / "broken.yaml").write_text("id: [\n")
    stdout = io.StringIO()
    code = main(Settings(content_dir=tmp_path), stdin=io.StringIO("list\n"), stdout=stdout)
    out = stdout.getvalue()
    assert code == 0
    assert out.startswith("Some lesson files have problems and were skipped:\n")
    assert f"{tmp_path / 'broken.yaml'}: invalid YAML" in out
    assert "node-sequential-vs-parallel" in out


def test_terminal_text_drops_markdown_but_keeps_code_verbatim() -> None:
    """Headings, bold and spans become plain text; fenced lines stay exactly as they were."""
    from bot.console import terminal_text

    text = "## Title\n**Bold** and `code`\n```py\ndef f(**kwargs): `x`\n```\n" + "word " * 40
    out = terminal_text(text, width=50)
    lines = out.split("\n")
    assert lines[:3] == ["Title", "-----", "Bold and code"]
    assert "def f(**kwargs): `x`" in lines
    assert all(len(line) <= 50 for line in lines)
    assert out.split().count("word") == 40
