ALTER TABLE orders DROP COLUMN dispute_id;
DROP TABLE dispute_messages;
DROP TABLE disputes;
