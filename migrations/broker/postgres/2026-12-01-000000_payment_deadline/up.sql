-- When settlement stops taking payment for an order, as the broker announced it in
-- `order_payable` (null until the order is payable). Shown to the buyer; settlement
-- alone decides.
ALTER TABLE orders ADD COLUMN pay_by TIMESTAMP;
