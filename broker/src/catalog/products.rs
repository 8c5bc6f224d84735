//! The shared catalog's products: reading one, adding one with its searchable attributes.

use super::domain::Product;
use crate::schema::{product_attributes, products};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ManufacturerId, ProductId};
use shared::money::{Currency, Money};
use shared::time::now;
use std::collections::BTreeMap;

#[allow(clippy::type_complexity)]
type ProductTuple = (ProductId, String, String, String, i64, Currency, Option<ManufacturerId>, bool, i32, String);

fn product_from(t: ProductTuple) -> QueryResult<Product> {
    let (id, name, kind, attributes, amount, currency, manufacturer_id, requires_approval, backorder_days, compat) = t;
    Ok(Product {
        id,
        name,
        kind,
        attributes: serde_json::from_str::<BTreeMap<String, String>>(&attributes)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
        list_price: Money::new(amount, currency),
        manufacturer_id,
        requires_approval,
        backorder_days,
        compatible_with: serde_json::from_str(&compat).unwrap_or_default(),
    })
}

pub fn product(conn: &mut AnyConnection, id: &ProductId) -> QueryResult<Option<Product>> {
    let row: Option<ProductTuple> = products::table
        .filter(products::id.eq(id))
        .select((
            products::id,
            products::name,
            products::kind,
            products::attributes,
            products::list_price_amount,
            products::list_price_currency,
            products::manufacturer_id,
            products::requires_approval,
            products::backorder_days,
            products::compatible_with,
        ))
        .first(conn)
        .optional()?;
    row.map(product_from).transpose()
}

pub fn insert_product(conn: &mut AnyConnection, p: &Product) -> QueryResult<()> {
    let t = now();
    diesel::insert_into(products::table)
        .values((
            products::id.eq(&p.id),
            products::name.eq(&p.name),
            products::kind.eq(&p.kind),
            products::attributes.eq(serde_json::to_string(&p.attributes).expect("attributes serialize")),
            products::list_price_amount.eq(p.list_price.amount),
            products::list_price_currency.eq(p.list_price.currency),
            products::manufacturer_id.eq(p.manufacturer_id.as_ref()),
            products::requires_approval.eq(p.requires_approval),
            products::backorder_days.eq(p.backorder_days),
            products::compatible_with.eq(serde_json::to_string(&p.compatible_with).expect("list serializes")),
            products::created_at.eq(t),
        ))
        .execute(conn)?;
    // One row at a time: the multi-backend connection has no batch insert.
    for (n, v) in &p.attributes {
        diesel::insert_into(product_attributes::table)
            .values((
                product_attributes::product_id.eq(&p.id),
                product_attributes::name.eq(n),
                // Lower-cased so that search matches regardless of case; the product keeps the text as given.
                product_attributes::value.eq(v.to_lowercase()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
