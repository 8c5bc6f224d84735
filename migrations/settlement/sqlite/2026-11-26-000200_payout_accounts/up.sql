-- Where a store's remittances go. The holder and account number are sealed with a key only
-- settlement holds; the last four characters are kept apart for statements.
CREATE TABLE payout_accounts (
    store_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    last4 TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
ALTER TABLE remittances ADD COLUMN account_last4 TEXT;
