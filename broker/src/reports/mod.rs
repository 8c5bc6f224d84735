//! The analyses sold to salespeople (seed `003_…`, claims 1, 3, 13, 14): the sales history
//! and the preference store, released only as differentially private aggregates through
//! the privacy engine (crate `privacy`), and paid through settlement's charge route.

pub mod charge;
pub mod domain;
pub mod routes;
pub mod store;

pub use charge::Charger;
pub use domain::Reports;
pub use routes::routes;
