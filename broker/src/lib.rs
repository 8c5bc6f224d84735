//! The broker service.

use actix_web::web;
use shared::config::{Config, ServiceName};
use shared::db::Migrations;
use shared::server::{Core, Running, StartError};
use std::net::TcpListener;
use utoipa::OpenApi;

pub mod catalog;
pub mod error;
mod inbox;
pub mod schema;

const SQLITE: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../migrations/broker/sqlite");
const POSTGRES: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../migrations/broker/postgres");

pub const MIGRATIONS: Migrations = Migrations { sqlite: || SQLITE, postgres: || POSTGRES };

#[derive(OpenApi)]
#[openapi(info(title = "Broker", description = "The broker service of the anonymous marketplace."))]
struct ApiDoc;

/// What the handlers share.
#[derive(Clone)]
pub struct State {
    pub core: Core,
}

/// Opens the database (migrating it) and serves the broker on `listener`.
pub fn start(config: &Config, listener: TcpListener) -> Result<Running, StartError> {
    let core = Core::open(config, ServiceName::Broker, MIGRATIONS)?;
    let dispatcher = core.dispatcher(None)?;
    let state = web::Data::new(State { core: core.clone() });
    shared::server::start(&core, listener, dispatcher, ApiDoc::openapi(), move |cfg| {
        cfg.app_data(state.clone()).configure(inbox::routes);
    })
}
