-- Outbound rows keep the time they were first due: a row waiting in retry backoff (or for a
-- recipient's rate window) still holds the later rows of the same recipient, while a row scheduled
-- for later (quiet hours) does not. Sent rows are indexed by recipient and time: the sender counts
-- them to stay inside WeCom's per-member window, across restarts.
ALTER TABLE outbound ADD COLUMN due_at TEXT;

UPDATE outbound SET due_at = not_before;

CREATE INDEX outbound_sent_by_key ON outbound (order_key, sent_at) WHERE status = 'sent';
