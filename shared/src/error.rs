//! Errors as `application/problem+json` (RFC 9457) with a stable machine-readable `code`.
//!
//! Each service has one error enum; every variant names its code and status through
//! [`ApiError`], and [`respond`] turns it into the answer. [`Error`] holds the failures
//! every service shares (auth, storage, input) so that services wrap it with `#[from]`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::Value;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The codes every service can answer with: those of [`Error`] and those the HTTP layer
/// gives before a handler runs (body, path, query, headers, routing, rate limits).
/// A service's own catalogue adds to these; together they are the `code` enum of its
/// OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Code {
    Unauthorized,
    TokenExpired,
    Forbidden,
    NotFound,
    InvalidRequest,
    BadRequest,
    UnknownCurrency,
    WrongCurrency,
    AmountOutOfRange,
    AmountTooLarge,
    InvalidAmount,
    InvalidId,
    InternalError,
    Unavailable,
    Busy,
    HeadersTooLarge,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidBody,
    MalformedJson,
    InvalidPath,
    InvalidQuery,
    MethodNotAllowed,
    RouteNotFound,
    NotReady,
    RateLimited,
    /// A message from another service that arrived before what it builds on: the sender
    /// retries it.
    NotYet,
    /// Only a dead message of the outbox can be discarded.
    NotDead,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn status(self) -> StatusCode {
        use Code::*;
        match self {
            Unauthorized | TokenExpired => StatusCode::UNAUTHORIZED,
            Forbidden => StatusCode::FORBIDDEN,
            NotFound | RouteNotFound => StatusCode::NOT_FOUND,
            InvalidRequest | UnknownCurrency | WrongCurrency | AmountOutOfRange | AmountTooLarge | InvalidAmount
            | InvalidBody => StatusCode::UNPROCESSABLE_ENTITY,
            BadRequest | InvalidId | MalformedJson | InvalidPath | InvalidQuery => StatusCode::BAD_REQUEST,
            InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Unavailable | Busy | NotReady => StatusCode::SERVICE_UNAVAILABLE,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            NotYet | NotDead => StatusCode::CONFLICT,
        }
    }
}

/// A service's catalogue of error codes: one variant per code, each with its one status.
/// `shared::openapi::finish` lists [`Catalogue::all`] with [`Code`] in the document, and
/// [`catalogue_faults`] checks a catalogue against it.
pub trait Catalogue: Copy + Into<&'static str> + strum::IntoEnumIterator {
    fn status(self) -> StatusCode;

    fn all() -> Vec<&'static str> {
        Self::iter().map(Into::into).collect()
    }
}

/// What is wrong with a catalogue in a service's finished OpenAPI document: a code that is
/// not snake_case, not an error status, listed twice (or also a shared code), or missing
/// from the document's `Problem.code` enum.
pub fn catalogue_faults<C: Catalogue>(doc: &utoipa::openapi::OpenApi) -> Vec<String> {
    use strum::IntoEnumIterator;
    let doc = serde_json::to_value(doc).unwrap_or_default();
    let listed: Vec<&str> = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .map(|codes| codes.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let shared: Vec<&str> = Code::iter().map(Code::as_str).collect();
    let mut faults = Vec::new();
    let mut seen = Vec::new();
    for variant in C::iter() {
        let code: &'static str = variant.into();
        let status = variant.status();
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            faults.push(format!("{code}: not snake_case"));
        }
        if !(status.is_client_error() || status.is_server_error()) {
            faults.push(format!("{code}: {status} is not an error status"));
        }
        if seen.contains(&code) || shared.contains(&code) {
            faults.push(format!("{code}: listed twice"));
        }
        if !listed.contains(&code) {
            faults.push(format!("{code}: not in the OpenAPI document's Problem.code enum"));
        }
        seen.push(code);
    }
    faults
}

/// What a service error must say about itself to become a problem document.
pub trait ApiError: std::error::Error {
    fn status(&self) -> StatusCode;
    /// Stable, machine-readable; clients branch on it.
    fn code(&self) -> &'static str;
    /// Extra members for the problem document (e.g. `alternatives`).
    fn extra(&self) -> Option<serde_json::Map<String, Value>> {
        None
    }
    /// Headers such as `Retry-After`.
    fn headers(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            type_: format!("https://marketplace.invalid/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
            extra: serde_json::Map::new(),
        }
    }

    /// A problem with one of the shared codes, at that code's status.
    pub fn shared(code: Code, detail: impl Into<String>) -> Self {
        Problem::new(code.status(), code.as_str(), detail)
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status).content_type(PROBLEM_JSON).json(self)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

/// Builds the problem answer for any service error. Server errors are logged with their
/// whole chain and answered without internals.
pub fn respond<E: ApiError + ?Sized>(err: &E) -> HttpResponse {
    let status = err.status();
    let detail = if status.is_server_error() {
        let mut chain = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(code = err.code(), error = %chain, "request failed");
        "the server could not complete the request; it is safe to retry".to_string()
    } else {
        err.to_string()
    };
    let mut problem = Problem::new(status, err.code(), detail);
    if let Some(extra) = err.extra() {
        problem.extra = extra;
    }
    let mut resp = problem.response();
    for (name, value) in err.headers() {
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&value) {
            resp.headers_mut().insert(actix_web::http::header::HeaderName::from_static(name), v);
        }
    }
    resp
}

/// Failures every service shares.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("the token has expired")]
    TokenExpired,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// A message that arrived before what it builds on (409 `not_yet`, retried).
    #[error("{0}")]
    NotYet(String),
    #[error(transparent)]
    Money(#[from] crate::money::MoneyError),
    #[error(transparent)]
    Id(#[from] crate::ids::InvalidId),
    #[error("storage failure")]
    Database(#[from] crate::db::DbError),
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
    /// Expensive work (password hashing) is at its bound; nothing was done.
    #[error("the service is busy; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Error::NotFound("record".into()),
            other => Error::Database(other.into()),
        }
    }
}

impl Error {
    /// The shared code of every variant but `Conflict`, whose code is the caller's.
    fn shared_code(&self) -> Code {
        use crate::money::MoneyError;
        match self {
            Error::Unauthorized => Code::Unauthorized,
            Error::TokenExpired => Code::TokenExpired,
            Error::Forbidden(_) => Code::Forbidden,
            Error::NotFound(_) => Code::NotFound,
            Error::Invalid(_) => Code::InvalidRequest,
            Error::BadRequest(_) => Code::BadRequest,
            Error::Conflict { .. } => Code::InternalError,
            Error::NotYet(_) => Code::NotYet,
            Error::Money(MoneyError::UnknownCurrency(_)) => Code::UnknownCurrency,
            Error::Money(MoneyError::CurrencyMismatch(..)) => Code::WrongCurrency,
            Error::Money(MoneyError::Overflow) => Code::AmountOutOfRange,
            Error::Money(MoneyError::TooLarge { .. }) => Code::AmountTooLarge,
            Error::Money(_) => Code::InvalidAmount,
            Error::Id(_) => Code::InvalidId,
            // A locked or exhausted store is a moment, not a fault: the client retries.
            Error::Database(e) if e.is_busy() => Code::Busy,
            Error::Database(_) | Error::Internal(_) => Code::InternalError,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Busy { .. } => Code::Busy,
        }
    }
}

impl ApiError for Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::Conflict { .. } => StatusCode::CONFLICT,
            other => other.shared_code().status(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Error::Conflict { code, .. } => code,
            other => other.shared_code().as_str(),
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::Unauthorized | Error::TokenExpired => vec![("www-authenticate", "Bearer".into())],
            Error::Unavailable(_) => vec![("retry-after", "1".into())],
            Error::Busy { retry_after_secs } => vec![("retry-after", retry_after_secs.to_string())],
            Error::Database(e) if e.is_busy() => vec![("retry-after", "1".into())],
            _ => Vec::new(),
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.status()
    }
    fn error_response(&self) -> HttpResponse {
        respond(self)
    }
}

/// Implements `ResponseError` for a service error enum through its [`ApiError`] impl.
#[macro_export]
macro_rules! problem_response {
    ($ty:ty) => {
        impl actix_web::ResponseError for $ty {
            fn status_code(&self) -> actix_web::http::StatusCode {
                $crate::error::ApiError::status(self)
            }
            fn error_response(&self) -> actix_web::HttpResponse {
                $crate::error::respond(self)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_errors_have_stable_codes_and_statuses() {
        assert_eq!(Error::Unauthorized.code(), "unauthorized");
        assert_eq!(Error::NotFound("order".into()).status(), StatusCode::NOT_FOUND);
        let e: Error = crate::money::MoneyError::UnknownCurrency("XYZ".into()).into();
        assert_eq!((e.status(), e.code()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_currency"));
        let busy = Error::Busy { retry_after_secs: 2 };
        assert_eq!((busy.status(), busy.code()), (StatusCode::SERVICE_UNAVAILABLE, "busy"));
        assert_eq!(busy.headers(), vec![("retry-after", "2".to_string())]);
        let e: Error = crate::money::MoneyError::TooLarge { max: 5 }.into();
        assert_eq!((e.status(), e.code()), (StatusCode::UNPROCESSABLE_ENTITY, "amount_too_large"));
    }

    #[test]
    fn every_shared_code_is_snake_case_with_an_error_status() {
        use strum::IntoEnumIterator;
        for code in Code::iter() {
            let name = code.as_str();
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
            assert!(code.status().is_client_error() || code.status().is_server_error(), "{name}");
        }
        assert_eq!(Error::Internal("x".into()).code(), "internal_error");
        let conflict = Error::Conflict { code: "out_of_stock", detail: "d".into() };
        assert_eq!((conflict.status(), conflict.code()), (StatusCode::CONFLICT, "out_of_stock"));
    }

    #[test]
    fn problem_document_shape() {
        let p = Problem::new(StatusCode::CONFLICT, "out_of_stock", "no stock");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["status"], 409);
        assert_eq!(v["code"], "out_of_stock");
        assert_eq!(v["title"], "Conflict");
        assert!(v["type"].as_str().unwrap().ends_with("/out_of_stock"));
    }
}
