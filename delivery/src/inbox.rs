//! Messages from the other services, applied once each. The broker's request and
//! settlement's payment may come in either order; the shipment is born when both are in.

use crate::error::DeliveryError;
use crate::settings::DeliverySettings;
use crate::shipments::{store, workflow};
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::ServiceCaller;
use shared::db::AnyConnection;
use shared::messages::{Envelope, Message, INBOX_PATH};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(INBOX_PATH, web::post().to(receive));
}

async fn receive(
    state: web::Data<State>,
    caller: ServiceCaller,
    envelope: web::Json<Envelope>,
) -> Result<HttpResponse, DeliveryError> {
    let settings = state.settings.clone();
    let applied =
        shared::outbox::receive(&state.core.db, &caller, envelope.into_inner(), move |c, e| apply(c, &settings, e))
            .await?;
    if applied {
        state.core.kick();
    }
    Ok(HttpResponse::NoContent().finish())
}

fn apply(conn: &mut AnyConnection, settings: &DeliverySettings, envelope: &Envelope) -> Result<(), DeliveryError> {
    tracing::debug!(kind = envelope.message.kind(), "message received");
    match &envelope.message {
        Message::ShipmentRequested {
            order_id,
            product_id,
            quantity,
            store_id,
            shipper_store_id,
            manufacturer_id,
            backorder,
        } => {
            if *quantity < 1 {
                // Never sent by the broker; refusing keeps bad data out rather than retrying.
                tracing::warn!(order = %order_id, "shipment request without units ignored");
                return Ok(());
            }
            let request = workflow::ShipmentRequest {
                product_id,
                quantity: *quantity,
                store_id,
                shipper_store_id: shipper_store_id.as_ref(),
                manufacturer_id: manufacturer_id.as_ref(),
                backorder: *backorder,
            };
            workflow::request(conn, settings, order_id, &request)
        }
        Message::OrderPaid { order_id } => {
            store::record_paid(conn, order_id)?;
            workflow::advance(conn, settings, order_id)
        }
        Message::OrderRefunded { order_id, .. } => workflow::order_refunded(conn, settings, order_id),
        Message::CancelRequested { order_id, .. } => workflow::decide_cancel(conn, settings, order_id).map(|_| ()),
        Message::StoreRegistered { store_id, seller_id, manufacturer_id, .. } => {
            Ok(crate::sellers::store::register(conn, store_id, seller_id.as_ref(), manufacturer_id.as_ref())?)
        }
        // Everything else is for the other services.
        _ => Ok(()),
    }
}
