//! The double-entry ledger: accounts, balanced transactions of immutable entries, the
//! trial balance and the reconciliation that re-derives every balance from the entries.

pub mod domain;
pub mod routes;
pub mod seed;
pub mod store;

pub use domain::{Account, AccountKind, Transaction, TransactionKind};

#[cfg(test)]
mod near_the_ceiling;
#[cfg(test)]
mod random_flows;
