ALTER TABLE stores DROP COLUMN suspended_at;
