-- The broker keeps its `Idempotency-Key`s where every service keeps them
-- (`shared::idempotency`): `POST /v1/orders` under scope `orders`, the key's SHA-256 as
-- `key` (a key replays its order with a fresh capability: it is a bearer secret), the
-- HMAC fingerprint of the request, and the placed order's id and status as JSON (never a
-- capability). The row is claimed and completed in the order's transaction, so a committed
-- row is always `done`. Rows older than the retention period (30 days at least) are purged.
-- The table is shared's (shared/migrations/idempotency); this moves the old keys into it.

-- An old answer holds the order's id and status among its fields: it reads as the new one.
INSERT INTO idempotency_keys (scope, key, request_hash, state, response_status, response_body, locked_until, created_at)
SELECT 'orders', key_hash, request_hash, 'done', NULL, answer, created_at, created_at
FROM order_keys
WHERE order_id IS NOT NULL AND answer IS NOT NULL;

DROP TABLE order_keys;
