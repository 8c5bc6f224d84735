//! Cross-origin access for the buyer's storefront. The storefront is served by the broker;
//! the page calls settlement (the order's settlement status) and delivery (address and
//! tracking) straight from the browser, so that the address never passes through the
//! broker. Those two services allow exactly the broker's public origin and no other.

use crate::config::{Config, ServiceName};
use actix_cors::Cors;
use actix_web::http::{header, Method};
use actix_web::middleware::Condition;

/// The CORS layer a service wraps around its routes: settlement and delivery allow the
/// storefront's origin; the broker (which serves the storefront) needs none and gets none.
pub fn for_service(config: &Config, name: ServiceName) -> Condition<Cors> {
    Condition::new(name != ServiceName::Broker, cors(&config.broker.public_url()))
}

/// CORS for settlement and delivery: only `allowed_origin` (the broker's public URL; any
/// path in it is ignored), only the methods and headers the storefront sends. Requests
/// without an `Origin` (services, partners, couriers' tools) pass untouched; a browser
/// page from any other origin is refused.
pub fn cors(allowed_origin: &str) -> Cors {
    let origin = origin_of(allowed_origin);
    // On this machine the same page is reached as 127.0.0.1 or localhost.
    let twin = if origin.contains("://127.0.0.1") {
        Some(origin.replacen("://127.0.0.1", "://localhost", 1))
    } else if origin.contains("://localhost") {
        Some(origin.replacen("://localhost", "://127.0.0.1", 1))
    } else {
        None
    };
    let cors = match twin {
        Some(t) => Cors::default().allowed_origin(&t),
        None => Cors::default(),
    };
    cors.allowed_origin(&origin)
        .allowed_methods([Method::GET, Method::PUT, Method::POST])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .allowed_header("idempotency-key")
        .max_age(600)
}

/// `scheme://host[:port]` of a URL, as a browser writes it in `Origin`.
pub fn origin_of(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let scheme = scheme.to_ascii_lowercase();
    // Browsers leave out the scheme's default port.
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host,
        _ => authority,
    };
    format!("{scheme}://{}", authority.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test as web_test, web, App, HttpResponse};

    #[test]
    fn origin_drops_path_and_default_port() {
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://Shop.Example/base/"), "https://shop.example");
        assert_eq!(origin_of("https://shop.example:443/"), "https://shop.example");
        assert_eq!(origin_of("http://shop.example:80"), "http://shop.example");
    }

    #[actix_web::test]
    async fn only_the_storefront_origin_is_allowed() {
        let app = web_test::init_service(
            App::new().wrap(cors("http://127.0.0.1:8080/")).route("/x", web::put().to(HttpResponse::NoContent)),
        )
        .await;
        let preflight = |origin: &'static str| {
            web_test::TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/x")
                .insert_header(("origin", origin))
                .insert_header(("access-control-request-method", "PUT"))
                .insert_header(("access-control-request-headers", "authorization, content-type"))
                .to_request()
        };
        let ok = web_test::call_service(&app, preflight("http://127.0.0.1:8080")).await;
        assert!(ok.status().is_success());
        assert_eq!(ok.headers().get("access-control-allow-origin").unwrap(), "http://127.0.0.1:8080");
        let twin = web_test::call_service(&app, preflight("http://localhost:8080")).await;
        assert_eq!(twin.headers().get("access-control-allow-origin").unwrap(), "http://localhost:8080");
        let other = web_test::call_service(&app, preflight("http://evil.example")).await;
        assert!(other.headers().get("access-control-allow-origin").is_none());
        // A call without Origin (another service, a partner) is not affected.
        let plain = web_test::call_service(&app, web_test::TestRequest::put().uri("/x").to_request()).await;
        assert_eq!(plain.status().as_u16(), 204);
    }
}
