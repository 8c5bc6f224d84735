ALTER TABLE payout_accounts DROP COLUMN hold_until;
