//! Remittances: each store's positive available balance is paid out in a batch (a periodic
//! job and an operator route). A negative balance (a refund after a payout) is not paid
//! out; later releases fill it first.

pub mod routes;
pub mod workflow;
