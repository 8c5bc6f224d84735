//! `/metrics`: Prometheus text for one service. Requests are counted and timed by route,
//! method and status (`<service>_http_requests_total`,
//! `<service>_http_requests_duration_seconds`), beside what other parts register (the
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
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use std::time::Instant;

/// One service's registry and request metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
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
        Ok(Metrics { registry, requests, durations })
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

/// `GET /metrics`.
pub async fn serve(metrics: web::Data<Metrics>) -> HttpResponse {
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
