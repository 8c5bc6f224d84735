//! Who may read a store's money: its salesperson, or for a manufacturer's own store (the
//! seller of back-orders) that manufacturer, each by a broker-issued token.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use shared::auth::{Principal, Role};
use shared::ids::{ManufacturerId, SellerId};
use shared::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOwner {
    Seller(SellerId),
    Manufacturer(ManufacturerId),
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
