//! The order side's queries. Every function runs inside the caller's transaction.

use super::domain::OrderStatus;
use crate::schema::stores;
use crate::schema::{order_contacts, order_messages, orders};
use diesel::prelude::*;
use shared::crypto::Sealed;
use shared::db::AnyConnection;
use shared::ids::{DisputeId, OrderId, ProductId, SellerId, StoreId};
use shared::money::{Currency, Money};
use shared::time::{now, Timestamp};

/// An order as the broker keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub quantity: i64,
    pub unit_price: Money,
    pub discount: Money,
    pub amount: Money,
    pub status: OrderStatus,
    pub needs_confirmation: bool,
    pub needs_approval: bool,
    pub referral_store_id: Option<StoreId>,
    pub shipper_store_id: Option<StoreId>,
    pub stock_store_id: Option<StoreId>,
    pub backorder: bool,
    pub buyer_handle: String,
    pub sale_id: Option<crate::sales::SaleId>,
    /// Why it was cancelled (or refused).
    pub reason: Option<String>,
    /// What the other services reported beside a status (a refused payment, say).
    pub note: Option<String>,
    /// Settlement's deadline for paying, once the order is payable.
    pub pay_by: Option<Timestamp>,
    /// The end of the acceptance window, once delivered.
    pub accept_by: Option<Timestamp>,
    /// When the buyer accepted, or the window's end accepted for them.
    pub accepted_at: Option<Timestamp>,
    /// The order's dispute, once the buyer opened one.
    pub dispute_id: Option<DisputeId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = orders)]
struct OrderRow {
    id: OrderId,
    store_id: StoreId,
    product_id: ProductId,
    quantity: i64,
    unit_price: i64,
    discount: i64,
    amount: i64,
    currency: Currency,
    status: OrderStatus,
    needs_confirmation: bool,
    needs_approval: bool,
    referral_store_id: Option<StoreId>,
    shipper_store_id: Option<StoreId>,
    stock_store_id: Option<StoreId>,
    backorder: bool,
    buyer_handle: String,
    sale_id: Option<crate::sales::SaleId>,
    reason: Option<String>,
    note: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    pay_by: Option<Timestamp>,
    accept_by: Option<Timestamp>,
    accepted_at: Option<Timestamp>,
    dispute_id: Option<DisputeId>,
}

impl OrderRow {
    fn into_order(self) -> QueryResult<Order> {
        let currency = self.currency;
        Ok(Order {
            id: self.id,
            store_id: self.store_id,
            product_id: self.product_id,
            quantity: self.quantity,
            unit_price: Money::new(self.unit_price, currency),
            discount: Money::new(self.discount, currency),
            amount: Money::new(self.amount, currency),
            status: self.status,
            needs_confirmation: self.needs_confirmation,
            needs_approval: self.needs_approval,
            referral_store_id: self.referral_store_id,
            shipper_store_id: self.shipper_store_id,
            stock_store_id: self.stock_store_id,
            backorder: self.backorder,
            buyer_handle: self.buyer_handle,
            sale_id: self.sale_id,
            reason: self.reason,
            note: self.note,
            pay_by: self.pay_by,
            accept_by: self.accept_by,
            accepted_at: self.accepted_at,
            dispute_id: self.dispute_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub fn insert(conn: &mut AnyConnection, o: &Order) -> QueryResult<()> {
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(&o.id),
            orders::store_id.eq(&o.store_id),
            orders::product_id.eq(&o.product_id),
            orders::quantity.eq(o.quantity),
            orders::unit_price.eq(o.unit_price.amount),
            orders::discount.eq(o.discount.amount),
            orders::amount.eq(o.amount.amount),
            orders::currency.eq(o.amount.currency),
            orders::status.eq(o.status),
            orders::needs_confirmation.eq(o.needs_confirmation),
            orders::needs_approval.eq(o.needs_approval),
            orders::referral_store_id.eq(o.referral_store_id.as_ref()),
            orders::shipper_store_id.eq(o.shipper_store_id.as_ref()),
            orders::stock_store_id.eq(o.stock_store_id.as_ref()),
            orders::backorder.eq(o.backorder),
            orders::buyer_handle.eq(&o.buyer_handle),
            orders::sale_id.eq(o.sale_id.as_ref()),
            orders::reason.eq(o.reason.as_deref()),
            orders::note.eq(o.note.as_deref()),
            orders::pay_by.eq(o.pay_by),
            orders::accept_by.eq(o.accept_by),
            orders::accepted_at.eq(o.accepted_at),
            orders::created_at.eq(o.created_at),
            orders::updated_at.eq(o.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut AnyConnection, id: &OrderId) -> QueryResult<Option<Order>> {
    orders::table
        .filter(orders::id.eq(id))
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?
        .map(OrderRow::into_order)
        .transpose()
}

/// Where the order's stock was taken (and who ships it under union fulfilment), when it
/// is taken at the move to `awaiting_payment`.
pub fn set_stock(
    conn: &mut AnyConnection,
    id: &OrderId,
    stock_store: &StoreId,
    shipper: Option<&StoreId>,
) -> QueryResult<()> {
    diesel::update(orders::table.filter(orders::id.eq(id)))
        .set((orders::stock_store_id.eq(stock_store), orders::shipper_store_id.eq(shipper)))
        .execute(conn)?;
    Ok(())
}

pub fn set_pay_by(conn: &mut AnyConnection, id: &OrderId, pay_by: Timestamp) -> QueryResult<()> {
    diesel::update(orders::table.filter(orders::id.eq(id))).set(orders::pay_by.eq(pay_by)).execute(conn)?;
    Ok(())
}

/// Units of `product` that orders awaiting payment hold at `stock_store`'s offer (read
/// through `orders_product_status`; the unpaid orders of one product are few, since they
/// expire).
pub fn unpaid_held(conn: &mut AnyConnection, stock_store: &StoreId, product: &ProductId) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        units: i64,
    }
    let held: Held = diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS units FROM orders \
         WHERE product_id = $1 AND status = 'awaiting_payment' AND stock_store_id = $2",
    )
    .bind::<diesel::sql_types::Text, _>(product)
    .bind::<diesel::sql_types::Text, _>(stock_store)
    .get_result(conn)?;
    Ok(held.units)
}

/// Moves the order from `from` to `to`; `false` when another request moved it first.
pub fn move_status(
    conn: &mut AnyConnection,
    id: &OrderId,
    from: OrderStatus,
    to: OrderStatus,
    reason: Option<&str>,
) -> QueryResult<bool> {
    let target = orders::table.filter(orders::id.eq(id)).filter(orders::status.eq(from));
    let n = match reason {
        Some(r) => diesel::update(target)
            .set((orders::status.eq(to), orders::reason.eq(r), orders::updated_at.eq(now())))
            .execute(conn)?,
        None => diesel::update(target).set((orders::status.eq(to), orders::updated_at.eq(now()))).execute(conn)?,
    };
    Ok(n == 1)
}

/// The end of the order's acceptance window, set as it is delivered.
pub fn set_accept_by(conn: &mut AnyConnection, id: &OrderId, at: Timestamp) -> QueryResult<()> {
    diesel::update(orders::table.filter(orders::id.eq(id))).set(orders::accept_by.eq(at)).execute(conn)?;
    Ok(())
}

/// Records the acceptance of a delivered order once: `false` when it is not delivered or
/// was accepted already (by the buyer, or by another copy's sweep).
pub fn mark_accepted(conn: &mut AnyConnection, id: &OrderId, at: Timestamp) -> QueryResult<bool> {
    let n = diesel::update(
        orders::table
            .filter(orders::id.eq(id))
            .filter(orders::status.eq(OrderStatus::Delivered))
            .filter(orders::accepted_at.is_null()),
    )
    .set((orders::accepted_at.eq(at), orders::updated_at.eq(now())))
    .execute(conn)?;
    Ok(n == 1)
}

/// The buyer disputes the order: from `from`, and only while nobody accepted it (the
/// window's sweep writes the same row). `false` when that no longer holds.
pub fn mark_disputed(
    conn: &mut AnyConnection,
    id: &OrderId,
    from: OrderStatus,
    dispute: &DisputeId,
) -> QueryResult<bool> {
    let n = diesel::update(
        orders::table.filter(orders::id.eq(id)).filter(orders::status.eq(from)).filter(orders::accepted_at.is_null()),
    )
    .set((orders::status.eq(OrderStatus::Disputed), orders::dispute_id.eq(dispute), orders::updated_at.eq(now())))
    .execute(conn)?;
    Ok(n == 1)
}

/// Delivered orders nobody accepted whose window ended at `at` or before, oldest first.
pub fn acceptance_due(conn: &mut AnyConnection, at: Timestamp, limit: i64) -> QueryResult<Vec<OrderId>> {
    orders::table
        .filter(orders::status.eq(OrderStatus::Delivered))
        .filter(orders::accepted_at.is_null())
        .filter(orders::accept_by.le(at))
        .order(orders::accept_by.asc())
        .limit(limit)
        .select(orders::id)
        .load(conn)
}

pub fn set_note(conn: &mut AnyConnection, id: &OrderId, note: &str) -> QueryResult<()> {
    diesel::update(orders::table.filter(orders::id.eq(id)))
        .set((orders::note.eq(note), orders::updated_at.eq(now())))
        .execute(conn)?;
    Ok(())
}

/// The seller's confirmed price, before payment is asked for.
pub fn set_price(conn: &mut AnyConnection, id: &OrderId, unit_price: Money, amount: Money) -> QueryResult<()> {
    diesel::update(orders::table.filter(orders::id.eq(id)))
        .set((orders::unit_price.eq(unit_price.amount), orders::amount.eq(amount.amount)))
        .execute(conn)?;
    Ok(())
}

pub fn clear_sale(conn: &mut AnyConnection, id: &OrderId) -> QueryResult<()> {
    diesel::update(orders::table.filter(orders::id.eq(id)))
        .set(orders::sale_id.eq(None::<crate::sales::SaleId>))
        .execute(conn)?;
    Ok(())
}

/// Orders newest first: of the stores a seller owns (of every store for an operator),
/// optionally of one store and in one status.
pub fn listed(
    conn: &mut AnyConnection,
    seller: Option<&SellerId>,
    store: Option<&StoreId>,
    status: Option<OrderStatus>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Order>> {
    let mut q = orders::table
        .inner_join(stores::table)
        .select(OrderRow::as_select())
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(limit)
        .offset(offset)
        .into_boxed();
    if let Some(s) = seller {
        q = q.filter(stores::seller_id.eq(s));
    }
    if let Some(s) = store {
        q = q.filter(orders::store_id.eq(s));
    }
    if let Some(s) = status {
        q = q.filter(orders::status.eq(s));
    }
    q.load(conn)?.into_iter().map(OrderRow::into_order).collect()
}

/// One store's orders, newest first.
pub fn for_store(conn: &mut AnyConnection, store: &StoreId, limit: i64, offset: i64) -> QueryResult<Vec<Order>> {
    orders::table
        .filter(orders::store_id.eq(store))
        .select(OrderRow::as_select())
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?
        .into_iter()
        .map(OrderRow::into_order)
        .collect()
}

/// Orders of the manufacturer's products waiting for its approval.
pub fn awaiting_approval(conn: &mut AnyConnection, products: &[ProductId], limit: i64) -> QueryResult<Vec<Order>> {
    orders::table
        .filter(orders::product_id.eq_any(products))
        .filter(orders::status.eq(OrderStatus::AwaitingApproval))
        .select(OrderRow::as_select())
        .order(orders::created_at.asc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(OrderRow::into_order)
        .collect()
}

// ---- the buyer's sealed contact

pub fn insert_contact(conn: &mut AnyConnection, order: &OrderId, sealed: &Sealed) -> QueryResult<()> {
    diesel::insert_into(order_contacts::table)
        .values((
            order_contacts::order_id.eq(order),
            order_contacts::key_id.eq(&sealed.key_id),
            order_contacts::sealed.eq(&sealed.bytes),
            order_contacts::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn contact(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<Option<Sealed>> {
    let row: Option<(String, Vec<u8>)> = order_contacts::table
        .filter(order_contacts::order_id.eq(order))
        .select((order_contacts::key_id, order_contacts::sealed))
        .first(conn)
        .optional()?;
    Ok(row.map(|(key_id, bytes)| Sealed { key_id, bytes }))
}

/// Shreds the contact: the sealed copy in the table, and the payloads of buyer mails
/// already sent (a mail still pending keeps its copy until it is sent).
pub fn delete_contact(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<()> {
    diesel::delete(order_contacts::table.filter(order_contacts::order_id.eq(order))).execute(conn)?;
    use shared::schema::outbox;
    diesel::update(
        outbox::table
            .filter(outbox::destination.eq(shared::mail::DESTINATION))
            .filter(outbox::ordering_key.eq(buyer_mail_key(order)))
            .filter(outbox::status.eq(shared::outbox::MessageStatus::Delivered)),
    )
    .set(outbox::payload.eq("{}"))
    .execute(conn)?;
    Ok(())
}

/// Blanks the payload of every buyer mail already sent: its sealed contact has done its
/// work. The mails queued with an order's last step are caught here after they are sent.
pub fn redact_sent_buyer_mail(conn: &mut AnyConnection) -> QueryResult<usize> {
    use shared::schema::outbox;
    diesel::update(
        outbox::table
            .filter(outbox::destination.eq(shared::mail::DESTINATION))
            .filter(outbox::ordering_key.like("buyer/%"))
            .filter(outbox::status.eq(shared::outbox::MessageStatus::Delivered))
            .filter(outbox::payload.ne("{}")),
    )
    .set(outbox::payload.eq("{}"))
    .execute(conn)
}

/// The outbox ordering key of the mails to an order's buyer.
pub fn buyer_mail_key(order: &OrderId) -> String {
    format!("buyer/{order}")
}

// ---- the message relay

#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct RelayedMessage {
    pub seq: i64,
    pub author: String,
    pub body: String,
    pub created_at: Timestamp,
}

pub fn add_message(conn: &mut AnyConnection, order: &OrderId, author: &str, body: &str) -> QueryResult<RelayedMessage> {
    let t = now();
    diesel::insert_into(order_messages::table)
        .values((
            order_messages::order_id.eq(order),
            order_messages::author.eq(author),
            order_messages::body.eq(body),
            order_messages::created_at.eq(t),
        ))
        .execute(conn)?;
    // Our own insert is the newest row of this order that our transaction can see.
    let seq: i64 = order_messages::table
        .filter(order_messages::order_id.eq(order))
        .select(diesel::dsl::max(order_messages::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or_default();
    Ok(RelayedMessage { seq, author: author.to_string(), body: body.to_string(), created_at: t })
}

pub fn messages(conn: &mut AnyConnection, order: &OrderId, after: i64, limit: i64) -> QueryResult<Vec<RelayedMessage>> {
    order_messages::table
        .filter(order_messages::order_id.eq(order))
        .filter(order_messages::seq.gt(after))
        .order(order_messages::seq.asc())
        .limit(limit)
        .select((order_messages::seq, order_messages::author, order_messages::body, order_messages::created_at))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use shared::db::{Db, DbError};
    use shared::idempotency::{self, Begin, Json};
    use shared::time::now;

    #[test]
    fn the_broker_keeps_its_keys_in_the_shared_table() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("b.db").to_str().unwrap(), 2, crate::MIGRATIONS).unwrap();
        let begin = |fp: &str| {
            let fp = fp.to_string();
            db.write_blocking(|c| idempotency::begin::<Json<u8>>(c, "orders", "h1", &fp, 60).map_err(DbError::from))
                .unwrap()
        };
        let Ok(Begin::Claimed(claim)) = begin("r1") else { panic!("a new key is claimed") };
        db.write_blocking(|c| idempotency::release(c, &claim).map_err(DbError::from)).unwrap();
        let Ok(Begin::Claimed(claim)) = begin("r2") else { panic!("a released key is new again") };
        db.write_blocking(|c| idempotency::complete(c, &claim, &Json(7u8)).map_err(DbError::from)).unwrap();
        assert!(matches!(begin("r2"), Ok(Begin::Replay { stored: Json(7), .. })));
        let purged = |cutoff| db.write_blocking(|c| idempotency::purge(c, cutoff).map_err(DbError::from)).unwrap();
        assert_eq!(purged(now() - chrono::Duration::days(30)), 0, "young keys stay");
        assert_eq!(purged(now() + chrono::Duration::seconds(1)), 1);
    }
}
