//! What happens inside the transaction of each order step: placement (checks, stock,
//! price, the sale, the sealed contact) and every later move of the state machine with
//! the messages, mails, stock and points it causes. Each function runs in the caller's
//! transaction, so a step and its consequences commit together or not at all.

use super::domain::{self, Effects, Event, HoldLimits, HoldRefusal, KeyRefusal, Notice, OrderStatus, Step};
use super::notices::{self, Audience, Summary};
use super::store::{self, Order};
use crate::catalog::{self, stock::Movement};
use crate::catalog::{Product, Store};
use crate::error::{BrokerError, Code, Result};
use crate::orders::settings::OrderSettings;
use serde::{Deserialize, Serialize};
use shared::config::ServiceName;
use shared::crypto::Sealer;
use shared::db::AnyConnection;
use shared::idempotency::{self, Begin, Json, Refusal};
use shared::ids::{BuyerId, ManufacturerId, OrderId, ProductId, StoreId};
use shared::mail::{Mail, Recipient};
use shared::messages::Message;
use shared::money::Money;
use shared::rules::Unsellable;
use shared::time::now;

/// An order as the buyer asked for it, already parsed.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub quantity: i64,
    /// A verified referral token's content; it earns only if it is for this order.
    pub referral: Option<crate::referrals::domain::Referral>,
    pub expected_price: Option<Money>,
    /// A valid mail address the buyer gave for this order only.
    pub contact: Option<String>,
    /// Collection points to spend (requires `buyer`).
    pub points: i64,
    /// A logged-in buyer: for group prices and points, never stored on the order.
    pub buyer: Option<BuyerId>,
    /// The currency points were funded in: an order in another may not spend them.
    pub points_currency: shared::money::Currency,
}

/// The outcome of a placement: the order, or a refusal to commit (the unmet demand it
/// records must survive the 409).
pub enum Placement {
    Placed { order: Box<Order>, store: Box<Store> },
    Refused(BrokerError),
}

/// The answer to a placed order without its capability: what an `Idempotency-Key`
/// answers again (with a capability signed afresh: capabilities are never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub order_id: OrderId,
    pub amount: Money,
    pub unit_price: Money,
    pub quantity: i64,
    pub product_id: ProductId,
    pub status: OrderStatus,
    pub store_id: StoreId,
    pub store_name: String,
    /// Settlement's deadline for paying (absent while the order waits).
    pub pay_by: Option<shared::time::Timestamp>,
}

impl Receipt {
    fn of(order: &Order, store: &Store) -> Receipt {
        Receipt {
            order_id: order.id.clone(),
            amount: order.amount,
            unit_price: order.unit_price,
            quantity: order.quantity,
            product_id: order.product_id.clone(),
            status: order.status,
            store_id: store.id.clone(),
            store_name: store.name.clone(),
            pay_by: order.pay_by,
        }
    }
}

/// A request's `Idempotency-Key` as the broker keeps it (see `domain::OrderKey`).
#[derive(Debug, Clone)]
pub struct KeyHashes {
    pub key_hash: String,
    pub request_hash: String,
}

/// The scope of order keys among the broker's idempotency keys.
const KEY_SCOPE: &str = "orders";
/// A claim lives only inside the order's transaction, which no other request sees before
/// it commits; the lock is a formality.
const KEY_LOCK_SECS: i64 = 60;

/// What a key keeps of its order: the id and the status it was placed with. Never the
/// capability, nor anything of the buyer's (answers kept before were receipts, which hold
/// these two fields among others and read the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptOrder {
    pub order_id: OrderId,
    pub status: OrderStatus,
}

/// The outcome of placing under an optional idempotency key.
pub enum Keyed {
    Placed(Receipt),
    /// The key's order, placed by an earlier request with the same body moments ago (within
    /// `order_key_replay_secs`): answered again with a fresh capability.
    Replayed(Receipt),
    /// The key's order, placed longer ago: only its id and current status are answered,
    /// so an old key is no capability.
    PlacedEarlier {
        order_id: OrderId,
        status: OrderStatus,
    },
    /// No order; what the refusal recorded is committed, the key is not kept.
    Refused(BrokerError),
    /// The key is held by a request this one cannot see yet.
    Busy,
}

/// Places an order once per key: the key is claimed first and completed with the order in
/// the same transaction, so there is never an order without its key nor a key without its
/// order, and a concurrent request with the same key waits for this one and answers with
/// its order. Refusals are not kept: they place nothing, and the same request may succeed
/// later (stock back, a price confirmed).
pub fn place_keyed(
    conn: &mut AnyConnection,
    key: Option<&KeyHashes>,
    new: NewOrder,
    settings: &OrderSettings,
    sealer: &Sealer,
) -> Result<Keyed> {
    let claim = match key {
        None => None,
        Some(k) => {
            match idempotency::begin::<Json<KeptOrder>>(conn, KEY_SCOPE, &k.key_hash, &k.request_hash, KEY_LOCK_SECS)? {
                Ok(Begin::Claimed(claim)) => Some(claim),
                Ok(Begin::Replay { stored: Json(kept), first_seen }) => {
                    return replay(conn, kept, first_seen, settings)
                }
                Err(Refusal::Reused) => return Err(KeyRefusal::Reused.into()),
                Err(_) => return Ok(Keyed::Busy),
            }
        }
    };
    match place(conn, new, settings, sealer)? {
        Placement::Placed { order, store } => {
            if let Some(claim) = &claim {
                idempotency::complete(
                    conn,
                    claim,
                    &Json(KeptOrder { order_id: order.id.clone(), status: order.status }),
                )?;
            }
            Ok(Keyed::Placed(Receipt::of(&order, &store)))
        }
        Placement::Refused(e) => {
            if let Some(claim) = &claim {
                idempotency::release(conn, claim)?;
            }
            Ok(Keyed::Refused(e))
        }
    }
}

/// The answer a key gives again: within the replay window the order as placed (its status
/// then), with a capability the caller signs afresh; later its id and status now.
fn replay(
    conn: &mut AnyConnection,
    kept: KeptOrder,
    first_seen: shared::time::Timestamp,
    settings: &OrderSettings,
) -> Result<Keyed> {
    let order = store::get(conn, &kept.order_id)?;
    if !settings.replays_capability(first_seen, now()) {
        let status = order.map_or(kept.status, |o| o.status);
        return Ok(Keyed::PlacedEarlier { order_id: kept.order_id, status });
    }
    let order =
        order.ok_or_else(|| shared::Error::Internal(format!("the order of a key is gone: {}", kept.order_id)))?;
    let store = catalog::stores::store(conn, &order.store_id)?.ok_or(BrokerError::NotFound("store"))?;
    Ok(Keyed::Replayed(Receipt { status: kept.status, ..Receipt::of(&order, &store) }))
}

/// Places an order. See DESIGN.md "Decisions at the boundaries" for the referral, price
/// drift and union fulfilment rules.
pub fn place(conn: &mut AnyConnection, new: NewOrder, settings: &OrderSettings, sealer: &Sealer) -> Result<Placement> {
    let store = catalog::stores::store(conn, &new.store_id)?.ok_or(BrokerError::NotFound("store"))?;
    let product = catalog::products::product(conn, &new.product_id)?.ok_or(BrokerError::NotFound("product"))?;
    let quantity = domain::check_quantity(new.quantity, settings.order_max_quantity)
        .map_err(|d| BrokerError::refused(Code::InvalidQuantity, d))?;

    if store.suspended {
        return refuse(conn, &store, &product, quantity, Unsellable::StoreSuspended);
    }
    // Where the goods come from, and at what price.
    let (offer_price, needs_confirmation, stock_store, shipper, backorder) = if store.is_manufacturer_store() {
        match catalog::redirects::backorder_offer(conn, &product.id)?.filter(|b| b.store_id == store.id) {
            // Made to order: no shelf stock to reserve.
            Some(b) => (b.price, false, None, None, true),
            None => return refuse(conn, &store, &product, quantity, Unsellable::NonSellable),
        }
    } else {
        let offer = catalog::offers::find_offer(conn, &store.id, &product.id)?;
        let verdict = shared::rules::check(offer.as_ref().map(|o| o.rule()).as_ref(), quantity);
        let offer = match (verdict, offer) {
            (Err(Unsellable::NonSellable), _) | (_, None) => {
                return refuse(conn, &store, &product, quantity, Unsellable::NonSellable)
            }
            (_, Some(o)) => o,
        };
        let union_fulfilment = offer.union_fulfilment && store.union_id.is_some();
        let waits = offer.requires_price_confirmation || product.requires_approval;
        if waits {
            // Waiting orders hold no stock: it is taken when the order becomes payable.
            // Still, an order nobody could ship is refused now, with its alternatives.
            let available = verdict.is_ok()
                || (union_fulfilment
                    && catalog::redirects::alternatives(conn, &store.id, &product.id, quantity)?
                        .iter()
                        .any(|a| a.same_union));
            if !available {
                return refuse(conn, &store, &product, quantity, Unsellable::OutOfStock);
            }
            // What one order may ask for does not wait: it is a property of the order.
            if let Err(HoldRefusal::OrderTooLarge { max }) =
                domain::check_hold(&settings.hold_limits(), offer.stock, 0, quantity)
            {
                return Err(BrokerError::Held(HoldRefusal::OrderTooLarge { max }));
            }
            (offer.current_price(), offer.requires_price_confirmation, None, None, false)
        } else {
            let limits = settings.hold_limits();
            match take_stock(conn, &store, &product.id, quantity, verdict.is_ok(), union_fulfilment, Some(&limits))? {
                Taken::At { stock_store, shipper } => (offer.current_price(), false, Some(stock_store), shipper, false),
                Taken::Short => return refuse(conn, &store, &product, quantity, Unsellable::OutOfStock),
                // Nothing is recorded: the refusal is about holds, not about demand.
                Taken::Limited(why) => return Err(BrokerError::Held(why)),
            }
        }
    };

    let unit_price = match &new.buyer {
        Some(b) => {
            let equipment = crate::buyers::store::equipment(conn, b)?;
            let points = crate::buyers::store::profile(conn, b)?.map(|p| p.points).unwrap_or(0);
            let groups = crate::buyers::store::group_prices(conn, &store.id, &product.id)?;
            crate::buyers::domain::user_price(offer_price, &groups, &equipment, points)
        }
        None => offer_price,
    };
    if new.expected_price.is_some_and(|e| e != unit_price) {
        return Err(BrokerError::PriceChanged { current: unit_price });
    }
    if new.points > 0 && unit_price.currency != new.points_currency {
        return Err(BrokerError::refused(
            Code::PointsCurrencyMismatch,
            format!("points are worth {} only; this order is in {}", new.points_currency, unit_price.currency),
        ));
    }
    let priced = domain::price(unit_price, quantity, new.points, settings.point_value_minor, settings.ceiling)?;

    // Only now that the order will be placed: a refused order does not use up the token.
    let referral_store_id = crate::referrals::earn(conn, new.referral.as_ref(), &store.id, &product.id)?;
    let id = OrderId::generate();
    let t = now();
    let sale = crate::sales::register(conn, &product, &store, quantity, priced.amount, t)?;
    let status = domain::initial_status(needs_confirmation, product.requires_approval);
    let pay_by = (status == OrderStatus::AwaitingPayment).then(|| settings.pay_by(t, false));
    let order = Order {
        id: id.clone(),
        store_id: store.id.clone(),
        product_id: product.id.clone(),
        quantity,
        unit_price: priced.unit_price,
        discount: priced.discount,
        amount: priced.amount,
        status,
        needs_confirmation,
        needs_approval: product.requires_approval,
        referral_store_id,
        shipper_store_id: shipper,
        stock_store_id: stock_store,
        backorder,
        buyer_handle: domain::buyer_handle(),
        sale_id: Some(sale),
        reason: None,
        note: None,
        pay_by,
        accept_by: None,
        accepted_at: None,
        dispute_id: None,
        created_at: t,
        updated_at: t,
    };
    store::insert(conn, &order)?;
    // What the seller will be shown: the public offer price, never the group price.
    let public = super::public_price::compute(offer_price, priced.unit_price, quantity)
        .ok_or_else(|| BrokerError::common(shared::error::Code::InvalidAmount, "the order's value is out of range"))?;
    super::public_price::put(conn, &id, &public)?;
    if priced.points_used > 0 {
        let buyer = new.buyer.as_ref().ok_or(shared::Error::Unauthorized)?;
        if !crate::buyers::store::spend_points(conn, buyer, &id, priced.points_used)? {
            return Err(BrokerError::refused(Code::InsufficientPoints, "the account has fewer points than that"));
        }
    }
    if let Some(contact) = &new.contact {
        store::insert_contact(conn, &id, &sealer.seal(contact.as_bytes(), id.as_str().as_bytes()))?;
    }

    let ctx = Context { settings, store: &store, product: &product };
    match status {
        OrderStatus::AwaitingConfirmation => mail(conn, &ctx, &order, Notice::ConfirmationNeeded)?,
        OrderStatus::AwaitingApproval => mail(conn, &ctx, &order, Notice::ApprovalNeeded)?,
        _ => {
            mail(conn, &ctx, &order, Notice::Placed)?;
            announce_payable(conn, &ctx, &order)?;
        }
    }
    Ok(Placement::Placed { order: Box::new(order), store: Box::new(store) })
}

/// Where an order's stock was taken.
enum Taken {
    At {
        stock_store: StoreId,
        shipper: Option<StoreId>,
    },
    /// No offer that may ship has the units.
    Short,
    /// Some offer had them, but unpaid orders may not hold that much of it.
    Limited(HoldRefusal),
}

/// Takes `qty` for an order that becomes payable: from the store's own offer (when
/// `own_has_it`), else under union fulfilment from the first store of the same union that
/// can give it (the catalog ranks same union first, then region, price, stock), which then
/// ships. With `limits` (an order payable at once: anonymous), an offer is taken from
/// only while unpaid orders stay within them.
fn take_stock(
    conn: &mut AnyConnection,
    store: &Store,
    product: &ProductId,
    qty: i64,
    own_has_it: bool,
    union_fulfilment: bool,
    limits: Option<&HoldLimits>,
) -> Result<Taken> {
    let mut limited = None;
    if own_has_it {
        match hold_at(conn, &store.id, product, qty, limits)? {
            Ok(true) => return Ok(Taken::At { stock_store: store.id.clone(), shipper: None }),
            Ok(false) => {}
            // The store's own shelf is held: another store would not free it.
            Err(why) => return Ok(Taken::Limited(why)),
        }
    }
    if union_fulfilment {
        for alt in catalog::redirects::alternatives(conn, &store.id, product, qty)?.into_iter().filter(|a| a.same_union)
        {
            match hold_at(conn, &alt.store_id, product, qty, limits)? {
                Ok(true) => return Ok(Taken::At { stock_store: alt.store_id.clone(), shipper: Some(alt.store_id) }),
                Ok(false) => {}
                Err(why) => limited = limited.or(Some(why)),
            }
        }
    }
    Ok(limited.map_or(Taken::Short, Taken::Limited))
}

/// Takes `qty` from one offer: `Ok(false)` when it has too few, `Err` when `limits` forbid
/// the hold. A refused hold leaves no trace (it runs in a savepoint); the check reads the
/// holds under the offer's row lock, which the stock update took, so concurrent orders on
/// PostgreSQL see each other's holds.
fn hold_at(
    conn: &mut AnyConnection,
    stock_store: &StoreId,
    product: &ProductId,
    qty: i64,
    limits: Option<&HoldLimits>,
) -> Result<Result<bool, HoldRefusal>> {
    enum Undo {
        Refused(HoldRefusal),
        Db(diesel::result::Error),
    }
    impl From<diesel::result::Error> for Undo {
        fn from(e: diesel::result::Error) -> Self {
            Undo::Db(e)
        }
    }
    let held = diesel::Connection::transaction::<bool, Undo, _>(conn, |c| {
        let Some(shelf) = catalog::stock::move_stock(c, stock_store, product, -qty, Movement::Order, None, None)?
        else {
            return Ok(false);
        };
        if let Some(limits) = limits {
            let unpaid = store::unpaid_held(c, stock_store, product)?;
            domain::check_hold(limits, shelf + qty, unpaid, qty).map_err(Undo::Refused)?;
        }
        Ok(true)
    });
    match held {
        Ok(taken) => Ok(Ok(taken)),
        Err(Undo::Refused(why)) => Ok(Err(why)),
        Err(Undo::Db(e)) => Err(e.into()),
    }
}

/// The 409 with alternatives, after recording the unmet demand and the redirects it
/// makes (the route gives each alternative its referral token).
fn refuse(conn: &mut AnyConnection, store: &Store, product: &Product, qty: i64, why: Unsellable) -> Result<Placement> {
    let alternatives = catalog::redirects::alternatives(conn, &store.id, &product.id, qty)?;
    let backorder = catalog::redirects::backorder_offer(conn, &product.id)?.filter(|b| b.store_id != store.id);
    crate::stores::store::record_selection(conn, &store.id, &product.id, qty, why.code())?;
    let to: Vec<StoreId> = alternatives.iter().map(|a| a.store_id.clone()).collect();
    catalog::redirects::record_redirects(conn, &store.id, &product.id, &to)?;
    let detail = match why {
        Unsellable::NonSellable => "this store cannot sell this product",
        Unsellable::OutOfStock => "this store has too little stock",
        Unsellable::StoreSuspended => "this store is suspended and takes no orders",
    };
    Ok(Placement::Refused(BrokerError::Unsellable {
        why,
        detail: detail.into(),
        alternatives: serde_json::to_value(&alternatives).unwrap_or_default(),
        backorder: serde_json::to_value(&backorder).unwrap_or_default(),
    }))
}

/// What the steps of one order need to know besides the order itself.
pub struct Context<'a> {
    pub settings: &'a OrderSettings,
    pub store: &'a Store,
    pub product: &'a Product,
}

/// Loads the store and product of an order, for authorisation and mail.
pub fn surroundings(conn: &mut AnyConnection, order: &Order) -> Result<(Store, Product)> {
    let store = catalog::stores::store(conn, &order.store_id)?.ok_or(BrokerError::NotFound("store"))?;
    let product = catalog::products::product(conn, &order.product_id)?.ok_or(BrokerError::NotFound("product"))?;
    Ok((store, product))
}

/// Applies `event` to the order: the state machine decides, then the move's effects run
/// in the same transaction. Returns the order as it is afterwards and what happened.
pub fn apply(
    conn: &mut AnyConnection,
    settings: &OrderSettings,
    id: &OrderId,
    event: Event,
    reason: Option<&str>,
) -> Result<(Order, Step)> {
    let order = store::get(conn, id)?.ok_or(BrokerError::NotFound("order"))?;
    let step = domain::step(order.status, event, order.needs_approval)
        .map_err(|f| BrokerError::InvalidTransition { current: f.current.as_str() })?;
    let Step::To(mut next) = step else { return Ok((order, step)) };
    let (store_row, product) = surroundings(conn, &order)?;
    let mut reason = reason;
    if next == OrderStatus::AwaitingPayment && !take_stock_when_payable(conn, &order, &store_row)? {
        // The stock went while the order waited: it ends, and both sides are told.
        next = OrderStatus::Cancelled;
        reason = Some(Unsellable::OutOfStock.code());
    }
    if !store::move_status(conn, id, order.status, next, reason)? {
        // Another request moved it between our read and our write: the caller retries.
        return Err(BrokerError::refused(Code::OrderChanged, "the order changed meanwhile; try again"));
    }
    if next == OrderStatus::AwaitingPayment {
        store::set_pay_by(conn, id, settings.pay_by(now(), true))?;
    }
    if next == OrderStatus::Delivered {
        store::set_accept_by(conn, id, settings.accept_by(now()))?;
    }
    let ctx = Context { settings, store: &store_row, product: &product };
    let moved = store::get(conn, id)?.ok_or(BrokerError::NotFound("order"))?;
    run(conn, &ctx, &moved, order.status, domain::effects(order.status, next))?;
    Ok((moved, Step::To(next)))
}

/// An order that waited for confirmation or approval takes its stock as it becomes
/// payable (the unpaid-hold limits are for anonymous orders placed straight to payment;
/// this one was vetted by the store or the manufacturer). `false` when none is left.
fn take_stock_when_payable(conn: &mut AnyConnection, order: &Order, store_row: &Store) -> Result<bool> {
    if order.backorder || order.stock_store_id.is_some() {
        // Made to order, or placed before stock was taken this late: nothing to take.
        return Ok(true);
    }
    let offer = catalog::offers::find_offer(conn, &order.store_id, &order.product_id)?;
    let union_fulfilment = offer.as_ref().is_some_and(|o| o.union_fulfilment) && store_row.union_id.is_some();
    let sellable = offer.as_ref().is_some_and(|o| o.sellable);
    let taken = take_stock(conn, store_row, &order.product_id, order.quantity, sellable, union_fulfilment, None)?;
    match taken {
        Taken::At { stock_store, shipper } => {
            store::set_stock(conn, &order.id, &stock_store, shipper.as_ref())?;
            Ok(true)
        }
        Taken::Short | Taken::Limited(_) => Ok(false),
    }
}

fn run(conn: &mut AnyConnection, ctx: &Context, order: &Order, from: OrderStatus, e: Effects) -> Result<()> {
    let reason = || order.reason.clone().unwrap_or_else(|| "cancelled".into());
    if e.announce_payable {
        announce_payable(conn, ctx, order)?;
    }
    if e.tell_settlement_cancelled {
        let m = Message::OrderCancelled { order_id: order.id.clone(), reason: reason() };
        shared::outbox::send(conn, ServiceName::Broker, ServiceName::Settlement, m)?;
    }
    if e.ask_delivery_to_cancel {
        let m = Message::CancelRequested { order_id: order.id.clone(), reason: reason() };
        shared::outbox::send(conn, ServiceName::Broker, ServiceName::Delivery, m)?;
    }
    if e.release_stock {
        if let Some(s) = &order.stock_store_id {
            catalog::stock::release_stock(conn, s, &order.product_id, order.quantity)?;
        }
    }
    if e.unregister_sale {
        if let Some(sale) = &order.sale_id {
            crate::sales::unregister(conn, sale)?;
            store::clear_sale(conn, &order.id)?;
        }
    }
    if let Some(notice) = e.notice {
        mail(conn, ctx, order, notice)?;
    }
    if e.close {
        // Mails already queued carry their own sealed copy; the stored one goes now.
        crate::buyers::store::settle_points(conn, &order.id, e.return_points)?;
        store::delete_contact(conn, &order.id)?;
    }
    tracing::debug!(order = %order.id, from = %from, to = %order.status, "order moved");
    Ok(())
}

/// The price is final: settlement learns what to collect and for whom, delivery what to
/// move once paid.
fn announce_payable(conn: &mut AnyConnection, ctx: &Context, order: &Order) -> Result<()> {
    let public = super::public_price::of(conn, order)?;
    shared::outbox::send(
        conn,
        ServiceName::Broker,
        ServiceName::Settlement,
        Message::OrderPayable {
            order_id: order.id.clone(),
            amount: order.amount,
            store_id: order.store_id.clone(),
            product_id: order.product_id.clone(),
            referral_store_id: order.referral_store_id.clone(),
            shipper_store_id: order.shipper_store_id.clone(),
            pay_by: order.pay_by,
            points_discount: (order.discount.amount > 0).then_some(order.discount),
            public_amount: Some(public.amount),
            group_discount: Some(public.group_discount),
        },
    )?;
    shared::outbox::send(
        conn,
        ServiceName::Broker,
        ServiceName::Delivery,
        Message::ShipmentRequested {
            order_id: order.id.clone(),
            product_id: order.product_id.clone(),
            quantity: order.quantity,
            store_id: order.store_id.clone(),
            shipper_store_id: order.shipper_store_id.clone(),
            manufacturer_id: ctx.product.manufacturer_id.clone(),
            backorder: order.backorder,
        },
    )?;
    Ok(())
}

fn summary(ctx: &Context, order: &Order) -> Summary {
    Summary {
        order_id: order.id.clone(),
        placed_at: order.created_at,
        product_name: ctx.product.name.clone(),
        quantity: order.quantity,
        amount: order.amount,
        store_name: ctx.store.name.clone(),
        delivery_days: if order.backorder { ctx.product.backorder_days as i64 } else { ctx.settings.delivery_days },
        reason: order.reason.clone(),
    }
}

/// Mails `notice` about the order outside a status move (a dispute's steps).
pub fn notify(conn: &mut AnyConnection, settings: &OrderSettings, id: &OrderId, notice: Notice) -> Result<()> {
    let order = store::get(conn, id)?.ok_or(BrokerError::NotFound("order"))?;
    let (store_row, product) = surroundings(conn, &order)?;
    mail(conn, &Context { settings, store: &store_row, product: &product }, &order, notice)
}

fn mail(conn: &mut AnyConnection, ctx: &Context, order: &Order, notice: Notice) -> Result<()> {
    for to in notices::audiences(notice) {
        mail_to(conn, ctx, order, notice, *to)?;
    }
    Ok(())
}

fn mail_to(conn: &mut AnyConnection, ctx: &Context, order: &Order, notice: Notice, to: Audience) -> Result<()> {
    let (recipient, key) = match to {
        Audience::Seller if !ctx.store.contact_email.is_empty() => {
            (Recipient::Address { address: ctx.store.contact_email.clone() }, format!("store/{}", order.id))
        }
        Audience::Seller => return Ok(()),
        Audience::Buyer => match store::contact(conn, &order.id)? {
            Some(sealed) => (Recipient::sealed(&sealed, order.id.as_str()), store::buyer_mail_key(&order.id)),
            None => return Ok(()),
        },
        Audience::Manufacturer => match &ctx.product.manufacturer_id {
            Some(m) => match manufacturer_email(conn, m)? {
                Some(address) => (Recipient::Address { address }, format!("manufacturer/{}", order.id)),
                None => return Ok(()),
            },
            None => return Ok(()),
        },
    };
    let mut s = summary(ctx, order);
    if to != Audience::Buyer {
        // The store and the manufacturer read the public price, never a group's or points.
        s.amount = super::public_price::of(conn, order)?.amount;
    }
    let (subject, body) = notices::compose(notice, to, &s);
    shared::mail::queue(conn, &key, &Mail { to: recipient, subject, body })?;
    Ok(())
}

fn manufacturer_email(conn: &mut AnyConnection, id: &ManufacturerId) -> Result<Option<String>> {
    use crate::schema::manufacturers;
    use diesel::prelude::*;
    Ok(manufacturers::table.filter(manufacturers::id.eq(&id)).select(manufacturers::email).first(conn).optional()?)
}

/// The seller confirms the price (optionally a new unit price) of an order waiting for it.
pub fn confirm(
    conn: &mut AnyConnection,
    settings: &OrderSettings,
    id: &OrderId,
    new_price: Option<Money>,
) -> Result<Order> {
    let order = store::get(conn, id)?.ok_or(BrokerError::NotFound("order"))?;
    if order.status != OrderStatus::AwaitingConfirmation {
        return Err(BrokerError::InvalidTransition { current: order.status.as_str() });
    }
    if let Some(unit) = new_price {
        let unit = settings.ceiling.admit(unit)?;
        if unit.currency != order.unit_price.currency {
            return Err(shared::money::MoneyError::CurrencyMismatch(order.unit_price.currency, unit.currency).into());
        }
        let too_large = shared::money::MoneyError::TooLarge { max: settings.ceiling.get() };
        let gross = settings.ceiling.bound(unit.checked_mul(order.quantity).map_err(|_| too_large)?)?.amount;
        let amount = Money::new(gross - order.discount.amount, unit.currency);
        if amount.amount < 1 {
            return Err(BrokerError::common(
                shared::error::Code::InvalidAmount,
                "the price is below the points discount",
            ));
        }
        store::set_price(conn, id, unit, amount)?;
        // The seller named one price for this order: it is the public price, no group's.
        let public = super::public_price::compute(unit, unit, order.quantity).ok_or_else(|| {
            BrokerError::common(shared::error::Code::InvalidAmount, "the order's value is out of range")
        })?;
        super::public_price::put(conn, id, &public)?;
        if let Some(sale) = &order.sale_id {
            crate::sales::revalue(conn, sale, amount)?;
        }
    }
    Ok(apply(conn, settings, id, Event::Confirm, None)?.0)
}
