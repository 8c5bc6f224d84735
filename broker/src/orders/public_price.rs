//! The public side of an order's price: the offer's price at placement times the
//! quantity. It is all a seller is shown of an order's money (API, desk, mails), so that a
//! group price or spent points cannot reveal which group a buyer belongs to. What a group
//! price took off is kept too, for settlement's aggregated `group_discounts` line.

use super::store::Order;
use crate::schema::order_public_prices;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::OrderId;
use shared::money::Money;

/// What the seller sees of an order's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicPrice {
    /// The public offer price per unit.
    pub unit_price: Money,
    /// `unit_price` × quantity.
    pub amount: Money,
    /// What the buyer's group price took off `amount` (the store funds it).
    pub group_discount: Money,
}

/// The public price of an order whose buyer pays `unit_price` per unit, the offer asking
/// `list_unit_price`. A group price never raises the price, so the discount is never
/// negative.
pub fn compute(list_unit_price: Money, unit_price: Money, quantity: i64) -> Option<PublicPrice> {
    let public = list_unit_price.amount.checked_mul(quantity)?;
    let paid = unit_price.amount.checked_mul(quantity)?;
    let c = list_unit_price.currency;
    (c == unit_price.currency).then_some(PublicPrice {
        unit_price: list_unit_price,
        amount: Money::new(public, c),
        group_discount: Money::new((public - paid).max(0), c),
    })
}

/// Writes (or rewrites, after a price confirmation) an order's public price.
pub fn put(conn: &mut AnyConnection, order: &OrderId, p: &PublicPrice) -> QueryResult<()> {
    diesel::delete(order_public_prices::table.find(&order)).execute(conn)?;
    diesel::insert_into(order_public_prices::table)
        .values((
            order_public_prices::order_id.eq(&order),
            order_public_prices::list_unit_price.eq(p.unit_price.amount),
            order_public_prices::public_amount.eq(p.amount.amount),
            order_public_prices::group_discount.eq(p.group_discount.amount),
            order_public_prices::currency.eq(&p.amount.currency),
        ))
        .execute(conn)?;
    Ok(())
}

/// The order's public price. An order placed before public prices were kept shows its
/// unit price times the quantity (points were never part of the unit price).
pub fn of(conn: &mut AnyConnection, order: &Order) -> QueryResult<PublicPrice> {
    let row: Option<(i64, i64, i64)> = order_public_prices::table
        .find(&order.id)
        .select((
            order_public_prices::list_unit_price,
            order_public_prices::public_amount,
            order_public_prices::group_discount,
        ))
        .first(conn)
        .optional()?;
    let c = order.unit_price.currency;
    Ok(match row {
        Some((unit, amount, group)) => PublicPrice {
            unit_price: Money::new(unit, c),
            amount: Money::new(amount, c),
            group_discount: Money::new(group, c),
        },
        None => PublicPrice {
            unit_price: order.unit_price,
            amount: Money::new(order.amount.amount.saturating_add(order.discount.amount), c),
            group_discount: Money::zero(c),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;

    #[test]
    fn the_public_price_is_the_offer_price_times_the_quantity() {
        let eur = |a| Money::new(a, Currency::EUR);
        let p = compute(eur(1_000), eur(800), 3).unwrap();
        assert_eq!((p.unit_price, p.amount, p.group_discount), (eur(1_000), eur(3_000), eur(600)));
        let p = compute(eur(1_000), eur(1_000), 2).unwrap();
        assert_eq!(p.group_discount, eur(0));
        assert!(compute(eur(i64::MAX), eur(1), 2).is_none());
        assert!(compute(eur(10), Money::new(10, Currency::parse("USD").unwrap()), 1).is_none());
    }
}
