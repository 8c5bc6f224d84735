//! Who is calling: JWTs signed with each service's Ed25519 key (verified against the
//! issuer's published JWK Set, so keys can rotate and services can live on other
//! machines), the operator's bearer token, and one extractor per role.

use crate::audit::{Acting, Actor};
use crate::config::ServiceName;
use crate::crypto::{constant_time_eq, sha256_hex, KeyRing};
use crate::db::DbError;
use crate::error::Error;
use crate::ids::{BuyerId, CourierId, ManufacturerId, OperatorId, OrderId, SellerId};
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Seller,
    Manufacturer,
    Courier,
    Buyer,
    /// An order capability: names one order and what it permits.
    Capability,
    /// Another service of the marketplace.
    Service,
    /// A person who runs the marketplace; what they may do is in the token's `scope`
    /// (their [`OperatorRole`]s).
    Operator,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Seller, Role::Manufacturer, Role::Courier, Role::Buyer, Role::Capability, Role::Service, Role::Operator];

    /// The one service whose key may sign this role: the broker holds the accounts of
    /// salespeople, manufacturers, buyers and operators and places the orders, delivery the
    /// couriers'.
    /// A service token is issued by the service it names (its `sub`). A role signed by any
    /// other key is refused, so one stolen key acts only as its own service's callers.
    pub fn issuer(self) -> Option<ServiceName> {
        match self {
            Role::Seller | Role::Manufacturer | Role::Buyer | Role::Capability | Role::Operator => {
                Some(ServiceName::Broker)
            }
            Role::Courier => Some(ServiceName::Delivery),
            Role::Service => None,
        }
    }

    /// Whether `claims` (whose `iss` is already the owner of the signing key) may carry this
    /// role.
    fn issued_rightly(self, claims: &Claims) -> bool {
        match self.issuer() {
            Some(issuer) => claims.iss == issuer.as_str(),
            None => claims.iss == claims.sub,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub role: Role,
    /// What a capability permits (`read`, `cancel`, `address`, `message`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// When the password sign-in behind this token happened (unix seconds). A token
    /// derived from another keeps the original's, so a change that needs a fresh sign-in
    /// (a payout account) can tell an old session from a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

impl Claims {
    pub fn new(iss: ServiceName, sub: impl Into<String>, role: Role, aud: &[ServiceName], ttl_secs: i64) -> Claims {
        let now = crate::time::unix_seconds();
        Claims {
            iss: iss.as_str().into(),
            sub: sub.into(),
            aud: aud.iter().map(|a| a.as_str().to_string()).collect(),
            exp: now + ttl_secs,
            iat: now,
            role,
            scope: Vec::new(),
            jti: None,
            auth_time: None,
        }
    }

    pub fn permits(&self, what: &str) -> bool {
        self.scope.iter().any(|s| s == what)
    }
}

/// Signs tokens with the service's newest key.
pub struct TokenSigner {
    pub service: ServiceName,
    kid: String,
    key: EncodingKey,
    /// Service tokens are reused while they have a minute left, so that the outbox does not
    /// sign (and the receiver verify a fresh signature of) one token per message.
    service_tokens: std::sync::Mutex<HashMap<ServiceName, (String, i64)>>,
}

/// Lifetime of a service-to-service token.
const SERVICE_TOKEN_TTL: i64 = 120;

/// The JWT header `typ` of a referral token. Every other token of the marketplace is a
/// plain `JWT`; [`TokenVerifier::verify`] refuses any other `typ`, and
/// [`TokenVerifier::verify_typed`] accepts only the `typ` it is asked for, so a referral
/// never passes as a capability or a role token, nor one of those as a referral.
pub const REFERRAL_TYP: &str = "referral+jwt";
/// The audience of referral tokens: no service's name, so no service takes one as a
/// caller's token.
pub const REFERRAL_AUDIENCE: &str = "broker:referral";
/// The JWT header `typ` of a shipment view token: the broker signs one for an order's own
/// seller, and delivery answers that order's shipment status to it, so delivery needs no
/// seller id (see [`crate::shipment_view`]).
pub const SHIPMENT_VIEW_TYP: &str = "shipment-view+jwt";
/// The audience of shipment view tokens: no service's name, so no service takes one as a
/// caller's token.
pub const SHIPMENT_VIEW_AUDIENCE: &str = "delivery:shipment-view";

/// The JWT header `typ` of a dispute-file token: the broker signs one when an arbiter
/// reads a dispute's file, and delivery answers how that order's shipment went to it (see
/// [`crate::shipment_view`]).
pub const DISPUTE_FILE_TYP: &str = "dispute-file+jwt";
/// The audience of dispute-file tokens: no service's name either.
pub const DISPUTE_FILE_AUDIENCE: &str = "delivery:dispute-file";

/// A kind of token of its own, as a verifier checks it: header `typ`, audience, and the
/// one service that issues it.
#[derive(Debug, Clone, Copy)]
pub struct TokenKind {
    pub typ: &'static str,
    pub audience: &'static str,
    pub issuer: ServiceName,
}

/// Referral tokens, which the broker issues and reads back.
pub const REFERRAL: TokenKind =
    TokenKind { typ: REFERRAL_TYP, audience: REFERRAL_AUDIENCE, issuer: ServiceName::Broker };
/// Shipment view tokens, which the broker issues and delivery reads.
pub const SHIPMENT_VIEW: TokenKind =
    TokenKind { typ: SHIPMENT_VIEW_TYP, audience: SHIPMENT_VIEW_AUDIENCE, issuer: ServiceName::Broker };
/// Dispute-file tokens, which the broker issues and delivery reads.
pub const DISPUTE_FILE: TokenKind =
    TokenKind { typ: DISPUTE_FILE_TYP, audience: DISPUTE_FILE_AUDIENCE, issuer: ServiceName::Broker };
/// The `typ` of every other token.
const PLAIN_TYP: &str = "JWT";

impl TokenSigner {
    pub fn new(service: ServiceName, ring: &KeyRing) -> TokenSigner {
        let key = ring.signing();
        TokenSigner {
            service,
            kid: key.kid.clone(),
            key: EncodingKey::from_ed_der(key.pkcs8()),
            service_tokens: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| Error::Internal(format!("signing: {e}")))
    }

    /// Signs a token of a kind of its own (see [`REFERRAL_TYP`]): header `typ` set to
    /// `typ`, claims as the kind defines them.
    pub fn sign_typed<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| Error::Internal(format!("signing: {e}")))
    }

    /// A short-lived token for a call to another service.
    pub fn service_token(&self, audience: ServiceName) -> Result<String, Error> {
        let now = crate::time::unix_seconds();
        let mut cache = self.service_tokens.lock().expect("token cache poisoned");
        if let Some((token, exp)) = cache.get(&audience) {
            if exp - now > 60 {
                return Ok(token.clone());
            }
        }
        let claims = Claims::new(self.service, self.service.as_str(), Role::Service, &[audience], SERVICE_TOKEN_TTL);
        let token = self.sign(&claims)?;
        cache.insert(audience, (token.clone(), claims.exp));
        Ok(token)
    }
}

/// Clock skew tolerated between the services, on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 30;

struct KnownKey {
    issuer: String,
    key: DecodingKey,
}

/// Verifies tokens from any service of the marketplace. Its own keys are local; the other
/// services' keys come from their `/.well-known/jwks.json`, cached, and fetched again when
/// a token names a key id we have not seen (a rotation), at most once per few seconds.
pub struct TokenVerifier {
    audience: ServiceName,
    keys: RwLock<HashMap<String, KnownKey>>,
    remotes: Vec<(ServiceName, String)>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    http: reqwest::Client,
    /// Tokens already verified (service tokens and capabilities are presented many times),
    /// with their claims, until they expire. Bounded: cleared when it grows too large.
    verified: std::sync::Mutex<HashMap<String, Claims>>,
}

const VERIFIED_CACHE_MAX: usize = 4096;

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    x: String,
    #[serde(default)]
    crv: String,
}

impl TokenVerifier {
    /// `remotes`: the other issuers and their base URLs.
    pub fn new(audience: ServiceName, own: &KeyRing, remotes: Vec<(ServiceName, String)>) -> TokenVerifier {
        let mut keys = HashMap::new();
        for k in &own.keys {
            keys.insert(
                k.kid.clone(),
                KnownKey { issuer: audience.as_str().into(), key: DecodingKey::from_ed_der(k.public_key()) },
            );
        }
        TokenVerifier {
            audience,
            keys: RwLock::new(keys),
            remotes,
            last_fetch: tokio::sync::Mutex::new(None),
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("http client"),
            verified: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, Error> {
        if let Some(claims) = self.verified.lock().expect("verified cache poisoned").get(token) {
            if claims.exp > crate::time::unix_seconds() {
                return Ok(claims.clone());
            }
        }
        let claims = self.verify_signature(token).await?;
        let mut verified = self.verified.lock().expect("verified cache poisoned");
        if verified.len() >= VERIFIED_CACHE_MAX {
            verified.clear();
        }
        verified.insert(token.to_string(), claims.clone());
        Ok(claims)
    }

    async fn verify_signature(&self, token: &str) -> Result<Claims, Error> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Unauthorized)?;
        if header.alg != Algorithm::EdDSA {
            return Err(Error::Unauthorized);
        }
        // A token of a kind of its own (a referral) is never a caller's token.
        if header.typ.as_deref().is_some_and(|t| t != PLAIN_TYP) {
            return Err(Error::Unauthorized);
        }
        let kid = header.kid.ok_or(Error::Unauthorized)?;
        if !self.has_key(&kid) {
            self.refresh().await;
        }
        let keys = self.keys.read().expect("key cache poisoned");
        let known = keys.get(&kid).ok_or(Error::Unauthorized)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[self.audience.as_str()]);
        validation.set_issuer(&[known.issuer.as_str()]);
        validation.leeway = LEEWAY_SECS;
        // A token is not valid before its `nbf`, nor before it was issued: a future `iat`
        // means a clock far ahead or a token minted for later use.
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &known.key, &validation).map(|d| d.claims).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Error::TokenExpired,
                _ => Error::Unauthorized,
            }
        })?;
        if claims.iat > crate::time::unix_seconds() + LEEWAY_SECS as i64 {
            return Err(Error::Unauthorized);
        }
        if !claims.role.issued_rightly(&claims) {
            return Err(Error::Unauthorized);
        }
        Ok(claims)
    }

    /// Verifies a token of a kind of its own: header `typ` exactly `typ`, audience exactly
    /// its `audience`, signed with a key of its `issuer` this verifier already holds (no fetch; see
    /// [`Self::verify_typed_fetching`] for a kind another service issues), unexpired with
    /// no leeway. `T` names the claims the kind requires, so a token of another shape does
    /// not decode.
    pub fn verify_typed<T: serde::de::DeserializeOwned>(&self, token: &str, kind: &TokenKind) -> Result<T, Error> {
        let TokenKind { typ, audience, issuer } = *kind;
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Unauthorized)?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(typ) {
            return Err(Error::Unauthorized);
        }
        let kid = header.kid.ok_or(Error::Unauthorized)?;
        let keys = self.keys.read().expect("key cache poisoned");
        let known = keys.get(&kid).filter(|k| k.issuer == issuer.as_str()).ok_or(Error::Unauthorized)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[issuer.as_str()]);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "jti"]);
        jsonwebtoken::decode::<T>(token, &known.key, &validation).map(|d| d.claims).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => Error::TokenExpired,
            _ => Error::Unauthorized,
        })
    }

    /// [`Self::verify_typed`] for a kind that another service issues: a key id not seen yet
    /// is fetched from the JWK Sets first, as [`Self::verify`] does (at most once per few
    /// seconds), but only for a token already of the kind's `typ` and only when `issuer` is
    /// a remote, so no other token makes this verifier fetch. The key must still be one
    /// that `issuer`'s own JWK Set lists.
    pub async fn verify_typed_fetching<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        kind: &TokenKind,
    ) -> Result<T, Error> {
        let (typ, issuer) = (kind.typ, kind.issuer);
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Unauthorized)?;
        let remote = self.remotes.iter().any(|(s, _)| *s == issuer);
        if remote && header.typ.as_deref() == Some(typ) && header.kid.as_deref().is_some_and(|k| !self.has_key(k)) {
            self.refresh().await;
        }
        self.verify_typed(token, kind)
    }

    fn has_key(&self, kid: &str) -> bool {
        self.keys.read().expect("key cache poisoned").contains_key(kid)
    }

    async fn refresh(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(2)) {
            return;
        }
        *last = Some(Instant::now());
        for (issuer, url) in &self.remotes {
            let fetched = async {
                self.http
                    .get(format!("{url}/.well-known/jwks.json"))
                    .send()
                    .await?
                    .error_for_status()?
                    .json::<Jwks>()
                    .await
            }
            .await;
            match fetched {
                Ok(jwks) => {
                    let mut keys = self.keys.write().expect("key cache poisoned");
                    for jwk in jwks.keys.into_iter().filter(|k| k.crv == "Ed25519") {
                        let Ok(x) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&jwk.x) else { continue };
                        // A key id names its key (a prefix of the key's hash), and one issuer's
                        // set never replaces a key another issuer published under that id.
                        if jwk.kid != crate::crypto::sha256_hex(&x)[..16] {
                            continue;
                        }
                        if keys.get(&jwk.kid).is_some_and(|k| k.issuer != issuer.as_str()) {
                            tracing::warn!(issuer = %issuer, kid = %jwk.kid, "a JWK Set names another issuer's key id");
                            continue;
                        }
                        keys.insert(
                            jwk.kid,
                            KnownKey { issuer: issuer.as_str().into(), key: DecodingKey::from_ed_der(&x) },
                        );
                    }
                }
                Err(e) => tracing::warn!(issuer = %issuer, error = %e, "cannot fetch JWK Set"),
            }
        }
    }
}

/// Everything a request needs to authenticate its caller; registered as app data.
pub struct AuthState {
    operator_token_hash: String,
    pub signer: TokenSigner,
    pub verifier: TokenVerifier,
}

impl AuthState {
    pub fn new(operator_token: &str, signer: TokenSigner, verifier: TokenVerifier) -> AuthState {
        AuthState { operator_token_hash: sha256_hex(operator_token.as_bytes()), signer, verifier }
    }

    /// Compares hashes in constant time, so neither the token nor its length leaks.
    pub fn is_operator(&self, bearer: &str) -> bool {
        constant_time_eq(sha256_hex(bearer.as_bytes()).as_bytes(), self.operator_token_hash.as_bytes())
    }
}

/// The operator token: `MARKETPLACE_OPERATOR_TOKEN`, else `<data dir>/operator-token`,
/// created on first start.
pub fn operator_token(config: &crate::config::Config) -> Result<String, crate::crypto::KeyError> {
    if let Some(t) = &config.operator_token {
        return Ok(t.clone());
    }
    let bytes = crate::crypto::read_or_create_secret(&config.data_dir.join("operator-token"), || {
        crate::crypto::random_token("op").into_bytes()
    })?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_string())
}

pub fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn state(req: &HttpRequest) -> Result<web::Data<AuthState>, Error> {
    req.app_data::<web::Data<AuthState>>().cloned().ok_or_else(|| Error::Internal("AuthState not registered".into()))
}

/// Any valid token of the marketplace; the routes decide what its role may do.
#[derive(Debug, Clone)]
pub struct Principal(pub Claims);

impl FromRequest for Principal {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_string);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(Error::Unauthorized)?;
            state.verifier.verify(&token).await.map(Principal)
        })
    }
}

impl Principal {
    pub fn require(&self, role: Role) -> Result<&Claims, Error> {
        if self.0.role == role {
            Ok(&self.0)
        } else {
            Err(Error::Forbidden("this route is not for your role".into()))
        }
    }
}

crate::text_enum! {
    /// What an operator account may do. Each operator route names the roles it takes (the
    /// README lists them); the bootstrap token takes every route.
    #[derive(PartialOrd, Ord, utoipa::ToSchema)]
    pub enum OperatorRole {
        /// Operator accounts, suspensions, messages between services, the audit log.
        Admin,
        /// Disputes: the file and the decision.
        Arbiter,
        /// Reads what a buyer or a seller asks about.
        Support,
        /// Refunds, remittances, payouts, the ledger.
        Finance,
    }
}

/// The roles a route takes: a type per set, so a handler's signature names them
/// (`Operator<Finance>`).
pub trait Duty {
    const ROLES: &'static [OperatorRole];
}

macro_rules! duty {
    ($(#[$meta:meta])* $name:ident: $($role:ident),+) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Duty for $name {
            const ROLES: &'static [OperatorRole] = &[$(OperatorRole::$role),+];
        }
    };
}

duty!(
    /// Accounts, suspensions, the outbox, the audit log, the market's set-up.
    Admin: Admin);
duty!(
    /// Money leaving or coming back: refunds, remittances, the ledger.
    Finance: Finance);
duty!(
    /// Disputes.
    Arbiter: Arbiter);
duty!(
    /// Reading what support needs (stock, orders), as admins may too.
    Support: Support, Admin);

/// An operator allowed on a route that takes `D`: a signed-in operator account with one of
/// `D`'s roles (a broker-issued token, not disabled), or the bootstrap token. No
/// credentials, or a token that does not verify (another service's key, expired, forged),
/// are 401; a valid token of another kind, a disabled account or a missing role is 403.
/// An operator's request, allowed or refused (a disabled account, a missing role), is
/// marked for the audit log ([`crate::audit::trail`]).
#[derive(Debug, Clone)]
pub struct Operator<D: Duty> {
    pub actor: Actor,
    duty: std::marker::PhantomData<D>,
}

/// Who an operator token names and what it may do.
fn operator_of(claims: &Claims) -> Result<(OperatorId, Vec<OperatorRole>), Error> {
    let id = OperatorId::parse(&claims.sub).map_err(|_| Error::Unauthorized)?;
    let roles = claims.scope.iter().filter_map(|r| r.parse().ok()).collect();
    Ok((id, roles))
}

impl<D: Duty + 'static> FromRequest for Operator<D> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_string);
        let state = state(req);
        let db = req.app_data::<web::Data<crate::db::Db>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(Error::Unauthorized)?;
            let allowed = |actor: Actor| {
                req.extensions_mut().insert(Acting(actor.clone()));
                Ok(Operator { actor, duty: std::marker::PhantomData })
            };
            if state.is_operator(&token) {
                return allowed(Actor::Bootstrap);
            }
            let claims = state.verifier.verify(&token).await?;
            if claims.role != Role::Operator {
                return Err(Error::Forbidden("this route is for operators".into()));
            }
            let (id, roles) = operator_of(&claims)?;
            if let Some(db) = db {
                let who = id.clone();
                let disabled = db.read(move |c| crate::audit::is_disabled(c, &who).map_err(DbError::from)).await?;
                if disabled {
                    req.extensions_mut().insert(Acting(Actor::Operator(id)));
                    return Err(Error::Forbidden("this operator account is disabled".into()));
                }
            }
            if !roles.iter().any(|r| D::ROLES.contains(r)) {
                req.extensions_mut().insert(Acting(Actor::Operator(id)));
                let names: Vec<&str> = D::ROLES.iter().map(|r| r.as_ref()).collect();
                return Err(Error::Forbidden(format!("this route takes the role {}", names.join(" or "))));
            }
            allowed(Actor::Operator(id))
        })
    }
}

/// The bootstrap token or an operator allowed on a route that takes `D`, on a route that
/// other callers share (an optional operator): `None` when the bearer is not an operator's.
pub async fn operator_among<D: Duty + 'static>(req: &HttpRequest) -> Option<Result<Operator<D>, Error>> {
    let token = bearer(req)?;
    let state = state(req).ok()?;
    if !state.is_operator(token) {
        let claims = state.verifier.verify(token).await.ok()?;
        if claims.role != Role::Operator {
            return None;
        }
    }
    Some(Operator::<D>::from_request(req, &mut Payload::None).await)
}

macro_rules! role_extractor {
    ($(#[$meta:meta])* $name:ident, $role:expr, $id:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            pub id: $id,
            pub claims: Claims,
        }

        impl FromRequest for $name {
            type Error = Error;
            type Future = LocalBoxFuture<'static, Result<Self, Error>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let principal = Principal::from_request(req, payload);
                Box::pin(async move {
                    let principal = principal.await?;
                    let claims = principal.require($role)?.clone();
                    let id = <$id>::parse(&claims.sub).map_err(|_| Error::Unauthorized)?;
                    Ok($name { id, claims })
                })
            }
        }
    };
}

role_extractor!(
    /// A salesperson, by a broker-issued access token.
    Seller, Role::Seller, SellerId);
role_extractor!(
    /// A manufacturer, by a broker-issued access token.
    Manufacturer, Role::Manufacturer, ManufacturerId);
role_extractor!(
    /// A courier, by a delivery-issued access token.
    Courier, Role::Courier, CourierId);
role_extractor!(
    /// A pseudonymous buyer account, by a broker-issued access token.
    Buyer, Role::Buyer, BuyerId);
role_extractor!(
    /// The bearer of an order capability: whoever placed the order, nobody else.
    Capability, Role::Capability, OrderId);

/// What every order's capability permitted before acceptance, disputes and returns. Such
/// a capability still stands for its buyer on what was added since ([`Capability::for_buyer`]).
pub const EARLIER_BUYER_SCOPES: [&str; 4] = ["read", "cancel", "address", "message"];

impl Capability {
    /// As [`for_order`](Self::for_order), for what only the order's buyer may do or see
    /// (accepting, disputing, returning, the delivery PIN): a capability with every scope
    /// the first capabilities carried stands for its buyer too; a narrower token (a
    /// read-only view) does not.
    pub fn for_buyer(&self, order: &OrderId, what: &str) -> Result<(), Error> {
        if !self.claims.permits(what) && EARLIER_BUYER_SCOPES.iter().all(|s| self.claims.permits(s)) {
            return self.for_order(order, "read");
        }
        self.for_order(order, what)
    }

    pub fn for_order(&self, order: &OrderId, what: &str) -> Result<(), Error> {
        if &self.id != order {
            return Err(Error::Forbidden("the capability is for another order".into()));
        }
        if !self.claims.permits(what) {
            return Err(Error::Forbidden(format!("the capability does not permit `{what}`")));
        }
        Ok(())
    }
}

/// Another service of the marketplace, by its short-lived service token.
#[derive(Debug, Clone)]
pub struct ServiceCaller {
    pub service: ServiceName,
    /// The service called (the token's audience): never the caller itself.
    pub receiver: ServiceName,
}

impl FromRequest for ServiceCaller {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        let receiver = state(req).map(|s| s.verifier.audience);
        Box::pin(async move {
            let receiver = receiver?;
            let principal = principal.await?;
            let claims = principal.require(Role::Service)?;
            let service = ServiceName::parse(&claims.sub)
                .filter(|s| s.as_str() == claims.iss && *s != receiver)
                .ok_or(Error::Unauthorized)?;
            Ok(ServiceCaller { service, receiver })
        })
    }
}

/// Shares a verifier between services in one process, keyed by audience.
pub type SharedAuth = Arc<AuthState>;

#[cfg(test)]
mod tests {
    use super::*;

    fn key_ring() -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), "broker").unwrap();
        (dir, ring)
    }

    #[tokio::test]
    async fn signed_tokens_verify_for_their_audience_only() {
        let (_d, ring) = key_ring();
        let signer = TokenSigner::new(ServiceName::Broker, &ring);
        let mut claims = Claims::new(
            ServiceName::Broker,
            OrderId::generate().as_str(),
            Role::Capability,
            &[ServiceName::Broker],
            60,
        );
        claims.scope = vec!["read".into()];
        let token = signer.sign(&claims).unwrap();

        let verifier = TokenVerifier::new(ServiceName::Broker, &ring, vec![]);
        let back = verifier.verify(&token).await.unwrap();
        assert_eq!(back.sub, claims.sub);
        assert!(back.permits("read") && !back.permits("cancel"));

        // Not for settlement, forged, tampered or expired: refused.
        let other = TokenVerifier::new(ServiceName::Settlement, &ring, vec![]);
        assert!(other.verify(&token).await.is_err());
        let (_d2, stranger) = key_ring();
        let forged = TokenSigner::new(ServiceName::Broker, &stranger).sign(&claims).unwrap();
        assert!(verifier.verify(&forged).await.is_err());
        let mut tampered = token.clone();
        tampered.insert(tampered.rfind('.').unwrap() + 3, 'A');
        assert!(verifier.verify(&tampered).await.is_err());
        claims.exp = crate::time::unix_seconds() - 120;
        let expired = signer.sign(&claims).unwrap();
        assert!(matches!(verifier.verify(&expired).await, Err(Error::TokenExpired)));
    }

    #[tokio::test]
    async fn the_sign_in_time_travels_in_the_token_and_is_absent_when_unset() {
        let (_d, ring) = key_ring();
        let signer = TokenSigner::new(ServiceName::Broker, &ring);
        let verifier = TokenVerifier::new(ServiceName::Broker, &ring, vec![]);
        let mut claims = Claims::new(ServiceName::Broker, "sel_x", Role::Seller, &[ServiceName::Broker], 60);
        let plain = serde_json::to_value(&claims).unwrap();
        assert!(plain.get("auth_time").is_none(), "{plain}");
        assert_eq!(verifier.verify(&signer.sign(&claims).unwrap()).await.unwrap().auth_time, None);
        claims.auth_time = Some(claims.iat - 5);
        let back = verifier.verify(&signer.sign(&claims).unwrap()).await.unwrap();
        assert_eq!(back.auth_time, Some(claims.iat - 5));
    }

    #[tokio::test]
    async fn tokens_issued_in_the_future_or_not_yet_valid_are_refused() {
        let (_d, ring) = key_ring();
        let signer = TokenSigner::new(ServiceName::Broker, &ring);
        let verifier = TokenVerifier::new(ServiceName::Broker, &ring, vec![]);
        let now = crate::time::unix_seconds();
        let mut claims = Claims::new(ServiceName::Broker, "broker", Role::Service, &[ServiceName::Broker], 7_200);
        claims.iat = now + 3_600;
        assert!(matches!(verifier.verify(&signer.sign(&claims).unwrap()).await, Err(Error::Unauthorized)));
        claims.iat = now + 10;
        assert!(verifier.verify(&signer.sign(&claims).unwrap()).await.is_ok(), "within the leeway");

        // `nbf` is not a field of ours, but a token may carry it: it is honoured.
        let sign_with_nbf = |nbf: i64| {
            let mut value = serde_json::to_value(Claims::new(
                ServiceName::Broker,
                "broker",
                Role::Service,
                &[ServiceName::Broker],
                7_200,
            ))
            .unwrap();
            value["nbf"] = serde_json::json!(nbf);
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some(ring.signing().kid.clone());
            jsonwebtoken::encode(&header, &value, &EncodingKey::from_ed_der(ring.signing().pkcs8())).unwrap()
        };
        assert!(matches!(verifier.verify(&sign_with_nbf(now + 3_600)).await, Err(Error::Unauthorized)));
        assert!(verifier.verify(&sign_with_nbf(now - 10)).await.is_ok());
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Typed {
        iss: String,
        aud: String,
        exp: i64,
        jti: String,
        what: String,
    }

    #[tokio::test]
    async fn typed_tokens_and_ordinary_tokens_never_pass_for_each_other() {
        let (_d, ring) = key_ring();
        let signer = TokenSigner::new(ServiceName::Broker, &ring);
        let verifier = TokenVerifier::new(ServiceName::Broker, &ring, vec![]);
        let exp = crate::time::unix_seconds() + 600;
        let typed =
            Typed { iss: "broker".into(), aud: REFERRAL_AUDIENCE.into(), exp, jti: "j1".into(), what: "x".into() };
        let token = signer.sign_typed(REFERRAL_TYP, &typed).unwrap();
        let back: Typed = verifier.verify_typed(&token, &REFERRAL).unwrap();
        assert_eq!(back, typed);

        // A referral is no caller's token, even with a service's audience.
        assert!(matches!(verifier.verify(&token).await, Err(Error::Unauthorized)));
        let as_broker = Typed { aud: "broker".into(), ..typed };
        let t = signer.sign_typed(REFERRAL_TYP, &as_broker).unwrap();
        assert!(matches!(verifier.verify(&t).await, Err(Error::Unauthorized)));

        // A capability (or any plain token) is no referral, whatever it names.
        let mut claims = Claims::new(ServiceName::Broker, "ord_x", Role::Capability, &[ServiceName::Broker], 600);
        claims.jti = Some("j2".into());
        let cap = signer.sign(&claims).unwrap();
        let verify = |t: &str| verifier.verify_typed::<Typed>(t, &REFERRAL);
        assert!(verify(&cap).is_err());
        // Nor a plain token naming the referral audience, nor one of another `typ`.
        let plain = Typed { aud: REFERRAL_AUDIENCE.into(), ..as_broker };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(ring.signing().kid.clone());
        let t = jsonwebtoken::encode(&header, &plain, &EncodingKey::from_ed_der(ring.signing().pkcs8())).unwrap();
        assert!(verify(&t).is_err());
        assert!(verify(&signer.sign_typed("other+jwt", &plain).unwrap()).is_err());
        // Another issuer's key, a stranger's key, another audience, or expired: refused.
        assert!(verifier
            .verify_typed::<Typed>(
                &signer.sign_typed(REFERRAL_TYP, &plain).unwrap(),
                &TokenKind { audience: "elsewhere", ..REFERRAL }
            )
            .is_err());
        assert!(verifier
            .verify_typed::<Typed>(
                &signer.sign_typed(REFERRAL_TYP, &plain).unwrap(),
                &TokenKind { issuer: ServiceName::Delivery, ..REFERRAL }
            )
            .is_err());
        let (_d2, stranger) = key_ring();
        let forged = TokenSigner::new(ServiceName::Broker, &stranger).sign_typed(REFERRAL_TYP, &plain).unwrap();
        assert!(verify(&forged).is_err());
        let old = Typed { exp: crate::time::unix_seconds() - 1, ..plain };
        assert!(matches!(verify(&signer.sign_typed(REFERRAL_TYP, &old).unwrap()), Err(Error::TokenExpired)));
    }

    #[tokio::test]
    async fn each_role_verifies_only_when_signed_by_its_issuer() {
        let dirs: Vec<_> = ServiceName::ALL.iter().map(|_| tempfile::tempdir().unwrap()).collect();
        let rings: Vec<_> = ServiceName::ALL
            .iter()
            .zip(&dirs)
            .map(|(s, d)| (*s, KeyRing::load_or_create(d.path(), s.as_str()).unwrap()))
            .collect();
        for (audience, own) in &rings {
            // A verifier that knows every service's key, as one that has fetched them all.
            let verifier = TokenVerifier::new(*audience, own, vec![]);
            for (issuer, ring) in rings.iter().filter(|(s, _)| s != audience) {
                verifier.keys.write().unwrap().insert(
                    ring.signing().kid.clone(),
                    KnownKey {
                        issuer: issuer.as_str().into(),
                        key: DecodingKey::from_ed_der(ring.signing().public_key()),
                    },
                );
            }
            for (signer_service, ring) in &rings {
                let signer = TokenSigner::new(*signer_service, ring);
                for role in Role::ALL {
                    let sub = match role {
                        Role::Service => signer_service.as_str().to_string(),
                        _ => "whoever".into(),
                    };
                    let claims = Claims::new(*signer_service, sub, role, &ServiceName::ALL, 60);
                    let verified = verifier.verify(&signer.sign(&claims).unwrap()).await;
                    let rightful = role.issuer().is_none_or(|i| i == *signer_service);
                    assert_eq!(verified.is_ok(), rightful, "{role:?} signed by {signer_service} at {audience}");
                }
                // A service token naming another service is nobody's.
                let other = ServiceName::ALL.into_iter().find(|s| s != signer_service).unwrap();
                let claims = Claims::new(*signer_service, other.as_str(), Role::Service, &ServiceName::ALL, 60);
                assert!(verifier.verify(&signer.sign(&claims).unwrap()).await.is_err());
            }
        }
    }

    #[test]
    fn operator_token_compares_exactly() {
        let (_d, ring) = key_ring();
        let state = AuthState::new(
            "op_secret",
            TokenSigner::new(ServiceName::Broker, &ring),
            TokenVerifier::new(ServiceName::Broker, &ring, vec![]),
        );
        assert!(state.is_operator("op_secret"));
        assert!(!state.is_operator("op_secreT"));
        assert!(!state.is_operator(""));
    }
}
