//! The dispute routes: the buyer opens, reads, takes an offer or escalates (with the
//! order's capability); the store's seller reads and answers; the arbiter reads the files
//! and decides. Each step runs in one transaction under the order's row.

use super::domain::{self, DisputeStatus};
use super::store::{self as disputes, DisputeRow};
use super::workflow;
use crate::error::{BrokerError, Code, Result};
use crate::orders::caller::OrderCaller;
use crate::orders::domain::Party;
use crate::orders::settings::of as settings;
use crate::State;
use actix_web::{web, HttpResponse};
use client::broker::disputes::{
    DecisionView, DisputeFile, DisputeFiles, DisputeMessage, DisputeView, FileOrder, Offer, OpenDispute,
};
use client::broker::orders::StoreRef;
use shared::auth::{Arbiter, Operator};
use shared::db::AnyConnection;
use shared::ids::{DisputeId, OrderId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/orders/{order_id}/disputes", web::post().to(open))
        .route("/v1/orders/{order_id}/disputes/{dispute_id}", web::get().to(read))
        .route("/v1/arbiter/disputes", web::get().to(queue));
}

/// The dispute as its buyer and its store read it.
pub fn view(conn: &mut AnyConnection, d: &DisputeRow, paid: shared::money::Money) -> Result<DisputeView> {
    let messages = disputes::thread(conn, &d.id)?
        .into_iter()
        .map(|m| DisputeMessage { from: m.author, text: m.body, at: m.created_at })
        .collect();
    let offer = match (d.offer_percent, d.offer_expires_at) {
        (Some(p), Some(expires_at)) if d.status == DisputeStatus::Offered => {
            Some(Offer { refund_percent: p, refund: domain::share(paid, p), expires_at })
        }
        _ => None,
    };
    let decision = match (d.outcome, d.refund(), d.decided_at) {
        (Some(outcome), Some(refund), Some(decided_at)) => {
            Some(DecisionView { outcome, refund, return_required: d.return_required, decided_at })
        }
        _ => None,
    };
    Ok(DisputeView {
        dispute_id: d.id.clone(),
        order_id: d.order_id.clone(),
        status: d.status,
        reason: d.reason,
        respond_by: d.respond_by,
        offer,
        decision,
        messages,
        opened_at: d.created_at,
    })
}

#[utoipa::path(post, tag = "disputes", path = "/v1/orders/{order_id}/disputes", request_body = OpenDispute,
    params(("order_id" = String, Path)),
    responses((status = 201, body = DisputeView),
        (status = 409, description = "dispute_exists, dispute_window_closed, dispute_too_early")))]
pub async fn open(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    body: web::Json<OpenDispute>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck_buyer(&id, "dispute")?;
    let settings = settings(&state);
    let OpenDispute { reason, message } = body.into_inner();
    let v = state
        .core
        .db
        .write(move |c| {
            let (order, ..) = crate::orders::caller::authorize(c, &caller, &id, &[Party::Buyer])?;
            let d = workflow::open(c, &settings, &id, reason, &message)?;
            view(c, &d, order.amount)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Created().json(v))
}

#[utoipa::path(get, tag = "disputes", path = "/v1/orders/{order_id}/disputes/{dispute_id}",
    params(("order_id" = String, Path), ("dispute_id" = String, Path)),
    responses((status = 200, body = DisputeView), (status = 404, description = "not_found")))]
pub async fn read(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (order, dispute) = path.into_inner();
    let (id, dispute) = (OrderId::parse(&order)?, DisputeId::parse(&dispute)?);
    caller.precheck(&id, "read")?;
    let v = state
        .core
        .db
        .read(move |c| {
            let (order, ..) = crate::orders::caller::authorize(c, &caller, &id, &[Party::Buyer, Party::Seller])?;
            let d = disputes::get(c, &dispute)?.filter(|d| d.order_id == id).ok_or(BrokerError::NotFound("dispute"))?;
            view(c, &d, order.amount)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The arbiter's queue: escalated disputes (or another status), each as a file that holds
/// what was bought and how it went, never who or where.
#[utoipa::path(get, tag = "disputes", path = "/v1/arbiter/disputes",
    params(("status" = Option<String>, Query)),
    responses((status = 200, body = DisputeFiles)), security(("operator" = [])))]
pub async fn queue(state: web::Data<State>, _op: Operator<Arbiter>, q: web::Query<Queue>) -> Result<HttpResponse> {
    let status = match q.status.as_deref() {
        None => DisputeStatus::Escalated,
        Some(s) => s.parse().map_err(|_| BrokerError::refused(Code::InvalidStatus, "unknown dispute status"))?,
    };
    let files = state
        .core
        .db
        .read(move |c| disputes::with_status(c, status, 100)?.iter().map(|d| file(c, d)).collect::<Result<Vec<_>>>())
        .await?;
    Ok(HttpResponse::Ok().json(DisputeFiles { disputes: files }))
}

#[derive(serde::Deserialize)]
pub struct Queue {
    status: Option<String>,
}

/// A dispute file.
pub fn file(conn: &mut AnyConnection, d: &DisputeRow) -> Result<DisputeFile> {
    let order = crate::orders::store::get(conn, &d.order_id)?.ok_or(BrokerError::NotFound("order"))?;
    let (store, product) = crate::orders::workflow::surroundings(conn, &order)?;
    Ok(DisputeFile {
        dispute: view(conn, d, order.amount)?,
        order: FileOrder {
            order_id: order.id,
            product_id: product.id,
            product_name: product.name,
            quantity: order.quantity,
            amount: order.amount,
            store: StoreRef { id: store.id.clone(), name: store.name.clone() },
            status: order.status,
            placed_at: order.created_at,
            accept_by: order.accept_by,
        },
    })
}
