CREATE TABLE order_keys (
    key_hash TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    order_id TEXT REFERENCES orders (id),
    answer TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX order_keys_created ON order_keys (created_at);

INSERT INTO order_keys (key_hash, request_hash, order_id, answer, created_at)
SELECT key, request_hash, json_extract(response_body, '$.order_id'), response_body, created_at
FROM idempotency_keys
WHERE scope = 'orders' AND state = 'done';

DELETE FROM idempotency_keys WHERE scope = 'orders';
