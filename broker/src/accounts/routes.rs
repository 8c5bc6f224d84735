//! `POST /v1/sellers`, `POST /v1/manufacturers`, `POST /v1/sessions`.

use super::domain::{parse_email, parse_password};
use super::store::{self, Account};
use crate::catalog::domain::Registration;
use crate::catalog::domain::{parse_key, parse_name, MANUFACTURER_CATEGORY};
use crate::error::{BrokerError, Code, Result};
use crate::stores::store::insert_store;
use crate::State;
use actix_web::{web, HttpResponse};
use diesel::Connection;
use shared::auth::{Admin, Claims, Operator, Role};
use shared::config::ServiceName;
use shared::db::is_unique_violation;
use shared::hashing::Purpose;
use shared::ids::{ManufacturerId, SellerId, StoreId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v1/sellers",
        web::post().to(create_seller).wrap(actix_web::middleware::from_fn(shared::ratelimit::signup)),
    )
    .route("/v1/manufacturers", web::post().to(create_manufacturer))
    .route(
        "/v1/sessions",
        web::post().to(create_session).wrap(actix_web::middleware::from_fn(shared::ratelimit::login)),
    );
}

pub use client::broker::accounts::{
    AccessToken, Created, CreatedManufacturer, Credentials, NewManufacturer, NewSeller,
};

/// A new account's password hash, through the service's bounded pool (503 `busy` when
/// full, before anything is written).
async fn hash(state: &State, password: String) -> Result<String> {
    Ok(state.core.hashing.hash(password, Purpose::SignUp).await.map_err(shared::Error::from)?)
}

fn taken() -> BrokerError {
    BrokerError::refused(Code::EmailTaken, "an account with this e-mail address exists")
}

/// Inserts in a savepoint so that a duplicate address (a race past the check) is a 409,
/// not an aborted transaction.
fn insert_once<F>(conn: &mut shared::db::AnyConnection, email: &str, insert: F) -> Result<()>
where
    F: FnOnce(&mut shared::db::AnyConnection) -> diesel::QueryResult<()>,
{
    if store::email_taken(conn, email)? {
        return Err(taken());
    }
    match conn.transaction(insert) {
        Err(e) if is_unique_violation(&e) => Err(taken()),
        other => Ok(other?),
    }
}

#[utoipa::path(post, path = "/v1/sellers", request_body = NewSeller,
    responses((status = 201, body = Created), (status = 409, description = "email_taken")))]
pub async fn create_seller(state: web::Data<State>, body: web::Json<NewSeller>) -> Result<HttpResponse> {
    let body = body.into_inner();
    let name = parse_name("name", &body.name)?;
    let email = parse_email(&body.email)?;
    let hash = hash(&state, parse_password(&body.password)?.to_string()).await?;
    let id = SellerId::generate();
    let sid = id.clone();
    state
        .core
        .db
        .write(move |c| insert_once(c, &email, |c| store::insert_seller(c, &sid, &name, &email, &hash)))
        .await?;
    Ok(HttpResponse::Created().json(Created { id: id.into_string() }))
}

#[utoipa::path(post, path = "/v1/manufacturers", request_body = NewManufacturer,
    responses((status = 201, body = CreatedManufacturer), (status = 409, description = "email_taken")),
    security(("operator" = [])))]
pub async fn create_manufacturer(
    state: web::Data<State>,
    _op: Operator<Admin>,
    body: web::Json<NewManufacturer>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let name = parse_name("name", &body.name)?;
    let email = parse_email(&body.email)?;
    let region = body.region.as_deref().map(|r| parse_key("region", r)).transpose()?.unwrap_or_default();
    let hash = hash(&state, parse_password(&body.password)?.to_string()).await?;
    let id = ManufacturerId::generate();
    let store_id = StoreId::generate();
    let (mid, sid) = (id.clone(), store_id.clone());
    state
        .core
        .db
        .write(move |c| {
            insert_once(c, &email, |c| store::insert_manufacturer(c, &mid, &name, &email, &hash))?;
            // Its own store sells its back-orders: an order there has the manufacturer as seller.
            let new = Registration {
                id: sid,
                name,
                union_id: None,
                category: MANUFACTURER_CATEGORY.into(),
                region,
                seller_id: None,
                manufacturer_id: Some(mid),
            };
            insert_store(c, &new)?;
            Ok::<_, BrokerError>(())
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Created().json(CreatedManufacturer { id, store_id }))
}

#[utoipa::path(post, path = "/v1/sessions", request_body = Credentials,
    responses((status = 200, body = AccessToken), (status = 401, description = "unauthorized")))]
pub async fn create_session(state: web::Data<State>, body: web::Json<Credentials>) -> Result<HttpResponse> {
    let Credentials { email, password } = body.into_inner();
    let email = email.trim().to_lowercase();
    let account = state.core.db.read(move |c| Ok::<_, BrokerError>(store::by_email(c, &email)?)).await?;
    let (hash, subject, role) = match account {
        Some(Account::Seller(id, h)) => (Some(h), id.into_string(), Role::Seller),
        Some(Account::Manufacturer(id, h)) => (Some(h), id.into_string(), Role::Manufacturer),
        None => (None, String::new(), Role::Seller),
    };
    // Unknown addresses are checked against a dummy hash: the time taken does not tell.
    let valid = state.core.hashing.verify(password, hash).await.map_err(shared::Error::from)?;
    if !valid {
        return Err(shared::Error::Unauthorized.into());
    }
    let ttl = state.core.config.access_token_ttl_secs;
    let mut claims = Claims::new(ServiceName::Broker, subject, role, &ServiceName::ALL, ttl);
    // This is the password sign-in: changes that need a fresh one (a payout account) read it.
    claims.auth_time = Some(claims.iat);
    let token = state.core.auth.signer.sign(&claims)?;
    Ok(HttpResponse::Ok().json(AccessToken { access_token: token, token_type: "Bearer".into(), expires_in: ttl }))
}
