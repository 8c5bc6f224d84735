//! Referral tokens. A selection's alternatives (and the 409 of an order the store cannot
//! take) carry one signed token per alternative, naming the referring store, the product
//! and the store the buyer is sent to. An order at that store earns the referring store
//! its fee only with such a token, once per token: the token's id is claimed in the
//! order's transaction in a table with a unique key, so copies of the broker sharing one
//! database agree. Anything else (a forged, reused, expired or mismatched token, or a bare
//! `referral_store_id`) earns nothing and never stops the order.

pub mod domain;
pub mod settings;
pub mod store;

use crate::catalog::Alternative;
use crate::State;
use domain::{Referral, ReferralClaims};
use shared::auth::REFERRAL_TYP;
use shared::db::AnyConnection;
use shared::ids::{ProductId, StoreId};

/// Longest referral token read; a token the broker signs is far shorter.
const MAX_TOKEN_LEN: usize = 2_048;

/// Signs a referral from `from` to `to` for `product`.
pub fn issue(state: &State, from: &StoreId, product: &ProductId, to: &StoreId) -> Result<String, shared::Error> {
    let s = settings::of(state);
    let claims = ReferralClaims::new(from, product, to, shared::time::unix_seconds(), &s);
    state.core.auth.signer.sign_typed(REFERRAL_TYP, &claims)
}

/// Gives every alternative its referral token.
pub fn sign_alternatives(
    state: &State,
    from: &StoreId,
    product: &ProductId,
    alternatives: &mut [Alternative],
) -> Result<(), shared::Error> {
    for a in alternatives {
        a.referral = Some(issue(state, from, product, &a.store_id)?);
    }
    Ok(())
}

/// The same for alternatives already in an answer's JSON (the 409 of `POST /v1/orders`).
pub fn sign_alternatives_json(
    state: &State,
    from: &StoreId,
    product: &ProductId,
    alternatives: &mut serde_json::Value,
) -> Result<(), shared::Error> {
    for a in alternatives.as_array_mut().into_iter().flatten() {
        let Some(to) = a["store_id"].as_str().and_then(|s| StoreId::parse(s).ok()) else { continue };
        a["referral"] = serde_json::Value::String(issue(state, from, product, &to)?);
    }
    Ok(())
}

/// The referral a token names, if the broker signed it, it is unexpired and it is a
/// referral; `None` for anything else (an order never fails for its referral).
pub fn read(state: &State, token: &str) -> Option<Referral> {
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let verifier = &state.core.auth.verifier;
    let claims: ReferralClaims = verifier.verify_typed(token, &shared::auth::REFERRAL).ok()?;
    claims.referral()
}

/// The store that earns the referral fee on an order of `product` at `store`: the
/// referral's referring store if the referral is for this order and its token id was not
/// used before (it is claimed here, in the order's transaction).
pub fn earn(
    conn: &mut AnyConnection,
    referral: Option<&Referral>,
    store: &StoreId,
    product: &ProductId,
) -> diesel::QueryResult<Option<StoreId>> {
    let Some(r) = referral else { return Ok(None) };
    let Some(from) = r.earner(store, product, shared::time::unix_seconds()) else { return Ok(None) };
    let Some(expires_at) = chrono::DateTime::from_timestamp(r.exp, 0).map(|t| t.naive_utc()) else { return Ok(None) };
    Ok(store::claim(conn, &r.jti, expires_at)?.then(|| from.clone()))
}

/// Forgets used token ids whose tokens expired (with a margin for clocks of copies of
/// the broker that run a little behind); returns how many.
pub fn purge(conn: &mut AnyConnection) -> diesel::QueryResult<usize> {
    store::purge(conn, shared::time::now() - chrono::Duration::minutes(5))
}
