-- Escrow is released only when both facts are in, in either order: delivery's word that
-- the goods arrived and the broker's that the buyer accepted them (or the window ended).
ALTER TABLE orders ADD COLUMN delivered_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN accepted_at TIMESTAMP;
