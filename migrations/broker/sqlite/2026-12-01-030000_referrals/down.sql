DROP TABLE referral_uses;
