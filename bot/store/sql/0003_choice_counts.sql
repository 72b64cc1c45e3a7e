-- 0003_choice_counts
-- revises: 0002_scores_and_streaks
-- date: 2026-11-25
-- reason: /admin question-stats shows how often each option is chosen (the
--         wrong answers people actually give) without scanning answers; the
--         counts are bumped in the same transaction as the answers.

CREATE TABLE choice_counts (
    guild_id       INTEGER NOT NULL,
    lesson_id      TEXT NOT NULL,
    question_index INTEGER NOT NULL,
    choice         TEXT NOT NULL,
    count          INTEGER NOT NULL,
    PRIMARY KEY (guild_id, lesson_id, question_index, choice)
) WITHOUT ROWID;
