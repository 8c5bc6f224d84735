-- The broker keeps its `Idempotency-Key`s where every service keeps them
-- (`shared::idempotency`): `POST /v1/orders` under scope `orders`, the key's SHA-256 as
-- `key` (a key replays its order with a fresh capability: it is a bearer secret), the
-- HMAC fingerprint of the request, and the placed order's id and status as JSON (never a
-- capability). The row is claimed and completed in the order's transaction, so a committed
-- row is always `done`. Rows older than the retention period (30 days at least) are purged.
CREATE TABLE idempotency_keys (
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
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- An old answer holds the order's id and status among its fields: it reads as the new one.
INSERT INTO idempotency_keys (scope, key, request_hash, state, response_status, response_body, locked_until, created_at)
SELECT 'orders', key_hash, request_hash, 'done', NULL, answer, created_at, created_at
FROM order_keys
WHERE order_id IS NOT NULL AND answer IS NOT NULL;

DROP TABLE order_keys;
