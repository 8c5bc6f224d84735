-- Who owns each store, as the broker registered it: a seller's node is a store's, and
-- that store's salesperson issues the goods at it (and counts its stock).
CREATE TABLE stores (
    id TEXT PRIMARY KEY NOT NULL,
    seller_id TEXT,
    manufacturer_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stores_by_seller ON stores (seller_id);
CREATE INDEX legs_by_from_node ON legs (from_node, status);
