-- Audit rows are kept at least 180 days behind the newest row. Measured against the log's own
-- head rather than the machine's calendar, so the rule follows the bot's clock (which writes `at`)
-- and a database restored on another machine or date keeps the same protection.
DROP TRIGGER audit_log_retention;

CREATE TRIGGER audit_log_retention BEFORE DELETE ON audit_log WHEN old.at > (SELECT strftime('%Y-%m-%dT%H:%M:%S', MAX(at), '-180 days') FROM audit_log) BEGIN SELECT RAISE(ABORT, 'audit rows are kept at least 180 days'); END;
