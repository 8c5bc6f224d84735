-- What a charge pays for: `report` (credited to report revenue) or `points` (a mint at a
-- collection point, credited to the points liability).
ALTER TABLE charges ADD COLUMN purpose TEXT NOT NULL DEFAULT 'report';

-- An order's price as the statement needs it: the public amount (offer price times
-- quantity), the group discount the store funds, the points discount the points
-- liability funds; and, once released, what the store was credited and the fees.
CREATE TABLE order_pricing (
    order_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    public_amount BIGINT NOT NULL CHECK (public_amount >= 0),
    group_discount BIGINT NOT NULL CHECK (group_discount >= 0),
    points_discount BIGINT NOT NULL CHECK (points_discount >= 0),
    released_at TIMESTAMP,
    store_credit BIGINT,
    fees BIGINT
);
CREATE INDEX order_pricing_store_released ON order_pricing (store_id, released_at);
