"""Which tracker checkpoint a trace step shows, and whether it was taken at that step."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.lessons.loader import load_lesson_file

SEED = load_lesson_file(
    Path(__file__).resolve().parents[3] / "content" / "lessons" / "node-sequential-vs-parallel.yaml"
)


@pytest.mark.parametrize(
    ("step", "label", "exact", "task1"),
    [
        (1, "After Step 1", True, "Started"),
        (2, "After Step 1", False, "Started"),
        (3, "After Step 3", True, "Finished"),
        (5, "After Step 4", False, "Finished"),
        (7, "After Step 7", True, "Finished"),
        (8, "Final", True, "Finished"),
    ],
)
def test_seed_trace_steps_pick_the_right_checkpoint(
    step: int, label: str, exact: bool, task1: str
) -> None:
    """Steps with a checkpoint show it exactly; others show the latest earlier one, flagged."""
    state = SEED.tracker_at(step)
    assert (state.checkpoint.label, state.exact, state.values["task1Status"]) == (
        label,
        exact,
        task1,
    )


def test_final_checkpoint_belongs_to_the_last_step() -> None:
    """The seed's Final column (no step of its own) is what the last step shows."""
    assert SEED.tracker_at(SEED.table.steps[-1]).checkpoint.label == "Final"


def test_trace_step_says_when_the_tracker_was_not_recorded() -> None:
    """Step 2 has no checkpoint: no earlier values contradict its row; the checkpoints are named."""
    from bot.lessons.render import render_trace_step

    step2 = render_trace_step(SEED, 2)
    assert (
        "**Tracker**: not recorded at step 2; the row above is the state now. "
        "The lesson records it at: Start, After Step 1, After Step 3, After Step 4, "
        "After Step 6, After Step 7, Final."
    ) in step2
    assert "task1Status" not in step2
    assert "**Tracker** (After Step 3)" in render_trace_step(SEED, 3)
    assert "**Tracker** (Final)" in render_trace_step(SEED, 8)
