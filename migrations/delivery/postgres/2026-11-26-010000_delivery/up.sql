-- The node network: branch and master warehouses, sellers' and manufacturers' nodes.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    rank INTEGER,
    -- The store (seller node) or manufacturer (manufacturer node) the node belongs to.
    owner TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX nodes_by_kind_region ON nodes (kind, region);
CREATE INDEX nodes_by_kind_owner ON nodes (kind, owner);

-- Goods physically at a node and free to issue; a reservation takes them out at once.
CREATE TABLE inventory (
    node_id TEXT NOT NULL REFERENCES nodes (id),
    product_id TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity >= 0),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (node_id, product_id)
);

-- Every change of a node's inventory, with its cause.
CREATE TABLE stock_movements (
    seq BIGSERIAL PRIMARY KEY,
    node_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    delta BIGINT NOT NULL,
    reason TEXT NOT NULL,
    shipment_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stock_movements_by_node ON stock_movements (node_id, product_id, seq);

-- What the broker asked to move and whether settlement saw it paid; a shipment exists
-- once both have arrived. No price, no payment, no buyer.
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY,
    product_id TEXT,
    quantity BIGINT,
    store_id TEXT,
    seller_id TEXT,
    shipper_store_id TEXT,
    manufacturer_id TEXT,
    backorder BOOLEAN NOT NULL DEFAULT FALSE,
    requested_at TIMESTAMP,
    paid_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);

-- The sealed address. `region` is the routing zone (as coarse as the node network's
-- regions); `branch_order` the region's branches nearest first, computed from the
-- position given with the address, which itself is never stored.
CREATE TABLE addresses (
    order_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    region TEXT NOT NULL,
    branch_order TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE shipments (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE,
    product_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    status TEXT NOT NULL,
    delivered BOOLEAN NOT NULL DEFAULT FALSE,
    source_node TEXT,
    current_leg INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    estimated_delivery TIMESTAMP,
    unroutable_since TIMESTAMP,
    abandoned_at TIMESTAMP,
    shipped_at TIMESTAMP,
    delivered_at TIMESTAMP,
    shred_after TIMESTAMP,
    address_shredded_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX shipments_by_status ON shipments (status);
CREATE INDEX shipments_by_shred ON shipments (shred_after);

CREATE TABLE legs (
    shipment_id TEXT NOT NULL REFERENCES shipments (id),
    seq INTEGER NOT NULL,
    from_node TEXT NOT NULL,
    -- NULL: the buyer's address.
    to_node TEXT,
    -- The region of `from_node`, for couriers who serve one region.
    region TEXT NOT NULL,
    status TEXT NOT NULL,
    courier_id TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (shipment_id, seq)
);
CREATE INDEX legs_by_status ON legs (status, region);
CREATE INDEX legs_by_courier ON legs (courier_id);

CREATE TABLE couriers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    region TEXT,
    created_at TIMESTAMP NOT NULL
);
