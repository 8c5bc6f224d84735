//! The delivery service's failures, each with a stable `code` from its catalogue.

use actix_web::http::StatusCode;
use shared::error::{ApiError, Catalogue};

/// Every code delivery answers besides the shared ones (`shared::error::Code`), each with
/// its one status. The courier page answers HTML and the inbox only shared codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Code {
    InvalidAddress,
    InvalidNode,
    InvalidQuantity,
    InvalidCourier,
    InvalidEvent,
    NodeNotFound,
    ShipmentNotFound,
    AddressLocked,
    EmailTaken,
    InvalidCredentials,
    LegClaimed,
    InvalidTransition,
    /// The delivery PIN the courier gave is not the shipment's.
    WrongPin,
    /// Five wrong PINs: the leg takes no `delivered` until an operator unlocks it.
    LegLocked,
}

impl Catalogue for Code {
    fn status(self) -> StatusCode {
        use Code::*;
        match self {
            InvalidAddress | InvalidNode | InvalidQuantity | InvalidCourier | InvalidEvent => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            NodeNotFound | ShipmentNotFound => StatusCode::NOT_FOUND,
            AddressLocked | EmailTaken | InvalidTransition => StatusCode::CONFLICT,
            InvalidCredentials => StatusCode::UNAUTHORIZED,
            LegClaimed => StatusCode::FORBIDDEN,
            WrongPin => StatusCode::UNPROCESSABLE_ENTITY,
            LegLocked => StatusCode::LOCKED,
        }
    }
}

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
    #[error("that is not the delivery PIN of this shipment; {left} tries left before the leg locks")]
    WrongPin { left: i32 },
    #[error("the leg is locked after too many wrong delivery PINs; an operator must unlock it")]
    LegLocked,
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

impl DeliveryError {
    /// The variant's code in the catalogue, or the shared failure that carries its own.
    fn catalogued(&self) -> Result<Code, &shared::Error> {
        Ok(match self {
            DeliveryError::Shared(e) => return Err(e),
            DeliveryError::InvalidAddress { .. } => Code::InvalidAddress,
            DeliveryError::InvalidNode(_) => Code::InvalidNode,
            DeliveryError::InvalidQuantity => Code::InvalidQuantity,
            DeliveryError::InvalidCourier(_) => Code::InvalidCourier,
            DeliveryError::InvalidEvent(_) => Code::InvalidEvent,
            DeliveryError::NodeNotFound => Code::NodeNotFound,
            DeliveryError::ShipmentNotFound => Code::ShipmentNotFound,
            DeliveryError::AddressLocked(_) => Code::AddressLocked,
            DeliveryError::EmailTaken => Code::EmailTaken,
            DeliveryError::InvalidCredentials => Code::InvalidCredentials,
            DeliveryError::LegClaimed => Code::LegClaimed,
            DeliveryError::InvalidTransition { .. } => Code::InvalidTransition,
            DeliveryError::WrongPin { .. } => Code::WrongPin,
            DeliveryError::LegLocked => Code::LegLocked,
        })
    }
}

impl ApiError for DeliveryError {
    fn status(&self) -> StatusCode {
        match self.catalogued() {
            Ok(code) => code.status(),
            Err(e) => e.status(),
        }
    }

    fn code(&self) -> &'static str {
        match self.catalogued() {
            Ok(code) => code.into(),
            Err(e) => e.code(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_answers_its_catalogue_code_and_status() {
        let cases = [
            (DeliveryError::InvalidAddress { field: "city", reason: "is required" }, Code::InvalidAddress),
            (DeliveryError::InvalidNode("x".into()), Code::InvalidNode),
            (DeliveryError::InvalidQuantity, Code::InvalidQuantity),
            (DeliveryError::InvalidCourier("x".into()), Code::InvalidCourier),
            (DeliveryError::InvalidEvent("x".into()), Code::InvalidEvent),
            (DeliveryError::NodeNotFound, Code::NodeNotFound),
            (DeliveryError::ShipmentNotFound, Code::ShipmentNotFound),
            (DeliveryError::AddressLocked("x"), Code::AddressLocked),
            (DeliveryError::EmailTaken, Code::EmailTaken),
            (DeliveryError::InvalidCredentials, Code::InvalidCredentials),
            (DeliveryError::LegClaimed, Code::LegClaimed),
            (DeliveryError::InvalidTransition { event: "delivered", state: "open".into() }, Code::InvalidTransition),
            (DeliveryError::WrongPin { left: 4 }, Code::WrongPin),
            (DeliveryError::LegLocked, Code::LegLocked),
        ];
        assert_eq!(cases.len(), <Code as strum::IntoEnumIterator>::iter().count(), "a case per code");
        for (error, code) in cases {
            assert_eq!((error.code(), error.status()), (code.into(), code.status()), "{error}");
        }
        let shared = DeliveryError::Shared(shared::Error::Unauthorized);
        assert_eq!((shared.code(), shared.status()), ("unauthorized", StatusCode::UNAUTHORIZED));
    }
}
