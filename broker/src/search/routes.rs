//! `GET /v1/search?kind=K&attr.NAME=VALUE…`

use super::domain;
use super::store::{self};
use crate::browsing::store::{record_preference, Source};
use crate::browsing::Session;
use crate::error::{BrokerError, Result};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/search", web::get().to(search));
}

pub use client::broker::catalog::Results;

/// Sellable offers with stock, across all stores, ranked by price, then nearness to
/// `near`, then stock. Also records the requested kind and characteristics (nothing about
/// who asked) in the preference store.
#[utoipa::path(get, path = "/v1/search",
    params(
        ("kind" = String, Query, description = "product kind"),
        ("attr.NAME" = Option<String>, Query, description = "any number of characteristics, e.g. attr.colour=red"),
        ("min_price" = Option<i64>, Query), ("max_price" = Option<i64>, Query),
        ("currency" = Option<String>, Query, description = "required with a price range"),
        ("region" = Option<String>, Query), ("category" = Option<String>, Query),
        ("near" = Option<String>, Query, description = "the buyer's region, for ranking"),
        ("compatible" = Option<String>, Query, description = "only products that fit this equipment kind"),
        ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
    ),
    responses((status = 200, body = Results), (status = 422, description = "invalid query")))]
pub async fn search(state: web::Data<State>, req: HttpRequest, session: Session) -> Result<HttpResponse> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|_| BrokerError::Shared(shared::Error::BadRequest("malformed query string".into())))?
        .into_inner();
    let q = domain::parse(&pairs)?;
    let query = q.clone();
    let (results, more) = state.core.db.read(move |c| Ok::<_, BrokerError>(store::search(c, &query)?)).await?;
    let (kind, attributes) = (q.kind.clone(), q.attributes.clone());
    state
        .core
        .db
        .write(move |c| {
            Ok::<_, BrokerError>(record_preference(c, Source::Search, session.0.as_ref(), &kind, &attributes, None)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Results {
        results,
        limit: q.limit,
        offset: q.offset,
        next_offset: more.then_some(q.offset + q.limit),
    }))
}
