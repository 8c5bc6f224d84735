DROP INDEX orders_awaiting_acceptance;
ALTER TABLE orders DROP COLUMN accepted_at;
ALTER TABLE orders DROP COLUMN accept_by;
