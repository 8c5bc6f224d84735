//! The finance analyses sold to salespeople (seed `003_…`): paid value, refunds and
//! average basket by the payee store's public category, region and month, released
//! through the privacy engine (crate `privacy`) and paid from the buyer store's balance.
//! What both services' report routes share is `privacy::scope`'s.

pub mod routes;
pub mod store;

pub use privacy::scope::Reports;
pub use routes::routes;
