-- Delivery knows sources, not sellers: an order keeps the nodes that may supply its
-- goods besides the network's warehouses (the shipping store's own node and the
-- manufacturer's), resolved when the broker's request arrives, and never the store, the
-- salesperson or the manufacturer that sold it. Orders still to be routed keep their
-- nodes; the others need none.
ALTER TABLE orders ADD COLUMN seller_node TEXT;
ALTER TABLE orders ADD COLUMN manufacturer_node TEXT;
UPDATE orders SET
    seller_node = (
        SELECT n.id FROM nodes n
        WHERE n.kind = 'seller' AND n.owner = COALESCE(orders.shipper_store_id, orders.store_id)
        ORDER BY n.id LIMIT 1
    ),
    manufacturer_node = (
        SELECT n.id FROM nodes n
        WHERE n.kind = 'manufacturer' AND n.owner = orders.manufacturer_id
        ORDER BY n.id LIMIT 1
    )
WHERE NOT EXISTS (
    SELECT 1 FROM shipments s
    WHERE s.order_id = orders.order_id
      AND (s.shipped_at IS NOT NULL OR s.abandoned_at IS NOT NULL
           OR s.status IN ('delivered', 'returned', 'cancelled'))
);
ALTER TABLE orders DROP COLUMN store_id;
ALTER TABLE orders DROP COLUMN seller_id;
ALTER TABLE orders DROP COLUMN shipper_store_id;
ALTER TABLE orders DROP COLUMN manufacturer_id;
