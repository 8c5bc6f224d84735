-- `Idempotency-Key`s of `POST /v1/orders`. A key replays its order's answer with a fresh
-- capability, so it is a bearer secret: only its SHA-256 is kept, and the request's
-- fingerprint is an HMAC keyed with the key, so neither reveals the key or the body.
-- The row is written first in the order's transaction (a concurrent request with the same
-- key waits on it) and completed with `order_id` and `answer` (the first answer without
-- its capability) before that transaction commits: a committed row always has its order.
-- Rows older than the retention period (30 days at least) are purged.
CREATE TABLE order_keys (
    key_hash TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    order_id TEXT REFERENCES orders (id),
    answer TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX order_keys_created ON order_keys (created_at);
