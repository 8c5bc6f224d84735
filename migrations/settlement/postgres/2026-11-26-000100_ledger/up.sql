-- Stores as the broker registers them: whose balance is whose.
CREATE TABLE stores (
    store_id TEXT PRIMARY KEY,
    seller_id TEXT,
    manufacturer_id TEXT,
    union_id TEXT,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stores_seller ON stores (seller_id);

-- The broker's sellability rules, as last published, re-checked before a capture.
CREATE TABLE sellability (
    store_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sellable BOOLEAN NOT NULL,
    reason TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (store_id, product_id)
);

-- One row per payable order: what is expected, what was paid, where it stands.
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    referral_store_id TEXT,
    shipper_store_id TEXT,
    expected BIGINT NOT NULL,
    currency TEXT NOT NULL,
    paid BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    partial_since TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_store_status ON orders (store_id, status);
CREATE INDEX orders_status_partial ON orders (status, partial_since);

CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    api_key_hash TEXT NOT NULL UNIQUE,
    webhook_url TEXT,
    webhook_secret_key_id TEXT NOT NULL,
    webhook_secret BYTEA NOT NULL,
    event_seq BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    order_id TEXT NOT NULL,
    partner_reference TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    captured BIGINT NOT NULL,
    refunded BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- The ledger. Balances are derived from entries; `debits`/`credits` on an account are a
-- cache of their sums, updated in the transaction that writes the entries.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT,
    currency TEXT NOT NULL,
    debits BIGINT NOT NULL DEFAULT 0,
    credits BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_kind ON accounts (kind);

CREATE TABLE ledger_transactions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    order_id TEXT,
    reference TEXT,
    currency TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_transactions_order ON ledger_transactions (order_id);

CREATE TABLE ledger_entries (
    seq BIGSERIAL PRIMARY KEY,
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    debit BIGINT NOT NULL CHECK (debit >= 0),
    credit BIGINT NOT NULL CHECK (credit >= 0),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- Entries are facts: a correction is a new transaction, never an edit.
CREATE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'ledger entries are immutable'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable();

-- Each partner's events, numbered without gaps.
CREATE TABLE events (
    partner_id TEXT NOT NULL REFERENCES partners (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (partner_id, seq)
);

CREATE TABLE remittances (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX remittances_store ON remittances (store_id);

-- Report purchases charged to a store's balance, once per purchase id.
CREATE TABLE charges (
    purchase_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    refunded_at TIMESTAMP
);
