"""Garbage-collector settings for a long-running bot with a large, long-lived heap.

CPython's default (a young-generation pass every 700 net allocations) runs
collections dozens of times per hundred quiz answers, and full passes walk
every quiz kept in memory; measured with 1,000 answerers, a larger young
threshold plus ``gc.freeze()`` of the start-up objects cut the event loop's
CPU per answer by about a fifth and its worst pauses from ~100 ms to ~20 ms.
Reference cycles are still collected, just in bigger, rarer steps.

A pass stops the event loop for as long as it takes to walk its generation,
so the thresholds set the pauses. Since a quiz keeps only three objects
(``PersonalQuiz``, its last result and its summary; past answers are plain
tuples), few objects outlive a young pass, and 10,000 keeps each young pause
at 3-11 ms, where 50,000 meant 12-58 ms. What does outlive one is walked again
by the next middle-generation pass: after every second young pass instead of
every tenth, that pause was 18-28 ms instead of 51 ms in 20-second runs at
20,000 answers/s (bench/RESULTS.md).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
MIDDLE_THRESHOLD = 2


def tune_collector() -> None:
    """Set the thresholds above and freeze everything allocated so far."""
    gc.collect()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, 10)
    gc.freeze()
