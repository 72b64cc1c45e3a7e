-- 0001_quiz_runs_and_answers
-- revises: (empty database)
-- date: 2026-11-25
-- reason: the quiz core needs guilds, users with their latest display name,
--         quiz runs (personal, review and channel rounds, with the round state
--         needed to close a round left open by a restart) and one answer per
--         user, question and run.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE guilds (
    id         INTEGER PRIMARY KEY,   -- Discord guild id; 0 = direct messages / console
    created_at INTEGER NOT NULL       -- unix milliseconds
);
INSERT INTO guilds (id, created_at) VALUES (0, 0);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,   -- Discord user id
    name       TEXT NOT NULL,         -- latest display name, so boards need no API call per row
    updated_at INTEGER NOT NULL
);

CREATE TABLE quiz_runs (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('personal', 'review', 'round')),
    guild_id         INTEGER NOT NULL REFERENCES guilds (id),
    channel_id       INTEGER,
    owner_id         INTEGER NOT NULL REFERENCES users (id),
    lesson_id        TEXT NOT NULL,
    questions        TEXT NOT NULL,   -- question indexes asked, comma-separated, in order
    seconds          INTEGER,         -- rounds: the answer window of each question
    message_id       INTEGER,         -- rounds: the message showing the question
    current_question INTEGER,         -- rounds: position of the open question, NULL if none
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    score            INTEGER,
    answered         INTEGER,
    correct          INTEGER,
    counts_for_leaderboard INTEGER NOT NULL DEFAULT 0 CHECK (counts_for_leaderboard IN (0, 1))
);
CREATE INDEX quiz_runs_by_guild ON quiz_runs (guild_id, id);
-- One round at a time per channel, and a cheap way to find rounds left open.
CREATE UNIQUE INDEX quiz_runs_open_round ON quiz_runs (channel_id)
    WHERE kind = 'round' AND finished_at IS NULL;

CREATE TABLE answers (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES quiz_runs (id),
    user_id        INTEGER NOT NULL REFERENCES users (id),
    question_index INTEGER NOT NULL,  -- index into the lesson's quiz
    choice         TEXT NOT NULL,
    correct        INTEGER NOT NULL CHECK (correct IN (0, 1)),
    hint_used      INTEGER NOT NULL CHECK (hint_used IN (0, 1)),
    answer_ms      INTEGER NOT NULL,  -- time from question shown to answer
    points         INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (run_id, user_id, question_index)
);
