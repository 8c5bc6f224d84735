//! End-to-end tests: all three services started in-process on random ports with fresh
//! databases, driven over real HTTP. `MARKETPLACE_TEST_DATABASE=postgres://…` runs the
//! same suite on PostgreSQL.

mod flows;
mod helpers;

mod abuse;
mod acceptance;
mod at_rest;
mod browser;
mod catalog;
mod checkout;
mod concurrency;
mod console;
mod crash;
mod delivery;
mod demo;
mod disputes;
mod foundation;
mod holds;
mod hostile;
mod money;
mod openapi;
mod operators;
mod orders;
mod pages;
mod payouts;
mod points;
mod privacy;
mod proof_of_delivery;
mod referrals;
mod reports;
mod settlement;
mod sources;
mod trust;
