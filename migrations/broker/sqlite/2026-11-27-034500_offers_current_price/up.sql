-- What a buyer pays for an offer now: the urgent price while it runs, else the regular
-- one. Written with every change of the offer or its urgent price, and rewritten by the
-- broker's sweeper when an urgent price ends, so that search ranks by a plain column and
-- reads its page from an index instead of sorting every match.
ALTER TABLE offers ADD COLUMN current_price BIGINT NOT NULL DEFAULT 0;
UPDATE offers SET current_price = CASE
    WHEN urgent_price_amount IS NOT NULL AND urgent_until IS NOT NULL THEN urgent_price_amount
    ELSE price_amount
END;

-- Search filters by kind and sellability and ranks by the current price, then (unless
-- the buyer names a region to rank by nearness) by stock, most first, then by store and
-- product: the index holds that whole order, so a search reads its page and stops.
DROP INDEX offers_search;
CREATE INDEX offers_search ON offers (kind, sellable, current_price, stock DESC, store_id, product_id);

-- Offers whose current price is an urgent one: the sweeper's work list, and how search
-- tells that an urgent price has ended but is not swept yet.
CREATE INDEX offers_urgent_running ON offers (urgent_until) WHERE current_price <> price_amount;
