-- Approval tasks: one row per approver asked in one step of an expense's route.
-- The route itself (with its decisions) lives on the expense; these rows index who is waited on,
-- which card belongs to which decision, and whether that card can still be updated.

CREATE TABLE approval_tasks (
    id INTEGER PRIMARY KEY,
    expense_id INTEGER NOT NULL REFERENCES expenses (id),
    number TEXT NOT NULL,
    step INTEGER NOT NULL,
    approver TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    task_id TEXT NOT NULL UNIQUE,
    card_live INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    decided_at TEXT,
    comment TEXT NOT NULL DEFAULT ''
);

CREATE UNIQUE INDEX approval_tasks_one_open ON approval_tasks (expense_id, step, approver)
    WHERE status = 'pending';

CREATE INDEX approval_tasks_by_approver ON approval_tasks (approver, status, created_at);

CREATE INDEX approval_tasks_by_expense ON approval_tasks (expense_id, step, id);
