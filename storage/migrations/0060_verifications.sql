-- Actions held for a second verification (approving a large expense, re-sending failed messages,
-- marking a payable paid): the person confirms on an H5 page after a fresh WeCom login. The link's
-- token is stored as its SHA-256 only; `used_at` makes it single-use, `expires_at` short-lived.
CREATE TABLE verifications (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

CREATE INDEX verifications_by_user ON verifications (user_id, created_at);

-- The workbench lists a person's expenses by status and a department's expenses by month.
CREATE INDEX expenses_by_department_month ON expenses (department_id, period_month);
