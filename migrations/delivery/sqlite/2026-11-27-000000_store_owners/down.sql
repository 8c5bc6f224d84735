DROP INDEX legs_by_from_node;
DROP TABLE stores;
