//! Shipment view tokens: how a seller reads its order's shipment status at delivery, which
//! knows sources, not sellers. The broker, which knows whose order it is, signs one for
//! the order's own seller; it names only the order and lives a few minutes. Delivery
//! answers the status of exactly that order to its bearer and keeps no seller id.
//!
//! An arbiter reads how a disputed order's shipment went the same way: reading the file,
//! the broker signs a dispute-file token for that order naming the operator, and delivery
//! answers that order's facts to it and writes the read in its audit log under the
//! operator's name. The operator's own token never leaves the broker, so a copy of a file
//! token opens one order's facts for a few minutes, and nothing else anywhere.
//!
//! Each is a kind of its own (header `typ` [`SHIPMENT_VIEW_TYP`] or [`DISPUTE_FILE_TYP`],
//! and an audience no service is named), so neither passes as the other, as a caller's
//! token, a capability or a referral, and none of those passes as either.

use crate::audit::{Acting, Actor};
use crate::auth::{
    AuthState, TokenKind, TokenSigner, TokenVerifier, DISPUTE_FILE, DISPUTE_FILE_TYP, SHIPMENT_VIEW,
    SHIPMENT_VIEW_AUDIENCE, SHIPMENT_VIEW_TYP,
};
use crate::config::ServiceName;
use crate::error::Error;
use crate::ids::OperatorId;
use crate::ids::OrderId;
use actix_web::HttpMessage;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

/// How long a view token is valid: long enough for a page to load, short enough that a
/// token copied elsewhere is soon worthless.
pub const TTL_SECS: i64 = 300;

/// Longest token read; the broker's are far shorter.
const MAX_TOKEN_LEN: usize = 2_048;

/// The claims of a shipment view or dispute-file token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentViewClaims {
    pub iss: String,
    pub aud: String,
    /// The order whose shipment the bearer may read.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// On a dispute-file token, the operator reading the file (an operator id or
    /// `bootstrap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<String>,
}

impl ShipmentViewClaims {
    pub fn new(issuer: ServiceName, order: &OrderId, now: i64) -> ShipmentViewClaims {
        ShipmentViewClaims {
            iss: issuer.as_str().into(),
            aud: SHIPMENT_VIEW_AUDIENCE.into(),
            sub: order.as_str().into(),
            iat: now,
            exp: now + TTL_SECS,
            jti: crate::ids::random_hex128(),
            act: None,
        }
    }
}

/// A token for `order`'s shipment and its lifetime in seconds.
pub fn issue(signer: &TokenSigner, order: &OrderId) -> Result<(String, i64), Error> {
    let claims = ShipmentViewClaims::new(signer.service, order, crate::time::unix_seconds());
    Ok((signer.sign_typed(SHIPMENT_VIEW_TYP, &claims)?, TTL_SECS))
}

/// A dispute-file token for `order`, read by `actor`, and its lifetime in seconds.
pub fn issue_file(signer: &TokenSigner, order: &OrderId, actor: &Actor) -> Result<(String, i64), Error> {
    let mut claims = ShipmentViewClaims::new(signer.service, order, crate::time::unix_seconds());
    claims.aud = DISPUTE_FILE.audience.into();
    claims.act = Some(actor.as_str().into());
    Ok((signer.sign_typed(DISPUTE_FILE_TYP, &claims)?, TTL_SECS))
}

async fn verify_kind(verifier: &TokenVerifier, token: &str, kind: &TokenKind) -> Result<ShipmentViewClaims, Error> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Error::Unauthorized);
    }
    verifier.verify_typed_fetching(token, kind).await
}

fn order_of(claims: &ShipmentViewClaims) -> Result<OrderId, Error> {
    OrderId::parse(&claims.sub).map_err(|_| Error::Unauthorized)
}

/// A token for another order opens nothing, not even whether this one exists.
fn same_order(named: &OrderId, asked: &OrderId) -> Result<(), Error> {
    if named != asked {
        return Err(Error::Forbidden("the token is for another order".into()));
    }
    Ok(())
}

/// The bearer of a broker-signed shipment view token, and the order it names.
#[derive(Debug, Clone)]
pub struct ShipmentViewer {
    pub order: OrderId,
}

impl ShipmentViewer {
    /// Only the broker issues view tokens; its keys are fetched when the token names one
    /// this verifier has not seen yet.
    pub async fn verify(verifier: &TokenVerifier, token: &str) -> Result<ShipmentViewer, Error> {
        let claims = verify_kind(verifier, token, &SHIPMENT_VIEW).await?;
        Ok(ShipmentViewer { order: order_of(&claims)? })
    }

    pub fn for_order(&self, order: &OrderId) -> Result<(), Error> {
        same_order(&self.order, order)
    }
}

impl FromRequest for ShipmentViewer {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = crate::auth::bearer(req).map(str::to_string);
        let state = req.app_data::<web::Data<AuthState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| Error::Internal("AuthState not registered".into()))?;
            let token = token.ok_or(Error::Unauthorized)?;
            ShipmentViewer::verify(&state.verifier, &token).await
        })
    }
}

/// The bearer of a broker-signed dispute-file token: the order it names and the operator
/// reading the file, whom delivery's audit log names for the read.
#[derive(Debug, Clone)]
pub struct FileReader {
    pub order: OrderId,
    pub actor: Actor,
}

impl FileReader {
    pub async fn verify(verifier: &TokenVerifier, token: &str) -> Result<FileReader, Error> {
        let claims = verify_kind(verifier, token, &DISPUTE_FILE).await?;
        let actor = match claims.act.as_deref() {
            Some("bootstrap") => Actor::Bootstrap,
            Some(id) => Actor::Operator(OperatorId::parse(id).map_err(|_| Error::Unauthorized)?),
            None => return Err(Error::Unauthorized),
        };
        Ok(FileReader { order: order_of(&claims)?, actor })
    }

    pub fn for_order(&self, order: &OrderId) -> Result<(), Error> {
        same_order(&self.order, order)
    }
}

impl FromRequest for FileReader {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = crate::auth::bearer(req).map(str::to_string);
        let state = req.app_data::<web::Data<AuthState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| Error::Internal("AuthState not registered".into()))?;
            let token = token.ok_or(Error::Unauthorized)?;
            let reader = FileReader::verify(&state.verifier, &token).await?;
            // The read goes in the audit log under the operator's name, refused or not.
            req.extensions_mut().insert(Acting(reader.actor.clone()));
            Ok(reader)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Claims, Role, REFERRAL_TYP};
    use crate::crypto::KeyRing;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn ring(dir: &tempfile::TempDir, service: ServiceName) -> KeyRing {
        KeyRing::load_or_create(dir.path(), service.as_str()).unwrap()
    }

    /// Serves `jwks` at any path on a loopback port, counting the requests.
    fn jwks_server(jwks: serde_json::Value) -> (String, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                counted.fetch_add(1, Ordering::SeqCst);
                let body = jwks.to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body.as_bytes());
            }
        });
        (url, hits)
    }

    /// Delivery's verifier as the service builds it: its own keys local, the broker's and
    /// settlement's behind their JWK Set URLs.
    struct World {
        _dir: tempfile::TempDir,
        broker: TokenSigner,
        settlement: TokenSigner,
        delivery: TokenSigner,
        verifier: TokenVerifier,
        hits: Arc<AtomicUsize>,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let (b, s, d) =
            (ring(&dir, ServiceName::Broker), ring(&dir, ServiceName::Settlement), ring(&dir, ServiceName::Delivery));
        let (broker_url, hits) = jwks_server(b.jwks());
        let (settlement_url, _) = jwks_server(s.jwks());
        let verifier = TokenVerifier::new(
            ServiceName::Delivery,
            &d,
            vec![(ServiceName::Broker, broker_url), (ServiceName::Settlement, settlement_url)],
        );
        World {
            broker: TokenSigner::new(ServiceName::Broker, &b),
            settlement: TokenSigner::new(ServiceName::Settlement, &s),
            delivery: TokenSigner::new(ServiceName::Delivery, &d),
            _dir: dir,
            verifier,
            hits,
        }
    }

    #[tokio::test]
    async fn a_broker_token_opens_its_own_order_only_and_the_key_is_fetched_once() {
        let w = world();
        let (order, other) = (OrderId::generate(), OrderId::generate());
        let (token, ttl) = issue(&w.broker, &order).unwrap();
        assert_eq!(ttl, TTL_SECS);
        let viewer = ShipmentViewer::verify(&w.verifier, &token).await.unwrap();
        assert_eq!(viewer.order, order);
        assert!(viewer.for_order(&order).is_ok());
        assert!(matches!(viewer.for_order(&other), Err(Error::Forbidden(_))));
        assert_eq!(w.hits.load(Ordering::SeqCst), 1, "the broker's key was fetched");
        ShipmentViewer::verify(&w.verifier, &issue(&w.broker, &other).unwrap().0).await.unwrap();
        assert_eq!(w.hits.load(Ordering::SeqCst), 1, "and then known");
    }

    #[tokio::test]
    async fn another_issuers_key_set_cannot_take_over_a_key_id() {
        let dir = tempfile::tempdir().unwrap();
        let (b, s, d) =
            (ring(&dir, ServiceName::Broker), ring(&dir, ServiceName::Settlement), ring(&dir, ServiceName::Delivery));
        let broker_kid = b.signing().kid.clone();
        // Settlement's set lists the broker's key id over its own key, and the broker's own
        // key as if it were settlement's.
        let mut forged = s.jwks();
        let mut own_under_broker_kid = forged["keys"][0].clone();
        own_under_broker_kid["kid"] = broker_kid.clone().into();
        let broker_as_settlement = b.jwks()["keys"][0].clone();
        forged["keys"] = serde_json::json!([own_under_broker_kid, broker_as_settlement]);
        let (broker_url, _) = jwks_server(b.jwks());
        let (settlement_url, _) = jwks_server(forged);
        let verifier = TokenVerifier::new(
            ServiceName::Delivery,
            &d,
            vec![(ServiceName::Broker, broker_url), (ServiceName::Settlement, settlement_url)],
        );
        let order = OrderId::generate();
        let (token, _) = issue(&TokenSigner::new(ServiceName::Broker, &b), &order).unwrap();
        for _ in 0..2 {
            let viewer = ShipmentViewer::verify(&verifier, &token).await.unwrap();
            assert_eq!(viewer.order, order);
        }
        // Settlement's key under the broker's id signs nothing the verifier takes.
        let forged_view = issue(&TokenSigner::new(ServiceName::Settlement, &s), &order).unwrap().0;
        assert!(ShipmentViewer::verify(&verifier, &forged_view).await.is_err());
    }

    #[tokio::test]
    async fn tokens_of_the_same_shape_from_another_service_are_refused() {
        let w = world();
        let order = OrderId::generate();
        for signer in [&w.delivery, &w.settlement] {
            // Exactly what the broker would sign, claiming the broker even, with another key.
            let mut claims = ShipmentViewClaims::new(ServiceName::Broker, &order, crate::time::unix_seconds());
            let t = signer.sign_typed(SHIPMENT_VIEW_TYP, &claims).unwrap();
            assert!(
                matches!(ShipmentViewer::verify(&w.verifier, &t).await, Err(Error::Unauthorized)),
                "{}",
                signer.service
            );
            claims.iss = signer.service.as_str().into();
            let t = signer.sign_typed(SHIPMENT_VIEW_TYP, &claims).unwrap();
            assert!(
                matches!(ShipmentViewer::verify(&w.verifier, &t).await, Err(Error::Unauthorized)),
                "{}",
                signer.service
            );
        }
    }

    #[tokio::test]
    async fn no_other_kind_of_token_passes_and_none_makes_the_verifier_fetch() {
        let w = world();
        let order = OrderId::generate();
        let now = crate::time::unix_seconds();
        // A seller's access token and a capability, both the broker's, naming the order.
        let seller = Claims::new(ServiceName::Broker, "sel_x", Role::Seller, &ServiceName::ALL, 600);
        let mut cap = Claims::new(ServiceName::Broker, order.as_str(), Role::Capability, &ServiceName::ALL, 600);
        cap.scope = vec!["read".into()];
        cap.jti = Some("j".into());
        let claims = ShipmentViewClaims::new(ServiceName::Broker, &order, now);
        for t in [
            w.broker.sign(&seller).unwrap(),
            w.broker.sign(&cap).unwrap(),
            // The view's claims under another kind's `typ`, or as a plain token.
            w.broker.sign_typed(REFERRAL_TYP, &claims).unwrap(),
            w.broker.sign_typed("JWT", &claims).unwrap(),
            "not.a.token".to_string(),
        ] {
            assert!(matches!(ShipmentViewer::verify(&w.verifier, &t).await, Err(Error::Unauthorized)), "{t}");
        }
        assert_eq!(w.hits.load(Ordering::SeqCst), 0, "only a view token may make delivery fetch a key");

        // A view token is no caller's token anywhere, nor one for a service's audience.
        let view = issue(&w.broker, &order).unwrap().0;
        assert!(matches!(w.verifier.verify(&view).await, Err(Error::Unauthorized)));
        let as_delivery = ShipmentViewClaims { aud: "delivery".into(), ..claims.clone() };
        let t = w.broker.sign_typed(SHIPMENT_VIEW_TYP, &as_delivery).unwrap();
        assert!(matches!(ShipmentViewer::verify(&w.verifier, &t).await, Err(Error::Unauthorized)));
        // Nor without its id, nor naming something that is no order.
        let mut value = serde_json::to_value(&claims).unwrap();
        value.as_object_mut().unwrap().remove("jti");
        let t = w.broker.sign_typed(SHIPMENT_VIEW_TYP, &value).unwrap();
        assert!(ShipmentViewer::verify(&w.verifier, &t).await.is_err());
        let odd = ShipmentViewClaims { sub: "sto_notanorder".into(), ..claims };
        let t = w.broker.sign_typed(SHIPMENT_VIEW_TYP, &odd).unwrap();
        assert!(matches!(ShipmentViewer::verify(&w.verifier, &t).await, Err(Error::Unauthorized)));
    }

    #[tokio::test]
    async fn a_dispute_file_token_opens_its_order_for_its_operator_and_is_no_view_token() {
        let w = world();
        let (order, other) = (OrderId::generate(), OrderId::generate());
        let judge = Actor::Operator(OperatorId::generate());
        let (file, ttl) = issue_file(&w.broker, &order, &judge).unwrap();
        assert_eq!(ttl, TTL_SECS);
        let reader = FileReader::verify(&w.verifier, &file).await.unwrap();
        assert_eq!((&reader.order, &reader.actor), (&order, &judge));
        assert!(reader.for_order(&order).is_ok());
        assert!(matches!(reader.for_order(&other), Err(Error::Forbidden(_))));
        // Neither kind passes as the other, nor as a caller's token.
        assert!(matches!(ShipmentViewer::verify(&w.verifier, &file).await, Err(Error::Unauthorized)));
        let view = issue(&w.broker, &order).unwrap().0;
        assert!(matches!(FileReader::verify(&w.verifier, &view).await, Err(Error::Unauthorized)));
        assert!(matches!(w.verifier.verify(&file).await, Err(Error::Unauthorized)));
        // Only the broker signs one, and it names who reads.
        assert!(FileReader::verify(&w.verifier, &issue_file(&w.delivery, &order, &judge).unwrap().0).await.is_err());
        let mut claims = ShipmentViewClaims::new(ServiceName::Broker, &order, crate::time::unix_seconds());
        claims.aud = DISPUTE_FILE.audience.into();
        let nameless = w.broker.sign_typed(DISPUTE_FILE_TYP, &claims).unwrap();
        assert!(matches!(FileReader::verify(&w.verifier, &nameless).await, Err(Error::Unauthorized)));
        claims.act = Some("sel_someone".into());
        let seller = w.broker.sign_typed(DISPUTE_FILE_TYP, &claims).unwrap();
        assert!(matches!(FileReader::verify(&w.verifier, &seller).await, Err(Error::Unauthorized)));
    }

    #[tokio::test]
    async fn an_expired_or_forged_view_token_is_refused() {
        let w = world();
        let order = OrderId::generate();
        let mut claims = ShipmentViewClaims::new(ServiceName::Broker, &order, crate::time::unix_seconds());
        assert_eq!(claims.exp - claims.iat, TTL_SECS);
        claims.exp = crate::time::unix_seconds() - 1;
        let old = w.broker.sign_typed(SHIPMENT_VIEW_TYP, &claims).unwrap();
        assert!(matches!(ShipmentViewer::verify(&w.verifier, &old).await, Err(Error::TokenExpired)));
        let (token, _) = issue(&w.broker, &order).unwrap();
        let mut tampered = token.clone();
        tampered.insert(tampered.rfind('.').unwrap() + 3, 'A');
        assert!(ShipmentViewer::verify(&w.verifier, &tampered).await.is_err());
        let dir = tempfile::tempdir().unwrap();
        let stranger = TokenSigner::new(ServiceName::Broker, &ring(&dir, ServiceName::Broker));
        let forged = issue(&stranger, &order).unwrap().0;
        assert!(matches!(ShipmentViewer::verify(&w.verifier, &forged).await, Err(Error::Unauthorized)));
    }
}
