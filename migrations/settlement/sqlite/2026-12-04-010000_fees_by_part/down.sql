ALTER TABLE chargebacks DROP COLUMN fulfilment_returned;
ALTER TABLE chargebacks DROP COLUMN referral_returned;
ALTER TABLE chargebacks DROP COLUMN marketplace_returned;
ALTER TABLE order_pricing DROP COLUMN fulfilment_fee;
ALTER TABLE order_pricing DROP COLUMN referral_fee;
ALTER TABLE order_pricing DROP COLUMN marketplace_fee;
