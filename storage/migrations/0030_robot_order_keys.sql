-- Robot messages used to queue under `robot:<webhook key>`, which put a credential into logs and the
-- admins' failed-message list. New rows use a digest of the key; existing rows get a neutral name
-- per robot (its first row's id), so their order and grouping stay as they were.
UPDATE outbound SET order_key = legacy.name FROM (SELECT order_key AS old, 'robot:legacy-' || MIN(id) AS name FROM outbound WHERE order_key LIKE 'robot:%' GROUP BY order_key) AS legacy WHERE outbound.order_key = legacy.old;
