//! The sales history (seed `003_…`, claim 1): every order registers what sold, where and
//! for how much. A row names no order and no buyer, and its time is cut to the hour, so
//! the history cannot be joined back to an order by its timestamp.

use crate::catalog::{Product, Store};
use crate::schema::sales;
use chrono::Timelike;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::money::Money;
use shared::time::Timestamp;

// A sale id: the order keeps it only to take the sale back if the order is cancelled.
shared::typed_id!(SaleId, "sal");

/// The hour a sale is filed under.
pub fn hour_of(t: Timestamp) -> Timestamp {
    t.with_nanosecond(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_minute(0)).unwrap_or(t)
}

pub fn register(
    conn: &mut AnyConnection,
    product: &Product,
    store: &Store,
    quantity: i64,
    value: Money,
    at: Timestamp,
) -> QueryResult<SaleId> {
    let id = SaleId::generate();
    let characteristics = serde_json::to_string(&product.attributes).expect("a string map serializes");
    diesel::insert_into(sales::table)
        .values((
            sales::id.eq(&id),
            sales::product_id.eq(&product.id),
            sales::kind.eq(&product.kind),
            sales::characteristics.eq(characteristics),
            sales::store_id.eq(&store.id),
            sales::category.eq(&store.category),
            sales::region.eq(&store.region),
            sales::quantity.eq(quantity),
            sales::amount.eq(value.amount),
            sales::currency.eq(&value.currency),
            sales::sold_at.eq(hour_of(at)),
        ))
        .execute(conn)?;
    Ok(id)
}

/// The seller changed the price before payment: the history records what was paid.
pub fn revalue(conn: &mut AnyConnection, id: &SaleId, value: Money) -> QueryResult<()> {
    diesel::update(sales::table.filter(sales::id.eq(id))).set(sales::amount.eq(value.amount)).execute(conn)?;
    Ok(())
}

/// A cancelled order did not sell anything.
pub fn unregister(conn: &mut AnyConnection, id: &SaleId) -> QueryResult<()> {
    diesel::delete(sales::table.filter(sales::id.eq(id))).execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_are_filed_by_the_hour() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap().and_hms_micro_opt(9, 41, 17, 123_456).unwrap();
        assert_eq!(hour_of(t), chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap().and_hms_opt(9, 0, 0).unwrap());
    }
}
