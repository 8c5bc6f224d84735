DROP TABLE shipment_events;
