DROP INDEX orders_status_pay_by;
ALTER TABLE orders DROP COLUMN pay_by;
