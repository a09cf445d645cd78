-- An expense may carry several invoices (one upload with many, filed as lines of one expense). The
-- first stays in `invoice` / `invoice_key` as before; all of them are listed in `invoice_lines`, and
-- each line's key is a claim, so no invoice is claimed twice whichever line it was on.
ALTER TABLE expenses ADD COLUMN invoice_lines TEXT;

CREATE TABLE expense_invoice_claims (
    invoice_key TEXT NOT NULL,
    expense_id INTEGER NOT NULL REFERENCES expenses (id),
    PRIMARY KEY (invoice_key, expense_id)
);

CREATE INDEX expense_invoice_claims_by_expense ON expense_invoice_claims (expense_id);
