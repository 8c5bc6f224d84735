//! The settlement service: the anonymous settlement server of seed 003. It knows orders by
//! id, their value and payee, takes payments from partners, holds them in escrow, releases
//! them on delivery less fees, remits to stores, and keeps it all on a double-entry ledger.

use actix_web::web;
use shared::config::{Config, ServiceName};
use shared::crypto::Sealer;
use shared::db::{Db, Migrations};
use shared::server::{Core, Running, StartError};
use std::net::TcpListener;
use std::sync::Arc;
use utoipa::OpenApi;

pub mod charges;
pub mod error;
pub mod escrow;
pub mod events;
mod inbox;
pub mod jobs;
pub mod ledger;
pub mod orders;
pub mod partners;
pub mod payments;
pub mod payouts;
pub mod refunds;
pub mod remittances;
pub mod reports;
pub mod schema;
pub mod settings;
mod state;
pub mod stores;

pub use error::SettlementError;
pub use ledger::store::ReconcileReport;
pub use state::State;

/// The service's own tables, on what every service that sells analyses builds on.
pub const MIGRATIONS: Migrations = shared::migrations!(
    "../migrations/settlement/sqlite",
    "../migrations/settlement/postgres",
    builds_on: privacy::store::SELLING_SERVICE
);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Settlement",
        description = "The settlement service of the anonymous marketplace: payments from \
        partners, escrow, refunds, fees, remittances, webhooks and the ledger.\n\n\
        Webhooks carry `Settlement-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over \"t.body\">`, keyed with the \
        UTF-8 bytes of the partner's `webhook_secret`. To verify: split the header on `,`, take `t` and `v1`, \
        compute HMAC-SHA256(secret, t + \".\" + raw body), compare with `v1` in constant time, and refuse a `t` \
        older than five minutes. Idempotency keys are kept 30 days."
    ),
    paths(
        shared::admin::list_outbox,
        shared::admin::retry_message,
        shared::admin::discard_message,
        shared::admin::read_audit,
        partners::routes::create,
        payments::routes::create,
        payments::routes::show,
        refunds::routes::create,
        events::routes::list,
        events::routes::deliveries,
        events::routes::redeliver,
        orders::routes::settlement,
        stores::routes::balance,
        stores::statement::statement,
        ledger::routes::trial_balance,
        ledger::routes::reconciliation,
        ledger::routes::accounts,
        remittances::routes::run,
        remittances::routes::of_seller,
        payouts::routes::set,
        payouts::routes::show,
        charges::routes::charge,
        charges::routes::refund,
        privacy::routes::catalogue,
        reports::routes::buy,
        privacy::routes::list,
        privacy::routes::show,
        privacy::routes::csv,
    ),
    modifiers(&BearerSchemes)
)]
struct ApiDoc;

/// The four kinds of bearer credentials the routes name in their `security`.
struct BearerSchemes;

impl utoipa::Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, what) in [
            ("operator", "the operator token"),
            ("partner", "a payment partner's API key"),
            ("seller", "a seller's access token issued by the broker"),
            ("capability", "an order capability issued by the broker"),
        ] {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.description = Some(what.to_string());
            components.add_security_scheme(name, SecurityScheme::Http(http));
        }
    }
}

fn open_sealer(config: &Config, purpose: &str) -> Result<Arc<Sealer>, StartError> {
    Ok(Arc::new(Sealer::load_or_create(&config.data_dir.join("keys").join(format!("settlement-{purpose}")))?))
}

/// Opens the database (migrating it) and serves the settlement on `listener`.
pub fn start(config: &Config, listener: TcpListener) -> Result<Running, StartError> {
    let core = Core::open(config, ServiceName::Settlement, MIGRATIONS)?;
    let settings: settings::Settings = config.setting(ServiceName::Settlement);
    let payout_settings =
        payouts::settings::PayoutSettings::from_config(config).map_err(|e| StartError::Io(std::io::Error::other(e)))?;
    let sealer = open_sealer(config, "webhooks")?;
    let payout_sealer = open_sealer(config, "payouts")?;
    let client = events::resolver::client(events::resolver::CheckedResolver::new(config.strict_webhooks))
        .map_err(|e| StartError::Io(std::io::Error::other(e)))?;
    let dispatcher = core.dispatcher(None)?.route(
        events::store::WEBHOOK_DESTINATION,
        Arc::new(events::webhook::WebhookRoute {
            db: core.db.clone(),
            sealer: sealer.clone(),
            client,
            strict: config.strict_webhooks,
        }),
    );
    jobs::spawn(core.clone(), settings.clone());
    let desk = web::Data::new(privacy::routes::Desk {
        db: core.db.clone(),
        reports: Arc::new(
            reports::Reports::from_config(config).map_err(|e| StartError::Io(std::io::Error::other(e.to_string())))?,
        ),
        analyst: privacy::budget::Analyst::Settlement,
    });
    let state = web::Data::new(State {
        core: core.clone(),
        sealer,
        payout_sealer,
        settings: Arc::new(settings),
        payouts: Arc::new(payout_settings),
    });
    shared::server::start(&core, listener, dispatcher, ApiDoc::openapi(), &error::codes(), move |cfg| {
        cfg.app_data(state.clone())
            .configure(shared::outbox::inbox_routes::<State>)
            .configure(shared::admin::routes)
            .configure(partners::routes::routes)
            .configure(payments::routes::routes)
            .configure(refunds::routes::routes)
            .configure(events::routes::routes)
            .configure(orders::routes::routes)
            .configure(stores::routes::routes)
            .configure(ledger::routes::routes)
            .configure(remittances::routes::routes)
            .configure(payouts::routes::routes)
            .configure(charges::routes::routes)
            .app_data(desk.clone())
            .configure(reports::routes);
    })
}

/// Re-derives every account balance from the ledger entries and re-checks that every
/// transaction balances, on the configured settlement database (the nightly check behind
/// `marketplace reconcile`). A clean report has no differences.
pub fn reconcile(config: &Config) -> Result<ReconcileReport, SettlementError> {
    let db = Db::open(&config.database_url(ServiceName::Settlement), 1, MIGRATIONS)?;
    db.read_blocking(ledger::store::reconcile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finished_document_documents_every_route_error_and_credential_once() {
        let faults = shared::openapi::faults::<error::Code>(ApiDoc::openapi(), &error::codes());
        assert!(faults.is_empty(), "{faults:#?}");
    }
}
