//! One way to call the marketplace's JSON APIs, and the request and answer types of their
//! routes: the services serialize these very types, so a renamed field changes both sides
//! at once. The storefront and the seller's and manufacturer's desks (at the broker) and
//! the courier page (at delivery) call their own service's API through it, so that every
//! rule and record stays in the API.

pub mod admin;
pub mod broker;
pub mod delivery;
mod http;
pub mod reports;
pub mod settlement;

pub use http::{enc, Api, Reply, Unreachable};

/// Why a typed call has no answer of its type.
#[derive(Debug)]
pub enum Failure {
    /// The API refused (a problem+json answer): its status, code and detail.
    Refused(Reply),
    /// The API could not be reached, or answered with something that is not its type.
    Unreachable(Unreachable),
}

impl From<Unreachable> for Failure {
    fn from(e: Unreachable) -> Failure {
        Failure::Unreachable(e)
    }
}

/// A typed answer: the route's type, or why there is none.
pub type Answer<T> = Result<T, Failure>;

impl Reply {
    /// The body as `T` when the call succeeded; the refusal otherwise.
    pub fn into_answer<T: serde::de::DeserializeOwned>(self) -> Answer<T> {
        if !self.ok() {
            return Err(Failure::Refused(self));
        }
        serde_json::from_value(self.body)
            .map_err(|e| Failure::Unreachable(Unreachable::new(format!("unexpected answer: {e}"))))
    }

    /// Nothing, when the call succeeded (a 204, or an answer nobody reads); the refusal
    /// otherwise.
    pub fn into_done(self) -> Answer<()> {
        if self.ok() {
            Ok(())
        } else {
            Err(Failure::Refused(self))
        }
    }

    /// What a problem adds to its code and detail (its extension members), as `T`; `T`'s
    /// default when it adds none of them or none that read as `T`.
    pub fn extensions<T: serde::de::DeserializeOwned + Default>(&self) -> T {
        T::deserialize(&self.body).unwrap_or_default()
    }
}
