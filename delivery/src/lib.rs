//! The delivery service: sealed addresses, the node network and its inventory,
//! nearest-first routing, shipments, couriers and tracking.

use actix_web::web;
use shared::config::{Config, ServiceName};
use shared::crypto::Sealer;
use shared::db::Migrations;
use shared::error::Catalogue;
use shared::server::{Core, Running, StartError};
use std::net::TcpListener;
use std::sync::Arc;
use utoipa::OpenApi;

pub mod addresses;
pub mod courier_page;
pub mod couriers;
pub mod error;
mod inbox;
pub mod inspect;
pub mod inventory;
pub mod nodes;
pub mod routing;
pub mod schema;
pub mod sellers;
pub mod settings;
pub mod shipments;
pub mod state;
mod sweeper;

pub use settings::DeliverySettings;
pub use state::State;

/// The service's own tables, on the outbox and the operators' audit log.
pub const MIGRATIONS: Migrations = shared::migrations!(
    "../migrations/delivery/sqlite",
    "../migrations/delivery/postgres",
    builds_on: &[shared::outbox::MIGRATIONS, shared::audit::MIGRATIONS]
);

#[derive(OpenApi)]
#[openapi(
    info(title = "Delivery", description = "The delivery service of the anonymous marketplace."),
    paths(
        shared::admin::list_outbox,
        shared::admin::retry_message,
        shared::admin::discard_message,
        shared::admin::read_audit,
        nodes::routes::create_node,
        inventory::routes::set_inventory,
        inventory::routes::get_inventory,
        addresses::routes::set_address,
        shipments::routes::track,
        shipments::routes::seller_view,
        shipments::routes::arbiter_view,
        shipments::routes::unlock,
        couriers::routes::create_courier,
        couriers::routes::login,
        couriers::routes::list,
        couriers::routes::report,
        sellers::routes::nodes,
        sellers::routes::set_stock,
        sellers::routes::dispatches,
        sellers::routes::issue,
    )
)]
struct ApiDoc;

/// Opens the database (migrating it) and serves the delivery on `listener`.
pub fn start(config: &Config, listener: TcpListener) -> Result<Running, StartError> {
    let core = Core::open(config, ServiceName::Delivery, MIGRATIONS)?;
    let sealer = Arc::new(Sealer::load_or_create(&config.data_dir.join("keys").join("delivery-addresses"))?);
    let pins = Arc::new(shipments::pin::Pins::load_or_create(&config.data_dir.join("keys").join("delivery-pin"))?);
    let settings = Arc::new(config.setting::<DeliverySettings>(ServiceName::Delivery));
    let dispatcher = core.dispatcher(None)?;
    let state = web::Data::new(State { core: core.clone(), sealer, pins, settings: settings.clone() });
    let codes = error::Code::all();
    let running = shared::server::start(&core, listener, dispatcher, ApiDoc::openapi(), &codes, move |cfg| {
        cfg.app_data(state.clone())
            .configure(shared::outbox::inbox_routes::<State>)
            .configure(shared::admin::routes)
            .configure(nodes::routes::routes)
            .configure(inventory::routes::routes)
            .configure(addresses::routes::routes)
            .configure(shipments::routes::routes)
            .configure(couriers::routes::routes)
            .configure(sellers::routes::routes)
            .configure(courier_page::routes);
    })?;
    sweeper::spawn(core, Arc::downgrade(&settings));
    drop(settings);
    Ok(running)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc = ApiDoc::openapi();
        for path in [
            "/v1/nodes",
            "/v1/nodes/{node_id}/inventory/{product_id}",
            "/v1/shipments/{order_id}/address",
            "/v1/shipments/{order_id}",
            "/v1/seller/shipments/{order_id}",
            "/v1/couriers",
            "/v1/sessions",
            "/v1/courier/shipments",
            "/v1/courier/shipments/{shipment_id}/events",
            "/v1/seller/nodes",
            "/v1/seller/nodes/{node_id}/inventory/{product_id}",
            "/v1/seller/dispatches",
            "/v1/seller/dispatches/{shipment_id}/goods-issue",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
    }

    #[test]
    fn the_finished_document_documents_every_route_error_and_credential_once() {
        let faults = shared::openapi::faults::<error::Code>(ApiDoc::openapi(), &error::Code::all());
        assert!(faults.is_empty(), "{faults:#?}");
    }
}
