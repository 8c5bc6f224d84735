-- Each dispute's decision, executed once: the row is written in the transaction that
-- refunds and releases, and a second `dispute_decided` for the same dispute finds it.
CREATE TABLE dispute_decisions (
    dispute_id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (order_id),
    refunded BIGINT NOT NULL CHECK (refunded >= 0),
    released BIGINT NOT NULL CHECK (released >= 0),
    currency TEXT NOT NULL,
    executed_at TIMESTAMP NOT NULL
);
