//! Disputes: a buyer's claim about one order, answered by its store, decided by an
//! arbiter who never learns who or where; settlement executes the decision.

pub mod domain;
pub mod routes;
pub mod store;
pub mod workflow;
