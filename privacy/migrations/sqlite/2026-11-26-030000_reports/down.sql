DROP TABLE report_meta;
DROP TABLE report_purchases;
DROP TABLE report_releases;
DROP TABLE privacy_spends;
DROP TABLE privacy_seller_budget;
DROP TABLE privacy_budget;
