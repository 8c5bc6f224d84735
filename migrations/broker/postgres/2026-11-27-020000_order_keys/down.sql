DROP TABLE order_keys;
