DROP TABLE couriers;
DROP TABLE legs;
DROP TABLE shipments;
DROP TABLE addresses;
DROP TABLE orders;
DROP TABLE stock_movements;
DROP TABLE inventory;
DROP TABLE nodes;
