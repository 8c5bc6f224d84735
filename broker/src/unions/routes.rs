//! `POST /v1/unions`, `GET /v1/unions`, `GET /v1/unions/{id}`, `GET /v1/service-centre`.

use super::store;
use crate::browsing::store::Viewed;
use crate::browsing::Session;
use crate::catalog::domain::{parse_key, parse_name};
use crate::error::{BrokerError, Code, Result};
use crate::stores::store::stores_of_union;
use crate::State;
use actix_web::{web, HttpResponse};
use client::broker::catalog::{UnionList, UnionView};
use serde::{Deserialize, Serialize};
use shared::auth::{Admin, Operator};
use shared::ids::UnionId;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/unions", web::post().to(create_union))
        .route("/v1/unions", web::get().to(list_unions))
        .route("/v1/unions/{union_id}", web::get().to(read_union))
        .route("/v1/service-centre", web::get().to(service_centre));
}

pub use client::broker::catalog::{CreatedUnion, NewUnion};

#[utoipa::path(post, path = "/v1/unions", request_body = NewUnion,
    responses((status = 201, body = CreatedUnion)), security(("operator" = [])))]
pub async fn create_union(
    state: web::Data<State>,
    _op: Operator<Admin>,
    body: web::Json<NewUnion>,
) -> Result<HttpResponse> {
    let name = parse_name("name", &body.name)?;
    let region = parse_key("region", &body.region)?;
    let id = UnionId::generate();
    let uid = id.clone();
    state.core.db.write(move |c| Ok::<_, BrokerError>(store::insert_union(c, &uid, &name, &region)?)).await?;
    Ok(HttpResponse::Created().json(CreatedUnion { id }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UnionFilter {
    region: Option<String>,
    category: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

impl UnionFilter {
    fn parse(&self) -> Result<(Option<String>, Option<String>)> {
        Ok((
            self.region.as_deref().map(|r| parse_key("region", r)).transpose()?,
            self.category.as_deref().map(|c| parse_key("category", c)).transpose()?,
        ))
    }
}

/// The service centre's directory: unions by region, each with its stores.
#[utoipa::path(get, path = "/v1/unions", params(UnionFilter), responses((status = 200, body = UnionList)))]
pub async fn list_unions(state: web::Data<State>, q: web::Query<UnionFilter>) -> Result<HttpResponse> {
    let (region, category) = q.parse()?;
    let page = shared::http::Page { limit: q.limit, offset: q.offset };
    let unions = state
        .core
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for u in store::unions_in(c, region.as_deref(), page.limit(), page.offset())? {
                let stores = stores_of_union(c, &u.id, category.as_deref())?;
                if category.is_none() || !stores.is_empty() {
                    out.push(UnionView { union: u, stores });
                }
            }
            Ok::<_, BrokerError>(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UnionList { unions }))
}

#[utoipa::path(get, path = "/v1/unions/{union_id}", params(UnionFilter), responses((status = 200, body = UnionView)))]
pub async fn read_union(
    state: web::Data<State>,
    path: web::Path<String>,
    q: web::Query<UnionFilter>,
    session: Session,
) -> Result<HttpResponse> {
    let id = UnionId::parse(&path)?;
    let (_, category) = q.parse()?;
    let uid = id.clone();
    let view = state
        .core
        .db
        .read(move |c| {
            let union = store::union(c, &uid)?.ok_or(BrokerError::NotFound("union"))?;
            let stores = stores_of_union(c, &uid, category.as_deref())?;
            Ok::<_, BrokerError>(UnionView { union, stores })
        })
        .await?;
    session.note(&state, Viewed { union_id: Some(id), ..Default::default() }).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Serialize, ToSchema)]
pub struct Referral {
    union_id: UnionId,
    location: String,
}

/// Sends the customer (303) to the regional union that fits the region and category.
#[utoipa::path(get, path = "/v1/service-centre", params(UnionFilter),
    responses((status = 303, body = Referral), (status = 404, description = "no union fits")))]
pub async fn service_centre(state: web::Data<State>, q: web::Query<UnionFilter>) -> Result<HttpResponse> {
    let (region, category) = q.parse()?;
    let region = region.ok_or_else(|| BrokerError::refused(Code::RegionRequired, "`region` is required"))?;
    let cat = category.clone();
    let found = state.core.db.read(move |c| Ok::<_, BrokerError>(store::best_fit(c, &region, cat.as_deref())?)).await?;
    let union_id = found.ok_or(BrokerError::NotFound("union"))?;
    let location = match &category {
        Some(c) => format!("/v1/unions/{union_id}?category={}", encode(c)),
        None => format!("/v1/unions/{union_id}"),
    };
    Ok(HttpResponse::SeeOther().insert_header(("location", location.clone())).json(Referral { union_id, location }))
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
