use super::domain::{Address, AddressInput};
use crate::error::DeliveryError;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::Capability;
use shared::ids::OrderId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shipments/{order_id}/address", web::put().to(set_address));
}

#[utoipa::path(put, path = "/v1/shipments/{order_id}/address", request_body = AddressInput,
    responses((status = 204), (status = 422, description = "invalid_address"),
        (status = 409, description = "address_locked")),
    security(("capability" = [])))]
pub async fn set_address(
    state: web::Data<State>,
    cap: Capability,
    path: web::Path<String>,
    body: web::Json<AddressInput>,
) -> Result<HttpResponse, DeliveryError> {
    let order = OrderId::parse(&path).map_err(shared::Error::from)?;
    cap.for_order(&order, "address")?;
    let (address, position) = Address::parse(&body)?;
    // Sealed here, bound to the order id: the database only ever sees ciphertext.
    let sealed = state.sealer.seal(&address.to_bytes(), order.as_str().as_bytes());
    let region = address.region.clone();
    drop(address);
    let settings = state.settings.clone();
    state
        .core
        .db
        .write(move |c| crate::shipments::workflow::set_address(c, &settings, &order, &sealed, &region, position))
        .await?;
    state.core.kick();
    Ok(HttpResponse::NoContent().finish())
}
