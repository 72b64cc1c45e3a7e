-- 0004_lessons_done
-- revises: 0003_choice_counts
-- date: 2026-11-25
-- reason: /stats counted "lessons done" from lesson_completions, the leaderboard
--         claims that /admin reset-scores deletes (so each lesson's next run
--         counts again): a reset also wiped everyone's lessons done while their
--         runs and answers stayed. Finishing a lesson is kept here instead,
--         and a reset leaves it alone.

CREATE TABLE lessons_done (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    lesson_id   TEXT NOT NULL,
    finished_at INTEGER NOT NULL,    -- the first finished personal run
    PRIMARY KEY (guild_id, user_id, lesson_id)
) WITHOUT ROWID;

-- Every lesson already finished: personal runs (claims were made from those
-- only; a reset may have deleted some of the claims, never the runs).
INSERT INTO lessons_done (guild_id, user_id, lesson_id, finished_at)
SELECT guild_id, owner_id, lesson_id, min(finished_at)
FROM quiz_runs
WHERE kind = 'personal' AND finished_at IS NOT NULL
GROUP BY guild_id, owner_id, lesson_id;
