//! Pseudonymous buyer accounts: handle and password, equipment, collection points and
//! group prices. An order placed with an account is still paired anonymously.
//!
//! What links an order to an account: nothing, except while points spent on it are held.
//! The order row never names the account; the group price is computed at placement and
//! only the resulting price is kept. Points are earned through one-time collection codes
//! (the store that takes the returned items redeems a code, never a handle), so earning
//! links no order either. Spending needs a way to give the points back if the order is
//! cancelled: `order_points` holds (order, account, points) for orders that spent points,
//! and only until the order closes (delivered: the points are consumed; cancelled: they
//! go back). That short-lived row is the one link, and only for buyers who chose to use
//! points; the store never sees it.

pub mod collections;
pub mod domain;
pub mod mint;
pub mod routes;
pub mod store;
