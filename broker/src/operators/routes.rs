//! `POST /v1/operators`, `POST /v1/operator-sessions`, `GET /v1/admin/operators`,
//! `POST /v1/admin/operators/{operator_id}/disabled`.

use super::store;
use crate::accounts::domain::{parse_email, parse_password};
use crate::catalog::domain::parse_name;
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use client::admin::{CreatedOperator, Disabled, NewOperator, OperatorList, OperatorView};
use client::broker::accounts::{AccessToken, Credentials};
use diesel::Connection;
use shared::auth::{Admin, Claims, Operator, Role};
use shared::config::ServiceName;
use shared::db::is_unique_violation;
use shared::hashing::Purpose;
use shared::ids::OperatorId;
use shared::messages::Message;

/// An operator's token lasts a quarter of an hour at most: a disabled account's last token
/// dies soon everywhere, even where the news has not arrived.
pub const OPERATOR_TOKEN_MAX_SECS: i64 = 15 * 60;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/operators", web::post().to(create_operator))
        .route(
            "/v1/operator-sessions",
            web::post().to(create_operator_session).wrap(actix_web::middleware::from_fn(shared::ratelimit::login)),
        )
        .route("/v1/admin/operators", web::get().to(list_operators))
        .route("/v1/admin/operators/{operator_id}/disabled", web::post().to(set_disabled));
}

fn taken() -> BrokerError {
    BrokerError::refused(Code::EmailTaken, "an operator with this e-mail address exists")
}

/// A new operator account with its roles (an admin, or the bootstrap token for the first).
#[utoipa::path(post, path = "/v1/operators", request_body = NewOperator, tag = "admin",
    responses((status = 201, body = CreatedOperator), (status = 409, description = "email_taken")),
    security(("operator" = [])))]
pub async fn create_operator(
    state: web::Data<State>,
    _op: Operator<Admin>,
    body: web::Json<NewOperator>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let name = parse_name("name", &body.name)?;
    let email = parse_email(&body.email)?;
    if body.roles.is_empty() {
        return Err(shared::Error::Invalid("`roles` must name at least one role".into()).into());
    }
    let password = parse_password(&body.password)?.to_string();
    let hash = state.core.hashing.hash(password, Purpose::SignUp).await.map_err(shared::Error::from)?;
    let id = OperatorId::generate();
    let new_id = id.clone();
    state
        .core
        .db
        .write(move |c| {
            if store::email_taken(c, &email)? {
                return Err(taken());
            }
            let new = store::NewOperator {
                id: &new_id,
                name: &name,
                email: &email,
                password_hash: &hash,
                roles: &body.roles,
            };
            match c.transaction(|c| store::insert(c, &new)) {
                Err(e) if is_unique_violation(&e) => Err(taken()),
                other => Ok(other?),
            }
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedOperator { id }))
}

/// An operator signs in: the token names their roles and is accepted by all three services.
/// A disabled account, an unknown address and a wrong password are the same 401, in the
/// same time.
#[utoipa::path(post, path = "/v1/operator-sessions", request_body = Credentials, tag = "admin",
    responses((status = 200, body = AccessToken), (status = 401, description = "unauthorized")))]
pub async fn create_operator_session(state: web::Data<State>, body: web::Json<Credentials>) -> Result<HttpResponse> {
    let Credentials { email, password } = body.into_inner();
    let email = email.trim().to_lowercase();
    let account = state.core.db.read(move |c| Ok::<_, BrokerError>(store::by_email(c, &email)?)).await?;
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let valid = state.core.hashing.verify(password, hash).await.map_err(shared::Error::from)?;
    let Some(account) = account.filter(|a| valid && !a.disabled) else {
        return Err(shared::Error::Unauthorized.into());
    };
    let ttl = state.core.config.access_token_ttl_secs.min(OPERATOR_TOKEN_MAX_SECS);
    let mut claims = Claims::new(ServiceName::Broker, account.id.into_string(), Role::Operator, &ServiceName::ALL, ttl);
    claims.scope = account.roles.iter().map(|r| r.to_string()).collect();
    claims.auth_time = Some(claims.iat);
    let token = state.core.auth.signer.sign(&claims)?;
    Ok(HttpResponse::Ok().json(AccessToken { access_token: token, token_type: "Bearer".into(), expires_in: ttl }))
}

/// Every operator account, oldest first.
#[utoipa::path(get, path = "/v1/admin/operators", tag = "admin",
    responses((status = 200, body = OperatorList)), security(("operator" = [])))]
pub async fn list_operators(state: web::Data<State>, _op: Operator<Admin>) -> Result<HttpResponse> {
    let operators = state.core.db.read(|c| Ok::<_, BrokerError>(store::list(c)?)).await?;
    Ok(HttpResponse::Ok().json(OperatorList { operators }))
}

/// Disables an operator account (or enables it again): it signs in no more, and its tokens
/// are refused here at once and at settlement and delivery as soon as they hear of it.
#[utoipa::path(post, path = "/v1/admin/operators/{operator_id}/disabled", request_body = Disabled, tag = "admin",
    params(("operator_id" = String, Path)),
    responses((status = 200, body = OperatorView), (status = 404, description = "not_found")),
    security(("operator" = [])))]
pub async fn set_disabled(
    state: web::Data<State>,
    _op: Operator<Admin>,
    path: web::Path<String>,
    body: web::Json<Disabled>,
) -> Result<HttpResponse> {
    let id = OperatorId::parse(&path)?;
    let Disabled { disabled } = body.into_inner();
    let view = state
        .core
        .db
        .write(move |c| {
            if !store::set_disabled(c, &id, disabled)? {
                return Err(BrokerError::NotFound("operator"));
            }
            shared::audit::set_disabled(c, &id, disabled)?;
            for to in [ServiceName::Settlement, ServiceName::Delivery] {
                let m = Message::OperatorAccess { operator_id: id.clone(), disabled };
                shared::outbox::send(c, ServiceName::Broker, to, m)?;
            }
            store::get(c, &id)?.ok_or(BrokerError::NotFound("operator"))
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(view))
}
