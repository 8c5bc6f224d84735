-- Each fee a release took, and each a chargeback returned, kept apart: a chargeback
-- returns every fee in proportion to what it refunds of what was released, at the
-- amounts taken then (never at the rates of the day). Rows written before are filled
-- from the ledger, which holds every part.
ALTER TABLE order_pricing ADD COLUMN marketplace_fee BIGINT;
ALTER TABLE order_pricing ADD COLUMN referral_fee BIGINT;
ALTER TABLE order_pricing ADD COLUMN fulfilment_fee BIGINT;
ALTER TABLE chargebacks ADD COLUMN marketplace_returned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE chargebacks ADD COLUMN referral_returned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE chargebacks ADD COLUMN fulfilment_returned BIGINT NOT NULL DEFAULT 0;

-- A release credits each fee's account once; a chargeback debits the marketplace's and
-- credits the pass-through of the others (from the store they were passed to).
UPDATE order_pricing SET
    marketplace_fee = (SELECT CAST(COALESCE(SUM(e.credit), 0) AS BIGINT) FROM ledger_entries e
        JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.kind = 'release' AND t.order_id = order_pricing.order_id
        AND e.account_id = 'marketplace_fees:' || order_pricing.currency),
    referral_fee = (SELECT CAST(COALESCE(SUM(e.credit), 0) AS BIGINT) FROM ledger_entries e
        JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.kind = 'release' AND t.order_id = order_pricing.order_id
        AND e.account_id = 'referral_fees:' || order_pricing.currency),
    fulfilment_fee = (SELECT CAST(COALESCE(SUM(e.credit), 0) AS BIGINT) FROM ledger_entries e
        JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.kind = 'release' AND t.order_id = order_pricing.order_id
        AND e.account_id = 'fulfilment_fees:' || order_pricing.currency)
WHERE fees IS NOT NULL;

UPDATE chargebacks SET
    marketplace_returned = (SELECT CAST(COALESCE(SUM(e.debit), 0) AS BIGINT) FROM ledger_entries e
        JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.kind = 'chargeback' AND t.order_id = chargebacks.order_id
        AND t.reference = chargebacks.refund_id
        AND e.account_id = 'marketplace_fees:' || chargebacks.currency),
    referral_returned = (SELECT CAST(COALESCE(SUM(e.credit), 0) AS BIGINT) FROM ledger_entries e
        JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.kind = 'chargeback' AND t.order_id = chargebacks.order_id
        AND t.reference = chargebacks.refund_id
        AND e.account_id = 'referral_fees:' || chargebacks.currency),
    fulfilment_returned = (SELECT CAST(COALESCE(SUM(e.credit), 0) AS BIGINT) FROM ledger_entries e
        JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.kind = 'chargeback' AND t.order_id = chargebacks.order_id
        AND t.reference = chargebacks.refund_id
        AND e.account_id = 'fulfilment_fees:' || chargebacks.currency);
