-- Orders. Nothing here names a person: `buyer_handle` is random per order, the capability
-- is never stored, and the buyer's optional mail contact lives sealed in order_contacts
-- only until the order closes.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL,
    discount BIGINT NOT NULL DEFAULT 0,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    needs_confirmation BOOLEAN NOT NULL,
    needs_approval BOOLEAN NOT NULL,
    referral_store_id TEXT,
    shipper_store_id TEXT,
    -- The offer whose stock was reserved (the shipper's under union fulfilment).
    stock_store_id TEXT,
    backorder BOOLEAN NOT NULL,
    buyer_handle TEXT NOT NULL,
    sale_id TEXT,
    reason TEXT,
    note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_store ON orders (store_id, created_at);
CREATE INDEX orders_product_status ON orders (product_id, status);

-- A buyer's opt-in mail contact for one order, sealed for the mail sender.
CREATE TABLE order_contacts (
    order_id TEXT PRIMARY KEY REFERENCES orders (id),
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- The relay between buyer and store: authors are only "buyer" or "store".
CREATE TABLE order_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL REFERENCES orders (id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX order_messages_order ON order_messages (order_id, seq);

-- Pseudonymous buyer accounts: a handle and a password, nothing else about the person.
CREATE TABLE buyers (
    id TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    points BIGINT NOT NULL DEFAULT 0 CHECK (points >= 0),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE buyer_equipment (
    buyer_id TEXT NOT NULL REFERENCES buyers (id),
    equipment TEXT NOT NULL,
    PRIMARY KEY (buyer_id, equipment)
);

-- Points spent on an open order, kept only until it closes so that a cancellation can
-- give them back; the one link from an order to an account, and only where points were used.
CREATE TABLE order_points (
    order_id TEXT PRIMARY KEY REFERENCES orders (id),
    buyer_id TEXT NOT NULL REFERENCES buyers (id),
    points BIGINT NOT NULL
);

-- One-time codes a buyer hands in with returned items; the store redeems the code and the
-- points go to the account, so the store never learns the handle.
CREATE TABLE collection_codes (
    code_hash TEXT PRIMARY KEY,
    buyer_id TEXT NOT NULL REFERENCES buyers (id),
    created_at TIMESTAMP NOT NULL,
    redeemed_at TIMESTAMP,
    items BIGINT
);
CREATE INDEX collection_codes_buyer ON collection_codes (buyer_id);

-- Prices for a group of buyers (owners of some equipment, or a points tier), never for one
-- account. `group_key` is "equipment:<name>" or "points:<minimum>".
CREATE TABLE group_prices (
    store_id TEXT NOT NULL REFERENCES stores (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    group_key TEXT NOT NULL,
    equipment TEXT,
    min_points BIGINT,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (store_id, product_id, group_key)
);

-- The sales history: what sold where and for how much, by the hour, with nothing that
-- identifies an order or a buyer.
CREATE TABLE sales (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    characteristics TEXT NOT NULL,
    store_id TEXT NOT NULL,
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    sold_at TIMESTAMP NOT NULL
);
CREATE INDEX sales_time ON sales (sold_at);
CREATE INDEX sales_store ON sales (store_id, sold_at);
