-- A buyer's dispute over one order (at most one per order): the store answers by
-- `respond_by`, an offer stands until `offer_expires_at`, an escalated one waits for the
-- arbiter. The decision is what settlement executes, once, keyed by the dispute id.
CREATE TABLE disputes (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL UNIQUE REFERENCES orders (id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    respond_by TIMESTAMP NOT NULL,
    offer_percent BIGINT CHECK (offer_percent BETWEEN 1 AND 99),
    offer_expires_at TIMESTAMP,
    outcome TEXT,
    refund BIGINT CHECK (refund >= 0),
    currency TEXT NOT NULL,
    return_required BOOLEAN NOT NULL DEFAULT FALSE,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX disputes_by_status ON disputes (status, respond_by);

-- A dispute's own thread: `buyer`, `store` or `arbiter`, never who.
CREATE TABLE dispute_messages (
    seq BIGSERIAL PRIMARY KEY,
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dispute_messages_by_dispute ON dispute_messages (dispute_id, seq);

-- The order's dispute, for its views (a buyer's page, a seller's desk) without a lookup.
ALTER TABLE orders ADD COLUMN dispute_id TEXT;
