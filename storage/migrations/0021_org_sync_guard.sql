-- Full syncs that would deactivate too many people wait for an admin's confirmation in chat
-- (accidental-delete prevention); tags remember when they were last written, so a full sync that
-- read WeCom before a contact event does not undo that event.
CREATE TABLE org_sync_holds (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    deactivations INTEGER NOT NULL,
    active INTEGER NOT NULL,
    sample TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'waiting',
    decided_by TEXT,
    decided_at TEXT
);

ALTER TABLE tags ADD COLUMN synced_at TEXT;
