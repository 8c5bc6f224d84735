//! The broker's one error enum, and [`Code`], the catalogue of the codes it answers with
//! beside the shared ones (`shared::error::Code`): every status the broker answers with
//! comes from one of the two (or from the idempotency keys' and report requests' own).

use crate::orders::domain::{HoldRefusal, KeyRefusal};
use actix_web::http::StatusCode;
use serde_json::{Map, Value};
use shared::error::{ApiError, Catalogue};
use shared::rules::Unsellable;

/// The broker's own error codes, each with its one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Code {
    // ---- the request's content (422)
    EmptyName,
    InvalidName,
    /// A query parameter (or an equipment kind) that does not parse.
    InvalidParameter,
    UnknownParameter,
    DuplicateParameter,
    KindRequired,
    CurrencyRequired,
    InvalidPriceRange,
    InvalidAttributes,
    TooManyAttributes,
    InvalidQuantity,
    InvalidBackorderDays,
    InvalidCompatibleWith,
    ReservedCategory,
    InvalidUntil,
    RegionRequired,
    InvalidStatus,
    InvalidContact,
    InvalidPoints,
    PointsCurrencyMismatch,
    InvalidMessage,
    InvalidReason,
    SessionRequired,
    InvalidHandle,
    InvalidEquipment,
    TooMuchEquipment,
    InvalidGroup,
    InvalidItems,
    /// A collection code that is unknown or was used.
    UnknownCode,
    NoStore,
    InvalidEmail,
    WeakPassword,
    // ---- what cannot be done now (409)
    NonSellable,
    /// An admin suspended the store: it takes no orders until the suspension is lifted.
    StoreSuspended,
    OutOfStock,
    PriceChanged,
    InvalidTransition,
    /// Accepting an order whose goods have not been delivered yet.
    NotDelivered,
    /// The order has its dispute already (one per order).
    DisputeExists,
    /// Accepted, released, refunded, or the acceptance window ended.
    DisputeWindowClosed,
    /// Nothing came yet, but the promised delivery (plus grace) has not passed.
    DisputeTooEarly,
    QuantityLimit,
    StockOnHold,
    InsufficientStock,
    InsufficientPoints,
    OrderChanged,
    InsufficientBalance,
    /// Settlement refused a charge (points or a report) for another reason.
    ChargeRejected,
    ReportUnavailable,
    TooManyGroupPrices,
    NotACollectionPoint,
    CollectionCapReached,
    HandleTaken,
    EmailTaken,
    // ---- the request's form (400)
    StoreIdRequired,
}

impl Catalogue for Code {
    fn status(self) -> StatusCode {
        use Code::*;
        match self {
            StoreIdRequired => StatusCode::BAD_REQUEST,
            NonSellable | StoreSuspended | OutOfStock | PriceChanged | InvalidTransition | NotDelivered
            | DisputeExists | DisputeWindowClosed | DisputeTooEarly | QuantityLimit | StockOnHold
            | InsufficientStock | InsufficientPoints | OrderChanged | InsufficientBalance | ChargeRejected
            | ReportUnavailable | TooManyGroupPrices | NotACollectionPoint | CollectionCapReached | HandleTaken
            | EmailTaken => StatusCode::CONFLICT,
            EmptyName
            | InvalidName
            | InvalidParameter
            | UnknownParameter
            | DuplicateParameter
            | KindRequired
            | CurrencyRequired
            | InvalidPriceRange
            | InvalidAttributes
            | TooManyAttributes
            | InvalidQuantity
            | InvalidBackorderDays
            | InvalidCompatibleWith
            | ReservedCategory
            | InvalidUntil
            | RegionRequired
            | InvalidStatus
            | InvalidContact
            | InvalidPoints
            | PointsCurrencyMismatch
            | InvalidMessage
            | InvalidReason
            | SessionRequired
            | InvalidHandle
            | InvalidEquipment
            | TooMuchEquipment
            | InvalidGroup
            | InvalidItems
            | UnknownCode
            | NoStore
            | InvalidEmail
            | WeakPassword => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Why a store cannot sell what was asked.
    pub fn unsellable(why: Unsellable) -> Code {
        match why {
            Unsellable::NonSellable => Code::NonSellable,
            Unsellable::OutOfStock => Code::OutOfStock,
            Unsellable::StoreSuspended => Code::StoreSuspended,
        }
    }
}

/// Every code the broker answers with beside the shared ones: its catalogue, the
/// idempotency keys' refusals and the report requests' refusals.
pub fn codes() -> Vec<&'static str> {
    use strum::IntoEnumIterator;
    let keys = shared::idempotency::Refusal::iter().map(shared::idempotency::Refusal::as_str);
    let reports = privacy::scope::Code::iter().map(privacy::scope::Code::as_str);
    Code::all().into_iter().chain(keys).chain(reports).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Shared(#[from] shared::Error),
    /// A report request refused by the privacy engine's rules, or a failure under one.
    #[error(transparent)]
    Reports(#[from] privacy::scope::ScopeError),
    /// An order's `Idempotency-Key` refused (malformed, busy, or used with another body).
    #[error(transparent)]
    Key(#[from] KeyRefusal),
    /// A refusal of the request (its content, or what it asks for now), at its code's status.
    #[error("{detail}")]
    Refused { code: Code, detail: String },
    /// A refusal under one of the shared codes (an amount out of range, a wrong currency).
    #[error("{detail}")]
    Common { code: shared::error::Code, detail: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// The store cannot sell what was asked; `alternatives` lists stores that can.
    #[error("{detail}")]
    Unsellable { why: Unsellable, detail: String, alternatives: Value, backorder: Value },
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
    pub fn refused(code: Code, detail: impl Into<String>) -> Self {
        BrokerError::Refused { code, detail: detail.into() }
    }

    pub fn common(code: shared::error::Code, detail: impl Into<String>) -> Self {
        BrokerError::Common { code, detail: detail.into() }
    }

    /// The code this error answers with: one of the catalogue's, or (`Err`) a shared one.
    /// Shared errors, key refusals and report refusals carry their own codes (listed by
    /// [`codes`]) and are answered through them before this is asked.
    fn listed(&self) -> std::result::Result<Code, shared::error::Code> {
        use shared::error::Code as Shared;
        Ok(match self {
            BrokerError::Shared(_) | BrokerError::Reports(_) | BrokerError::Key(_) => {
                return Err(Shared::InternalError)
            }
            BrokerError::Common { code, .. } => return Err(*code),
            BrokerError::NotFound(_) => return Err(Shared::NotFound),
            BrokerError::Forbidden(_) => return Err(Shared::Forbidden),
            BrokerError::Refused { code, .. } => *code,
            BrokerError::Unsellable { why, .. } => Code::unsellable(*why),
            BrokerError::PriceChanged { .. } => Code::PriceChanged,
            BrokerError::InvalidTransition { .. } => Code::InvalidTransition,
            BrokerError::StoreRequired => Code::StoreIdRequired,
            BrokerError::Held(HoldRefusal::OrderTooLarge { .. }) => Code::QuantityLimit,
            BrokerError::Held(HoldRefusal::ShareHeld) => Code::StockOnHold,
        })
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
        match (self, self.listed()) {
            (BrokerError::Shared(e), _) => e.status(),
            (BrokerError::Reports(e), _) => e.status(),
            (BrokerError::Key(k), _) => k.refusal().status(),
            (_, Ok(code)) => code.status(),
            (_, Err(code)) => code.status(),
        }
    }

    fn code(&self) -> &'static str {
        match (self, self.listed()) {
            (BrokerError::Shared(e), _) => e.code(),
            (BrokerError::Reports(e), _) => e.code(),
            (BrokerError::Key(k), _) => k.refusal().as_str(),
            (_, Ok(code)) => code.as_str(),
            (_, Err(code)) => code.as_str(),
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
            BrokerError::Key(k) => k.refusal().headers(),
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
    use strum::IntoEnumIterator;

    #[test]
    fn every_error_answers_with_its_code_at_the_code_s_status() {
        for code in Code::iter() {
            let e = BrokerError::refused(code, "x");
            assert_eq!((e.code(), e.status()), (code.as_str(), code.status()));
        }
        let held = |h| BrokerError::Held(h);
        let cases = [
            (BrokerError::refused(Code::EmptyName, "name must not be empty"), 422, "empty_name"),
            (BrokerError::common(shared::error::Code::InvalidAmount, "x"), 422, "invalid_amount"),
            (BrokerError::NotFound("store"), 404, "not_found"),
            (BrokerError::Forbidden("x".into()), 403, "forbidden"),
            (BrokerError::StoreRequired, 400, "store_id_required"),
            (BrokerError::InvalidTransition { current: "paid" }, 409, "invalid_transition"),
            (held(HoldRefusal::OrderTooLarge { max: 3 }), 409, "quantity_limit"),
            (held(HoldRefusal::ShareHeld), 409, "stock_on_hold"),
            (KeyRefusal::Invalid.into(), 400, "idempotency_key_invalid"),
            (KeyRefusal::InUse.into(), 409, "idempotency_key_in_use"),
            (KeyRefusal::Reused.into(), 422, "idempotency_key_reused"),
            (shared::Error::Unauthorized.into(), 401, "unauthorized"),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status().as_u16(), e.code()), (status, code));
        }
        assert_eq!(BrokerError::from(KeyRefusal::InUse).headers(), vec![("retry-after", "1".to_string())]);
        let e = BrokerError::Unsellable {
            why: Unsellable::OutOfStock,
            detail: "short".into(),
            alternatives: Value::Array(vec![]),
            backorder: Value::Null,
        };
        assert_eq!((e.status(), e.code()), (StatusCode::CONFLICT, "out_of_stock"));
        assert!(e.extra().unwrap().contains_key("alternatives"));
    }
}
