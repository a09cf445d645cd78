-- Budgets, their usage aggregate, threshold alert state, payables and the webhook outbox.

CREATE TABLE budgets (
    id TEXT PRIMARY KEY,
    department_id INTEGER NOT NULL,
    period TEXT NOT NULL,
    month_from TEXT NOT NULL,
    month_to TEXT NOT NULL,
    category TEXT,
    amount_fen INTEGER NOT NULL,
    owner TEXT NOT NULL,
    alert_chat_id TEXT,
    robot_key TEXT,
    thresholds TEXT NOT NULL DEFAULT '[80,100]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX budgets_by_department ON budgets (department_id, month_from, month_to);

CREATE INDEX budgets_by_period ON budgets (period, department_id);

-- Thresholds already announced for a budget; a row is removed when usage drops below it again.
CREATE TABLE budget_alerts (
    budget_id TEXT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    threshold INTEGER NOT NULL,
    fired_at TEXT NOT NULL,
    percent TEXT NOT NULL,
    PRIMARY KEY (budget_id, threshold)
);

-- Used (approved + paid) and pending (submitted) amounts per (department, month, category), kept exact
-- by the triggers below in the same transaction as every expense insert, update and delete: budget
-- queries read a few aggregate rows per budget instead of scanning expenses.
CREATE TABLE expense_usage (
    department_id INTEGER NOT NULL,
    period_month TEXT NOT NULL,
    category TEXT NOT NULL,
    used_fen INTEGER NOT NULL DEFAULT 0,
    pending_fen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (department_id, period_month, category)
) WITHOUT ROWID;

INSERT INTO expense_usage (department_id, period_month, category, used_fen, pending_fen)
SELECT department_id, period_month, category,
    SUM(CASE WHEN status IN ('approved', 'paid') THEN amount_fen ELSE 0 END),
    SUM(CASE WHEN status = 'submitted' THEN amount_fen ELSE 0 END)
FROM expenses GROUP BY department_id, period_month, category;

CREATE TRIGGER expense_usage_on_insert AFTER INSERT ON expenses WHEN new.status IN ('submitted', 'approved', 'paid') BEGIN INSERT INTO expense_usage (department_id, period_month, category, used_fen, pending_fen) VALUES (new.department_id, new.period_month, new.category, CASE WHEN new.status IN ('approved', 'paid') THEN new.amount_fen ELSE 0 END, CASE WHEN new.status = 'submitted' THEN new.amount_fen ELSE 0 END) ON CONFLICT (department_id, period_month, category) DO UPDATE SET used_fen = used_fen + excluded.used_fen, pending_fen = pending_fen + excluded.pending_fen; END;

CREATE TRIGGER expense_usage_on_update AFTER UPDATE OF status, amount_fen, department_id, period_month, category ON expenses BEGIN UPDATE expense_usage SET used_fen = used_fen - CASE WHEN old.status IN ('approved', 'paid') THEN old.amount_fen ELSE 0 END, pending_fen = pending_fen - CASE WHEN old.status = 'submitted' THEN old.amount_fen ELSE 0 END WHERE department_id = old.department_id AND period_month = old.period_month AND category = old.category; INSERT INTO expense_usage (department_id, period_month, category, used_fen, pending_fen) VALUES (new.department_id, new.period_month, new.category, CASE WHEN new.status IN ('approved', 'paid') THEN new.amount_fen ELSE 0 END, CASE WHEN new.status = 'submitted' THEN new.amount_fen ELSE 0 END) ON CONFLICT (department_id, period_month, category) DO UPDATE SET used_fen = used_fen + excluded.used_fen, pending_fen = pending_fen + excluded.pending_fen; END;

CREATE TRIGGER expense_usage_on_delete AFTER DELETE ON expenses BEGIN UPDATE expense_usage SET used_fen = used_fen - CASE WHEN old.status IN ('approved', 'paid') THEN old.amount_fen ELSE 0 END, pending_fen = pending_fen - CASE WHEN old.status = 'submitted' THEN old.amount_fen ELSE 0 END WHERE department_id = old.department_id AND period_month = old.period_month AND category = old.category; END;

CREATE TABLE payables (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    amount_fen INTEGER,
    due_date TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    note TEXT NOT NULL DEFAULT '',
    reminders INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    acknowledged_at TEXT,
    paid_at TEXT
);

-- The webhook outbox: one row per expense event, delivered in id order per expense number.
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    number TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    delivered_at TEXT
);

CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at, id);

CREATE INDEX webhook_events_by_number ON webhook_events (number, status, id);
