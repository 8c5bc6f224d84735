//! The broker's one error enum: every variant a stable `code` clients branch on.

use crate::orders::domain::HoldRefusal;
use actix_web::http::StatusCode;
use serde_json::{Map, Value};
use shared::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Shared(#[from] shared::Error),
    /// A report request refused by the privacy engine's rules, or a failure under one.
    #[error(transparent)]
    Reports(#[from] privacy::scope::ScopeError),
    /// Input that parsed as JSON but makes no sense (empty name, negative stock, …).
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// The store cannot sell what was asked; `alternatives` lists stores that can.
    #[error("{detail}")]
    Unsellable { code: &'static str, detail: String, alternatives: Value, backorder: Value },
    /// The order's price is not the one the buyer expected; `current_price` says what it is.
    #[error("the price changed to {} {}", current.amount, current.currency)]
    PriceChanged { current: shared::money::Money },
    /// The order workflow does not allow this step now; `status` is where the order is.
    #[error("the order is {current}; that step is not possible now")]
    InvalidTransition { current: &'static str },
    /// An unpaid order may not take that much of the offer (DESIGN.md "Holding against
    /// dishonest parties"): 409 `quantity_limit` with `max_quantity`, or 409
    /// `stock_on_hold` with `Retry-After` while unpaid orders hold the offer's share.
    #[error("{}", hold_detail(.0))]
    Held(crate::orders::domain::HoldRefusal),
    /// A salesperson with several stores must name one (`?store_id=`), as on settlement.
    #[error("you have several stores: name one with `?store_id=`")]
    StoreRequired,
}

impl BrokerError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        BrokerError::Invalid { code, detail: detail.into() }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        BrokerError::Conflict { code, detail: detail.into() }
    }
}

impl From<diesel::result::Error> for BrokerError {
    fn from(e: diesel::result::Error) -> Self {
        BrokerError::Shared(e.into())
    }
}

impl From<shared::db::DbError> for BrokerError {
    fn from(e: shared::db::DbError) -> Self {
        BrokerError::Shared(e.into())
    }
}

impl From<shared::money::MoneyError> for BrokerError {
    fn from(e: shared::money::MoneyError) -> Self {
        BrokerError::Shared(e.into())
    }
}

impl From<shared::ids::InvalidId> for BrokerError {
    fn from(e: shared::ids::InvalidId) -> Self {
        BrokerError::Shared(e.into())
    }
}

impl ApiError for BrokerError {
    fn status(&self) -> StatusCode {
        match self {
            BrokerError::Shared(e) => e.status(),
            BrokerError::Reports(e) => e.status(),
            BrokerError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            BrokerError::NotFound(_) => StatusCode::NOT_FOUND,
            BrokerError::Forbidden(_) => StatusCode::FORBIDDEN,
            BrokerError::StoreRequired => StatusCode::BAD_REQUEST,
            BrokerError::Conflict { .. }
            | BrokerError::Unsellable { .. }
            | BrokerError::PriceChanged { .. }
            | BrokerError::Held(_)
            | BrokerError::InvalidTransition { .. } => StatusCode::CONFLICT,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            BrokerError::Shared(e) => e.code(),
            BrokerError::Reports(e) => e.code(),
            BrokerError::Invalid { code, .. } => code,
            BrokerError::NotFound(_) => "not_found",
            BrokerError::Forbidden(_) => "forbidden",
            BrokerError::Conflict { code, .. } | BrokerError::Unsellable { code, .. } => code,
            BrokerError::PriceChanged { .. } => "price_changed",
            BrokerError::InvalidTransition { .. } => "invalid_transition",
            BrokerError::StoreRequired => "store_id_required",
            BrokerError::Held(HoldRefusal::OrderTooLarge { .. }) => "quantity_limit",
            BrokerError::Held(HoldRefusal::ShareHeld) => "stock_on_hold",
        }
    }

    fn extra(&self) -> Option<Map<String, Value>> {
        match self {
            BrokerError::Unsellable { alternatives, backorder, .. } => {
                let mut m = Map::new();
                m.insert("alternatives".into(), alternatives.clone());
                m.insert("backorder".into(), backorder.clone());
                Some(m)
            }
            BrokerError::PriceChanged { current } => {
                let mut m = Map::new();
                m.insert("current_price".into(), serde_json::to_value(current).unwrap_or(Value::Null));
                Some(m)
            }
            BrokerError::InvalidTransition { current } => {
                let mut m = Map::new();
                m.insert("status".into(), Value::String((*current).to_string()));
                Some(m)
            }
            BrokerError::Held(HoldRefusal::OrderTooLarge { max }) => {
                let mut m = Map::new();
                m.insert("max_quantity".into(), Value::from(*max));
                Some(m)
            }
            _ => None,
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            BrokerError::Shared(e) => e.headers(),
            BrokerError::Reports(e) => e.headers(),
            // Holds end within minutes: paid, cancelled or expired.
            BrokerError::Held(HoldRefusal::ShareHeld) => vec![("retry-after", STOCK_ON_HOLD_RETRY_SECS.to_string())],
            _ => Vec::new(),
        }
    }
}

const STOCK_ON_HOLD_RETRY_SECS: u64 = 60;

fn hold_detail(refusal: &HoldRefusal) -> String {
    match refusal {
        HoldRefusal::OrderTooLarge { max } => {
            format!("one unpaid order may hold at most {max} units of this offer")
        }
        HoldRefusal::ShareHeld => {
            "most of this offer's stock is held by orders awaiting payment; try again shortly".into()
        }
    }
}

shared::problem_response!(BrokerError);

pub type Result<T, E = BrokerError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let e = BrokerError::invalid("empty_name", "name must not be empty");
        assert_eq!((e.status(), e.code()), (StatusCode::UNPROCESSABLE_ENTITY, "empty_name"));
        assert_eq!(BrokerError::NotFound("store").status(), StatusCode::NOT_FOUND);
        let e = BrokerError::Unsellable {
            code: "out_of_stock",
            detail: "short".into(),
            alternatives: Value::Array(vec![]),
            backorder: Value::Null,
        };
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert!(e.extra().unwrap().contains_key("alternatives"));
        let e: BrokerError = shared::Error::Unauthorized.into();
        assert_eq!(e.code(), "unauthorized");
    }
}
