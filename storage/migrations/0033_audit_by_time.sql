-- The retention trigger of 0006 compares each deleted row with MAX(at): with this index that is one
-- lookup instead of a scan of the whole log per deleted row.
CREATE INDEX audit_by_time ON audit_log (at);
