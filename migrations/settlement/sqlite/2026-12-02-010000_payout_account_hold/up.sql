-- Until when the store's remittances wait after its payout account was set or changed
-- (null: no hold). Accounts set before holds existed are not held.
ALTER TABLE payout_accounts ADD COLUMN hold_until TIMESTAMP;
