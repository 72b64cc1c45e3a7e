"""The console's quiz, leaderboard, stats and demo commands, driven through stdin."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from bot.config import Settings
from bot.console import main as console_main
from bot.console_features import ConsoleSession, feature_commands

SEED = "node-sequential-vs-parallel"


def _run(settings: Settings, text: str) -> str:
    session = ConsoleSession(settings)
    out = io.StringIO()
    try:
        code = console_main(
            settings, stdin=io.StringIO(text), stdout=out, extra_commands=feature_commands(session)
        )
    finally:
        session.close()
    assert code == 0
    return out.getvalue()


def test_quiz_then_leaderboard_and_stats(tmp_path: Path) -> None:
    """A quiz taken in the console is committed and shows on the local board and stats."""
    settings = Settings(database_path=tmp_path / "local.db")
    out = _run(
        settings,
        f"quiz {SEED}\nh\nA\nB\nD\nleaderboard {SEED} forever\nleaderboard month\nleaderboard\n"
        "stats\nleaderboard python-sem\nquit\n",
    )
    assert "'forever' is not a period: use week or all" in out
    assert "There is no lesson called 'month'. Type list to see the lessons. A period is" in out
    assert "(With the hint, a right answer scores 50 points instead of 100.)" in out
    assert f"See the trace at steps 2, 3: trace {SEED}, then type 2" in out
    assert "💡 Check the 'Action' and 'Task 2 Status' columns" in out
    assert "Right! The answer is A) Step 3  (+50 points, hint used)" in out
    assert "Not quite. The answer is C) Task2 starts immediately after task1 starts" in out
    assert "2/3 correct, 150/300 points." in out
    assert "This run counts for the leaderboard." in out
    assert "150 pts" in out
    assert "2/3 correct (67%), in finished quizzes" in out
    assert "Nobody has finished this lesson's quiz yet. Try: quiz python-semaphore-limits" in out
    with sqlite3.connect(tmp_path / "local.db") as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 3


def test_second_run_is_practice_and_review_covers_missed(tmp_path: Path) -> None:
    """Only the first completed run counts; review asks only the missed question."""
    settings = Settings(database_path=tmp_path / "local.db")
    _run(settings, f"quiz {SEED}\nA\nB\nC\nquit\n")
    out = _run(settings, f"quiz {SEED}\nA\nA\nC\nquiz review\nB\nquit\n")
    assert "Practice run: only your first completed run" in out
    assert "(practice)" in out and "+100 points" not in out
    review = out[out.rindex("2/3 correct") :]  # after the second run's score
    assert "1 question." in review  # only the one missed (question 2)
    assert "In the parallel execution" in review
    assert "1/1 correct" in review
    assert "a review of the questions you missed; it does not count" in review
    assert "first completed run of this lesson is the one that counts" not in review
    assert "Finish a quiz first" not in out


def test_retry_after_stopping_part_way(tmp_path: Path) -> None:
    """quiz retry starts from the latest run, even one stopped part-way; review waits for it."""
    settings = Settings(database_path=tmp_path / "local.db")
    out = _run(
        settings, f"quiz {SEED}\nA\nB\nC\nquiz retry\nA\nq\nquiz review\nquiz retry\nq\nquit\n"
    )
    flat = " ".join(out.split())
    assert out.count("3 questions.") == 3
    assert "stopped before the end, so it has nothing to review yet. Type quiz retry" in flat
    assert "Going on where you stopped: question 2 of 3." in flat  # not a third run
    assert "already started" not in out
    with sqlite3.connect(tmp_path / "local.db") as db:
        assert db.execute("SELECT COUNT(*) FROM quiz_runs").fetchone()[0] == 2


def test_quiz_garbage_and_quit_midway(tmp_path: Path) -> None:
    """Bad letters get a friendly line; q stops the quiz and keeps given answers."""
    settings = Settings(database_path=tmp_path / "local.db")
    out = _run(settings, f"quiz {SEED}\nZ\n\x1b[A\nA\nq\nquiz nosuchlesson\nquit\n")
    assert "Traceback" not in out
    assert f"Quiz stopped. Answers you gave are saved: type quiz {SEED} to go on." in " ".join(
        out.split()
    )
    assert "There is no lesson called 'nosuchlesson'" in out
    with sqlite3.connect(tmp_path / "local.db") as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1


def test_demo_runs_in_the_console(tmp_path: Path) -> None:
    """demo runs the scenario live and prints the report; bad input is explained."""
    settings = Settings(database_path=tmp_path / "local.db")
    out = _run(
        settings,
        "demo SEQ 0.05 0.06\ndemo warp\ndemo parallel x\ndemo parallel 40\n"
        "demo parallel 1 2 3 4 5\ndemo semaphore 0.2 0.05 0.05 0.05\nquit\n",
    )
    assert "task1 must be between 0.05 and 10 seconds" in out
    assert "studybot demo:" not in out
    assert "Execution table" in out
    assert "task2 starts" in out.lower() or "task2  started" in out
    assert "There is no demo mode warp. Choose one of: sequential, parallel" in out
    assert "Usage: demo <mode> [seconds for task1, task2, and up to two more" in out  # a fifth
    assert "'x' is not a number of seconds" in out
    # The semaphore lesson's case, 4 1 1 1 scaled down: four tasks as given, done when
    # task1 is (the short ones share the other slot).
    semaphore = out[out.rindex("semaphore") :]
    assert "task4" in semaphore and "ideal 200.0 ms" in semaphore


def test_an_empty_answer_line_asks_again_quietly(tmp_path: Path) -> None:
    """Enter alone (or a line Ctrl-C dropped) at the answer prompt is not a wrong choice."""
    settings = Settings(database_path=tmp_path / "local.db")
    out = _run(settings, f"quiz {SEED}\n\n   \nA\nq\nquit\n")
    assert "is not one of the choices" not in out
    assert out.count("answer [A/B/C/D, h, q]>") == 4
    assert "Right! The answer is A) Step 3" in out


def test_a_word_is_not_an_answer_even_if_it_starts_with_a_letter(tmp_path: Path) -> None:
    """'ant' is not A and 'demo compare' is not D: only a single letter answers."""
    settings = Settings(database_path=tmp_path / "local.db")
    out = _run(settings, f"quiz {SEED}\nant\ndemo compare\nb\nq\nquit\n")
    assert "'ant' is not an answer. Type one letter (A/B/C/D), h for the hint or q to stop." in out
    assert "'demo compare' is not an answer." in out
    assert out.count("Question 1 of 3:") == 1  # asked again without printing it again
    assert "Not quite. The answer is A) Step 3" in out  # the lower-case b was the answer
    with sqlite3.connect(tmp_path / "local.db") as db:
        assert db.execute("SELECT question_index, choice FROM answers").fetchall() == [(0, "B")]


def test_an_unusable_database_is_named_with_the_setting_to_change(tmp_path: Path) -> None:
    """Lessons work without a database; quiz says which file failed and what to set."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = Settings(database_path=blocker / "local.db")  # its folder cannot be made
    out = " ".join(_run(settings, f"list\nquiz {SEED}\nstats\nquit\n").split())  # unwrapped
    assert "node-sequential-vs-parallel" in out  # the lessons still work
    assert out.count(f"Cannot open the database {blocker / 'local.db'}") == 2
    assert f"{blocker} is not a folder" in out  # not "File exists"
    assert "set STUDYBOT_DATABASE to a file you can write" in out


def test_a_database_from_a_newer_studybot_is_one_clean_sentence(tmp_path: Path) -> None:
    """The migration error's own full stop is not doubled by the console's advice after it."""
    database = tmp_path / "newer.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
        db.execute("INSERT INTO schema_version VALUES (999, 'later')")
    out = " ".join(_run(Settings(database_path=database), "stats\nquit\n").split())
    assert "left untouched. Quizzes, the leaderboard" in out and ".." not in out


def test_review_and_retry_pick_up_the_last_quiz_after_a_restart(tmp_path: Path) -> None:
    """A new console session reviews the quiz finished in the one before."""
    settings = Settings(database_path=tmp_path / "local.db")
    _run(settings, f"quiz {SEED}\nA\nA\nC\nquit\n")  # question 2 missed
    out = " ".join(_run(settings, "quiz review\nB\nquiz retry\nq\nquit\n").split())
    assert "Finish a quiz first" not in out
    assert "1 question." in out and "In the parallel execution" in out
    assert "1/1 correct" in out
    assert "3 questions." in out  # the retry of the lesson


def test_a_database_held_by_another_process_is_named_as_such(tmp_path: Path) -> None:
    """The console says another studybot has the database, not that it cannot write it."""
    from bot.store.lock import lock_database, unlock_database

    settings = Settings(database_path=tmp_path / "local.db")
    held = lock_database(settings.database_path)
    try:
        out = " ".join(_run(settings, f"quiz {SEED}\nquit\n").split())
    finally:
        unlock_database(held)
    assert "another studybot process" in out and "is using it" in out
    assert "a file you can write" not in out


def test_quiz_and_stats_refuse_a_word_too_many(tmp_path: Path) -> None:
    """'quiz node extra' and 'stats someone' say what they take instead of ignoring a word."""
    settings = Settings(database_path=tmp_path / "local.db")
    out = " ".join(_run(settings, "quiz node extra\nstats someone\nquit\n").split())
    assert "'quiz' does not take 'extra'. Use: quiz <lesson> | quiz retry | quiz review" in out
    assert "'stats' does not take 'someone'. Use: stats" in out
    assert "answer [" not in out  # no quiz was started


def test_a_review_stopped_part_way_goes_on_with_quiz_retry(tmp_path: Path) -> None:
    """A review stopped with q says quiz retry, which goes on with that review."""
    settings = Settings(database_path=tmp_path / "local.db")
    out = " ".join(
        _run(settings, f"quiz {SEED}\nB\nA\nC\nquiz review\nA\nq\nquiz retry\nq\nquit\n").split()
    )
    assert "Answers you gave are saved: type quiz retry to go on." in out
    assert "Going on where you stopped: question 2 of 2." in out
