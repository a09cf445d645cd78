-- PostgreSQL twin of ../0070_invoice_lines.sql: an expense may carry several invoices, listed in
-- `invoice_lines` (JSON as text, as everywhere); each line's key is a claim.
ALTER TABLE expenses ADD COLUMN invoice_lines TEXT;

CREATE TABLE expense_invoice_claims (
    invoice_key TEXT NOT NULL,
    expense_id BIGINT NOT NULL REFERENCES expenses (id),
    PRIMARY KEY (invoice_key, expense_id)
);

CREATE INDEX expense_invoice_claims_by_expense ON expense_invoice_claims (expense_id);
