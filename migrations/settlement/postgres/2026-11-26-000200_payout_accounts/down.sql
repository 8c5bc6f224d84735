ALTER TABLE remittances DROP COLUMN account_last4;
DROP TABLE payout_accounts;
