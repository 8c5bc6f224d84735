//! What the three services share: money, typed ids, configuration, storage, crypto, auth,
//! owner-only files, problem+json errors, idempotency keys, the transactional outbox and its messages, mail, the sellability
//! rules, and the HTTP scaffolding every service serves (health, metrics, OpenAPI).

pub mod admin;
pub mod audit;
pub mod auth;
pub mod config;
pub mod cors;
pub mod crypto;
pub mod db;
pub mod error;
pub mod files;
pub mod hashing;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod mail;
pub mod messages;
pub mod metrics;
pub mod money;
pub mod openapi;
pub mod outbox;
pub mod owner;
pub mod pages;
pub mod ratelimit;
pub mod rules;
pub mod schema;
pub mod server;
pub mod shipment_view;
pub mod sql_text;
pub mod telemetry;
pub mod time;
pub mod visitor;

pub use error::{Error, Problem};
pub use money::{Currency, Money};
