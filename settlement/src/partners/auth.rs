//! `Authorization: Bearer <api key>` for partner routes. Keys are random 256-bit tokens,
//! so a SHA-256 of the key is a safe lookup index (no password hashing needed); the
//! database never holds the key itself.

use crate::error::SettlementError;
use crate::State;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use shared::ids::PartnerId;

#[derive(Debug, Clone)]
pub struct PartnerCaller {
    pub id: PartnerId,
}

pub const KEY_PREFIX: &str = "sk_live";

impl FromRequest for PartnerCaller {
    type Error = SettlementError;
    type Future = LocalBoxFuture<'static, Result<Self, SettlementError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = shared::auth::bearer(req).map(str::to_string);
        let state = req.app_data::<web::Data<State>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| shared::Error::Internal("state not registered".into()))?;
            let key = key.ok_or(shared::Error::Unauthorized)?;
            if !key.starts_with(KEY_PREFIX) {
                return Err(shared::Error::Unauthorized.into());
            }
            let hash = shared::crypto::sha256_hex(key.as_bytes());
            let found = state.core.db.read(move |c| super::store::find_by_key_hash(c, &hash)).await?;
            found.map(|id| PartnerCaller { id }).ok_or_else(|| shared::Error::Unauthorized.into())
        })
    }
}

/// A partner or an operator with `finance` (or the bootstrap token): who may create refunds.
#[derive(Debug, Clone)]
pub enum RefundCaller {
    Partner(PartnerId),
    Operator,
}

impl FromRequest for RefundCaller {
    type Error = SettlementError;
    type Future = LocalBoxFuture<'static, Result<Self, SettlementError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let partner = PartnerCaller::from_request(&req, payload);
        Box::pin(async move {
            if let Some(operator) = shared::auth::operator_among::<shared::auth::Finance>(&req).await {
                return Ok(operator.map(|_| RefundCaller::Operator)?);
            }
            partner.await.map(|p| RefundCaller::Partner(p.id))
        })
    }
}
