//! Inventory never goes below zero and two shipments never take the same unit: every
//! decrement is a conditional update (`quantity >= q`) whose row count says whether it
//! took the goods, which holds across processes on both backends.

use crate::schema::{inventory, stock_movements};
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{NodeId, ProductId, ShipmentId};
use shared::time::now;

/// Why a node's inventory changed.
#[derive(Debug, Clone, Copy)]
pub enum Movement {
    /// The operator counted the stock.
    Adjustment,
    /// Issued to a shipment.
    Reserved,
    /// Back from a cancelled shipment that never left.
    Released,
    /// Back from a returned shipment.
    Returned,
}

impl Movement {
    fn as_str(&self) -> &'static str {
        match self {
            Movement::Adjustment => "adjustment",
            Movement::Reserved => "reserved",
            Movement::Released => "released",
            Movement::Returned => "returned",
        }
    }
}

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
            stock_movements::node_id.eq(node.as_str()),
            stock_movements::product_id.eq(product.as_str()),
            stock_movements::delta.eq(delta),
            stock_movements::reason.eq(why.as_str()),
            stock_movements::shipment_id.eq(shipment.map(|s| s.as_str())),
            stock_movements::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

fn current(conn: &mut AnyConnection, node: &NodeId, product: &ProductId) -> QueryResult<Option<i64>> {
    inventory::table
        .filter(inventory::node_id.eq(node.as_str()))
        .filter(inventory::product_id.eq(product.as_str()))
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
                    .filter(inventory::node_id.eq(node.as_str()))
                    .filter(inventory::product_id.eq(product.as_str()))
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
                let inserted = conn.transaction(|c| {
                    diesel::insert_into(inventory::table)
                        .values((
                            inventory::node_id.eq(node.as_str()),
                            inventory::product_id.eq(product.as_str()),
                            inventory::quantity.eq(quantity),
                            inventory::updated_at.eq(now()),
                        ))
                        .execute(c)
                });
                match inserted {
                    Ok(_) => {
                        if quantity != 0 {
                            record(conn, node, product, quantity, Movement::Adjustment, None)?;
                        }
                        return Ok(());
                    }
                    Err(e) if is_unique_violation(&e) => continue,
                    Err(e) => return Err(e),
                }
            }
        }
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
        .filter(inventory::node_id.eq(node.as_str()))
        .filter(inventory::product_id.eq(product.as_str()))
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
            .filter(inventory::node_id.eq(node.as_str()))
            .filter(inventory::product_id.eq(product.as_str()))
            .set((inventory::quantity.eq(inventory::quantity + quantity), inventory::updated_at.eq(now())))
            .execute(conn)?;
        if n == 1 {
            break;
        }
        let inserted = conn.transaction(|c| {
            diesel::insert_into(inventory::table)
                .values((
                    inventory::node_id.eq(node.as_str()),
                    inventory::product_id.eq(product.as_str()),
                    inventory::quantity.eq(quantity),
                    inventory::updated_at.eq(now()),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => break,
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
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
) -> QueryResult<Vec<(i64, String)>> {
    let mut v: Vec<(i64, String)> = stock_movements::table
        .filter(stock_movements::node_id.eq(node.as_str()))
        .filter(stock_movements::product_id.eq(product.as_str()))
        .order(stock_movements::seq.desc())
        .limit(limit)
        .select((stock_movements::delta, stock_movements::reason))
        .load(conn)?;
    v.reverse();
    Ok(v)
}
