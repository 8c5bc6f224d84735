DROP INDEX offers_urgent_running;
DROP INDEX offers_search;
CREATE INDEX offers_search ON offers (kind, sellable, price_amount);
ALTER TABLE offers DROP COLUMN current_price;
