-- Core tables: inbox (durable callbacks), outbound messages, card response codes,
-- the org chart mirrored from WeCom, timers, and the hash-chained audit log.

CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    user_id TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    event TEXT,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    processed_at TEXT,
    error TEXT
);

CREATE INDEX inbox_pending ON inbox (status, id);

CREATE TABLE outbound (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    order_key TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    last_error TEXT,
    result TEXT
);

CREATE INDEX outbound_due ON outbound (status, not_before, id);

CREATE TABLE card_codes (
    task_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    response_code TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id INTEGER NOT NULL DEFAULT 0,
    sort_order INTEGER NOT NULL DEFAULT 0,
    leaders TEXT NOT NULL DEFAULT '[]',
    synced_at TEXT NOT NULL
);

CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status INTEGER NOT NULL,
    main_department INTEGER,
    direct_leaders TEXT NOT NULL DEFAULT '[]',
    position TEXT NOT NULL DEFAULT '',
    synced_at TEXT NOT NULL
);

CREATE TABLE user_departments (
    user_id TEXT NOT NULL,
    department_id INTEGER NOT NULL,
    is_leader INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, department_id)
);

CREATE INDEX user_departments_by_department ON user_departments (department_id, user_id);

CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE tag_users (
    tag_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (tag_id, user_id)
);

CREATE TABLE timers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    timer_key TEXT NOT NULL UNIQUE,
    due_at TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending',
    fired_at TEXT
);

CREATE INDEX timers_due ON timers (status, due_at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX audit_by_subject ON audit_log (subject, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TRIGGER audit_log_retention BEFORE DELETE ON audit_log WHEN old.at > strftime('%Y-%m-%dT%H:%M:%S', 'now', '-180 days') BEGIN SELECT RAISE(ABORT, 'audit rows are kept at least 180 days'); END;

CREATE INDEX outbound_by_key ON outbound (order_key, status, id);

CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL
);
