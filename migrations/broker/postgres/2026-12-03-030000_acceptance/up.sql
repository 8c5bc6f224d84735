-- The end of the acceptance window (set when the final leg is delivered): escrow stays
-- held until the buyer accepts or, with no dispute open, this passes. And when the buyer
-- accepted, or the window's end accepted for them.
ALTER TABLE orders ADD COLUMN accept_by TIMESTAMP;
ALTER TABLE orders ADD COLUMN accepted_at TIMESTAMP;
CREATE INDEX orders_awaiting_acceptance ON orders (accept_by) WHERE accepted_at IS NULL;
