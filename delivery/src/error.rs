//! The delivery service's failures, each with a stable `code`.

use actix_web::http::StatusCode;
use shared::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Shared(#[from] shared::Error),
    /// A field of the address is missing or malformed; `field` names it (never its value).
    #[error("invalid address: {field} {reason}")]
    InvalidAddress { field: &'static str, reason: &'static str },
    #[error("invalid node: {0}")]
    InvalidNode(String),
    #[error("quantity must be a whole number of units, zero or more")]
    InvalidQuantity,
    #[error("invalid courier: {0}")]
    InvalidCourier(String),
    #[error("node not found")]
    NodeNotFound,
    #[error("shipment not found")]
    ShipmentNotFound,
    #[error("the address can no longer change: {0}")]
    AddressLocked(&'static str),
    #[error("a courier with this e-mail exists")]
    EmailTaken,
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("another courier claimed this leg")]
    LegClaimed,
    #[error("`{event}` does not apply to a leg that is {state}")]
    InvalidTransition { event: &'static str, state: String },
    #[error("invalid event: {0}")]
    InvalidEvent(String),
}

impl From<diesel::result::Error> for DeliveryError {
    fn from(e: diesel::result::Error) -> Self {
        DeliveryError::Shared(e.into())
    }
}

impl From<shared::db::DbError> for DeliveryError {
    fn from(e: shared::db::DbError) -> Self {
        DeliveryError::Shared(e.into())
    }
}

impl ApiError for DeliveryError {
    fn status(&self) -> StatusCode {
        match self {
            DeliveryError::Shared(e) => e.status(),
            DeliveryError::InvalidAddress { .. }
            | DeliveryError::InvalidNode(_)
            | DeliveryError::InvalidQuantity
            | DeliveryError::InvalidCourier(_)
            | DeliveryError::InvalidEvent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            DeliveryError::NodeNotFound | DeliveryError::ShipmentNotFound => StatusCode::NOT_FOUND,
            DeliveryError::AddressLocked(_) | DeliveryError::EmailTaken | DeliveryError::InvalidTransition { .. } => {
                StatusCode::CONFLICT
            }
            DeliveryError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            DeliveryError::LegClaimed => StatusCode::FORBIDDEN,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            DeliveryError::Shared(e) => e.code(),
            DeliveryError::InvalidAddress { .. } => "invalid_address",
            DeliveryError::InvalidNode(_) => "invalid_node",
            DeliveryError::InvalidQuantity => "invalid_quantity",
            DeliveryError::InvalidCourier(_) => "invalid_courier",
            DeliveryError::InvalidEvent(_) => "invalid_event",
            DeliveryError::NodeNotFound => "node_not_found",
            DeliveryError::ShipmentNotFound => "shipment_not_found",
            DeliveryError::AddressLocked(_) => "address_locked",
            DeliveryError::EmailTaken => "email_taken",
            DeliveryError::InvalidCredentials => "invalid_credentials",
            DeliveryError::LegClaimed => "leg_claimed",
            DeliveryError::InvalidTransition { .. } => "invalid_transition",
        }
    }

    fn extra(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        match self {
            DeliveryError::InvalidAddress { field, .. } => {
                let mut m = serde_json::Map::new();
                m.insert("field".into(), (*field).into());
                Some(m)
            }
            _ => None,
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            DeliveryError::Shared(e) => e.headers(),
            _ => Vec::new(),
        }
    }
}

shared::problem_response!(DeliveryError);

pub type Result<T, E = DeliveryError> = std::result::Result<T, E>;
