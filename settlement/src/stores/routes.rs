//! `GET /v1/seller/balance?store_id=` (the store's seller or, for its own store, the
//! manufacturer; broker-issued token). The statement is in `statement`.

use crate::error::{Result, SettlementError};
use crate::ledger::{store as ledger, Account};
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared::ids::StoreId;
use shared::owner::StoreOwner;
use utoipa::IntoParams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/balance", web::get().to(balance))
        .route("/v1/seller/statement", web::get().to(super::statement::statement));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct BalanceQuery {
    /// Required when the seller has several stores.
    pub store_id: Option<String>,
}

pub use client::settlement::Balance;

/// The seller's balances for one of its stores.
#[utoipa::path(get, path = "/v1/seller/balance", params(BalanceQuery),
    responses((status = 200, body = Balance), (status = 400, description = "store_id_required"),
        (status = 403, description = "another seller's store")),
    security(("seller" = [])))]
pub async fn balance(state: web::Data<State>, owner: StoreOwner, q: web::Query<BalanceQuery>) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let currency = state.settings.currency()?;
    let balance = state
        .core
        .db
        .read(move |c| {
            let store = resolve_store(c, &owner, given)?;
            let available = ledger::owed(c, &Account::Store(store.clone()), currency)?;
            let escrow = crate::orders::store::escrow_of_store(c, &store, currency)?;
            Ok::<_, SettlementError>(Balance { store_id: store, available, escrow })
        })
        .await?;
    Ok(HttpResponse::Ok().json(balance))
}

/// The store an owner's request is about: the one named (it must be theirs), or their
/// only store.
pub fn resolve_store(c: &mut shared::db::AnyConnection, owner: &StoreOwner, given: Option<StoreId>) -> Result<StoreId> {
    match given {
        Some(store) => match super::store::owner_of(c, &store)? {
            None => Err(shared::Error::NotFound("store".into()).into()),
            Some(o) if o == *owner => Ok(store),
            Some(_) => Err(shared::Error::Forbidden("not your store".into()).into()),
        },
        None => {
            let mut mine = super::store::stores_of(c, owner)?;
            match mine.len() {
                0 => Err(shared::Error::NotFound("store".into()).into()),
                1 => Ok(mine.remove(0)),
                _ => Err(SettlementError::StoreRequired),
            }
        }
    }
}
