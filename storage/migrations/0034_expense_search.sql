-- The finance API lists expenses newest first by any filter: each filter gets an index that also
-- yields id order, so a page is an index range scan at any depth (status and submitter had one).
CREATE INDEX expenses_by_department ON expenses (department_id, id);

CREATE INDEX expenses_by_date ON expenses (expense_date, id);
