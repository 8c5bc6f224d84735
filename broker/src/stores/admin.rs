//! The stores as operators read them (`GET /v1/admin/stores`, support or admin): who owns
//! each and whether it is suspended, for the console's list and its suspension forms.

use crate::error::Result;
use crate::schema::stores;
use crate::State;
use actix_web::{web, HttpResponse};
use client::admin::{AdminStore, AdminStores};
use diesel::prelude::*;
use serde::Deserialize;
use shared::auth::{Operator, Support};
use shared::db::AnyConnection;
use shared::http::Page;
use shared::ids::{ManufacturerId, SellerId, StoreId, UnionId};
use shared::time::Timestamp;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/admin/stores", web::get().to(list_stores));
}

#[derive(Deserialize)]
pub struct StoresQuery {
    /// Only the suspended stores (`true`) or only the open ones (`false`).
    suspended: Option<bool>,
}

type Row = (
    StoreId,
    String,
    String,
    Option<UnionId>,
    Option<SellerId>,
    Option<ManufacturerId>,
    Option<Timestamp>,
    Option<String>,
);

/// Newest first.
pub fn list(conn: &mut AnyConnection, suspended: Option<bool>, page: &Page) -> QueryResult<Vec<AdminStore>> {
    let mut q = stores::table
        .select((
            stores::id,
            stores::name,
            stores::region,
            stores::union_id,
            stores::seller_id,
            stores::manufacturer_id,
            stores::suspended_at,
            stores::suspension_reason,
        ))
        .order((stores::created_at.desc(), stores::id.desc()))
        .limit(page.limit())
        .offset(page.offset())
        .into_boxed();
    match suspended {
        Some(true) => q = q.filter(stores::suspended_at.is_not_null()),
        Some(false) => q = q.filter(stores::suspended_at.is_null()),
        None => {}
    }
    let rows: Vec<Row> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(store_id, name, region, union_id, seller_id, manufacturer_id, at, reason)| AdminStore {
            store_id,
            name,
            region,
            union_id,
            seller_id,
            manufacturer_id,
            suspended: at.is_some(),
            suspension_reason: reason,
        })
        .collect())
}

#[utoipa::path(get, path = "/v1/admin/stores", tag = "admin",
    params(("suspended" = Option<bool>, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = AdminStores)),
    security(("operator" = [])))]
pub async fn list_stores(
    state: web::Data<State>,
    _op: Operator<Support>,
    q: web::Query<StoresQuery>,
    page: web::Query<Page>,
) -> Result<HttpResponse> {
    let (suspended, page) = (q.suspended, page.into_inner());
    let stores = state.core.db.read(move |c| Ok::<_, crate::error::BrokerError>(list(c, suspended, &page)?)).await?;
    Ok(HttpResponse::Ok().json(AdminStores { stores }))
}
