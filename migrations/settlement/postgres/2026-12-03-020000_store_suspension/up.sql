-- A store the broker says an admin suspended: its remittances are held (`suspended` in a
-- batch's skipped list) until the suspension is lifted.
ALTER TABLE stores ADD COLUMN suspended_at TIMESTAMP;
