//! The shipment's life, each step one transaction: the state change and the messages it
//! causes commit together (the outbox), so a crash never loses or doubles one.

use super::domain::{transition, CourierEvent, Effect, LegStatus, ShipmentStatus, MAX_FAILED_ATTEMPTS};
use super::pin::{self, Pins};
use super::store::{self, ShipmentRow};
use crate::error::DeliveryError;
use crate::inventory::store::{self as inventory, Movement};
use crate::nodes::domain::{NodeKind, Owner, Position};
use crate::routing::domain::{self as routing, Destination, Sources};
use crate::settings::DeliverySettings;
use crate::{addresses, nodes};
use diesel::QueryResult;
use shared::config::ServiceName;
use shared::crypto::Sealed;
use shared::db::AnyConnection;
use shared::ids::{CourierId, ManufacturerId, OrderId, ProductId, StoreId};

/// The broker's `shipment_requested`, as far as delivery takes it.
pub struct ShipmentRequest<'a> {
    pub product_id: &'a ProductId,
    pub quantity: i64,
    pub store_id: &'a StoreId,
    pub shipper_store_id: Option<&'a StoreId>,
    pub manufacturer_id: Option<&'a ManufacturerId>,
    pub backorder: bool,
}

/// Records what the broker asked to move. The stores and the manufacturer become the
/// nodes that may supply the goods here and now; only those are kept, so delivery holds
/// no store, salesperson or manufacturer for the order. A store's node opened after the
/// request is not one of its sources.
pub fn request(
    conn: &mut AnyConnection,
    settings: &DeliverySettings,
    order: &OrderId,
    r: &ShipmentRequest,
) -> Result<(), DeliveryError> {
    let shipper = routing::shipping_store(r.store_id, r.shipper_store_id);
    let seller_node = nodes::store::first_owned(conn, NodeKind::Seller, &Owner::from(shipper))?;
    let manufacturer_node = match r.manufacturer_id {
        Some(m) => nodes::store::first_owned(conn, NodeKind::Manufacturer, &Owner::from(m))?,
        None => None,
    };
    let sources = Sources { seller_node, manufacturer_node, backorder: r.backorder };
    store::record_request(
        conn,
        order,
        &store::Requested { product_id: r.product_id, quantity: r.quantity, sources: &sources },
    )?;
    advance(conn, settings, order)
}
use shared::messages::Message;
use shared::time::now;

fn send(conn: &mut AnyConnection, to: ServiceName, message: Message) -> QueryResult<()> {
    shared::outbox::send(conn, ServiceName::Delivery, to, message).map(|_| ())
}

/// Creates the shipment once the order is both requested and paid, and routes it if the
/// address is there. Safe to call any number of times.
pub fn advance(conn: &mut AnyConnection, settings: &DeliverySettings, order: &OrderId) -> Result<(), DeliveryError> {
    let Some(o) = store::order(conn, order)? else { return Ok(()) };
    let (Some(product), Some(quantity), Some(_), Some(_)) = (o.product_id, o.quantity, o.requested_at, o.paid_at)
    else {
        return Ok(());
    };
    if store::by_order(conn, order)?.is_some() {
        return Ok(());
    }
    let cancelled = o.cancelled_at.is_some();
    let status = if cancelled { ShipmentStatus::Cancelled } else { ShipmentStatus::AwaitingAddress };
    let Some(id) = store::insert(conn, order, &product, quantity, status)? else { return Ok(()) };
    if cancelled {
        store::end(conn, &id, ShipmentStatus::Cancelled, now() + settings.shred_after())?;
        store::forget_sources(conn, order)?;
        return Ok(());
    }
    let row = store::by_id(conn, &id)?.ok_or(DeliveryError::ShipmentNotFound)?;
    route(conn, settings, &row)?;
    Ok(())
}

/// Routes a shipment that waits for its address or for stock: reserves the units at the
/// nearest node that has them and lays out the legs, or leaves it `unroutable`.
pub fn route(conn: &mut AnyConnection, settings: &DeliverySettings, row: &ShipmentRow) -> Result<(), DeliveryError> {
    let (id, order) = (&row.id, &row.order_id);
    store::lock_order(conn, order)?;
    let Some(dest) = addresses::store::destination(conn, order)? else { return Ok(()) };
    if !store::claim(conn, id, row.status)? {
        return Ok(());
    }
    let sources = store::order(conn, order)?.ok_or(DeliveryError::ShipmentNotFound)?.sources();
    let all = nodes::store::for_routing(conn, &dest.region, &sources.owned_nodes())?;
    let plan = routing::plan(&all, &sources, &dest);
    for candidate in &plan.candidates {
        if inventory::reserve(conn, &candidate.id, &row.product_id, row.quantity, id)? {
            let legs = routing::legs(&plan, candidate);
            store::insert_legs(conn, id, &legs)?;
            let eta = now() + chrono::Duration::hours(routing::estimated_hours(&legs, settings));
            store::set_routed(conn, id, &candidate.id, eta)?;
            tracing::info!(shipment = %id, legs = legs.len(), "shipment routed");
            return Ok(());
        }
    }
    store::set_unroutable(conn, id, row.unroutable_since.unwrap_or_else(now))?;
    Ok(())
}

/// Puts a routed shipment's reserved units back where they came from.
fn release(conn: &mut AnyConnection, row: &ShipmentRow, why: Movement) -> QueryResult<()> {
    if let Some(source) = &row.source_node {
        inventory::put_back(conn, source, &row.product_id, row.quantity, &row.id, why)?;
    }
    Ok(())
}

/// Stores (or replaces) the sealed address and routes what waited for it. It may change
/// until the final leg starts; once goods travel towards one region it may not move to
/// another.
pub fn set_address(
    conn: &mut AnyConnection,
    settings: &DeliverySettings,
    order: &OrderId,
    sealed: &Sealed,
    region: &str,
    position: Option<Position>,
) -> Result<(), DeliveryError> {
    store::lock_order(conn, order)?;
    let shipment = store::by_order(conn, order)?;
    let before = addresses::store::destination(conn, order)?;
    let region_changes = before.as_ref().is_some_and(|d| d.region != region);
    if let Some(s) = &shipment {
        match s.status {
            ShipmentStatus::Delivered | ShipmentStatus::Returned | ShipmentStatus::Cancelled => {
                return Err(DeliveryError::AddressLocked("the shipment has ended"));
            }
            ShipmentStatus::Unroutable if s.abandoned_at.is_some() => {
                return Err(DeliveryError::AddressLocked("the shipment was abandoned"));
            }
            ShipmentStatus::InTransit => {
                let legs = store::legs_of(conn, &s.id)?;
                let final_started = legs.last().is_some_and(|l| !l.status.not_started());
                if final_started {
                    return Err(DeliveryError::AddressLocked("the final leg has started"));
                }
                if region_changes {
                    return Err(DeliveryError::AddressLocked("the goods are on their way to another region"));
                }
            }
            _ => {}
        }
    }
    let branches = nodes::store::branches_of(conn, region)?;
    let branch_order = position.map(|p| routing::branches_by_distance(&branches, &p)).unwrap_or_default();
    let dest = Destination { region: region.to_string(), branch_order };
    let route_changes = before.as_ref().is_none_or(|d| d.region != dest.region || d.branch_order != dest.branch_order);
    addresses::store::upsert(conn, order, sealed, &dest)?;
    let Some(s) = shipment else { return Ok(()) };
    match s.status {
        ShipmentStatus::AwaitingAddress | ShipmentStatus::Unroutable => route(conn, settings, &s)?,
        ShipmentStatus::Routed if route_changes => {
            // Nothing has moved yet: take the units back and route again for the new place.
            release(conn, &s, Movement::Released)?;
            store::unroute(conn, &s.id, ShipmentStatus::AwaitingAddress)?;
            let again = store::by_id(conn, &s.id)?.ok_or(DeliveryError::ShipmentNotFound)?;
            route(conn, settings, &again)?;
        }
        _ => {}
    }
    Ok(())
}

/// The broker asks to cancel a paid order: granted while no leg was picked up.
pub fn decide_cancel(
    conn: &mut AnyConnection,
    settings: &DeliverySettings,
    order: &OrderId,
) -> Result<bool, DeliveryError> {
    let (accepted, refund_follows) = match stop_unshipped(conn, settings, order)? {
        Stopped::Now { was_abandoned } => (true, was_abandoned),
        Stopped::Already => (true, false),
        Stopped::TooLate => (false, false),
    };
    let decided = Message::CancelDecided { order_id: order.clone(), accepted };
    send(conn, ServiceName::Broker, decided.clone())?;
    if accepted && !refund_follows {
        send(conn, ServiceName::Settlement, decided)?;
    }
    Ok(accepted)
}

/// Settlement gave the money back while the goods were still in escrow (a partner's
/// refund, or a payment that raced a cancel): nothing ships for it unless a courier
/// already has the goods. Settlement and the broker already know; nothing to tell.
pub fn order_refunded(
    conn: &mut AnyConnection,
    settings: &DeliverySettings,
    order: &OrderId,
) -> Result<(), DeliveryError> {
    if let Stopped::TooLate = stop_unshipped(conn, settings, order)? {
        tracing::info!(order = %order, "refunded after the goods left or the shipment ended: nothing to stop");
    }
    Ok(())
}

enum Stopped {
    /// Stopped by this call; `was_abandoned`: settlement refunds on its own already.
    Now { was_abandoned: bool },
    /// Cancelled before.
    Already,
    /// Picked up, delivered or returned: too late to stop.
    TooLate,
}

/// Cancels the order's shipment while no leg was picked up, putting its reserved units
/// back; a shipment not born yet will be born cancelled.
fn stop_unshipped(
    conn: &mut AnyConnection,
    settings: &DeliverySettings,
    order: &OrderId,
) -> Result<Stopped, DeliveryError> {
    store::lock_order(conn, order)?;
    Ok(match store::by_order(conn, order)? {
        // Not created yet (the payment or request is still on its way): it will be born
        // cancelled.
        None => {
            store::record_cancelled(conn, order)?;
            store::forget_sources(conn, order)?;
            Stopped::Now { was_abandoned: false }
        }
        Some(s) if s.shipped_at.is_some() => Stopped::TooLate,
        Some(s) if s.status == ShipmentStatus::Cancelled => Stopped::Already,
        Some(s) if s.status == ShipmentStatus::Returned || s.status == ShipmentStatus::Delivered => Stopped::TooLate,
        Some(s) => {
            release(conn, &s, Movement::Released)?;
            store::record_cancelled(conn, order)?;
            store::end(conn, &s.id, ShipmentStatus::Cancelled, now() + settings.shred_after())?;
            store::forget_sources(conn, order)?;
            Stopped::Now { was_abandoned: s.abandoned_at.is_some() }
        }
    })
}

/// What became of a courier's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    Done,
    /// `delivered` to the buyer with a wrong PIN: counted (commit it), nothing else moved.
    WrongPin {
        left: i32,
    },
}

/// A courier's event on the shipment's current leg. The final leg to the buyer's address is
/// delivered only with the shipment's PIN (`pin`).
pub fn courier_event(
    conn: &mut AnyConnection,
    settings: &DeliverySettings,
    pins: &Pins,
    shipment: &shared::ids::ShipmentId,
    courier: &CourierId,
    event: &CourierEvent,
    pin: Option<&str>,
) -> Result<Reported, DeliveryError> {
    let found = store::by_id(conn, shipment)?.ok_or(DeliveryError::ShipmentNotFound)?;
    // Everything about one order happens one transaction at a time: read again once locked.
    store::lock_order(conn, &found.order_id)?;
    let s = store::by_id(conn, shipment)?.ok_or(DeliveryError::ShipmentNotFound)?;
    let not_now = || DeliveryError::InvalidTransition { event: event.as_str(), state: s.status.to_string() };
    if !matches!(s.status, ShipmentStatus::Routed | ShipmentStatus::InTransit) {
        return Err(not_now());
    }
    let current = s.current_leg.ok_or_else(not_now)?;
    let legs = store::legs_of(conn, &s.id)?;
    let leg = legs.iter().find(|l| l.seq == current).ok_or_else(not_now)?;
    let is_final = legs.last().is_some_and(|l| l.seq == current);
    let holder = leg.courier_id.as_ref();
    let (next, effect) = transition(leg.status, holder, courier, event)?;
    let to_buyer = is_final && leg.to_node.is_none();
    if effect == Effect::Complete && to_buyer {
        if s.pin_failures >= pin::MAX_WRONG {
            return Err(DeliveryError::LegLocked);
        }
        if !pin.is_some_and(|p| pins.matches(&s.id, p)) {
            let failures = store::add_pin_failure(conn, &s.id)?;
            store::record_event(conn, &s.id, current, "wrong_pin")?;
            return Ok(Reported::WrongPin { left: (pin::MAX_WRONG - failures).max(0) });
        }
        store::confirm_pin(conn, &s.id)?;
    }
    let new_holder = if effect == Effect::Reopen { None } else { Some(courier) };
    let held_by = if leg.status.is_claimed() { holder } else { None };
    if !store::update_leg(conn, &s.id, current, leg.status, held_by, next, new_holder)? {
        // Another event changed the leg since we read it (a racing courier).
        return Err(if effect == Effect::Claim { DeliveryError::LegClaimed } else { not_now() });
    }
    // A leg delivered to the next node hands the goods over; only the last one delivers.
    let kind = if effect == Effect::Complete && !is_final { "handed_over" } else { event.as_str() };
    store::record_event(conn, &s.id, current, kind)?;
    let order = s.order_id.clone();
    match effect {
        Effect::Claim => {
            if store::mark_shipped(conn, &s.id)? {
                // The goods have left their source: no routing will look for another.
                store::forget_sources(conn, &order)?;
                send(conn, ServiceName::Broker, Message::OrderShipped { order_id: order })?;
            }
        }
        Effect::Move => {}
        Effect::Complete if is_final => {
            store::mark_delivered(conn, &s.id, now() + settings.shred_after())?;
            send(conn, ServiceName::Broker, Message::OrderDelivered { order_id: order.clone() })?;
            send(conn, ServiceName::Settlement, Message::OrderDelivered { order_id: order })?;
            tracing::info!(shipment = %s.id, "shipment delivered");
        }
        Effect::Complete => {
            if !store::advance_leg(conn, &s.id, current)? {
                return Err(not_now());
            }
            store::update_leg(conn, &s.id, current + 1, LegStatus::Pending, None, LegStatus::Open, None)?;
        }
        Effect::Reopen => {
            let delay = chrono::Duration::hours(settings.handling_hours.max(1));
            let failures = store::add_failure(conn, &s.id, delay)?;
            if failures >= MAX_FAILED_ATTEMPTS {
                // The goods are where the failed leg started; they go back into its stock.
                inventory::put_back(conn, &leg.from_node, &s.product_id, s.quantity, &s.id, Movement::Returned)?;
                store::end(conn, &s.id, ShipmentStatus::Returned, now() + settings.shred_after())?;
                let reason = format!("returned after {MAX_FAILED_ATTEMPTS} failed delivery attempts");
                let abandoned = Message::ShipmentAbandoned { order_id: order, reason };
                send(conn, ServiceName::Settlement, abandoned.clone())?;
                send(conn, ServiceName::Broker, abandoned)?;
                tracing::info!(shipment = %s.id, "shipment returned");
            }
        }
    }
    Ok(Reported::Done)
}

/// Routing retries for unroutable shipments, and abandonment after the wait. Returns how
/// many messages it queued.
pub fn sweep_unroutable(conn: &mut AnyConnection, settings: &DeliverySettings) -> Result<usize, DeliveryError> {
    let mut sent = 0;
    for row in
        store::with_status(conn, ShipmentStatus::Unroutable, 200)?.into_iter().filter(|r| r.abandoned_at.is_none())
    {
        route(conn, settings, &row)?;
        let still = store::by_id(conn, &row.id)?.ok_or(DeliveryError::ShipmentNotFound)?;
        let expired = still.unroutable_since.is_some_and(|t| t + settings.unroutable_wait() <= now());
        if still.status == ShipmentStatus::Unroutable
            && expired
            && store::abandon(conn, &row.id, now() + settings.shred_after())?
        {
            store::forget_sources(conn, &row.order_id)?;
            let abandoned = Message::ShipmentAbandoned {
                order_id: row.order_id.clone(),
                reason: "no node of the network can supply the goods".into(),
            };
            send(conn, ServiceName::Settlement, abandoned.clone())?;
            send(conn, ServiceName::Broker, abandoned)?;
            tracing::info!(shipment = %row.id, "unroutable shipment abandoned");
            sent += 2;
        }
    }
    Ok(sent)
}

/// Routes shipments whose address arrived while their creation was in flight.
pub fn sweep_awaiting(conn: &mut AnyConnection, settings: &DeliverySettings) -> Result<(), DeliveryError> {
    for row in store::awaiting_with_address(conn, 200)? {
        route(conn, settings, &row)?;
    }
    Ok(())
}

/// Deletes the sealed addresses whose time has come (after the shipment ended, or long
/// after they came for an order that never shipped), and the histories of shipments
/// `history_kept` past that. A dispute still open then is decided without the history.
pub fn shred_due(conn: &mut AnyConnection, settings: &DeliverySettings) -> Result<usize, DeliveryError> {
    let due = store::due_for_shredding(conn, now(), 500)?;
    for row in &due {
        addresses::store::delete(conn, &row.order_id)?;
        store::mark_shredded(conn, &row.id)?;
    }
    store::forget_events(conn, now() - settings.history_kept(), 500)?;
    let orphans = addresses::store::delete_orphans(conn, now() - settings.orphan_address())?;
    Ok(due.len() + orphans)
}

/// The salesperson hands the goods out at their own node: the leg opens to couriers.
/// Issuing again answers as the first time did; another salesperson's shipment does not
/// exist for them.
pub fn issue_goods(
    conn: &mut AnyConnection,
    seller: &shared::ids::SellerId,
    shipment: &shared::ids::ShipmentId,
) -> Result<(), DeliveryError> {
    let found = store::by_id(conn, shipment)?.ok_or(DeliveryError::ShipmentNotFound)?;
    store::lock_order(conn, &found.order_id)?;
    let s = store::by_id(conn, shipment)?.ok_or(DeliveryError::ShipmentNotFound)?;
    let legs = store::legs_of(conn, &s.id)?;
    let Some(first) = legs.first() else { return Err(DeliveryError::ShipmentNotFound) };
    if !crate::sellers::store::owns(conn, seller, &first.from_node)? {
        return Err(DeliveryError::ShipmentNotFound);
    }
    match first.status {
        LegStatus::AwaitingGoodsIssue => {
            if !matches!(s.status, ShipmentStatus::Routed) {
                return Err(DeliveryError::InvalidTransition { event: "goods_issue", state: s.status.to_string() });
            }
            store::update_leg(conn, &s.id, first.seq, LegStatus::AwaitingGoodsIssue, None, LegStatus::Open, None)?;
            tracing::info!(shipment = %s.id, "goods issued at the seller's node");
            Ok(())
        }
        LegStatus::Open | LegStatus::PickedUp | LegStatus::InTransit | LegStatus::Delivered => Ok(()),
        LegStatus::Pending | LegStatus::Cancelled => {
            Err(DeliveryError::InvalidTransition { event: "goods_issue", state: first.status.to_string() })
        }
    }
}
