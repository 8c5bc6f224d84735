-- Stores the operator enabled as collection points: only these mint points.
CREATE TABLE collection_points (
    store_id TEXT PRIMARY KEY REFERENCES stores (id),
    enabled_at TIMESTAMP NOT NULL
);

-- Every mint of points at a collection point. The store's balance is charged at
-- settlement (keyed by the mint id) before the points exist; `charging` mints are
-- completed or failed by the outbox after a crash. `code_hash` is kept only while the
-- mint is charging: afterwards nothing links the store to the buyer's account.
CREATE TABLE collection_mints (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (id),
    code_hash TEXT,
    items BIGINT NOT NULL CHECK (items > 0),
    points BIGINT NOT NULL CHECK (points > 0),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    failure TEXT,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE INDEX collection_mints_store_day ON collection_mints (store_id, created_at);

-- The public side of an order's price, what its seller is shown: the offer's price at
-- placement times the quantity. `group_discount` is what a group price took off it (the
-- store funds it; settlement aggregates it per statement, never per order).
CREATE TABLE order_public_prices (
    order_id TEXT PRIMARY KEY REFERENCES orders (id),
    list_unit_price BIGINT NOT NULL CHECK (list_unit_price > 0),
    public_amount BIGINT NOT NULL CHECK (public_amount > 0),
    group_discount BIGINT NOT NULL CHECK (group_discount >= 0),
    currency TEXT NOT NULL
);
