//! A salesperson's side of delivery: the nodes of their stores, the stock they count
//! there, and the goods issues delivery asks of them (seed 001: when only the seller has
//! the goods, delivery is entrusted to the seller). They see shipments by shipment id,
//! product and quantity: never an order's buyer, address or destination.

pub mod routes;
pub mod store;
