-- The deadline the broker set for paying the order (null for orders announced before
-- deadlines existed). At `pay_by` settlement expires an order still unpaid or partly
-- paid, refunds what arrived and tells the broker; a later payment is rejected.
ALTER TABLE orders ADD COLUMN pay_by TIMESTAMP;
CREATE INDEX orders_status_pay_by ON orders (status, pay_by);
-- Orders already waiting for payment get the default deadline from now, so that none
-- holds the broker's stock for longer than a new one would.
UPDATE orders SET pay_by = (now() AT TIME ZONE 'UTC') + interval '30 minutes'
WHERE pay_by IS NULL AND status IN ('awaiting_payment', 'partial');
