-- 0002_scores_and_streaks
-- revises: 0001_quiz_runs_and_answers
-- date: 2026-11-25
-- reason: leaderboards must be an indexed read, never a scan of answers, so
--         scores are kept per guild, lesson ('' = all lessons), week (0 = all
--         time) and user, and updated when a run finishes; the first completed
--         run of a lesson is remembered so later runs are practice; per-user
--         stats, streaks (by UTC day) and misses per question feed /stats.

CREATE TABLE scores (
    guild_id  INTEGER NOT NULL,
    lesson_id TEXT NOT NULL,          -- '' = all lessons
    week      INTEGER NOT NULL,       -- 0 = all time; else Monday-based weeks since 1970-01-01
    user_id   INTEGER NOT NULL,
    points    INTEGER NOT NULL,
    PRIMARY KEY (guild_id, lesson_id, week, user_id)
) WITHOUT ROWID;
CREATE INDEX scores_ranking ON scores (guild_id, lesson_id, week, points DESC, user_id);

CREATE TABLE lesson_completions (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    lesson_id    TEXT NOT NULL,
    run_id       INTEGER NOT NULL,    -- the run that counted for the leaderboard
    completed_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, lesson_id)
) WITHOUT ROWID;

CREATE TABLE user_stats (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    runs     INTEGER NOT NULL,        -- finished runs and rounds taken part in
    answered INTEGER NOT NULL,
    correct  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

CREATE TABLE streaks (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    current  INTEGER NOT NULL,        -- consecutive UTC days ending at last_day
    best     INTEGER NOT NULL,
    last_day INTEGER NOT NULL,        -- days since 1970-01-01 (UTC)
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

CREATE TABLE user_question_stats (
    guild_id       INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    lesson_id      TEXT NOT NULL,
    question_index INTEGER NOT NULL,
    attempts       INTEGER NOT NULL,
    misses         INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, lesson_id, question_index)
) WITHOUT ROWID;
