ALTER TABLE stores DROP COLUMN suspension_reason;
ALTER TABLE stores DROP COLUMN suspended_at;
