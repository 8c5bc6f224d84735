//! Urgent prices: an offer's temporary price, and the current price search ranks by while
//! it runs. The sweeper that ends them is [`super::urgent`].

use crate::schema::offers;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ProductId, StoreId};
use shared::money::Money;
use shared::time::{now, Timestamp};

/// Sets or (with `None`) ends an offer's urgent price, and with it the current price
/// search ranks by: the urgent price while `until` lies ahead, else the regular one.
pub fn set_urgent_price(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
    price: Option<Money>,
    until: Option<Timestamp>,
) -> QueryResult<usize> {
    let t = now();
    let target = offers::table.filter(offers::store_id.eq(store)).filter(offers::product_id.eq(product));
    let fields = (
        offers::urgent_price_amount.eq(price.map(|m| m.amount)),
        offers::urgent_until.eq(until),
        offers::updated_at.eq(t),
    );
    match (price, until) {
        (Some(p), Some(u)) if u > t => {
            diesel::update(target).set((fields, offers::current_price.eq(p.amount))).execute(conn)
        }
        _ => diesel::update(target).set((fields, offers::current_price.eq(offers::price_amount))).execute(conn),
    }
}

/// Offers whose current price is an urgent one (`offers_urgent_running`): running, or
/// ended and not yet swept.
macro_rules! urgent_standing {
    () => {
        offers::table.filter(offers::current_price.ne(offers::price_amount))
    };
}

/// The sweep: every urgent price that ended at or before `at` gives way to the regular
/// price. Conditional on the urgent price still standing, so sweepers may run side by side.
pub fn end_urgent_prices(conn: &mut AnyConnection, at: Timestamp) -> QueryResult<usize> {
    diesel::update(urgent_standing!().filter(offers::urgent_until.le(at)))
        .set(offers::current_price.eq(offers::price_amount))
        .execute(conn)
}

/// Has an urgent price ended at or before `at` without being swept yet? Until it is,
/// its stored current price is stale and search ranks by the rule itself.
pub fn urgent_price_ended(conn: &mut AnyConnection, at: Timestamp) -> QueryResult<bool> {
    Ok(urgent_standing!()
        .filter(offers::urgent_until.le(at))
        .select(offers::urgent_until)
        .first::<Option<Timestamp>>(conn)
        .optional()?
        .is_some())
}

/// When the next running urgent price ends, if any runs.
pub fn next_urgent_end(conn: &mut AnyConnection) -> QueryResult<Option<Timestamp>> {
    urgent_standing!().select(diesel::dsl::min(offers::urgent_until)).first(conn)
}
