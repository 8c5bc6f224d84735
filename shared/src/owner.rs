//! Who owns a store: its salesperson, or, for a manufacturer's own store (the seller of
//! back-orders), that manufacturer. Both services take it from a broker-issued token.

use crate::auth::{Principal, Role};
use crate::ids::{ManufacturerId, SellerId};
use crate::Error;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOwner {
    Seller(SellerId),
    Manufacturer(ManufacturerId),
}

impl StoreOwner {
    /// Whether a store with these owner columns is this owner's.
    pub fn owns(&self, seller: Option<&SellerId>, manufacturer: Option<&ManufacturerId>) -> bool {
        match self {
            StoreOwner::Seller(id) => seller == Some(id),
            StoreOwner::Manufacturer(id) => manufacturer == Some(id),
        }
    }
}

impl FromRequest for StoreOwner {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            let claims = principal.await?.0;
            match claims.role {
                Role::Seller => SellerId::parse(&claims.sub).map(StoreOwner::Seller).map_err(|_| Error::Unauthorized),
                Role::Manufacturer => {
                    ManufacturerId::parse(&claims.sub).map(StoreOwner::Manufacturer).map_err(|_| Error::Unauthorized)
                }
                _ => Err(Error::Forbidden("this route is for a store's owner".into())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_owns_only_stores_naming_it() {
        let (me, other) = (SellerId::generate(), SellerId::generate());
        let maker = ManufacturerId::generate();
        assert!(StoreOwner::Seller(me.clone()).owns(Some(&me), None));
        assert!(!StoreOwner::Seller(me.clone()).owns(Some(&other), None));
        assert!(!StoreOwner::Seller(me).owns(None, Some(&maker)));
        assert!(StoreOwner::Manufacturer(maker.clone()).owns(None, Some(&maker)));
    }
}
