-- A refund a partner reports after escrow was released: the store gives back the
-- refunded part less the fees on it, which return from where they went. One row per
-- refund, written in the refund's transaction; the statement sums them.
CREATE TABLE chargebacks (
    refund_id TEXT PRIMARY KEY NOT NULL REFERENCES refunds (id),
    order_id TEXT NOT NULL REFERENCES orders (order_id),
    store_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    store_debit BIGINT NOT NULL CHECK (store_debit >= 0),
    fees_returned BIGINT NOT NULL CHECK (fees_returned >= 0),
    created_at TIMESTAMP NOT NULL,
    CHECK (store_debit + fees_returned = amount)
);
CREATE INDEX chargebacks_by_order ON chargebacks (order_id);
CREATE INDEX chargebacks_by_store ON chargebacks (store_id, created_at);
