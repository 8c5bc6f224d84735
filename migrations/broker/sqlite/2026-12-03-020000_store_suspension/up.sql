-- A store an admin suspended: its offers leave search and selections, new orders are
-- refused, its unpaid orders were cancelled; lifting it (both NULL again) restores it.
ALTER TABLE stores ADD COLUMN suspended_at TIMESTAMP;
ALTER TABLE stores ADD COLUMN suspension_reason TEXT;
