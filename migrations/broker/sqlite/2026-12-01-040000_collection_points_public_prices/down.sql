DROP TABLE order_public_prices;
DROP TABLE collection_mints;
DROP TABLE collection_points;
