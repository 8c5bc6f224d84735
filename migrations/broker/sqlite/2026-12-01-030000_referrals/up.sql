-- Ids of referral tokens that earned an order its referral, kept until the token expires
-- (it no longer verifies then). The primary key makes a token count once, across every
-- copy of the broker on this database: the id is inserted in the order's transaction.
-- Nothing here names the order or the stores.
CREATE TABLE referral_uses (
    jti TEXT PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX referral_uses_expires ON referral_uses (expires_at);
