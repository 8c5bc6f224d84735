-- `Idempotency-Key`s of the calls that change state (`shared::idempotency`), in every
-- database of a service that takes them: one row per scope and key, the request's
-- fingerprint, `in_progress` or `done`, the stored answer once done, and until when an
-- unfinished claim holds the key. Older rows are purged after the retention period.
-- IF NOT EXISTS: settlement's ledger migration and the broker's order keys created this
-- table before shared owned it, and databases made then already hold it.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    locked_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
