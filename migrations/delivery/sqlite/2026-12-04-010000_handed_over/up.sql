-- A leg that ends at the next node hands the goods over; only the last leg delivers. The
-- history written before said `delivered` for both.
UPDATE shipment_events SET kind = 'handed_over'
WHERE kind = 'delivered'
AND leg < (SELECT MAX(l.seq) FROM legs l WHERE l.shipment_id = shipment_events.shipment_id);
