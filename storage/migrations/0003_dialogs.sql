-- Conversations in progress: one row per user, written on every turn so a restart continues
-- the dialog exactly where it was.

CREATE TABLE dialogs (
    user_id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX dialogs_by_expiry ON dialogs (expires_at);
