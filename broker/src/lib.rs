//! The broker service.

use actix_web::web;
use shared::config::{Config, ServiceName};
use shared::db::Migrations;
use shared::server::{Core, Running, StartError};
use std::net::TcpListener;
use utoipa::OpenApi;

pub mod accounts;
pub mod browsing;
pub mod buyers;
pub mod catalog;
pub mod disputes;
pub mod error;
mod inbox;
pub mod operators;
pub mod orders;
pub mod referrals;
pub mod reports;
pub mod sales;
pub mod schema;
pub mod search;
pub mod selections;
mod state;
mod storefront;
pub mod stores;
pub mod unions;

pub use state::State;

/// The service's own tables, on what every service that sells analyses builds on.
pub const MIGRATIONS: Migrations = shared::migrations!(
    "../migrations/broker/sqlite",
    "../migrations/broker/postgres",
    builds_on: privacy::store::SELLING_SERVICE
);

#[derive(OpenApi)]
#[openapi(
    info(title = "Broker", description = "The broker service of the anonymous marketplace."),
    paths(
        shared::admin::list_outbox,
        shared::admin::retry_message,
        shared::admin::discard_message,
        shared::admin::read_audit,
        accounts::routes::create_seller,
        accounts::routes::create_manufacturer,
        accounts::routes::create_session,
        operators::routes::create_operator,
        operators::routes::create_operator_session,
        operators::routes::list_operators,
        operators::routes::set_disabled,
        stores::suspension::suspend_store,
        stores::suspension::suspend_seller,
        stores::admin::list_stores,
        orders::lists::operator_orders,
        orders::lists::operator_order,
        unions::routes::create_union,
        unions::routes::list_unions,
        unions::routes::read_union,
        unions::routes::service_centre,
        stores::routes::create_store,
        stores::routes::read_store,
        stores::routes::list_offers,
        stores::routes::my_stores,
        stores::routes::unmet_demand,
        stores::routes::list_movements,
        stores::routes::move_stock,
        stores::routes::list_suppliers,
        stores::routes::create_supplier,
        stores::routes::set_urgent,
        stores::routes::end_urgent,
        catalog::routes::create_product,
        catalog::routes::read_product,
        catalog::routes::put_offer,
        catalog::routes::read_offer,
        catalog::routes::list_own_offers,
        search::routes::search,
        selections::routes::select,
        browsing::routes::create_session,
        browsing::routes::read_sequence,
        browsing::routes::forget,
        orders::placement::place,
        orders::views::read,
        orders::steps::cancel,
        orders::acceptance::accept_route,
        orders::capability::renew,
        disputes::routes::open,
        disputes::routes::read,
        disputes::routes::respond,
        disputes::routes::take_offer,
        disputes::routes::escalate,
        disputes::routes::queue,
        disputes::routes::read_file,
        disputes::routes::decide,
        orders::steps::confirm,
        orders::steps::approve,
        orders::steps::refuse,
        orders::relay::messages,
        orders::relay::post_message,
        orders::lists::seller_orders,
        orders::lists::manufacturer_orders,
        orders::shipment_view::mint,
        buyers::routes::create_buyer,
        buyers::routes::create_session,
        buyers::routes::profile,
        buyers::routes::put_equipment,
        buyers::routes::compatible_products,
        buyers::routes::create_collection_code,
        buyers::routes::redeem_collection,
        buyers::routes::put_group_price,
        buyers::routes::list_group_prices,
        buyers::routes::put_collection_point,
        privacy::routes::catalogue,
        reports::routes::buy,
        privacy::routes::list,
        privacy::routes::show,
        privacy::routes::csv,
    )
)]
struct ApiDoc;

/// Opens the database (migrating it) and serves the broker on `listener`.
pub fn start(config: &Config, listener: TcpListener) -> Result<Running, StartError> {
    let core = Core::open(config, ServiceName::Broker, MIGRATIONS)?;
    let contacts = std::sync::Arc::new(shared::crypto::Sealer::load_or_create(
        &config.data_dir.join("keys").join("mail-contacts"),
    )?);
    let report_settings =
        reports::Reports::from_config(config).map_err(|e| StartError::Io(std::io::Error::other(e.to_string())))?;
    let report_settings = std::sync::Arc::new(report_settings);
    let desk = web::Data::new(privacy::routes::Desk {
        db: core.db.clone(),
        reports: report_settings.clone(),
        analyst: privacy::budget::Analyst::Broker,
    });
    let charger = reports::Charger::new(&core, report_settings)?;
    let minter = buyers::mint::Minter::new(&core)?;
    let dispatcher = core
        .dispatcher(Some(contacts.clone()))?
        .route(reports::charge::DESTINATION, charger.route())
        .route(buyers::mint::DESTINATION, minter.route());
    let charger = web::Data::new(charger);
    let minter = web::Data::new(minter);
    let state = web::Data::new(State { core: core.clone(), contacts });
    orders::expiry::spawn(core.clone(), config.setting(ServiceName::Broker));
    orders::acceptance::spawn(core.clone(), config.setting(ServiceName::Broker));
    catalog::urgent::spawn(core.clone());
    shared::server::start(&core, listener, dispatcher, ApiDoc::openapi(), &error::codes(), move |cfg| {
        cfg.app_data(state.clone())
            .configure(shared::outbox::inbox_routes::<State>)
            .configure(shared::admin::routes)
            .configure(accounts::routes)
            .configure(operators::routes)
            .configure(stores::suspension::routes)
            .configure(stores::admin::routes)
            .configure(unions::routes)
            .configure(stores::routes)
            .configure(catalog::routes)
            .configure(search::routes)
            .configure(selections::routes)
            .configure(browsing::routes)
            .configure(orders::routes::routes)
            .configure(orders::shipment_view::routes)
            .configure(disputes::routes::routes)
            .app_data(minter.clone())
            .configure(buyers::routes::routes)
            .app_data(charger.clone())
            .app_data(desk.clone())
            .configure(reports::routes)
            .configure(storefront::routes);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finished_document_documents_every_route_error_and_credential_once() {
        let faults = shared::openapi::faults::<error::Code>(ApiDoc::openapi(), &error::codes());
        assert!(faults.is_empty(), "{faults:#?}");
    }

    #[test]
    fn the_openapi_document_lists_the_shipment_view() {
        let doc = ApiDoc::openapi();
        let path = doc.paths.paths.get("/v1/seller/orders/{order_id}/shipment-view").expect("listed");
        assert!(path.post.is_some());
    }
}
