//! Acceptance: once the final leg is delivered the order is `delivered` and its escrow
//! stays held. The buyer accepts it (`POST /v1/orders/{order_id}/accept`), or the end of
//! the acceptance window (`accept_by`, `[settings.broker] acceptance_window_secs`) accepts
//! for them. Either way the broker records it once, under a conditional write that a
//! second request, the sweep or another copy of the broker cannot win twice, and tells
//! settlement (`order_accepted`); settlement releases the escrow once it also has
//! delivery's `order_delivered`, and its `escrow_released` makes the order `completed`.

use super::caller::{authorize, OrderCaller};
use super::domain::{OrderStatus, Party};
use super::settings::OrderSettings;
use super::store::{self, Order};
use super::views::view;
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::OrderId;
use shared::messages::Message;
use shared::server::Core;
use shared::time::now;
use std::time::Duration;

/// Accepts a delivered order once, in the caller's transaction. An order accepted before
/// (or already completed) answers as it is; any other status is 409 `not_delivered`.
pub fn accept(conn: &mut AnyConnection, id: &OrderId) -> Result<Order> {
    if store::mark_accepted(conn, id, now())? {
        let m = Message::OrderAccepted { order_id: id.clone() };
        shared::outbox::send(conn, ServiceName::Broker, ServiceName::Settlement, m)?;
    }
    let order = store::get(conn, id)?.ok_or(BrokerError::NotFound("order"))?;
    match order.status {
        OrderStatus::Delivered | OrderStatus::Completed if order.accepted_at.is_some() => Ok(order),
        status => Err(BrokerError::refused(
            Code::NotDelivered,
            format!("the order is {}: it can be accepted once it is delivered", status.words()),
        )),
    }
}

#[utoipa::path(post, tag = "orders", path = "/v1/orders/{order_id}/accept",
    params(("order_id" = String, Path)),
    responses((status = 200, description = "the order, accepted: escrow is released as soon as settlement has \
        delivery's word too, and the order is then `completed`"),
        (status = 409, description = "not_delivered"), (status = 403, description = "another order's capability")))]
pub async fn accept_route(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck_buyer(&id, "accept")?;
    let v = state
        .core
        .db
        .write(move |c| {
            let (_, s, p, party) = authorize(c, &caller, &id, &[Party::Buyer])?;
            let order = accept(c, &id)?;
            view(c, party, order, &s, &p)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(v))
}

/// Accepts, for their buyers, the delivered orders whose window ended; returns how many.
/// Each is its own transaction and its own conditional write, so copies of the broker
/// may sweep side by side and a restart loses nothing.
pub async fn sweep(core: &Core) -> Result<usize> {
    let due = core.db.read(|c| Ok::<_, BrokerError>(store::acceptance_due(c, now(), 100)?)).await?;
    let mut accepted = 0;
    for id in due {
        match core.db.write(move |c| accept(c, &id)).await {
            Ok(_) => accepted += 1,
            // Accepted or moved on meanwhile: nothing left to do.
            Err(BrokerError::Refused { code: Code::NotDelivered, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(accepted)
}

pub fn spawn(core: Core, settings: OrderSettings) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(settings.acceptance_sweep_secs.max(1))).await;
            match sweep(&core).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(accepted = n, "acceptance windows ended");
                    core.kick();
                }
                Err(e) => tracing::warn!(error = %e, "acceptance sweep failed"),
            }
            match crate::disputes::workflow::escalate_overdue(&core, &settings).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(escalated = n, "unanswered disputes and lapsed offers went to the arbiter");
                    core.kick();
                }
                Err(e) => tracing::warn!(error = %e, "dispute escalation sweep failed"),
            }
        }
    });
}
