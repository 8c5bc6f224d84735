use super::domain::{normalise_email, NewCourier};
use crate::addresses::domain::Address;
use crate::error::DeliveryError;
use crate::shipments::domain::CourierEvent;
use crate::shipments::store as shipments;
use crate::shipments::workflow::Reported;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::{Admin, Claims, Courier, Operator, Role};
use shared::config::ServiceName;
use shared::crypto::Sealed;
use shared::hashing::Purpose;
use shared::http::Page;
use shared::ids::{OrderId, ShipmentId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/couriers", web::post().to(create_courier))
        .route("/v1/sessions", web::post().to(login).wrap(actix_web::middleware::from_fn(shared::ratelimit::login)))
        .route("/v1/courier/shipments", web::get().to(list))
        .route("/v1/courier/shipments/{shipment_id}/events", web::post().to(report));
}

pub use client::delivery::{CourierBody, CreatedCourier as Created};

#[utoipa::path(post, path = "/v1/couriers", request_body = CourierBody,
    responses((status = 201, body = Created), (status = 409, description = "email_taken"),
        (status = 422, description = "invalid_courier")),
    security(("operator" = [])))]
pub async fn create_courier(
    state: web::Data<State>,
    _op: Operator<Admin>,
    body: web::Json<CourierBody>,
) -> Result<HttpResponse, DeliveryError> {
    let b = body.into_inner();
    let courier = NewCourier::parse(&b.name, &b.email, &b.password, b.region.as_deref())?;
    let password = courier.password.clone();
    let hash = state.core.hashing.hash(password, Purpose::SignUp).await.map_err(shared::Error::from)?;
    let id = state
        .core
        .db
        .write(move |c| {
            super::store::insert(c, &courier.name, &courier.email, &hash, courier.region.as_deref())?
                .ok_or(DeliveryError::EmailTaken)
        })
        .await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

pub use client::delivery::{LoginBody, Session};

#[utoipa::path(post, path = "/v1/sessions", request_body = LoginBody,
    responses((status = 200, body = Session), (status = 401, description = "invalid_credentials")))]
pub async fn login(state: web::Data<State>, body: web::Json<LoginBody>) -> Result<HttpResponse, DeliveryError> {
    let LoginBody { email, password } = body.into_inner();
    let email = normalise_email(&email);
    let found = state.core.db.read(move |c| super::store::credentials(c, &email).map_err(DeliveryError::from)).await?;
    // Unknown e-mails are checked against a dummy hash, so timing tells nothing.
    let (id, hash) = found.unzip();
    let ok = state.core.hashing.verify(password, hash).await.map_err(shared::Error::from)?;
    let id = match (id, ok) {
        (Some(id), true) => id,
        _ => return Err(DeliveryError::InvalidCredentials),
    };
    let ttl = state.core.config.access_token_ttl_secs;
    let claims = Claims::new(ServiceName::Delivery, id.as_str(), Role::Courier, &[ServiceName::Delivery], ttl);
    let access_token = state.core.auth.signer.sign(&claims)?;
    Ok(HttpResponse::Ok().json(Session { access_token, token_type: "Bearer".into(), expires_in: ttl }))
}

pub use client::delivery::{CourierLeg, CourierList};

#[utoipa::path(get, path = "/v1/courier/shipments", params(Page),
    responses((status = 200, body = CourierList)), security(("courier" = [])))]
pub async fn list(
    state: web::Data<State>,
    courier: Courier,
    page: web::Query<Page>,
) -> Result<HttpResponse, DeliveryError> {
    let me = courier.id.clone();
    let (limit, offset) = (page.limit(), page.offset());
    let rows = state
        .core
        .db
        .read(move |c| {
            let region = super::store::region(c, &me).map_err(|_| shared::Error::Unauthorized)?;
            let mut out = Vec::new();
            for (s, leg) in shipments::courier_legs(c, &me, region.as_deref(), limit, offset)? {
                let count = shipments::leg_count(c, &s.id)?;
                let claimed = leg.status.is_claimed() && leg.courier_id.as_ref() == Some(&me);
                let is_final = i64::from(leg.seq) == count - 1;
                let sealed = if claimed && is_final { crate::addresses::store::sealed(c, &s.order_id)? } else { None };
                out.push((s, leg, count, claimed, sealed));
            }
            Ok::<_, DeliveryError>(out)
        })
        .await?;
    let shipments = rows
        .into_iter()
        .map(|(s, leg, count, claimed, sealed)| CourierLeg {
            label: sealed.and_then(|sealed| label(&state, &s.order_id, &sealed)),
            shipment_id: s.id,
            leg: leg.seq,
            legs: count,
            from_node: leg.from_node,
            to: crate::shipments::domain::leg_destination(leg.to_node),
            status: leg.status,
            region: leg.region,
            product_id: s.product_id,
            quantity: s.quantity,
            claimed,
        })
        .collect();
    Ok(HttpResponse::Ok().json(CourierList { shipments }))
}

/// The one place an address is opened: the label for the courier of the final leg.
fn label(state: &State, order: &OrderId, sealed: &Sealed) -> Option<String> {
    match state.sealer.open(sealed, order.as_str().as_bytes()) {
        Ok(bytes) => Address::from_bytes(&bytes).map(|a| a.label()),
        Err(e) => {
            tracing::error!(error = %e, "a sealed address does not open");
            None
        }
    }
}

pub use client::delivery::{EventAnswer, EventBody};

#[utoipa::path(post, path = "/v1/courier/shipments/{shipment_id}/events", request_body = EventBody,
    responses((status = 200, body = EventAnswer), (status = 403, description = "leg_claimed"),
        (status = 409, description = "invalid_transition"), (status = 422, description = "invalid_event, wrong_pin"),
        (status = 423, description = "leg_locked")),
    security(("courier" = [])))]
pub async fn report(
    state: web::Data<State>,
    courier: Courier,
    path: web::Path<String>,
    body: web::Json<EventBody>,
) -> Result<HttpResponse, DeliveryError> {
    let shipment = ShipmentId::parse(&path).map_err(shared::Error::from)?;
    let event = CourierEvent::parse(&body.kind, body.reason.as_deref())?;
    let pin = body.into_inner().pin;
    if pin.as_ref().is_some_and(|p| p.len() > 32) {
        return Err(DeliveryError::InvalidEvent("`pin` is the six digits the buyer gives".into()));
    }
    let (settings, pins) = (state.settings.clone(), state.pins.clone());
    let me = courier.id.clone();
    let answer = state
        .core
        .db
        .write(move |c| {
            let reported =
                crate::shipments::workflow::courier_event(c, &settings, &pins, &shipment, &me, &event, pin.as_deref())?;
            if let Reported::WrongPin { left } = reported {
                // Commit the count: the refusal is answered below.
                return Ok(Err(DeliveryError::WrongPin { left }));
            }
            let s = shipments::by_id(c, &shipment)?.ok_or(DeliveryError::ShipmentNotFound)?;
            let legs = shipments::legs_of(c, &shipment)?;
            let current = s.current_leg.and_then(|n| legs.iter().find(|l| l.seq == n));
            Ok::<_, DeliveryError>(Ok(EventAnswer {
                shipment_id: s.id,
                status: s.status,
                delivered: s.delivered,
                leg: current.map(|l| l.seq),
                leg_status: current.map(|l| l.status),
            }))
        })
        .await??;
    state.core.kick();
    Ok(HttpResponse::Ok().json(answer))
}
