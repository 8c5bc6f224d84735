//! Suspending a store, or every store of a seller (an admin): its offers leave search,
//! selections and the shop, new orders are refused with 409 `store_suspended`, its unpaid
//! orders are cancelled (their stock comes back, settlement is told as for any
//! cancellation), paid orders go on; settlement is told (`store_suspended`) and holds the
//! store's remittances. Lifting it restores the offers; the cancelled orders stay cancelled.

use crate::error::{BrokerError, Result};
use crate::orders::domain::{Event, OrderStatus};
use crate::orders::settings::OrderSettings;
use crate::schema::{orders, stores};
use crate::State;
use actix_web::{web, HttpResponse};
use client::admin::{SuspendedStore, SuspendedStores, Suspension};
use diesel::prelude::*;
use shared::auth::{Admin, Operator};
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::{OrderId, SellerId, StoreId};
use shared::messages::Message;
use shared::time::{now, Timestamp};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/admin/stores/{store_id}/suspension", web::post().to(suspend_store))
        .route("/v1/admin/sellers/{seller_id}/suspension", web::post().to(suspend_seller));
}

/// What the admin asked: `Some(reason)` to suspend, `None` to lift.
fn asked(body: &Suspension) -> Result<Option<String>> {
    if !body.suspended {
        return Ok(None);
    }
    let reason = body.reason.as_deref().map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(shared::Error::Invalid("suspending needs a `reason` of 1 to 500 characters".into()).into());
    }
    Ok(Some(reason.to_string()))
}

/// The unpaid orders of a store: those a suspension cancels.
fn unpaid(conn: &mut AnyConnection, store: &StoreId) -> QueryResult<Vec<OrderId>> {
    orders::table
        .filter(orders::store_id.eq(store))
        .filter(orders::status.eq_any([
            OrderStatus::AwaitingConfirmation,
            OrderStatus::AwaitingApproval,
            OrderStatus::AwaitingPayment,
        ]))
        .select(orders::id)
        .load(conn)
}

/// Suspends (`Some(reason)`) or lifts the suspension of one store, in the caller's
/// transaction; the same request twice changes nothing the second time.
pub fn set(
    conn: &mut AnyConnection,
    settings: &OrderSettings,
    store: &StoreId,
    reason: Option<&str>,
) -> Result<SuspendedStore> {
    let row: Option<(String, Option<Timestamp>)> = stores::table
        .filter(stores::id.eq(store))
        .select((stores::name, stores::suspended_at))
        .first(conn)
        .optional()?;
    let (name, was) = row.ok_or(BrokerError::NotFound("store"))?;
    let mut cancelled = 0;
    if was.is_some() != reason.is_some() {
        diesel::update(stores::table.filter(stores::id.eq(store)))
            .set((stores::suspended_at.eq(reason.map(|_| now())), stores::suspension_reason.eq(reason)))
            .execute(conn)?;
        let m = Message::StoreSuspended { store_id: store.clone(), suspended: reason.is_some() };
        shared::outbox::send(conn, ServiceName::Broker, ServiceName::Settlement, m)?;
    }
    if let Some(reason) = reason {
        // Also after a repeat: an order that slipped in before the first is cancelled now.
        let why = format!("the store is suspended: {reason}");
        for order in unpaid(conn, store)? {
            crate::orders::workflow::apply(conn, settings, &order, Event::Cancel, Some(&why))?;
            cancelled += 1;
        }
    }
    let (suspended_at, reason): (Option<Timestamp>, Option<String>) = stores::table
        .filter(stores::id.eq(store))
        .select((stores::suspended_at, stores::suspension_reason))
        .first(conn)?;
    Ok(SuspendedStore {
        store_id: store.clone(),
        name,
        suspended: suspended_at.is_some(),
        reason,
        cancelled_orders: cancelled,
    })
}

/// Suspends one store, or lifts its suspension.
#[utoipa::path(post, path = "/v1/admin/stores/{store_id}/suspension", request_body = Suspension, tag = "admin",
    params(("store_id" = String, Path)),
    responses((status = 200, body = SuspendedStore), (status = 404, description = "not_found")),
    security(("operator" = [])))]
pub async fn suspend_store(
    state: web::Data<State>,
    _op: Operator<Admin>,
    path: web::Path<String>,
    body: web::Json<Suspension>,
) -> Result<HttpResponse> {
    let store = StoreId::parse(&path)?;
    let reason = asked(&body)?;
    let settings = crate::orders::settings::of(&state);
    let view = state.core.db.write(move |c| set(c, &settings, &store, reason.as_deref())).await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(view))
}

/// Suspends every store of a seller, or lifts the suspension of every one.
#[utoipa::path(post, path = "/v1/admin/sellers/{seller_id}/suspension", request_body = Suspension, tag = "admin",
    params(("seller_id" = String, Path)),
    responses((status = 200, body = SuspendedStores), (status = 404, description = "not_found")),
    security(("operator" = [])))]
pub async fn suspend_seller(
    state: web::Data<State>,
    _op: Operator<Admin>,
    path: web::Path<String>,
    body: web::Json<Suspension>,
) -> Result<HttpResponse> {
    let seller = SellerId::parse(&path)?;
    let reason = asked(&body)?;
    let settings = crate::orders::settings::of(&state);
    let views = state
        .core
        .db
        .write(move |c| {
            if !crate::accounts::store::seller_exists(c, &seller)? {
                return Err(BrokerError::NotFound("seller"));
            }
            let ids: Vec<StoreId> =
                stores::table.filter(stores::seller_id.eq(&seller)).order(stores::id).select(stores::id).load(c)?;
            ids.iter().map(|s| set(c, &settings, s, reason.as_deref())).collect::<Result<Vec<_>>>()
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(SuspendedStores { stores: views }))
}
