DROP TABLE chargebacks;
