//! Messages from the other services, applied once each. The broker's request and
//! settlement's payment may come in either order; the shipment is born when both are in.

use crate::error::DeliveryError;
use crate::settings::DeliverySettings;
use crate::shipments::{store, workflow};
use crate::State;
use shared::db::AnyConnection;
use shared::messages::{Envelope, Message};

impl shared::outbox::Inbox for State {
    type Error = DeliveryError;

    fn core(&self) -> &shared::server::Core {
        &self.core
    }

    fn applier(&self) -> impl FnOnce(&mut AnyConnection, &Envelope) -> Result<(), DeliveryError> + Send + 'static {
        let settings = self.settings.clone();
        move |c, e| apply(c, &settings, e)
    }
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
        Message::OperatorAccess { operator_id, disabled } => {
            Ok(shared::audit::set_disabled(conn, operator_id, *disabled)?)
        }
        // Everything else is for the other services.
        _ => Ok(()),
    }
}
