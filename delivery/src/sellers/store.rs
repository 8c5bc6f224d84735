use crate::nodes::domain::NodeKind;
use crate::schema::{inventory, legs, nodes, shipments, stores};
use crate::shipments::domain::{LegStatus, ShipmentStatus};
use crate::shipments::store::{LegRow, ShipmentRow};
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{ManufacturerId, NodeId, ProductId, SellerId, StoreId};
use shared::time::now;

/// Records a store's owner once (the broker's `store_registered`).
pub fn register(
    conn: &mut AnyConnection,
    store: &StoreId,
    seller: Option<&SellerId>,
    manufacturer: Option<&ManufacturerId>,
) -> QueryResult<()> {
    let inserted = conn.transaction(|c| {
        diesel::insert_into(stores::table)
            .values((
                stores::id.eq(store),
                stores::seller_id.eq(seller),
                stores::manufacturer_id.eq(manufacturer),
                stores::created_at.eq(now()),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A seller node of one of the salesperson's stores: `(id, name, region, store)`.
pub type OwnNode = (NodeId, String, String, StoreId);

pub fn nodes_of(conn: &mut AnyConnection, seller: &SellerId) -> QueryResult<Vec<OwnNode>> {
    let theirs = stores::table.filter(stores::seller_id.eq(seller)).select(stores::id);
    nodes::table
        .filter(nodes::kind.eq(NodeKind::Seller))
        .filter(nodes::owner.assume_not_null().eq_any(theirs))
        .order(nodes::created_at)
        .select((nodes::id, nodes::name, nodes::region, nodes::owner.assume_not_null()))
        .load(conn)
}

pub fn owns(conn: &mut AnyConnection, seller: &SellerId, node: &NodeId) -> QueryResult<bool> {
    let theirs = stores::table.filter(stores::seller_id.eq(seller)).select(stores::id);
    nodes::table
        .filter(nodes::id.eq(node))
        .filter(nodes::kind.eq(NodeKind::Seller))
        .filter(nodes::owner.assume_not_null().eq_any(theirs))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// What lies at a node, by product: `(product, quantity)`.
pub fn stock_at(conn: &mut AnyConnection, node: &NodeId) -> QueryResult<Vec<(ProductId, i64)>> {
    inventory::table
        .filter(inventory::node_id.eq(node))
        .order(inventory::product_id)
        .select((inventory::product_id, inventory::quantity))
        .load(conn)
}

/// The current legs that start at the salesperson's nodes, oldest shipment first.
pub fn dispatches(
    conn: &mut AnyConnection,
    seller: &SellerId,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<(ShipmentRow, LegRow)>> {
    let theirs = stores::table.filter(stores::seller_id.eq(seller)).select(stores::id);
    let own_nodes = nodes::table
        .filter(nodes::kind.eq(NodeKind::Seller))
        .filter(nodes::owner.assume_not_null().eq_any(theirs))
        .select(nodes::id);
    legs::table
        .inner_join(shipments::table)
        .filter(legs::from_node.eq_any(own_nodes))
        .filter(shipments::current_leg.eq(legs::seq.nullable()))
        .filter(shipments::status.eq_any([ShipmentStatus::Routed, ShipmentStatus::InTransit]))
        .filter(legs::status.ne(LegStatus::Pending))
        .order((shipments::created_at, legs::shipment_id))
        .limit(limit)
        .offset(offset)
        .select((ShipmentRow::as_select(), LegRow::as_select()))
        .load(conn)
}
