//! `/metrics`: Prometheus text for one service. Requests are counted and timed by route,
//! method and status (`<service>_http_requests_total`,
//! `<service>_http_requests_duration_seconds`); the outbox's backlog per destination is read
//! at each scrape (`<service>_outbox_pending`, `<service>_outbox_dead`,
//! `<service>_outbox_oldest_pending_seconds`), beside what other parts register (the
//! password-hashing pool).
//!
//! Every label comes from a fixed set, so no request can add a series: the method is one
//! of the methods the services answer, else `other`; the endpoint is the matched route
//! pattern (`/v1/orders/{order_id}`, never the path as sent), else `unmatched`; the status
//! is the code the service chose to answer, never anything the client sent.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Instant;

/// One service's registry and request metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    outbox: OutboxGauges,
}

/// The outbox's backlog per destination. A destination once seen stays at 0 when its
/// backlog drains, so an alert on it resolves instead of losing its series.
struct OutboxGauges {
    pending: IntGaugeVec,
    dead: IntGaugeVec,
    oldest_pending_seconds: GaugeVec,
    seen: Mutex<BTreeSet<String>>,
    read_at: Mutex<Option<Instant>>,
}

impl OutboxGauges {
    fn new(registry: &Registry) -> Result<OutboxGauges, prometheus::Error> {
        let by = ["destination"];
        let pending = IntGaugeVec::new(Opts::new("outbox_pending", "Messages waiting to be delivered"), &by)?;
        let dead = IntGaugeVec::new(Opts::new("outbox_dead", "Messages given up on, waiting for an operator"), &by)?;
        let oldest_pending_seconds = GaugeVec::new(
            Opts::new("outbox_oldest_pending_seconds", "Age of the oldest message waiting to be delivered"),
            &by,
        )?;
        registry.register(Box::new(pending.clone()))?;
        registry.register(Box::new(dead.clone()))?;
        registry.register(Box::new(oldest_pending_seconds.clone()))?;
        Ok(OutboxGauges {
            pending,
            dead,
            oldest_pending_seconds,
            seen: Mutex::new(BTreeSet::new()),
            read_at: Mutex::new(None),
        })
    }

    /// Whether the backlog was last read a second ago or more (and, if so, that it is read
    /// now).
    fn due(&self) -> bool {
        let mut last = self.read_at.lock().expect("outbox gauges poisoned");
        if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    fn set(&self, backlog: &[crate::outbox::Backlog]) {
        let mut seen = self.seen.lock().expect("outbox gauges poisoned");
        seen.extend(backlog.iter().map(|b| b.destination.clone()));
        let now = crate::time::now();
        for destination in seen.iter() {
            let b = backlog.iter().find(|b| &b.destination == destination);
            let labels = [destination.as_str()];
            self.pending.with_label_values(&labels).set(b.map_or(0, |b| b.pending));
            self.dead.with_label_values(&labels).set(b.map_or(0, |b| b.dead));
            let age =
                b.and_then(|b| b.oldest_pending).map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1e3);
            self.oldest_pending_seconds.with_label_values(&labels).set(age);
        }
    }
}

const LABELS: [&str; 3] = ["endpoint", "method", "status"];

impl Metrics {
    /// Metrics named `<namespace>_…`.
    pub fn new(namespace: &str) -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some(namespace.to_string()), None)?;
        let requests = IntCounterVec::new(Opts::new("http_requests_total", "Total number of HTTP requests"), &LABELS)?;
        let durations = HistogramVec::new(
            HistogramOpts::new("http_requests_duration_seconds", "HTTP request duration in seconds"),
            &LABELS,
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        let outbox = OutboxGauges::new(&registry)?;
        Ok(Metrics { registry, requests, durations, outbox })
    }

    /// Where other parts of the service register their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn observe(&self, endpoint: &str, method: &'static str, status: u16, started: Instant) {
        let status = status.to_string();
        let labels = [endpoint, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.durations.with_label_values(&labels).observe(started.elapsed().as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }

    /// Sets the outbox gauges to `backlog`, the destinations it leaves out to 0.
    pub fn set_outbox(&self, backlog: &[crate::outbox::Backlog]) {
        self.outbox.set(backlog);
    }
}

/// The method as a label: the known ones by name, anything else `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The endpoint as a label: the route pattern the path matched, else `unmatched`.
pub fn endpoint_label(pattern: Option<String>) -> String {
    pattern.unwrap_or_else(|| "unmatched".into())
}

/// Middleware: counts and times each request under its bounded labels.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().cloned() else { return next.call(req).await };
    let started = Instant::now();
    let method = method_label(req.method());
    let endpoint = endpoint_label(req.match_pattern());
    let res = next.call(req).await;
    let status = match &res {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    metrics.observe(&endpoint, method, status, started);
    res
}

/// `GET /metrics`: reads the outbox's backlog (at most once a second, however often the
/// route is called: it is public), then renders. A database that cannot be read leaves the
/// gauges as they were (and says so in the log) rather than failing the scrape.
pub async fn serve(metrics: web::Data<Metrics>, db: Option<web::Data<crate::db::Db>>) -> HttpResponse {
    if let Some(db) = db.filter(|_| metrics.outbox.due()) {
        match db.read(|c| crate::outbox::backlog(c).map_err(crate::db::DbError::from)).await {
            Ok(backlog) => metrics.set_outbox(&backlog),
            Err(e) => tracing::warn!(error = %e, "cannot read the outbox backlog for /metrics"),
        }
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(metrics.render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{middleware::from_fn, test as web_test, App};

    #[test]
    fn labels_come_from_a_fixed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(method_label(&Method::from_bytes("X".repeat(2000).as_bytes()).unwrap()), "other");
        assert_eq!(method_label(&Method::TRACE), "other");
        assert_eq!(endpoint_label(None), "unmatched");
        assert_eq!(endpoint_label(Some("/v1/orders/{order_id}".into())), "/v1/orders/{order_id}");
    }

    fn series(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' ').map(|(name, _)| name.to_string()))
            .collect()
    }

    #[test]
    fn the_outbox_backlog_is_shown_per_destination_and_drains_to_zero() {
        let metrics = Metrics::new("svc").unwrap();
        let backlog = crate::outbox::Backlog {
            destination: "settlement".into(),
            pending: 3,
            dead: 1,
            oldest_pending: Some(crate::time::now() - chrono::Duration::seconds(90)),
        };
        metrics.set_outbox(std::slice::from_ref(&backlog));
        let text = metrics.render();
        assert!(text.contains("svc_outbox_pending{destination=\"settlement\"} 3"), "{text}");
        assert!(text.contains("svc_outbox_dead{destination=\"settlement\"} 1"), "{text}");
        let age = text
            .lines()
            .find_map(|l| l.strip_prefix("svc_outbox_oldest_pending_seconds{destination=\"settlement\"} "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap();
        assert!((89.0..120.0).contains(&age), "{age}");
        metrics.set_outbox(&[]);
        let text = metrics.render();
        assert!(text.contains("svc_outbox_pending{destination=\"settlement\"} 0"), "{text}");
        assert!(text.contains("svc_outbox_oldest_pending_seconds{destination=\"settlement\"} 0"), "{text}");
    }

    #[actix_web::test]
    async fn odd_methods_and_paths_share_one_series() {
        let metrics = web::Data::new(Metrics::new("svc").unwrap());
        let app = web_test::init_service(
            App::new()
                .wrap(from_fn(record))
                .app_data(metrics.clone())
                .route("/metrics", web::get().to(serve))
                .route("/items/{id}", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let call = |method: &str, path: &str| {
            web_test::TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(path)
                .to_request()
        };
        web_test::call_service(&app, call("GET", "/items/1")).await;
        web_test::call_service(&app, call("BREW", "/nowhere")).await;
        let before = series(&metrics.render());
        for i in 0..50 {
            web_test::call_service(&app, call("GET", &format!("/items/{i}"))).await;
            web_test::call_service(&app, call(&format!("M{}", "Q".repeat(i * 20)), &format!("/nowhere/{i}"))).await;
        }
        let text = metrics.render();
        assert_eq!(series(&text), before, "{text}");
        assert!(text.contains("svc_http_requests_total{endpoint=\"/items/{id}\",method=\"GET\",status=\"200\"} 51"));
        assert!(text.contains("svc_http_requests_total{endpoint=\"unmatched\",method=\"other\",status=\"404\"} 51"));
        let resp = web_test::call_service(&app, call("GET", "/metrics")).await;
        assert_eq!(resp.status(), 200);
    }
}
