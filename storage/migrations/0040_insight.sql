-- What the process figures, feedback and onboarding need that no table held yet. Each row is
-- written at the source, in the same transaction as the change it describes.

-- Every invoice read for an expense (read, or nothing could be read); when an expense is filed
-- from it, that expense's number and the fields the person changed from what was read.
CREATE TABLE invoice_reads (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    uncertain TEXT NOT NULL DEFAULT '[]',
    number TEXT,
    corrected TEXT
);

CREATE INDEX invoice_reads_by_at ON invoice_reads (at);

-- Every conversation: when it started and how it ended (completed, cancelled, timed_out, replaced, closed).
CREATE TABLE dialog_runs (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    spec TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT
);

CREATE INDEX dialog_runs_open ON dialog_runs (user_id, ended_at);

CREATE INDEX dialog_runs_by_start ON dialog_runs (started_at);

-- Notes people send with 反馈, with what they were doing; reported_at is set by the daily batch.
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    reported_at TEXT
);

CREATE INDEX feedback_by_created ON feedback (created_at);

-- One rating per paid expense, by its submitter (the primary key makes a second tap change nothing).
CREATE TABLE ratings (
    number TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    score INTEGER NOT NULL,
    rated_at TEXT NOT NULL
);

-- What a person has already been shown once: the welcome card, the how-to-decide line.
CREATE TABLE onboarding (
    user_id TEXT PRIMARY KEY,
    welcomed_at TEXT,
    approval_hint_at TEXT
);
