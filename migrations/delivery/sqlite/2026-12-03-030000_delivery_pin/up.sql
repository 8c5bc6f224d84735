-- Proof of delivery: the final leg to the buyer's address is delivered only with the
-- shipment's PIN (derived under delivery's own key, never stored). Wrong ones are counted;
-- five lock the leg until an operator unlocks it. Whether the PIN was given is kept for
-- the dispute file.
ALTER TABLE shipments ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shipments ADD COLUMN pin_confirmed BOOLEAN NOT NULL DEFAULT FALSE;
