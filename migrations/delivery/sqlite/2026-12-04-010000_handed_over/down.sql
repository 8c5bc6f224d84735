UPDATE shipment_events SET kind = 'delivered' WHERE kind = 'handed_over';
