-- What happened to a shipment, as an arbiter reads it: each courier event's kind, leg and
-- time, and each wrong delivery PIN. Never a failure's reason, which is free text a
-- courier writes and could name a street.
CREATE TABLE shipment_events (
    shipment_id TEXT NOT NULL REFERENCES shipments (id),
    seq INTEGER NOT NULL,
    leg INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (shipment_id, seq)
);
