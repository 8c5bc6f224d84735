//! Every failure settlement answers with, each with its stable code: [`Code`] is the
//! catalogue of settlement's own codes (the shared ones are `shared::error::Code`), and
//! every status settlement answers with comes from one of the two.

use actix_web::http::StatusCode;
use shared::error::{ApiError, Catalogue};
use shared::money::Money;

/// Settlement's own error codes, each with its one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Code {
    UnknownOrder,
    UnknownPayment,
    RefundExceedsPayment,
    InsufficientBalance,
    StoreIdRequired,
    ReauthenticationRequired,
    InvalidWebhookUrl,
    InvalidOrderId,
    InvalidPartnerReference,
    InvalidPaymentId,
    InvalidReason,
    InvalidPurchaseId,
    InvalidName,
    InvalidHolder,
    InvalidIban,
    /// A statement's or a report's period that does not parse.
    InvalidPeriod,
    PurchaseIdReused,
    NoWebhookUrl,
}

impl Catalogue for Code {
    fn status(self) -> StatusCode {
        use Code::*;
        match self {
            StoreIdRequired => StatusCode::BAD_REQUEST,
            ReauthenticationRequired => StatusCode::UNAUTHORIZED,
            UnknownOrder | UnknownPayment => StatusCode::NOT_FOUND,
            InsufficientBalance | PurchaseIdReused | NoWebhookUrl => StatusCode::CONFLICT,
            RefundExceedsPayment
            | InvalidWebhookUrl
            | InvalidOrderId
            | InvalidPartnerReference
            | InvalidPaymentId
            | InvalidReason
            | InvalidPurchaseId
            | InvalidName
            | InvalidHolder
            | InvalidIban
            | InvalidPeriod => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// Every code settlement answers with beside the shared ones: its catalogue, the
/// idempotency keys' refusals and the report requests' refusals.
pub fn codes() -> Vec<&'static str> {
    use strum::IntoEnumIterator;
    let keys = shared::idempotency::Refusal::iter().map(shared::idempotency::Refusal::as_str);
    let reports = privacy::scope::Code::iter().map(privacy::scope::Code::as_str);
    Code::all().into_iter().chain(keys).chain(reports).collect()
}

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
    /// A refusal of the request's content, at its code's status.
    #[error("{detail}")]
    Refused { code: Code, detail: String },
    /// A request body that did not parse, under one of the shared codes.
    #[error("{detail}")]
    Body { code: shared::error::Code, detail: String },
    #[error("the ledger transaction does not balance")]
    Unbalanced,
}

impl SettlementError {
    pub fn refused(code: Code, detail: impl Into<String>) -> Self {
        SettlementError::Refused { code, detail: detail.into() }
    }

    /// A request body that did not parse: an amount above the money ceiling and an
    /// unknown currency keep their own codes, anything else is `invalid_body`.
    pub fn body(e: serde_json::Error) -> Self {
        use shared::error::Code as Shared;
        let code = if shared::money::is_too_large(&e) {
            Shared::AmountTooLarge
        } else if e.to_string().contains("unknown currency") {
            Shared::UnknownCurrency
        } else {
            Shared::InvalidBody
        };
        SettlementError::Body { code, detail: e.to_string() }
    }

    /// The code this error answers with: one of the catalogue's, or (`Err`) a shared one.
    /// Shared errors, key refusals and report refusals carry their own codes (listed by
    /// [`codes`]) and are answered through them before this is asked.
    fn listed(&self) -> Result<Code, shared::error::Code> {
        Ok(match self {
            SettlementError::Shared(_)
            | SettlementError::Key(_)
            | SettlementError::Reports(_)
            | SettlementError::Unbalanced => return Err(shared::error::Code::InternalError),
            SettlementError::Body { code, .. } => return Err(*code),
            SettlementError::UnknownOrder => Code::UnknownOrder,
            SettlementError::UnknownPayment => Code::UnknownPayment,
            SettlementError::RefundExceedsPayment { .. } => Code::RefundExceedsPayment,
            SettlementError::InsufficientBalance => Code::InsufficientBalance,
            SettlementError::StoreRequired => Code::StoreIdRequired,
            SettlementError::ReauthenticationRequired { .. } => Code::ReauthenticationRequired,
            SettlementError::InvalidWebhookUrl(_) => Code::InvalidWebhookUrl,
            SettlementError::Refused { code, .. } => *code,
        })
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
        match (self, self.listed()) {
            (SettlementError::Shared(e), _) => e.status(),
            (SettlementError::Key(r), _) => r.status(),
            (SettlementError::Reports(e), _) => e.status(),
            (_, Ok(code)) => code.status(),
            (_, Err(code)) => code.status(),
        }
    }

    fn code(&self) -> &'static str {
        match (self, self.listed()) {
            (SettlementError::Shared(e), _) => e.code(),
            (SettlementError::Key(r), _) => r.as_str(),
            (SettlementError::Reports(e), _) => e.code(),
            (_, Ok(code)) => code.into(),
            (_, Err(code)) => code.as_str(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn every_error_answers_with_its_code_at_the_code_s_status() {
        for code in Code::iter() {
            let e = SettlementError::refused(code, "x");
            assert_eq!((e.code(), e.status()), (code.into(), code.status()));
        }
        let cases = [
            (shared::idempotency::Refusal::Required.into(), 400, "idempotency_key_required"),
            (shared::idempotency::Refusal::InUse.into(), 409, "idempotency_key_in_use"),
            (shared::idempotency::Refusal::Reused.into(), 422, "idempotency_key_reused"),
            (SettlementError::UnknownOrder, 404, "unknown_order"),
            (SettlementError::StoreRequired, 400, "store_id_required"),
            (SettlementError::ReauthenticationRequired { max_age: 1 }, 401, "reauthentication_required"),
            (SettlementError::InvalidWebhookUrl("x".into()), 422, "invalid_webhook_url"),
            (SettlementError::Unbalanced, 500, "internal_error"),
            (
                SettlementError::Body { code: shared::error::Code::AmountTooLarge, detail: "x".into() },
                422,
                "amount_too_large",
            ),
            (shared::Error::Unauthorized.into(), 401, "unauthorized"),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status().as_u16(), e.code()), (status, code));
        }
    }
}
