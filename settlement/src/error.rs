//! Every failure settlement answers with, each with its stable code.

use actix_web::http::StatusCode;
use shared::error::ApiError;
use shared::money::Money;

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error(transparent)]
    Shared(#[from] shared::Error),
    #[error(transparent)]
    Key(#[from] shared::idempotency::Refusal),
    /// A report request refused by the privacy engine's rules, or a failure under one.
    #[error(transparent)]
    Reports(#[from] privacy::scope::ScopeError),
    #[error("settlement does not know this order yet; retry with the same key later")]
    UnknownOrder,
    #[error("no such payment")]
    UnknownPayment,
    #[error("the refund exceeds what can still be refunded on this payment ({refundable})")]
    RefundExceedsPayment { refundable: Money },
    #[error("the store's available balance is too small")]
    InsufficientBalance,
    #[error("you have several stores: name one with `?store_id=`")]
    StoreRequired,
    #[error("this change needs a sign-in with your password within the last {max_age} s: sign in again")]
    ReauthenticationRequired { max_age: i64 },
    #[error("invalid webhook URL: {0}")]
    InvalidWebhookUrl(String),
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    #[error("the ledger transaction does not balance")]
    Unbalanced,
}

impl SettlementError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        SettlementError::Invalid { code, detail: detail.into() }
    }

    /// A request body that did not parse: an amount above the money ceiling and an
    /// unknown currency keep their own codes, anything else is `invalid_body`.
    pub fn body(e: serde_json::Error) -> Self {
        if shared::money::is_too_large(&e) {
            SettlementError::invalid("amount_too_large", e.to_string())
        } else if e.to_string().contains("unknown currency") {
            SettlementError::invalid("unknown_currency", e.to_string())
        } else {
            SettlementError::invalid("invalid_body", e.to_string())
        }
    }
}

impl From<shared::db::DbError> for SettlementError {
    fn from(e: shared::db::DbError) -> Self {
        SettlementError::Shared(e.into())
    }
}

impl From<diesel::result::Error> for SettlementError {
    fn from(e: diesel::result::Error) -> Self {
        SettlementError::Shared(e.into())
    }
}

impl From<shared::money::MoneyError> for SettlementError {
    fn from(e: shared::money::MoneyError) -> Self {
        SettlementError::Shared(e.into())
    }
}

impl From<shared::ids::InvalidId> for SettlementError {
    fn from(e: shared::ids::InvalidId) -> Self {
        SettlementError::Shared(e.into())
    }
}

impl ApiError for SettlementError {
    fn status(&self) -> StatusCode {
        match self {
            SettlementError::Shared(e) => e.status(),
            SettlementError::Key(r) => r.status(),
            SettlementError::Reports(e) => e.status(),
            SettlementError::StoreRequired => StatusCode::BAD_REQUEST,
            SettlementError::InsufficientBalance => StatusCode::CONFLICT,
            SettlementError::ReauthenticationRequired { .. } => StatusCode::UNAUTHORIZED,
            SettlementError::RefundExceedsPayment { .. }
            | SettlementError::InvalidWebhookUrl(_)
            | SettlementError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            SettlementError::UnknownOrder | SettlementError::UnknownPayment => StatusCode::NOT_FOUND,
            SettlementError::Unbalanced => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SettlementError::Shared(e) => e.code(),
            SettlementError::Key(r) => r.as_str(),
            SettlementError::Reports(e) => e.code(),
            SettlementError::UnknownOrder => "unknown_order",
            SettlementError::UnknownPayment => "unknown_payment",
            SettlementError::RefundExceedsPayment { .. } => "refund_exceeds_payment",
            SettlementError::InsufficientBalance => "insufficient_balance",
            SettlementError::StoreRequired => "store_id_required",
            SettlementError::ReauthenticationRequired { .. } => "reauthentication_required",
            SettlementError::InvalidWebhookUrl(_) => "invalid_webhook_url",
            SettlementError::Invalid { code, .. } => code,
            SettlementError::Unbalanced => "internal_error",
        }
    }

    fn extra(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        match self {
            SettlementError::RefundExceedsPayment { refundable } => {
                let mut m = serde_json::Map::new();
                m.insert("refundable".into(), serde_json::to_value(refundable).ok()?);
                Some(m)
            }
            _ => None,
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            SettlementError::Shared(e) => e.headers(),
            SettlementError::Key(r) => r.headers(),
            SettlementError::Reports(e) => e.headers(),
            // RFC 9470: the token is fine, its authentication is too old.
            SettlementError::ReauthenticationRequired { max_age } => vec![(
                "www-authenticate",
                format!("Bearer error=\"insufficient_user_authentication\", max_age={max_age}"),
            )],
            _ => Vec::new(),
        }
    }
}

/// Whether an error answer is stored under the key: refusals of the request's content are
/// (the same request would be refused again); a missing order, a busy key and server
/// errors are not, so a retry with the same key can succeed.
impl shared::idempotency::KeyedError for SettlementError {
    fn kept_under_key(&self) -> bool {
        self.status().is_client_error()
            && !matches!(
                self,
                SettlementError::UnknownOrder
                    | SettlementError::Key(shared::idempotency::Refusal::InUse)
                    | SettlementError::Shared(shared::Error::Unauthorized | shared::Error::TokenExpired)
            )
    }
}

shared::problem_response!(SettlementError);

pub type Result<T, E = SettlementError> = std::result::Result<T, E>;
