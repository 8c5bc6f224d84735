use super::domain::{LegStatus, ShipmentStatus};
use crate::routing::domain::{PlannedLeg, Sources};
use crate::schema::{legs, orders, shipment_events, shipments};
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{CourierId, NodeId, OrderId, ProductId, ShipmentId};
use shared::time::{now, Timestamp};

/// What delivery knows of an order: the broker's request and settlement's payment, each
/// arriving on its own. Of who sold it, nothing: only the nodes that may supply it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub order_id: OrderId,
    pub product_id: Option<ProductId>,
    pub quantity: Option<i64>,
    pub backorder: bool,
    pub requested_at: Option<Timestamp>,
    pub paid_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    /// The shipping store's own node, until the shipment can no longer be routed again.
    pub seller_node: Option<NodeId>,
    /// The manufacturer's node, likewise.
    pub manufacturer_node: Option<NodeId>,
}

impl OrderRow {
    pub fn sources(&self) -> Sources {
        Sources {
            seller_node: self.seller_node.clone(),
            manufacturer_node: self.manufacturer_node.clone(),
            backorder: self.backorder,
        }
    }
}

/// The broker's request, as stored.
pub struct Requested<'a> {
    pub product_id: &'a ProductId,
    pub quantity: i64,
    pub sources: &'a Sources,
}

/// Makes sure the order's row exists, then locks it (a no-op update), so that the
/// messages and calls about one order apply one after another on PostgreSQL too.
pub fn lock_order(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<()> {
    let t = now();
    let n = diesel::update(orders::table.filter(orders::order_id.eq(order)))
        .set(orders::order_id.eq(order))
        .execute(conn)?;
    if n == 1 {
        return Ok(());
    }
    let inserted = conn.transaction(|c| {
        diesel::insert_into(orders::table)
            .values((orders::order_id.eq(order), orders::backorder.eq(false), orders::created_at.eq(t)))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => lock_order(conn, order),
        Err(e) => Err(e),
    }
}

pub fn record_request(conn: &mut AnyConnection, order: &OrderId, r: &Requested) -> QueryResult<()> {
    lock_order(conn, order)?;
    diesel::update(orders::table.filter(orders::order_id.eq(order)))
        .set((
            orders::product_id.eq(r.product_id),
            orders::quantity.eq(r.quantity),
            orders::seller_node.eq(r.sources.seller_node.as_ref()),
            orders::manufacturer_node.eq(r.sources.manufacturer_node.as_ref()),
            orders::backorder.eq(r.sources.backorder),
            orders::requested_at.eq(Some(now())),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Forgets the order's owned source nodes once the shipment will never be routed again
/// (picked up, or ended): a node names its owner, so keeping it would tie the order to
/// the store that sold it for no purpose.
pub fn forget_sources(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<()> {
    diesel::update(orders::table.filter(orders::order_id.eq(order)))
        .set((orders::seller_node.eq(None::<NodeId>), orders::manufacturer_node.eq(None::<NodeId>)))
        .execute(conn)
        .map(|_| ())
}

pub fn record_paid(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<()> {
    lock_order(conn, order)?;
    diesel::update(orders::table.filter(orders::order_id.eq(order)))
        .set(orders::paid_at.eq(Some(now())))
        .execute(conn)
        .map(|_| ())
}

pub fn record_cancelled(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<()> {
    lock_order(conn, order)?;
    diesel::update(orders::table.filter(orders::order_id.eq(order)))
        .set(orders::cancelled_at.eq(Some(now())))
        .execute(conn)
        .map(|_| ())
}

pub fn order(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<Option<OrderRow>> {
    orders::table.filter(orders::order_id.eq(order)).select(OrderRow::as_select()).first(conn).optional()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = shipments)]
pub struct ShipmentRow {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub product_id: ProductId,
    pub quantity: i64,
    pub status: ShipmentStatus,
    pub delivered: bool,
    pub source_node: Option<NodeId>,
    pub current_leg: Option<i32>,
    pub failed_attempts: i32,
    pub estimated_delivery: Option<Timestamp>,
    pub unroutable_since: Option<Timestamp>,
    pub abandoned_at: Option<Timestamp>,
    pub shipped_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub shred_after: Option<Timestamp>,
    pub address_shredded_at: Option<Timestamp>,
    /// Wrong delivery PINs given on the final leg ([`super::pin::MAX_WRONG`] lock it).
    pub pin_failures: i32,
    /// The final leg was delivered with the buyer's PIN.
    pub pin_confirmed: bool,
}

/// Creates the shipment once; `None` when another transaction created it first.
pub fn insert(
    conn: &mut AnyConnection,
    order: &OrderId,
    product: &ProductId,
    quantity: i64,
    status: ShipmentStatus,
) -> QueryResult<Option<ShipmentId>> {
    let id = ShipmentId::generate();
    let t = now();
    let inserted = conn.transaction(|c| {
        diesel::insert_into(shipments::table)
            .values((
                shipments::id.eq(&id),
                shipments::order_id.eq(order),
                shipments::product_id.eq(product),
                shipments::quantity.eq(quantity),
                shipments::status.eq(status),
                shipments::delivered.eq(false),
                shipments::failed_attempts.eq(0),
                shipments::created_at.eq(t),
                shipments::updated_at.eq(t),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(Some(id)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn by_order(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<Option<ShipmentRow>> {
    shipments::table.filter(shipments::order_id.eq(order)).select(ShipmentRow::as_select()).first(conn).optional()
}

pub fn by_id(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<Option<ShipmentRow>> {
    shipments::table.filter(shipments::id.eq(id)).select(ShipmentRow::as_select()).first(conn).optional()
}

pub fn with_status(conn: &mut AnyConnection, status: ShipmentStatus, limit: i64) -> QueryResult<Vec<ShipmentRow>> {
    shipments::table
        .filter(shipments::status.eq(status))
        .order(shipments::created_at)
        .limit(limit)
        .select(ShipmentRow::as_select())
        .load(conn)
}

/// Shipments whose address is due for shredding.
pub fn due_for_shredding(conn: &mut AnyConnection, at: Timestamp, limit: i64) -> QueryResult<Vec<ShipmentRow>> {
    shipments::table
        .filter(shipments::shred_after.le(at))
        .filter(shipments::address_shredded_at.is_null())
        .limit(limit)
        .select(ShipmentRow::as_select())
        .load(conn)
}

/// Takes the shipment for a change if it is still in `status`: a conditional update that
/// also locks the row on PostgreSQL, so two processes never route or end it twice.
pub fn claim(conn: &mut AnyConnection, id: &ShipmentId, status: ShipmentStatus) -> QueryResult<bool> {
    diesel::update(shipments::table.filter(shipments::id.eq(id)).filter(shipments::status.eq(status)))
        .set(shipments::updated_at.eq(now()))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn set_routed(
    conn: &mut AnyConnection,
    id: &ShipmentId,
    source: &NodeId,
    estimated_delivery: Timestamp,
) -> QueryResult<()> {
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set((
            shipments::status.eq(ShipmentStatus::Routed),
            shipments::source_node.eq(Some(source)),
            shipments::current_leg.eq(Some(0)),
            shipments::estimated_delivery.eq(Some(estimated_delivery)),
            shipments::unroutable_since.eq(None::<Timestamp>),
            shipments::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_unroutable(conn: &mut AnyConnection, id: &ShipmentId, since: Timestamp) -> QueryResult<()> {
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set((
            shipments::status.eq(ShipmentStatus::Unroutable),
            shipments::unroutable_since.eq(Some(since)),
            shipments::source_node.eq(None::<NodeId>),
            shipments::current_leg.eq(None::<i32>),
            shipments::estimated_delivery.eq(None::<Timestamp>),
            shipments::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Undoes a routing: no source, no legs (the caller puts the goods back first).
pub fn unroute(conn: &mut AnyConnection, id: &ShipmentId, status: ShipmentStatus) -> QueryResult<()> {
    diesel::delete(legs::table.filter(legs::shipment_id.eq(id))).execute(conn)?;
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set((
            shipments::status.eq(status),
            shipments::source_node.eq(None::<NodeId>),
            shipments::current_leg.eq(None::<i32>),
            shipments::estimated_delivery.eq(None::<Timestamp>),
            shipments::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Ends a shipment without delivery; the address is shredded `shred_after`.
pub fn end(
    conn: &mut AnyConnection,
    id: &ShipmentId,
    status: ShipmentStatus,
    shred_after: Timestamp,
) -> QueryResult<()> {
    diesel::update(legs::table.filter(legs::shipment_id.eq(id)).filter(legs::status.ne(LegStatus::Delivered)))
        .set((legs::status.eq(LegStatus::Cancelled), legs::updated_at.eq(now())))
        .execute(conn)?;
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set((
            shipments::status.eq(status),
            shipments::shred_after.eq(Some(shred_after)),
            shipments::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks an unroutable shipment abandoned, once.
pub fn abandon(conn: &mut AnyConnection, id: &ShipmentId, shred_after: Timestamp) -> QueryResult<bool> {
    let t = now();
    diesel::update(
        shipments::table
            .filter(shipments::id.eq(id))
            .filter(shipments::status.eq(ShipmentStatus::Unroutable))
            .filter(shipments::abandoned_at.is_null()),
    )
    .set((
        shipments::abandoned_at.eq(Some(t)),
        shipments::shred_after.eq(Some(shred_after)),
        shipments::updated_at.eq(t),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// The first pickup of the shipment: true only the first time.
pub fn mark_shipped(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<bool> {
    let t = now();
    diesel::update(shipments::table.filter(shipments::id.eq(id)).filter(shipments::shipped_at.is_null()))
        .set((
            shipments::shipped_at.eq(Some(t)),
            shipments::status.eq(ShipmentStatus::InTransit),
            shipments::updated_at.eq(t),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn advance_leg(conn: &mut AnyConnection, id: &ShipmentId, from: i32) -> QueryResult<bool> {
    diesel::update(shipments::table.filter(shipments::id.eq(id)).filter(shipments::current_leg.eq(Some(from))))
        .set((shipments::current_leg.eq(Some(from + 1)), shipments::updated_at.eq(now())))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn mark_delivered(conn: &mut AnyConnection, id: &ShipmentId, shred_after: Timestamp) -> QueryResult<()> {
    let t = now();
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set((
            shipments::status.eq(ShipmentStatus::Delivered),
            shipments::delivered.eq(true),
            shipments::delivered_at.eq(Some(t)),
            shipments::shred_after.eq(Some(shred_after)),
            shipments::updated_at.eq(t),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records the delivery PIN given at the door.
pub fn confirm_pin(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<()> {
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set(shipments::pin_confirmed.eq(true))
        .execute(conn)?;
    Ok(())
}

/// Counts a wrong delivery PIN; returns the new count.
pub fn add_pin_failure(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<i32> {
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set((shipments::pin_failures.eq(shipments::pin_failures + 1), shipments::updated_at.eq(now())))
        .execute(conn)?;
    shipments::table.filter(shipments::id.eq(id)).select(shipments::pin_failures).first(conn)
}

/// An operator unlocks a final leg locked by wrong PINs, which the shipment's history
/// notes; a shipment that took no wrong PIN, or is no longer on its way, changes nothing.
/// `false` for an unknown shipment.
pub fn unlock_pin(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<bool> {
    let Some(found) = by_id(conn, id)? else { return Ok(false) };
    lock_order(conn, &found.order_id)?;
    let unlocked = diesel::update(
        shipments::table
            .filter(shipments::id.eq(id))
            .filter(shipments::pin_failures.gt(0))
            .filter(shipments::status.eq_any([ShipmentStatus::Routed, ShipmentStatus::InTransit])),
    )
    .set((shipments::pin_failures.eq(0), shipments::updated_at.eq(now())))
    .execute(conn)?;
    if unlocked == 1 {
        // Read again once locked: the leg it is on now.
        let leg = by_id(conn, id)?.and_then(|s| s.current_leg).unwrap_or(0);
        record_event(conn, id, leg, "pin_unlocked")?;
    }
    Ok(true)
}

/// Counts a failed attempt and pushes the estimate back; returns the new count.
pub fn add_failure(conn: &mut AnyConnection, id: &ShipmentId, delay: chrono::Duration) -> QueryResult<i32> {
    let row = by_id(conn, id)?.ok_or(diesel::result::Error::NotFound)?;
    let n = row.failed_attempts + 1;
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set((
            shipments::failed_attempts.eq(n),
            shipments::estimated_delivery.eq(row.estimated_delivery.map(|t| t + delay)),
            shipments::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(n)
}

pub fn mark_shredded(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<()> {
    diesel::update(shipments::table.filter(shipments::id.eq(id)))
        .set(shipments::address_shredded_at.eq(Some(now())))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = legs)]
pub struct LegRow {
    pub shipment_id: ShipmentId,
    pub seq: i32,
    pub from_node: NodeId,
    pub to_node: Option<NodeId>,
    pub region: String,
    pub status: LegStatus,
    pub courier_id: Option<CourierId>,
}

pub fn insert_legs(conn: &mut AnyConnection, id: &ShipmentId, planned: &[PlannedLeg]) -> QueryResult<()> {
    let t = now();
    for (seq, leg) in planned.iter().enumerate() {
        let status = match (seq, leg.seller_issues) {
            (0, true) => LegStatus::AwaitingGoodsIssue,
            (0, false) => LegStatus::Open,
            _ => LegStatus::Pending,
        };
        diesel::insert_into(legs::table)
            .values((
                legs::shipment_id.eq(id),
                legs::seq.eq(seq as i32),
                legs::from_node.eq(&leg.from),
                legs::to_node.eq(leg.to.as_ref()),
                legs::region.eq(&leg.region),
                legs::status.eq(status),
                legs::updated_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn legs_of(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<Vec<LegRow>> {
    legs::table.filter(legs::shipment_id.eq(id)).order(legs::seq).select(LegRow::as_select()).load(conn)
}

/// Moves a leg from `from` to `to` if it is still in `from` (and, for a claimed leg,
/// still held by `holder`); false when another event got there first.
pub fn update_leg(
    conn: &mut AnyConnection,
    id: &ShipmentId,
    seq: i32,
    from: LegStatus,
    holder: Option<&CourierId>,
    to: LegStatus,
    new_holder: Option<&CourierId>,
) -> QueryResult<bool> {
    let target = legs::table.filter(legs::shipment_id.eq(id)).filter(legs::seq.eq(seq)).filter(legs::status.eq(from));
    let set = (legs::status.eq(to), legs::courier_id.eq(new_holder), legs::updated_at.eq(now()));
    let n = match holder {
        Some(h) => diesel::update(target.filter(legs::courier_id.eq(h))).set(set).execute(conn)?,
        None => diesel::update(target).set(set).execute(conn)?,
    };
    Ok(n == 1)
}

/// The current legs a courier may see: open ones (of the courier's region, if any) and the
/// ones they hold. `(shipment, leg, leg count)`.
pub fn courier_legs(
    conn: &mut AnyConnection,
    courier: &CourierId,
    region: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<(ShipmentRow, LegRow)>> {
    let open = legs::status.eq(LegStatus::Open);
    let mine = legs::courier_id.eq(courier).and(legs::status.eq_any([LegStatus::PickedUp, LegStatus::InTransit]));
    let base = legs::table
        .inner_join(shipments::table)
        .filter(shipments::current_leg.eq(legs::seq.nullable()))
        .filter(shipments::status.eq_any([ShipmentStatus::Routed, ShipmentStatus::InTransit]));
    let rows = match region {
        Some(r) => base
            .filter(open.and(legs::region.eq(r)).or(mine))
            .order((shipments::created_at, legs::shipment_id))
            .limit(limit)
            .offset(offset)
            .select((ShipmentRow::as_select(), LegRow::as_select()))
            .load(conn)?,
        None => base
            .filter(open.or(mine))
            .order((shipments::created_at, legs::shipment_id))
            .limit(limit)
            .offset(offset)
            .select((ShipmentRow::as_select(), LegRow::as_select()))
            .load(conn)?,
    };
    Ok(rows)
}

pub fn leg_count(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<i64> {
    legs::table.filter(legs::shipment_id.eq(id)).count().get_result(conn)
}

/// Shipments still awaiting their address although it is there.
pub fn awaiting_with_address(conn: &mut AnyConnection, limit: i64) -> QueryResult<Vec<ShipmentRow>> {
    use crate::schema::addresses;
    shipments::table
        .filter(shipments::status.eq(ShipmentStatus::AwaitingAddress))
        .filter(shipments::order_id.eq_any(addresses::table.select(addresses::order_id)))
        .limit(limit)
        .select(ShipmentRow::as_select())
        .load(conn)
}

/// One entry of a shipment's history: a courier event's kind (`handed_over` for a leg
/// delivered to the next node), `wrong_pin` or `pin_unlocked`.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct EventRow {
    pub kind: String,
    pub at: Timestamp,
}

/// Notes what happened on a leg. Written under the order's lock, so the next number is
/// this shipment's alone.
pub fn record_event(conn: &mut AnyConnection, id: &ShipmentId, leg: i32, kind: &str) -> QueryResult<()> {
    let last: Option<i32> = shipment_events::table
        .filter(shipment_events::shipment_id.eq(id))
        .select(diesel::dsl::max(shipment_events::seq))
        .first(conn)?;
    diesel::insert_into(shipment_events::table)
        .values((
            shipment_events::shipment_id.eq(id),
            shipment_events::seq.eq(last.unwrap_or(0) + 1),
            shipment_events::leg.eq(leg),
            shipment_events::kind.eq(kind),
            shipment_events::at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The shipment's history, oldest first.
pub fn events_of(conn: &mut AnyConnection, id: &ShipmentId) -> QueryResult<Vec<EventRow>> {
    shipment_events::table
        .filter(shipment_events::shipment_id.eq(id))
        .order(shipment_events::seq)
        .select((shipment_events::kind, shipment_events::at))
        .load(conn)
}

/// Forgets the history of up to `limit` shipments whose address was due for shredding
/// before `before`. The history table holds only the shipments still within their time, so
/// finding them stays cheap however many ended long ago.
pub fn forget_events(conn: &mut AnyConnection, before: Timestamp, limit: i64) -> QueryResult<usize> {
    let due: Vec<ShipmentId> = shipment_events::table
        .inner_join(shipments::table)
        .filter(shipments::shred_after.le(before))
        .select(shipment_events::shipment_id)
        .distinct()
        .limit(limit)
        .load(conn)?;
    if due.is_empty() {
        return Ok(0);
    }
    diesel::delete(shipment_events::table.filter(shipment_events::shipment_id.eq_any(&due))).execute(conn)
}
