//! HTTP pieces every service uses: extractor configs whose failures answer problem+json
//! (never actix's plain-text defaults), the fallback 404, and the health, readiness,
//! OpenAPI and JWK Set routes.

use crate::db::Db;
use crate::error::{Code, Problem};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest, HttpResponse};

/// Request bodies above this are refused with 413.
pub const MAX_BODY: usize = 64 * 1024;

/// Request headers above this in total (names and values) are refused with 431 before
/// any handler runs. Far above any real token or cookie; heads past actix-http's own
/// limit (128 KiB) are refused by its codec, without a body.
pub const MAX_HEADERS: usize = 32 * 1024;

/// Middleware: refuses an oversize request head with a problem+json 431.
pub async fn header_limit(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let size: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if size > MAX_HEADERS {
        let problem = Problem::shared(Code::HeadersTooLarge, format!("the request headers exceed {MAX_HEADERS} bytes"));
        return Ok(req.into_response(problem.response()));
    }
    next.call(req).await.map(actix_web::dev::ServiceResponse::map_into_boxed_body)
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(MAX_BODY).error_handler(|err, _req| json_problem(&err).into())
}

fn json_problem(err: &JsonPayloadError) -> Problem {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            Problem::shared(Code::PayloadTooLarge, format!("the body exceeds {MAX_BODY} bytes"))
        }
        JsonPayloadError::ContentType => {
            Problem::shared(Code::UnsupportedMediaType, "send the body as application/json")
        }
        // The money ceiling refuses inside the deserializer; say so with its own code.
        JsonPayloadError::Deserialize(e) if e.is_data() && crate::money::is_too_large(e) => {
            Problem::shared(Code::AmountTooLarge, e.to_string())
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => Problem::shared(Code::InvalidBody, e.to_string()),
        JsonPayloadError::Deserialize(e) => Problem::shared(Code::MalformedJson, e.to_string()),
        other => Problem::shared(Code::MalformedJson, other.to_string()),
    }
}

/// The body of an action route (`…/cancel`, `…/refuse`, `…/confirm`), which needs none:
/// no body, or an empty one whatever its `Content-Type` (what curl and most HTTP
/// libraries send), is `T::default()`. A body that is present must be JSON, sent as
/// `application/json` (or with no `Content-Type`), and is refused exactly as `web::Json`
/// refuses it otherwise, never read as "no body".
#[derive(Debug)]
pub struct ActionBody<T>(pub T);

impl<T: serde::de::DeserializeOwned + Default + 'static> actix_web::FromRequest for ActionBody<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let is_json = req.headers().get(actix_web::http::header::CONTENT_TYPE).is_none_or(|v| {
            v.to_str().ok().and_then(|v| v.parse::<actix_web::mime::Mime>().ok()).is_some_and(|m| {
                m.type_() == actix_web::mime::APPLICATION
                    && (m.subtype() == actix_web::mime::JSON || m.suffix() == Some(actix_web::mime::JSON))
            })
        });
        let mut payload = payload.take();
        Box::pin(async move {
            use futures_util::StreamExt;
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                body.extend_from_slice(&chunk?);
                if body.len() > MAX_BODY {
                    return Err(json_problem(&JsonPayloadError::Overflow { limit: MAX_BODY }).into());
                }
            }
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(ActionBody(T::default()));
            }
            if !is_json {
                return Err(json_problem(&JsonPayloadError::ContentType).into());
            }
            serde_json::from_slice(&body)
                .map(ActionBody)
                .map_err(|e| json_problem(&JsonPayloadError::Deserialize(e)).into())
        })
    }
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err: PathError, _req| Problem::shared(Code::InvalidPath, err.to_string()).into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err: QueryPayloadError, _req| Problem::shared(Code::InvalidQuery, err.to_string()).into())
}

/// The fallback: 405 with `Allow` for a documented path asked with a method it does not
/// take (actix's routing alone cannot tell that apart from an unknown path), else 404.
pub async fn not_found(req: HttpRequest, known: Option<web::Data<crate::openapi::KnownPaths>>) -> HttpResponse {
    if let Some(allowed) = known.as_ref().and_then(|k| k.allowed(req.path())) {
        let allow = allowed.join(", ");
        let mut resp =
            Problem::shared(Code::MethodNotAllowed, format!("{} takes {allow}, not {}", req.path(), req.method()))
                .response();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
            resp.headers_mut().insert(actix_web::http::header::ALLOW, value);
        }
        return resp;
    }
    Problem::shared(Code::RouteNotFound, format!("no route for {} {}", req.method(), req.path())).response()
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

pub async fn readyz(db: web::Data<Db>) -> HttpResponse {
    match db.ready().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(e) => Problem::shared(Code::NotReady, e.to_string()).response(),
    }
}

/// The service's OpenAPI document, rendered once at start.
#[derive(Clone)]
pub struct OpenApiJson(pub String);

pub async fn openapi(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(doc.0.clone())
}

/// The service's public keys as a JWK Set.
#[derive(Clone)]
pub struct Jwks(pub String);

pub async fn jwks(doc: web::Data<Jwks>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("cache-control", "public, max-age=300"))
        .body(doc.0.clone())
}

/// A bounded page request: `?limit=&offset=`.
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
pub struct Page {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Page {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(50).clamp(1, 500)
    }
    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App};

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        n: i64,
        #[serde(default)]
        price: Option<crate::money::Money>,
    }

    async fn echo(_b: web::Json<Body>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[derive(serde::Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Why {
        reason: Option<String>,
    }

    async fn act(b: ActionBody<Why>) -> HttpResponse {
        HttpResponse::Ok().body(b.0.reason.unwrap_or_else(|| "none".into()))
    }

    #[actix_web::test]
    async fn action_bodies_are_optional_but_json_when_present() {
        let app = test::init_service(App::new().route("/", web::post().to(act))).await;
        let cases: [(Option<&str>, &str, u16, &str); 8] = [
            (None, "", 200, "none"),
            (Some("application/json"), "", 200, "none"),
            (Some("text/plain"), "", 200, "none"),
            (Some("application/json"), r#"{"reason":"late"}"#, 200, "late"),
            (None, r#"{"reason":"late"}"#, 200, "late"),
            (Some("text/plain"), r#"{"reason":"late"}"#, 415, "unsupported_media_type"),
            (Some("application/json"), "{", 400, "malformed_json"),
            (Some("application/json"), r#"{"why":"x"}"#, 422, "invalid_body"),
        ];
        for (content_type, body, status, answer) in cases {
            let mut req = test::TestRequest::post().uri("/").set_payload(body);
            if let Some(ct) = content_type {
                req = req.insert_header(("content-type", ct));
            }
            let resp = test::call_service(&app, req.to_request()).await;
            assert_eq!(resp.status().as_u16(), status, "{content_type:?} {body}");
            let bytes = test::read_body(resp).await;
            if status == 200 {
                assert_eq!(bytes, answer);
            } else {
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(v["code"], answer, "{content_type:?} {body}");
            }
        }
        let big = format!(r#"{{"reason":"{}"}}"#, "x".repeat(MAX_BODY));
        let req = test::TestRequest::post().uri("/").set_payload(big).to_request();
        assert_eq!(test::call_service(&app, req).await.status(), 413);
    }

    #[actix_web::test]
    async fn bad_json_answers_problem_json() {
        let app = test::init_service(
            App::new().app_data(json_config()).route("/", web::post().to(echo)).default_service(web::to(not_found)),
        )
        .await;
        for (body, status, code) in [
            ("{", 400, "malformed_json"),
            (r#"{"n":"x"}"#, 422, "invalid_body"),
            (r#"{}"#, 422, "invalid_body"),
            (r#"{"n":1,"price":{"amount":9223372036854775807,"currency":"EUR"}}"#, 422, "amount_too_large"),
            (r#"{"n":1,"price":{"amount":1000000000001,"currency":"EUR"}}"#, 422, "amount_too_large"),
        ] {
            let req = test::TestRequest::post()
                .uri("/")
                .insert_header(("content-type", "application/json"))
                .set_payload(body)
                .to_request();
            let resp = test::call_service(&app, req).await;
            assert_eq!(resp.status().as_u16(), status, "{body}");
            assert_eq!(resp.headers().get("content-type").unwrap(), "application/problem+json");
            let v: serde_json::Value = test::read_body_json(resp).await;
            assert_eq!(v["code"], code);
        }
        let big = format!(r#"{{"n":1,"pad":"{}"}}"#, "x".repeat(MAX_BODY));
        let req = test::TestRequest::post()
            .uri("/")
            .insert_header(("content-type", "application/json"))
            .set_payload(big)
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), 413);
        let req = test::TestRequest::get().uri("/nope").to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 404);
    }
}
