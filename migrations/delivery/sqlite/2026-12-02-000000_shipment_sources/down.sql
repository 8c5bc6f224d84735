-- The sellers cannot be told back from the nodes: the columns return empty.
ALTER TABLE orders ADD COLUMN store_id TEXT;
ALTER TABLE orders ADD COLUMN seller_id TEXT;
ALTER TABLE orders ADD COLUMN shipper_store_id TEXT;
ALTER TABLE orders ADD COLUMN manufacturer_id TEXT;
ALTER TABLE orders DROP COLUMN seller_node;
ALTER TABLE orders DROP COLUMN manufacturer_node;
