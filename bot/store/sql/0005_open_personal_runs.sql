-- 0005_open_personal_runs
-- revises: 0004_lessons_done
-- date: 2026-11-25
-- reason: /quiz start of a lesson whose quiz the user left unfinished now
--         continues that run instead of opening a second one: a learner
--         could otherwise read every right answer (shown after each answer),
--         walk away, and take a fresh run that counts, with full marks.
--         Starting a quiz looks the unfinished run up; this index keeps that
--         look-up to the few open runs, not every run ever taken.
--         A run also keeps whether it was private (/quiz start private:True),
--         so a run continued by a plain /quiz start stays out of the channel,
--         and which version of its lesson's quiz it asks (a hash of the
--         questions): a run whose quiz a content change rewrote is not picked
--         up again, where its answers would be graded by another key.

ALTER TABLE quiz_runs ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
-- Whether an unfinished run from before was private is not known: treat it as
-- private, so going on with it never shows its answers to a channel.
UPDATE quiz_runs SET private = 1 WHERE kind != 'round' AND finished_at IS NULL;
ALTER TABLE quiz_runs ADD COLUMN quiz_version TEXT;  -- NULL: a run from before this migration

CREATE INDEX quiz_runs_open_personal ON quiz_runs (guild_id, owner_id, lesson_id, id)
WHERE kind = 'personal' AND finished_at IS NULL;
