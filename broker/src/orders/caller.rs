//! Who calls an order's routes: its capability's bearer, a seller or a manufacturer, and
//! in which part of the order each one acts.

use super::domain::Party;
use super::store::{self, Order};
use super::workflow;
use crate::catalog::{Product, Store};
use crate::error::{BrokerError, Result};
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use shared::auth::{Capability, Principal, Role};
use shared::ids::{ManufacturerId, OrderId, SellerId};

/// Whoever may act on an order: its capability's bearer, a seller, or a manufacturer.
pub enum OrderCaller {
    Capability(Capability),
    Seller(SellerId),
    Manufacturer(ManufacturerId),
}

impl FromRequest for OrderCaller {
    type Error = BrokerError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            let Principal(claims) = principal.await?;
            let bad = || BrokerError::from(shared::Error::Unauthorized);
            match claims.role {
                Role::Capability => {
                    let id = OrderId::parse(&claims.sub).map_err(|_| bad())?;
                    Ok(OrderCaller::Capability(Capability { id, claims }))
                }
                Role::Seller => Ok(OrderCaller::Seller(SellerId::parse(&claims.sub).map_err(|_| bad())?)),
                Role::Manufacturer => {
                    Ok(OrderCaller::Manufacturer(ManufacturerId::parse(&claims.sub).map_err(|_| bad())?))
                }
                _ => Err(BrokerError::Forbidden("this route is for an order's buyer, store or manufacturer".into())),
            }
        })
    }
}

impl OrderCaller {
    /// A capability is checked before anything is read, so that one for another order
    /// learns nothing, not even whether this order exists.
    pub(crate) fn precheck(&self, order: &OrderId, scope: &str) -> Result<()> {
        match self {
            OrderCaller::Capability(c) => Ok(c.for_order(order, scope)?),
            _ => Ok(()),
        }
    }

    /// As [`precheck`](Self::precheck), for a buyer's route added after the first
    /// capabilities were issued: a capability with every scope those carried stands for
    /// its buyer here too, for its own order.
    pub(crate) fn precheck_buyer(&self, order: &OrderId, scope: &str) -> Result<()> {
        match self {
            OrderCaller::Capability(c) => Ok(c.for_buyer(order, scope)?),
            _ => Ok(()),
        }
    }

    /// The parts this caller plays in the order.
    fn parties(&self, order: &Order, store: &Store, product: &Product) -> Vec<Party> {
        let mut parties = Vec::new();
        match self {
            OrderCaller::Capability(c) if c.id == order.id => parties.push(Party::Buyer),
            OrderCaller::Capability(_) => {}
            OrderCaller::Seller(s) if store.seller_id.as_ref() == Some(s) => parties.push(Party::Seller),
            OrderCaller::Seller(_) => {}
            OrderCaller::Manufacturer(m) => {
                // A manufacturer's own store sells its back-orders: there it is the seller.
                if store.manufacturer_id.as_ref() == Some(m) {
                    parties.push(Party::Seller);
                }
                if order.needs_approval && product.manufacturer_id.as_ref() == Some(m) {
                    parties.push(Party::Manufacturer);
                }
            }
        }
        parties
    }
}

fn not_yours() -> BrokerError {
    BrokerError::Forbidden("this order is not yours".into())
}

/// Loads the order and decides in which part the caller acts, or refuses.
pub(crate) fn authorize(
    conn: &mut shared::db::AnyConnection,
    caller: &OrderCaller,
    id: &OrderId,
    wanted: &[Party],
) -> Result<(Order, Store, Product, Party)> {
    let order = store::get(conn, id)?.ok_or(BrokerError::NotFound("order"))?;
    let (s, p) = workflow::surroundings(conn, &order)?;
    let party = caller.parties(&order, &s, &p).into_iter().find(|p| wanted.contains(p)).ok_or_else(not_yours)?;
    Ok((order, s, p, party))
}
