ALTER TABLE shipments DROP COLUMN pin_confirmed;
ALTER TABLE shipments DROP COLUMN pin_failures;
