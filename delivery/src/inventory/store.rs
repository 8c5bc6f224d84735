//! Inventory never goes below zero and two shipments never take the same unit: every
//! decrement is a conditional update (`quantity >= q`) whose row count says whether it
//! took the goods, which holds across processes on both backends.

use crate::schema::{inventory, stock_movements};
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{NodeId, ProductId, ShipmentId};
use shared::time::now;

pub use client::delivery::Movement;

fn record(
    conn: &mut AnyConnection,
    node: &NodeId,
    product: &ProductId,
    delta: i64,
    why: Movement,
    shipment: Option<&ShipmentId>,
) -> QueryResult<()> {
    diesel::insert_into(stock_movements::table)
        .values((
            stock_movements::node_id.eq(node),
            stock_movements::product_id.eq(product),
            stock_movements::delta.eq(delta),
            stock_movements::reason.eq(why),
            stock_movements::shipment_id.eq(shipment),
            stock_movements::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

fn current(conn: &mut AnyConnection, node: &NodeId, product: &ProductId) -> QueryResult<Option<i64>> {
    inventory::table
        .filter(inventory::node_id.eq(node))
        .filter(inventory::product_id.eq(product))
        .select(inventory::quantity)
        .first(conn)
        .optional()
}

/// Sets the counted quantity, recording the difference as a movement. A compare-and-set
/// on the old value, so a reservation committed meanwhile is not overwritten.
pub fn set(conn: &mut AnyConnection, node: &NodeId, product: &ProductId, quantity: i64) -> QueryResult<()> {
    loop {
        match current(conn, node, product)? {
            Some(old) => {
                let n = diesel::update(inventory::table)
                    .filter(inventory::node_id.eq(node))
                    .filter(inventory::product_id.eq(product))
                    .filter(inventory::quantity.eq(old))
                    .set((inventory::quantity.eq(quantity), inventory::updated_at.eq(now())))
                    .execute(conn)?;
                if n == 1 {
                    if quantity != old {
                        record(conn, node, product, quantity - old, Movement::Adjustment, None)?;
                    }
                    return Ok(());
                }
            }
            None => {
                if create(conn, node, product, quantity)? {
                    if quantity != 0 {
                        record(conn, node, product, quantity, Movement::Adjustment, None)?;
                    }
                    return Ok(());
                }
            }
        }
    }
}

/// Creates the node's row for the product holding `quantity`; false when another
/// transaction created it first (the caller reads it again). In a savepoint, so the
/// unique violation leaves the caller's transaction usable.
fn create(conn: &mut AnyConnection, node: &NodeId, product: &ProductId, quantity: i64) -> QueryResult<bool> {
    let inserted = conn.transaction(|c| {
        diesel::insert_into(inventory::table)
            .values((
                inventory::node_id.eq(node),
                inventory::product_id.eq(product),
                inventory::quantity.eq(quantity),
                inventory::updated_at.eq(now()),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn quantity(conn: &mut AnyConnection, node: &NodeId, product: &ProductId) -> QueryResult<i64> {
    current(conn, node, product).map(|q| q.unwrap_or(0))
}

/// Takes `quantity` units at `node` for `shipment` if they are there; false otherwise.
pub fn reserve(
    conn: &mut AnyConnection,
    node: &NodeId,
    product: &ProductId,
    quantity: i64,
    shipment: &ShipmentId,
) -> QueryResult<bool> {
    let n = diesel::update(inventory::table)
        .filter(inventory::node_id.eq(node))
        .filter(inventory::product_id.eq(product))
        .filter(inventory::quantity.ge(quantity))
        .set((inventory::quantity.eq(inventory::quantity - quantity), inventory::updated_at.eq(now())))
        .execute(conn)?;
    if n == 1 {
        record(conn, node, product, -quantity, Movement::Reserved, Some(shipment))?;
    }
    Ok(n == 1)
}

/// Puts a shipment's units back at a node (the one that issued them, or the one the goods
/// came back to), creating its inventory row if it had none.
pub fn put_back(
    conn: &mut AnyConnection,
    node: &NodeId,
    product: &ProductId,
    quantity: i64,
    shipment: &ShipmentId,
    why: Movement,
) -> QueryResult<()> {
    loop {
        let n = diesel::update(inventory::table)
            .filter(inventory::node_id.eq(node))
            .filter(inventory::product_id.eq(product))
            .set((inventory::quantity.eq(inventory::quantity + quantity), inventory::updated_at.eq(now())))
            .execute(conn)?;
        if n == 1 || create(conn, node, product, quantity)? {
            break;
        }
    }
    record(conn, node, product, quantity, why, Some(shipment))
}

/// The latest `limit` movements of one node and product, oldest first: `(delta, reason)`.
pub fn movements(
    conn: &mut AnyConnection,
    node: &NodeId,
    product: &ProductId,
    limit: i64,
) -> QueryResult<Vec<(i64, Movement)>> {
    let mut v: Vec<(i64, Movement)> = stock_movements::table
        .filter(stock_movements::node_id.eq(node))
        .filter(stock_movements::product_id.eq(product))
        .order(stock_movements::seq.desc())
        .limit(limit)
        .select((stock_movements::delta, stock_movements::reason))
        .load(conn)?;
    v.reverse();
    Ok(v)
}
