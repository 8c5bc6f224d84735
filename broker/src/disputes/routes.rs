//! The dispute routes: the buyer opens, reads, takes an offer or escalates (with the
//! order's capability); the store's seller reads and answers; the arbiter reads the files
//! and decides. Each step runs in one transaction under the order's row.

use super::domain::{self, DisputeStatus, Outcome, StoreAction};
use super::store::{self as disputes, DisputeRow};
use super::workflow;
use crate::error::{BrokerError, Code, Result};
use crate::orders::caller::OrderCaller;
use crate::orders::domain::Party;
use crate::orders::settings::of as settings;
use crate::State;
use actix_web::{web, HttpResponse};
use client::broker::disputes::{
    ArbiterDecision, DecisionView, DisputeFile, DisputeFiles, DisputeMessage, DisputeView, FileOrder, Offer,
    OpenDispute, StoreResponse,
};
use client::broker::orders::StoreRef;
use shared::audit::Actor;
use shared::auth::{Arbiter, Operator};
use shared::db::AnyConnection;
use shared::ids::{DisputeId, OrderId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/orders/{order_id}/disputes", web::post().to(open))
        .route("/v1/orders/{order_id}/disputes/{dispute_id}", web::get().to(read))
        .route("/v1/orders/{order_id}/disputes/{dispute_id}/accept", web::post().to(take_offer))
        .route("/v1/orders/{order_id}/disputes/{dispute_id}/escalate", web::post().to(escalate))
        .route("/v1/seller/disputes/{dispute_id}/responses", web::post().to(respond))
        .route("/v1/arbiter/disputes", web::get().to(queue))
        .route("/v1/arbiter/disputes/{dispute_id}", web::get().to(read_file))
        .route("/v1/arbiter/disputes/{dispute_id}/decision", web::post().to(decide));
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

/// One dispute file, in any status, with how the shipment went (each read is in the audit
/// logs of the broker and of delivery, as every operator request is).
#[utoipa::path(get, tag = "disputes", path = "/v1/arbiter/disputes/{dispute_id}",
    params(("dispute_id" = String, Path)),
    responses((status = 200, body = DisputeFile), (status = 404, description = "not_found")),
    security(("operator" = [])))]
pub async fn read_file(
    state: web::Data<State>,
    op: Operator<Arbiter>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let dispute = DisputeId::parse(&path)?;
    let mut f = state
        .core
        .db
        .read(move |c| {
            let d = disputes::get(c, &dispute)?.ok_or(BrokerError::NotFound("dispute"))?;
            file(c, &d)
        })
        .await?;
    f.shipment = shipment_facts(&state, &op.actor, &f.order.order_id).await;
    Ok(HttpResponse::Ok().json(f))
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
        shipment: None,
    })
}

/// How long a file's read waits for delivery before it goes without the shipment.
const FACTS_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// How the order's shipment went, asked of delivery with a dispute-file token for this
/// order naming the arbiter (never the arbiter's own token, which every service would take),
/// so that delivery keeps its own audit entry of the read; `None` when delivery has no
/// shipment for the order or does not answer in time (the file is still read).
async fn shipment_facts(state: &State, actor: &Actor, order: &OrderId) -> Option<client::delivery::ShipmentFacts> {
    let token = match shared::shipment_view::issue_file(&state.core.auth.signer, order, actor) {
        Ok((token, _)) => token,
        Err(e) => {
            tracing::warn!(%order, error = %e, "no dispute-file token");
            return None;
        }
    };
    let delivery =
        client::delivery::Delivery::new(client::Api::new(state.core.config.delivery.public_url()).bearer(Some(token)));
    match actix_web::rt::time::timeout(FACTS_WAIT, delivery.arbiter_shipment(order.as_str())).await {
        Ok(Ok(facts)) => Some(facts),
        // No shipment yet (an order disputed before it was routed): nothing to tell.
        Ok(Err(client::Failure::Refused(r))) if r.status == 404 => None,
        Ok(Err(e)) => {
            tracing::warn!(%order, error = ?e, "the shipment's facts are not in this dispute file");
            None
        }
        Err(_) => {
            tracing::warn!(%order, "delivery did not tell the shipment's facts in time");
            None
        }
    }
}

fn not_now(e: domain::NotNow) -> BrokerError {
    BrokerError::refused(Code::InvalidTransition, e.to_string())
}

/// Loads the dispute and checks the caller plays `party` in its order.
fn dispute_for(
    c: &mut AnyConnection,
    caller: &OrderCaller,
    dispute: &DisputeId,
    party: Party,
) -> Result<(DisputeRow, shared::money::Money)> {
    let d = disputes::get(c, dispute)?.ok_or(BrokerError::NotFound("dispute"))?;
    let (order, ..) = crate::orders::caller::authorize(c, caller, &d.order_id, &[party])?;
    Ok((d, order.amount))
}

#[utoipa::path(post, tag = "disputes", path = "/v1/seller/disputes/{dispute_id}/responses", request_body = StoreResponse,
    params(("dispute_id" = String, Path)),
    responses((status = 200, body = DisputeView), (status = 409, description = "invalid_transition")))]
pub async fn respond(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    body: web::Json<StoreResponse>,
) -> Result<HttpResponse> {
    let dispute = DisputeId::parse(&path)?;
    let StoreResponse { action, refund_percent, message } = body.into_inner();
    if (action == StoreAction::Offer) != refund_percent.is_some_and(|p| (1..=99).contains(&p)) {
        return Err(
            shared::Error::Invalid("`refund_percent` (1 to 99) goes with `offer`, and only with it".into()).into()
        );
    }
    let settings = settings(&state);
    let v = state
        .core
        .db
        .write(move |c| {
            let (d, paid) = dispute_for(c, &caller, &dispute, Party::Seller)?;
            let text = workflow::checked_text(&message)?;
            // Past `respond_by` the dispute is the arbiter's, even before the sweep moves it.
            if d.status == DisputeStatus::Open && d.respond_by <= shared::time::now() {
                return Err(not_now(domain::NotNow { current: DisputeStatus::Escalated }));
            }
            if refund_percent.is_some_and(|p| domain::share(paid, p).amount == 0) {
                return Err(shared::Error::Invalid("that share of what was paid refunds nothing".into()).into());
            }
            let next = domain::store_answers(d.status, action, refund_percent, paid).map_err(not_now)?;
            disputes::add_message(c, &d.id, "store", &text)?;
            let outcome = (action == StoreAction::Accept).then_some(Outcome::Refund);
            let d = workflow::apply(c, &settings, &d, next, outcome, false)?;
            view(c, &d, paid)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(v))
}

/// The buyer takes the store's standing offer (`accept`) or hands the dispute to the
/// arbiter (`escalate`).
async fn buyer_step(state: &State, caller: OrderCaller, path: (String, String), take: bool) -> Result<HttpResponse> {
    let (order, dispute) = (OrderId::parse(&path.0)?, DisputeId::parse(&path.1)?);
    caller.precheck_buyer(&order, "dispute")?;
    let settings = settings(state);
    let v = state
        .core
        .db
        .write(move |c| {
            // Another order's dispute is not found under this one, before anyone's rights.
            if disputes::get(c, &dispute)?.is_none_or(|d| d.order_id != order) {
                return Err(BrokerError::NotFound("dispute"));
            }
            let (d, paid) = dispute_for(c, &caller, &dispute, Party::Buyer)?;
            let lapsed = d.offer_expires_at.is_some_and(|t| t <= shared::time::now());
            let next = if take {
                domain::buyer_takes_offer(d.status, d.offer_percent, lapsed, paid)
            } else {
                domain::buyer_escalates(d.status)
            }
            .map_err(not_now)?;
            let outcome = take.then_some(Outcome::Split);
            let d = workflow::apply(c, &settings, &d, next, outcome, false)?;
            view(c, &d, paid)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(post, tag = "disputes", path = "/v1/orders/{order_id}/disputes/{dispute_id}/accept",
    params(("order_id" = String, Path), ("dispute_id" = String, Path)),
    responses((status = 200, body = DisputeView), (status = 409, description = "invalid_transition")))]
pub async fn take_offer(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    buyer_step(&state, caller, path.into_inner(), true).await
}

#[utoipa::path(post, tag = "disputes", path = "/v1/orders/{order_id}/disputes/{dispute_id}/escalate",
    params(("order_id" = String, Path), ("dispute_id" = String, Path)),
    responses((status = 200, body = DisputeView), (status = 409, description = "invalid_transition")))]
pub async fn escalate(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    buyer_step(&state, caller, path.into_inner(), false).await
}

#[utoipa::path(post, tag = "disputes", path = "/v1/arbiter/disputes/{dispute_id}/decision", request_body = ArbiterDecision,
    params(("dispute_id" = String, Path)),
    responses((status = 200, body = DisputeView), (status = 409, description = "invalid_transition")),
    security(("operator" = [])))]
pub async fn decide(
    state: web::Data<State>,
    _op: Operator<Arbiter>,
    path: web::Path<String>,
    body: web::Json<ArbiterDecision>,
) -> Result<HttpResponse> {
    let dispute = DisputeId::parse(&path)?;
    let ArbiterDecision { outcome, refund, return_required, note } = body.into_inner();
    if return_required {
        // Returns are not built yet: a decision that waits for one would hold the money forever.
        return Err(shared::Error::Invalid("`return_required` is not available yet".into()).into());
    }
    let settings = settings(&state);
    let v = state
        .core
        .db
        .write(move |c| {
            let d = disputes::get(c, &dispute)?.ok_or(BrokerError::NotFound("dispute"))?;
            let paid = workflow::paid(c, &d)?;
            let note = workflow::checked_text(&note)?;
            let next = domain::arbiter_decides(d.status, outcome, refund, paid).map_err(|e| match e {
                domain::BadDecision::NotEscalated(current) => not_now(domain::NotNow { current }),
                domain::BadDecision::SplitOutOfRange => BrokerError::from(shared::Error::Invalid(
                    "`split` needs a `refund` above nothing and below what was paid, in its currency".into(),
                )),
            })?;
            disputes::add_message(c, &d.id, "arbiter", &note)?;
            let d = workflow::apply(c, &settings, &d, next, Some(outcome), return_required)?;
            view(c, &d, paid)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(v))
}
