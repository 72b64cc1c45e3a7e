"""Garbage-collector settings for a long-running bot with a large, long-lived heap.

CPython's default (a young-generation pass every 700 net allocations) runs
collections dozens of times per hundred quiz answers, and full passes walk
every quiz kept in memory; measured with 1,000 answerers, a larger young
threshold plus ``gc.freeze()`` of the start-up objects cut the event loop's
CPU per answer by about a fifth and its worst pauses from ~100 ms to ~20 ms.
Reference cycles are still collected, just in bigger, rarer steps.

A pass stops the event loop for as long as it takes to walk the young
objects, so the threshold sets the pause. Since a quiz keeps only its last
answer's result object (``PersonalQuiz.last``), few objects outlive a pass,
and 10,000 keeps each pause at 4-8 ms, where 50,000 meant 12-58 ms
(bench/RESULTS.md, open loop at 20,000 and 30,000 answers/s).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """Raise the young-generation threshold and freeze everything allocated so far."""
    gc.collect()
    gc.set_threshold(YOUNG_THRESHOLD, 10, 10)
    gc.freeze()
