-- The analyses sold to salespeople (privacy engine in crate `privacy`).

-- ε spent, in micro-ε, on each calendar month of data by this service's analyses, for
-- everyone together: the limit that holds however many salespeople pool their reports.
CREATE TABLE privacy_budget (
    month TEXT PRIMARY KEY,
    spent BIGINT NOT NULL CHECK (spent >= 0),
    updated_at TIMESTAMP NOT NULL
);

-- The same, per salesperson: each may spend only a share of the service's part.
CREATE TABLE privacy_seller_budget (
    seller_id TEXT NOT NULL,
    month TEXT NOT NULL,
    spent BIGINT NOT NULL CHECK (spent >= 0),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (seller_id, month)
);

-- Every reservation (positive) and give-back (negative), for audit.
CREATE TABLE privacy_spends (
    seq BIGSERIAL PRIMARY KEY,
    purchase_id TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    month TEXT NOT NULL,
    epsilon BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX privacy_spends_purchase ON privacy_spends (purchase_id);

-- Each report computed once: the released copy every later buyer gets, byte for byte.
CREATE TABLE report_releases (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    group_by TEXT NOT NULL,
    from_month TEXT NOT NULL,
    to_month TEXT NOT NULL,
    epsilon BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX report_releases_key ON report_releases (kind, group_by, from_month, to_month);

-- Each purchase of a report by a store; its id is the report id the buyer sees and the
-- purchase id the charge is keyed by. Rows are shown only once `completed`.
CREATE TABLE report_purchases (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    group_by TEXT NOT NULL,
    from_month TEXT NOT NULL,
    to_month TEXT NOT NULL,
    price_amount BIGINT NOT NULL,
    price_currency TEXT NOT NULL,
    epsilon_spent BIGINT NOT NULL,
    release_id TEXT REFERENCES report_releases (id),
    status TEXT NOT NULL,
    failure TEXT,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE INDEX report_purchases_seller ON report_purchases (seller_id, created_at);
CREATE INDEX report_purchases_status ON report_purchases (status, created_at);

-- The first month of data the service holds: no report reaches before it.
CREATE TABLE report_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO report_meta (name, value) VALUES ('first_month', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'));
