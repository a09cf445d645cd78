-- Expenses, their daily numbering and their timeline.

CREATE TABLE expense_numbers (
    day TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

CREATE TABLE expenses (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    currency TEXT NOT NULL DEFAULT 'CNY',
    category TEXT NOT NULL,
    expense_date TEXT NOT NULL,
    period_month TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    submitter TEXT NOT NULL,
    department_id INTEGER NOT NULL,
    invoice TEXT,
    invoice_key TEXT,
    file_sha256 TEXT,
    route TEXT NOT NULL DEFAULT '[]',
    current_step INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    decided_at TEXT,
    paid_at TEXT
);

CREATE UNIQUE INDEX expenses_invoice_claim ON expenses (invoice_key)
    WHERE invoice_key IS NOT NULL AND status NOT IN ('rejected', 'withdrawn');

CREATE UNIQUE INDEX expenses_file_claim ON expenses (file_sha256)
    WHERE file_sha256 IS NOT NULL AND status NOT IN ('rejected', 'withdrawn');

CREATE INDEX expenses_by_submitter ON expenses (submitter, id);

CREATE INDEX expenses_by_status ON expenses (status, id);

CREATE INDEX expenses_usage ON expenses (department_id, period_month, category, status);

CREATE TABLE expense_events (
    id INTEGER PRIMARY KEY,
    expense_id INTEGER NOT NULL REFERENCES expenses (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX expense_events_by_expense ON expense_events (expense_id, id);
