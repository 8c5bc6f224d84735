DROP TABLE dispute_decisions;
