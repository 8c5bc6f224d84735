//! What every service does to start: open its database (migrating it), load its keys,
//! build its outbox dispatcher, and serve its routes beside the common ones, with graceful
//! shutdown that finishes in-flight requests and the outbox batch.

use crate::auth::{AuthState, TokenSigner, TokenVerifier};
use crate::config::{Config, ServiceName};
use crate::crypto::{KeyRing, Sealer};
use crate::db::{Db, Migrations};
use crate::hashing::HashPool;
use crate::http::{Jwks, OpenApiJson};
use crate::mail::{MailRoute, Mailer};
use crate::metrics::Metrics;
use crate::outbox::{Dispatcher, HttpPeer};
use actix_web::{middleware, web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use tokio::sync::{watch, Notify};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Keys(#[from] crate::crypto::KeyError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("metrics: {0}")]
    Metrics(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("settings: {0}")]
    Settings(String),
}

/// What every handler of a service can reach: configuration, database, auth, and the
/// outbox's wake-up call.
#[derive(Clone)]
pub struct Core {
    pub name: ServiceName,
    pub config: Arc<Config>,
    pub db: Db,
    pub auth: Arc<AuthState>,
    pub keys: Arc<KeyRing>,
    /// What `/metrics` serves.
    pub metrics: Arc<Metrics>,
    /// Every password hash and check of the service goes through this one pool.
    pub hashing: Arc<HashPool>,
    outbox_wake: Arc<Notify>,
}

impl Core {
    pub fn open(config: &Config, name: ServiceName, migrations: Migrations) -> Result<Core, StartError> {
        config.check()?;
        // The data directory is the services' own: owner only, what an older build left too.
        crate::files::create_own_dir(&config.data_dir)?;
        if let Err(e) = crate::files::narrow_tree(&config.data_dir) {
            tracing::warn!(error = %e, "cannot narrow the data directory to its owner");
        }
        let db = Db::open(&config.database_url(name), config.service(name).pool_size, migrations)?;
        let keys = Arc::new(KeyRing::load_or_create(&config.data_dir, name.as_str())?);
        let remotes =
            ServiceName::ALL.into_iter().filter(|s| *s != name).map(|s| (s, config.service(s).public_url())).collect();
        let auth = Arc::new(AuthState::new(
            &crate::auth::operator_token(config)?,
            TokenSigner::new(name, &keys),
            TokenVerifier::new(name, &keys, remotes),
        ));
        let metrics = Arc::new(Metrics::new(name.as_str()).map_err(|e| StartError::Metrics(e.to_string()))?);
        let hashing = Arc::new(HashPool::from_config(config, metrics.registry()).map_err(StartError::Settings)?);
        Ok(Core {
            name,
            config: Arc::new(config.clone()),
            db,
            auth,
            keys,
            metrics,
            hashing,
            outbox_wake: Arc::new(Notify::new()),
        })
    }

    /// Wakes the outbox dispatcher: call after a commit that enqueued messages.
    pub fn kick(&self) {
        self.outbox_wake.notify_one();
    }

    /// A dispatcher routed to the other two services and to the mail sender.
    pub fn dispatcher(&self, mail_sealer: Option<Arc<Sealer>>) -> Result<Dispatcher, StartError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .pool_max_idle_per_host(32)
            .build()
            .map_err(|e| StartError::Io(std::io::Error::other(e)))?;
        let mailer = Mailer::new(&self.config.mail, &self.config.data_dir, mail_sealer)?;
        let mut d = Dispatcher::with_waker(self.db.clone(), self.config.outbox.clone(), self.outbox_wake.clone())
            .route(crate::mail::DESTINATION, Arc::new(MailRoute(Arc::new(mailer))));
        for peer in ServiceName::ALL.into_iter().filter(|s| *s != self.name) {
            d = d.route(
                peer.as_str(),
                Arc::new(HttpPeer {
                    url: self.config.service(peer).public_url(),
                    audience: peer,
                    auth: self.auth.clone(),
                    client: client.clone(),
                }),
            );
        }
        Ok(d)
    }
}

/// A started service.
pub struct Running {
    pub name: ServiceName,
    pub port: u16,
    server: actix_web::dev::ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    dispatcher_task: tokio::task::JoinHandle<()>,
    stop_dispatcher: watch::Sender<bool>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests (when `graceful`), then lets the
    /// dispatcher finish its batch.
    pub async fn stop(self, graceful: bool) {
        self.server.stop(graceful).await;
        let _ = self.server_task.await;
        let _ = self.stop_dispatcher.send(true);
        let _ = self.dispatcher_task.await;
    }

    /// Resolves when the HTTP server ends on its own.
    pub async fn wait(&mut self) {
        let _ = (&mut self.server_task).await;
    }
}

/// Serves a service: common middleware and routes, then `routes`. `codes` is the
/// service's catalogue of error codes, listed in its OpenAPI document.
pub fn start<F>(
    core: &Core,
    listener: TcpListener,
    dispatcher: Dispatcher,
    openapi: utoipa::openapi::OpenApi,
    codes: &[&'static str],
    routes: F,
) -> Result<Running, StartError>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let port = listener.local_addr()?.port();
    let metrics = web::Data::from(core.metrics.clone());
    let openapi = crate::openapi::finish(openapi, codes);
    let known_paths = web::Data::new(crate::openapi::KnownPaths::of(&openapi));
    let openapi = web::Data::new(OpenApiJson(openapi.to_json().unwrap_or_else(|_| "{}".into())));
    let jwks = web::Data::new(Jwks(core.keys.jwks().to_string()));
    let db = web::Data::new(core.db.clone());
    let auth = web::Data::from(core.auth.clone());
    let mut rate_limits = crate::ratelimit::RateLimits::from_config(&core.config).map_err(StartError::Settings)?;
    // The broker's storefront and delivery's courier page call their own API: those two
    // believe the visitor header, and only under their own keys.
    if matches!(core.name, ServiceName::Broker | ServiceName::Delivery) {
        rate_limits = rate_limits.with_visitors(crate::visitor::VisitorVerifier::new(&core.keys));
    }
    let rate_limits = web::Data::new(rate_limits);
    let workers = core.config.service(core.name).workers.max(1);
    let (cors_config, cors_name) = (core.config.clone(), core.name);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::from_fn(crate::audit::trail))
            .wrap(middleware::from_fn(crate::http::header_limit))
            .wrap(middleware::from_fn(crate::telemetry::request_span))
            .wrap(middleware::from_fn(crate::metrics::record))
            .wrap(crate::cors::for_service(&cors_config, cors_name))
            .app_data(crate::http::json_config())
            .app_data(crate::http::path_config())
            .app_data(crate::http::query_config())
            .app_data(db.clone())
            .app_data(auth.clone())
            .app_data(rate_limits.clone())
            .app_data(openapi.clone())
            .app_data(known_paths.clone())
            .app_data(jwks.clone())
            .app_data(metrics.clone())
            .route("/healthz", web::get().to(crate::http::healthz))
            .route("/readyz", web::get().to(crate::http::readyz))
            .route("/metrics", web::get().to(crate::metrics::serve))
            .route("/openapi.json", web::get().to(crate::http::openapi))
            .route("/.well-known/jwks.json", web::get().to(crate::http::jwks))
            .configure(routes.clone())
            .default_service(web::to(crate::http::not_found))
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    let (stop_dispatcher, stop_rx) = watch::channel(false);
    let dispatcher_task = tokio::spawn(dispatcher.run(stop_rx));
    tracing::info!(service = %core.name, port, "listening");
    Ok(Running { name: core.name, port, server: handle, server_task, dispatcher_task, stop_dispatcher })
}

/// Binds the configured address of a service.
pub fn bind(config: &Config, name: ServiceName) -> Result<TcpListener, StartError> {
    Ok(TcpListener::bind(config.service(name).addr)?)
}
