-- The process figures read time ranges: index the times they filter on.
CREATE INDEX expenses_by_submitted ON expenses (submitted_at);

CREATE INDEX expenses_by_decided ON expenses (decided_at);

CREATE INDEX expenses_by_paid ON expenses (paid_at);

CREATE INDEX approval_tasks_by_decided ON approval_tasks (decided_at);

CREATE INDEX approval_tasks_open ON approval_tasks (status, expense_id);

CREATE INDEX outbound_by_created ON outbound (created_at);

CREATE INDEX ratings_by_rated ON ratings (rated_at);
