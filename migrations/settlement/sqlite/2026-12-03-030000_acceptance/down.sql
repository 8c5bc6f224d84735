ALTER TABLE orders DROP COLUMN accepted_at;
ALTER TABLE orders DROP COLUMN delivered_at;
