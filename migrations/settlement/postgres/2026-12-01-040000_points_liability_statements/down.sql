DROP TABLE order_pricing;
ALTER TABLE charges DROP COLUMN purpose;
