-- Accounts. Sellers register themselves; manufacturers are created by the operator.
CREATE TABLE sellers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE manufacturers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Mart unions: the stores of one regional division.
CREATE TABLE unions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX unions_region ON unions (region);

-- A store belongs to a seller and a union, or (the seller of back-orders) to a manufacturer
-- and no union. `region` is the union's, copied so search need not join unions.
CREATE TABLE stores (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    union_id TEXT REFERENCES unions (id),
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    seller_id TEXT REFERENCES sellers (id),
    manufacturer_id TEXT REFERENCES manufacturers (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stores_union ON stores (union_id, category);
CREATE INDEX stores_seller ON stores (seller_id);
CREATE UNIQUE INDEX stores_manufacturer ON stores (manufacturer_id);

-- The shared catalog. `attributes` keeps the characteristics as given (JSON object);
-- product_attributes holds the same pairs for indexed search.
CREATE TABLE products (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    attributes TEXT NOT NULL,
    list_price_amount BIGINT NOT NULL,
    list_price_currency TEXT NOT NULL,
    manufacturer_id TEXT REFERENCES manufacturers (id),
    requires_approval BOOLEAN NOT NULL DEFAULT FALSE,
    backorder_days INTEGER NOT NULL DEFAULT 14,
    compatible_with TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX products_kind ON products (kind);
CREATE INDEX products_manufacturer ON products (manufacturer_id);

CREATE TABLE product_attributes (
    product_id TEXT NOT NULL REFERENCES products (id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (product_id, name)
);
CREATE INDEX product_attributes_lookup ON product_attributes (name, value, product_id);

-- What one store offers of one product. `kind` is the product's, copied so search filters
-- and ranks from one index.
CREATE TABLE offers (
    store_id TEXT NOT NULL REFERENCES stores (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    kind TEXT NOT NULL,
    price_amount BIGINT NOT NULL,
    price_currency TEXT NOT NULL,
    stock BIGINT NOT NULL CHECK (stock >= 0),
    sellable BOOLEAN NOT NULL,
    reason TEXT,
    union_fulfilment BOOLEAN NOT NULL DEFAULT FALSE,
    requires_price_confirmation BOOLEAN NOT NULL DEFAULT FALSE,
    reserve_threshold BIGINT,
    urgent_price_amount BIGINT,
    urgent_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (store_id, product_id)
);
CREATE INDEX offers_search ON offers (kind, sellable, price_amount);
CREATE INDEX offers_product ON offers (product_id, sellable, stock);

-- Every change of an offer's stock, for the store's history.
CREATE TABLE stock_movements (
    seq BIGSERIAL PRIMARY KEY,
    store_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    delta BIGINT NOT NULL,
    stock_after BIGINT NOT NULL,
    kind TEXT NOT NULL,
    supplier_id TEXT,
    note TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stock_movements_offer ON stock_movements (store_id, product_id, seq);

CREATE TABLE suppliers (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (id),
    name TEXT NOT NULL,
    contact TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX suppliers_store ON suppliers (store_id);

-- Every selection a store could not serve: its unmet-demand record.
CREATE TABLE selection_events (
    seq BIGSERIAL PRIMARY KEY,
    store_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX selection_events_store ON selection_events (store_id, product_id, outcome);

-- Alternatives shown to a buyer: the referring store earns a referral fee on a later order.
CREATE TABLE redirects (
    seq BIGSERIAL PRIMARY KEY,
    from_store_id TEXT NOT NULL,
    to_store_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX redirects_lookup ON redirects (from_store_id, to_store_id, product_id, created_at);

-- What buyers look for: kind and characteristics, never who asked. The session pseudonym
-- only bounds one browser's contribution in the analyses.
CREATE TABLE preference_events (
    seq BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    session_id TEXT,
    kind TEXT NOT NULL,
    attributes TEXT NOT NULL,
    product_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX preference_events_time ON preference_events (created_at);
CREATE INDEX preference_events_session ON preference_events (session_id);

-- Browsing sequences under a random session pseudonym, deletable on request.
CREATE TABLE browsing_events (
    seq BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL,
    union_id TEXT,
    store_id TEXT,
    product_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX browsing_events_session ON browsing_events (session_id, seq);
