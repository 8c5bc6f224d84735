//! Messages from the other services, applied once each.

use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::ServiceCaller;
use shared::db::AnyConnection;
use shared::messages::{Envelope, INBOX_PATH};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(INBOX_PATH, web::post().to(receive));
}

async fn receive(
    state: web::Data<State>,
    _caller: ServiceCaller,
    envelope: web::Json<Envelope>,
) -> Result<HttpResponse, shared::Error> {
    let applied = shared::outbox::receive(&state.core.db, envelope.into_inner(), apply).await?;
    if applied {
        state.core.kick();
    }
    Ok(HttpResponse::NoContent().finish())
}

fn apply(_conn: &mut AnyConnection, envelope: &Envelope) -> Result<(), shared::Error> {
    tracing::debug!(kind = envelope.message.kind(), "message received");
    Ok(())
}
