-- Several instances on one database (PostgreSQL only; a SQLite file has one worker):
-- whose messages each instance handles, which instance runs each loop that must run once per
-- fleet, and the WeCom access token all instances share. Lease times are the database's clock,
-- so instances on machines whose clocks differ still agree on when a lease has run out.

-- One user's messages are handled by one instance at a time, in order: it holds the user's claim.
CREATE TABLE inbox_claims (
    user_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX inbox_claims_by_owner ON inbox_claims (owner);

CREATE INDEX inbox_pending_by_user ON inbox (user_id, id) WHERE status = 'pending';

-- The scheduler, the outbound sender and the webhook delivery run on the instance holding their lease.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- One gettoken for the fleet: the token is kept here (keyed by a digest of corp id and secret) until shortly
-- before it expires.
CREATE TABLE wecom_tokens (
    key TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
