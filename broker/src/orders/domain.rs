//! The order workflow as plain data: statuses, the events that move them, and what each
//! move causes. No storage, no HTTP: the store and the routes act on these decisions.

use crate::error::BrokerError;
use shared::money::{Ceiling, Money, MoneyError};

pub use client::broker::orders::OrderStatus;

/// How an order's note begins when settlement refused its payment (the store can no longer
/// sell the product): the buyer's view then offers the alternatives.
pub const PAYMENT_REFUSED: &str = "payment refused";

/// The first step a new order needs: most start at `awaiting_payment`.
pub fn initial_status(needs_confirmation: bool, needs_approval: bool) -> OrderStatus {
    if needs_confirmation {
        OrderStatus::AwaitingConfirmation
    } else if needs_approval {
        OrderStatus::AwaitingApproval
    } else {
        OrderStatus::AwaitingPayment
    }
}

/// Who acts on an order through the public routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Buyer,
    Seller,
    Manufacturer,
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The seller confirmed the price (possibly a new one).
    Confirm,
    /// The manufacturer approved the order.
    Approve,
    /// The manufacturer refused it.
    Refuse,
    /// The buyer or the seller asked to cancel.
    Cancel,
    // From the other services:
    Paid,
    PaymentRefused,
    /// Money went back to the buyer: all of it, or `partial`ly (the store keeps the rest).
    Refunded {
        partial: bool,
    },
    CancelDecided {
        accepted: bool,
    },
    Shipped,
    Delivered,
    /// Settlement released the escrow (after the acceptance).
    Released,
    /// Settlement's deadline for paying passed.
    Expired,
}

/// The outcome of an event in a given status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Move to this status.
    To(OrderStatus),
    /// Already applied or overtaken by a later event: nothing to do.
    Unchanged,
    /// A message arrived before the one it depends on: try again later.
    NotYet,
}

/// The state machine refuses this event in this status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the order is {current}; that is not possible now")]
pub struct Forbidden {
    pub current: OrderStatus,
}

/// The transition table. `needs_approval` decides where a confirmed order goes next.
pub fn step(current: OrderStatus, event: Event, needs_approval: bool) -> Result<Step, Forbidden> {
    use Event as E;
    use OrderStatus as S;
    let forbidden = Err(Forbidden { current });
    match (event, current) {
        (E::Confirm, S::AwaitingConfirmation) if needs_approval => Ok(Step::To(S::AwaitingApproval)),
        (E::Confirm, S::AwaitingConfirmation) => Ok(Step::To(S::AwaitingPayment)),
        (E::Confirm, _) => forbidden,

        (E::Approve, S::AwaitingApproval) => Ok(Step::To(S::AwaitingPayment)),
        (E::Refuse, S::AwaitingApproval) => Ok(Step::To(S::Cancelled)),
        (E::Approve | E::Refuse, _) => forbidden,

        (E::Cancel, S::AwaitingConfirmation | S::AwaitingApproval | S::AwaitingPayment) => Ok(Step::To(S::Cancelled)),
        // Paid: delivery decides, because goods may already be on their way.
        (E::Cancel, S::Paid) => Ok(Step::To(S::CancelRequested)),
        // Asking twice is answered like the first time.
        (E::Cancel, S::CancelRequested) => Ok(Step::Unchanged),
        (
            E::Cancel,
            S::Shipped
            | S::Delivered
            | S::Completed
            | S::Disputed
            | S::PartiallyRefunded
            | S::Refunded
            | S::Cancelled
            | S::Expired,
        ) => forbidden,

        (E::Paid, S::AwaitingPayment) => Ok(Step::To(S::Paid)),
        // Settlement never learns of an order before its price is final.
        (E::Paid, S::AwaitingConfirmation | S::AwaitingApproval) => Ok(Step::NotYet),
        // Settlement refuses payments for cancelled orders; a late duplicate changes nothing.
        (E::Paid, _) => Ok(Step::Unchanged),

        // The store can no longer sell it: the order ends and the buyer goes elsewhere.
        (E::PaymentRefused, S::AwaitingPayment) => Ok(Step::To(S::Cancelled)),
        (E::PaymentRefused, _) => Ok(Step::Unchanged),

        // After the goods were handed over: a dispute's decision, or a chargeback the
        // partner reported after release.
        (E::Refunded { partial: true }, S::Delivered | S::Completed | S::Disputed) => {
            Ok(Step::To(S::PartiallyRefunded))
        }
        (E::Refunded { partial: false }, S::Delivered | S::Completed | S::Disputed | S::PartiallyRefunded) => {
            Ok(Step::To(S::Refunded))
        }
        (E::Refunded { .. }, S::PartiallyRefunded | S::Refunded | S::Cancelled | S::Expired) => Ok(Step::Unchanged),
        // Before that (a cancellation delivery accepted, an abandoned shipment) the order
        // ends there.
        (E::Refunded { .. }, _) => Ok(Step::To(S::Cancelled)),

        (E::CancelDecided { accepted: true }, S::CancelRequested) => Ok(Step::To(S::Cancelled)),
        (E::CancelDecided { accepted: false }, S::CancelRequested) => Ok(Step::To(S::Paid)),
        (E::CancelDecided { .. }, S::AwaitingPayment) => Ok(Step::NotYet),
        (E::CancelDecided { .. }, _) => Ok(Step::Unchanged),

        (E::Shipped, S::Paid | S::CancelRequested) => Ok(Step::To(S::Shipped)),
        (E::Shipped, S::AwaitingConfirmation | S::AwaitingApproval | S::AwaitingPayment) => Ok(Step::NotYet),
        (E::Shipped, _) => Ok(Step::Unchanged),

        // Delivery sends `order_shipped` before `order_delivered` on one ordering key, but
        // `order_paid` comes from settlement and may still be on its way.
        (E::Delivered, S::Paid | S::CancelRequested | S::Shipped) => Ok(Step::To(S::Delivered)),
        (E::Delivered, S::AwaitingConfirmation | S::AwaitingApproval | S::AwaitingPayment) => Ok(Step::NotYet),
        (E::Delivered, _) => Ok(Step::Unchanged),

        // Settlement alone decides that time is up, and only for orders it was told of.
        // A dispute decided for the store releases it too.
        (E::Released, S::Delivered | S::Disputed) => Ok(Step::To(S::Completed)),
        // Released only after the broker accepted, which it does only once delivered.
        (E::Released, S::Paid | S::CancelRequested | S::Shipped) => Ok(Step::NotYet),
        (E::Released, _) => Ok(Step::Unchanged),
        (E::Expired, S::AwaitingPayment) => Ok(Step::To(S::Expired)),
        (E::Expired, _) => Ok(Step::Unchanged),
    }
}

/// Which parties may cause an event through the public routes.
pub fn may(party: Party, event: Event) -> bool {
    match event {
        Event::Cancel => matches!(party, Party::Buyer | Party::Seller),
        Event::Confirm => party == Party::Seller,
        Event::Approve | Event::Refuse => party == Party::Manufacturer,
        _ => false,
    }
}

/// The mails a move sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Placed,
    ConfirmationNeeded,
    ApprovalNeeded,
    /// Price confirmed and approved where needed: the buyer may pay.
    Approved,
    Paid,
    CancelRequested,
    /// Delivery could not stop the goods: the order stays paid.
    CancelRefused,
    Cancelled,
    /// Not paid in time.
    Expired,
    Shipped,
    Delivered,
    /// Accepted and released: the store is paid.
    Completed,
    /// A step of the order's dispute (the store hears of each).
    Dispute(client::broker::disputes::DisputeStatus),
    /// Money went back to the buyer after delivery (a dispute, a chargeback).
    Refunded {
        partial: bool,
    },
}

/// Everything a move from `from` to `to` causes besides the status change itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Effects {
    /// `order_payable` to settlement and `shipment_requested` to delivery.
    pub announce_payable: bool,
    /// `order_cancelled` to settlement (it knows the order).
    pub tell_settlement_cancelled: bool,
    /// `cancel_requested` to delivery.
    pub ask_delivery_to_cancel: bool,
    /// Put the reserved stock back on offer.
    pub release_stock: bool,
    /// Give back points spent on the order.
    pub return_points: bool,
    /// Remove the sale from the sales history: it did not happen.
    pub unregister_sale: bool,
    /// Shred the buyer's contact and the points hold.
    pub close: bool,
    pub notice: Option<Notice>,
}

pub fn effects(from: OrderStatus, to: OrderStatus) -> Effects {
    use OrderStatus as S;
    let mut e = Effects::default();
    match to {
        S::AwaitingConfirmation => e.notice = Some(Notice::ConfirmationNeeded),
        S::AwaitingApproval => e.notice = Some(Notice::ApprovalNeeded),
        S::AwaitingPayment => {
            e.announce_payable = true;
            e.notice = Some(Notice::Approved);
        }
        // Back to paid after a refused cancellation: nothing to announce to the services.
        S::Paid if from == S::CancelRequested => e.notice = Some(Notice::CancelRefused),
        S::Paid => e.notice = Some(Notice::Paid),
        S::CancelRequested => {
            e.ask_delivery_to_cancel = true;
            e.notice = Some(Notice::CancelRequested);
        }
        S::Shipped => e.notice = Some(Notice::Shipped),
        S::Delivered => {
            e.close = true;
            e.notice = Some(Notice::Delivered);
        }
        S::Completed => e.notice = Some(Notice::Completed),
        // The dispute's steps send their own notices.
        S::Disputed => {}
        S::PartiallyRefunded | S::Refunded => {
            e.close = true;
            e.notice = Some(Notice::Refunded { partial: to == S::PartiallyRefunded });
        }
        S::Cancelled => {
            e.tell_settlement_cancelled = from == S::AwaitingPayment;
            e.release_stock = !from.goods_moved();
            e.return_points = true;
            e.unregister_sale = true;
            e.close = true;
            e.notice = Some(Notice::Cancelled);
        }
        // Settlement already closed its side; the stock and points come back.
        S::Expired => {
            e.release_stock = true;
            e.return_points = true;
            e.unregister_sale = true;
            e.close = true;
            e.notice = Some(Notice::Expired);
        }
    }
    e
}

/// What unpaid orders may hold of one offer (`[settings.broker]`): anonymous orders must
/// not be able to empty a shelf, so the limit is on what they hold, not on who they seem
/// to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldLimits {
    /// All unpaid orders together hold at most this share of the offer's stock (percent).
    pub unpaid_share_percent: i64,
    /// One unpaid order holds at most the larger of this many units…
    pub order_max_units: i64,
    /// …and this share of the offer's stock (percent).
    pub order_max_percent: i64,
}

/// Why an unpaid order may not take the stock it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldRefusal {
    /// One order asks for more than one unpaid order may hold.
    OrderTooLarge { max: i64 },
    /// Unpaid orders already hold the offer's share; paid ones free it.
    ShareHeld,
}

/// `shelf` units are on offer and `unpaid` more are held by orders not yet paid, so the
/// offer's stock is their sum. A share of a few units rounds up, so an offer of one unit
/// can still be ordered.
pub fn check_hold(limits: &HoldLimits, shelf: i64, unpaid: i64, qty: i64) -> Result<(), HoldRefusal> {
    let stock = shelf.saturating_add(unpaid).max(0);
    let share = |percent: i64| (stock.saturating_mul(percent.clamp(0, 100)) + 99) / 100;
    let order_max = limits.order_max_units.max(share(limits.order_max_percent)).max(1);
    if qty > order_max {
        return Err(HoldRefusal::OrderTooLarge { max: order_max });
    }
    if unpaid.saturating_add(qty) > share(limits.unpaid_share_percent).max(1) {
        return Err(HoldRefusal::ShareHeld);
    }
    Ok(())
}

/// Rejects quantities outside what one order may carry.
pub fn check_quantity(quantity: i64, max: i64) -> Result<i64, String> {
    if quantity < 1 {
        Err("quantity must be at least 1".into())
    } else if quantity > max {
        Err(format!("quantity must be at most {max}"))
    } else {
        Ok(quantity)
    }
}

/// What the buyer pays: the unit price times the quantity, less the points discount,
/// never below one minor unit (a free order would have nothing to settle). The unit price
/// times the quantity is at most the money ceiling (`amount_too_large`), so an order's
/// value is as bounded as any price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priced {
    pub unit_price: Money,
    pub discount: Money,
    pub amount: Money,
    /// Points actually used (fewer than offered when the discount hit the floor).
    pub points_used: i64,
}

pub fn price(
    unit_price: Money,
    quantity: i64,
    points: i64,
    point_value: i64,
    ceiling: Ceiling,
) -> Result<Priced, BrokerError> {
    let invalid = |detail: &str| BrokerError::common(shared::error::Code::InvalidAmount, detail);
    // A product beyond i64 is beyond any ceiling too.
    let too_large = MoneyError::TooLarge { max: ceiling.get() };
    let gross = unit_price.checked_mul(quantity).map_err(|_| too_large)?;
    let gross = ceiling.bound(gross)?.amount;
    if gross <= 0 {
        return Err(invalid("the order's value is out of range"));
    }
    if points < 0 {
        return Err(invalid("points must not be negative"));
    }
    let point_value = point_value.max(1);
    let max_points = (gross - 1) / point_value;
    let points_used = points.min(max_points);
    let discount = points_used * point_value;
    Ok(Priced {
        unit_price,
        discount: Money::new(discount, unit_price.currency),
        amount: Money::new(gross - discount, unit_price.currency),
        points_used,
    })
}

/// A per-order pseudonym for the buyer, shown to the seller: random, so it links to
/// nothing, not across orders and not across stores.
pub fn buyer_handle() -> String {
    let bytes = shared::crypto::random_bytes::<5>();
    format!("buyer-{}", shared::ids::hex(&bytes))
}

/// Order messages: short text, no control characters beyond line breaks.
pub fn check_message(body: &str) -> Result<String, String> {
    let body = body.trim();
    if body.is_empty() {
        return Err("the message is empty".into());
    }
    if body.chars().count() > 2000 {
        return Err("the message is longer than 2000 characters".into());
    }
    if body.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("the message contains control characters".into());
    }
    Ok(body.to_string())
}

/// A cancellation or refusal reason: required, short.
pub fn check_reason(reason: &str) -> Result<String, String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err("a reason is required".into());
    }
    if reason.chars().count() > 500 {
        return Err("the reason is longer than 500 characters".into());
    }
    if reason.chars().any(|c| c.is_control()) {
        return Err("the reason contains control characters".into());
    }
    Ok(reason.to_string())
}

/// A buyer's `Idempotency-Key` for placing an order. Orders are anonymous, so keys share
/// one space across all buyers, and a key replays its order's answer with a fresh
/// capability for a short while (a reload, a double click): it is a bearer secret for that
/// order until then. Hence at least 128 bits (a short or repetitive key could collide with
/// another buyer's, or be guessed), and only a hash of it is stored.
pub struct OrderKey(String);

impl OrderKey {
    /// Base64url characters carry 6 bits each: 22 make 128 bits.
    pub const MIN_BASE64URL_LEN: usize = 22;
    /// Hex digits carry 4 bits each: a key made of hex digits alone needs 32.
    pub const MIN_HEX_LEN: usize = 32;
    /// Fewer different characters than this is a pattern, not randomness.
    pub const MIN_DISTINCT: usize = 8;
    pub const MAX_LEN: usize = 255;

    /// 32 or more hex digits, or 22 or more base64url characters (`A-Za-z0-9-_`), with at
    /// least 8 different ones, at most 255 in all (a random UUID or 128 bits in hex or
    /// base64url will do).
    pub fn parse(raw: &str) -> Result<OrderKey, KeyRefusal> {
        let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if raw.len() > Self::MAX_LEN || !raw.bytes().all(base64url) {
            return Err(KeyRefusal::Invalid);
        }
        let min_len =
            if raw.bytes().all(|b| b.is_ascii_hexdigit()) { Self::MIN_HEX_LEN } else { Self::MIN_BASE64URL_LEN };
        let distinct = raw.bytes().collect::<std::collections::BTreeSet<u8>>().len();
        if raw.len() < min_len || distinct < Self::MIN_DISTINCT {
            return Err(KeyRefusal::Invalid);
        }
        Ok(OrderKey(raw.to_string()))
    }

    /// What the broker stores in place of the key.
    pub fn digest(&self) -> String {
        shared::crypto::sha256_hex(self.0.as_bytes())
    }

    /// The fingerprint of the request made under this key. It is keyed with the key
    /// itself, so that the stored fingerprint reveals nothing of the body (which may hold
    /// the buyer's mail address) to anyone without the key.
    pub fn fingerprint(&self, request: &str) -> String {
        shared::crypto::hmac_sha256_hex(self.0.as_bytes(), request.as_bytes())
    }
}

/// Never printed: the key opens its order.
impl std::fmt::Debug for OrderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OrderKey(..)")
    }
}

/// Refusals of an order's `Idempotency-Key`, each under the shared refusal's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    #[error(
        "the `Idempotency-Key` must carry 128 bits: 32 or more hex digits, or 22 or more base64url \
         characters (`A-Za-z0-9-_`), with at least 8 different ones, at most 255, sent once"
    )]
    Invalid,
    #[error("an order with this `Idempotency-Key` is still being placed; retry shortly")]
    InUse,
    #[error("this `Idempotency-Key` was used with another request body")]
    Reused,
}

impl KeyRefusal {
    pub fn refusal(self) -> shared::idempotency::Refusal {
        use shared::idempotency::Refusal;
        match self {
            KeyRefusal::Invalid => Refusal::Invalid,
            KeyRefusal::InUse => Refusal::InUse,
            KeyRefusal::Reused => Refusal::Reused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;
    use strum::IntoEnumIterator;
    use Event as E;
    use OrderStatus as S;

    #[test]
    fn new_orders_start_at_the_first_step_they_need() {
        assert_eq!(initial_status(false, false), S::AwaitingPayment);
        assert_eq!(initial_status(true, false), S::AwaitingConfirmation);
        assert_eq!(initial_status(true, true), S::AwaitingConfirmation);
        assert_eq!(initial_status(false, true), S::AwaitingApproval);
    }

    #[test]
    fn the_happy_path_with_every_step() {
        let mut s = initial_status(true, true);
        for (event, next) in [
            (E::Confirm, S::AwaitingApproval),
            (E::Approve, S::AwaitingPayment),
            (E::Paid, S::Paid),
            (E::Shipped, S::Shipped),
            (E::Delivered, S::Delivered),
        ] {
            assert_eq!(step(s, event, true), Ok(Step::To(next)), "{event:?} in {s}");
            s = next;
        }
        assert_eq!(step(S::AwaitingConfirmation, E::Confirm, false), Ok(Step::To(S::AwaitingPayment)));
    }

    #[test]
    fn cancelling_before_payment_is_immediate_after_payment_is_a_request_after_pickup_refused() {
        for s in [S::AwaitingConfirmation, S::AwaitingApproval, S::AwaitingPayment] {
            assert_eq!(step(s, E::Cancel, false), Ok(Step::To(S::Cancelled)));
        }
        assert_eq!(step(S::Paid, E::Cancel, false), Ok(Step::To(S::CancelRequested)));
        assert_eq!(step(S::CancelRequested, E::Cancel, false), Ok(Step::Unchanged));
        for s in [S::Shipped, S::Delivered, S::Cancelled] {
            assert_eq!(step(s, E::Cancel, false), Err(Forbidden { current: s }));
        }
        assert_eq!(step(S::CancelRequested, E::CancelDecided { accepted: true }, false), Ok(Step::To(S::Cancelled)));
        assert_eq!(step(S::CancelRequested, E::CancelDecided { accepted: false }, false), Ok(Step::To(S::Paid)));
        // A pickup that raced the request wins.
        assert_eq!(step(S::CancelRequested, E::Shipped, false), Ok(Step::To(S::Shipped)));
        assert_eq!(step(S::Shipped, E::CancelDecided { accepted: false }, false), Ok(Step::Unchanged));
    }

    #[test]
    fn workflow_steps_only_where_they_belong() {
        for s in S::iter() {
            if s != S::AwaitingConfirmation {
                assert_eq!(step(s, E::Confirm, false), Err(Forbidden { current: s }));
            }
            if s != S::AwaitingApproval {
                assert_eq!(step(s, E::Approve, false), Err(Forbidden { current: s }));
                assert_eq!(step(s, E::Refuse, false), Err(Forbidden { current: s }));
            }
        }
        assert_eq!(step(S::AwaitingApproval, E::Refuse, false), Ok(Step::To(S::Cancelled)));
    }

    #[test]
    fn messages_are_idempotent_and_tolerate_reordering() {
        // Early arrivals wait for their prerequisite.
        assert_eq!(step(S::AwaitingPayment, E::Shipped, false), Ok(Step::NotYet));
        assert_eq!(step(S::AwaitingPayment, E::Delivered, false), Ok(Step::NotYet));
        assert_eq!(step(S::AwaitingApproval, E::Paid, false), Ok(Step::NotYet));
        // Repeats and late arrivals change nothing.
        assert_eq!(step(S::Paid, E::Paid, false), Ok(Step::Unchanged));
        assert_eq!(step(S::Shipped, E::Paid, false), Ok(Step::Unchanged));
        assert_eq!(step(S::Delivered, E::Shipped, false), Ok(Step::Unchanged));
        assert_eq!(step(S::Delivered, E::Delivered, false), Ok(Step::Unchanged));
        assert_eq!(step(S::Cancelled, E::Refunded { partial: false }, false), Ok(Step::Unchanged));
        assert_eq!(step(S::Cancelled, E::Paid, false), Ok(Step::Unchanged));
        // A refund ends any open order, even one in transit (an abandoned shipment).
        for s in [S::AwaitingPayment, S::Paid, S::CancelRequested, S::Shipped] {
            assert_eq!(step(s, E::Refunded { partial: false }, false), Ok(Step::To(S::Cancelled)));
        }
        assert_eq!(step(S::AwaitingPayment, E::PaymentRefused, false), Ok(Step::To(S::Cancelled)));
        assert_eq!(step(S::Paid, E::PaymentRefused, false), Ok(Step::Unchanged));
    }

    #[test]
    fn only_an_unpaid_order_expires_and_it_gives_its_stock_back() {
        assert_eq!(step(S::AwaitingPayment, E::Expired, false), Ok(Step::To(S::Expired)));
        for s in S::iter().filter(|s| *s != S::AwaitingPayment) {
            assert_eq!(step(s, E::Expired, false), Ok(Step::Unchanged), "{s}");
        }
        assert_eq!(step(S::Expired, E::Cancel, false), Err(Forbidden { current: S::Expired }));
        assert_eq!(step(S::Expired, E::Paid, false), Ok(Step::Unchanged));
        let e = effects(S::AwaitingPayment, S::Expired);
        assert!(e.release_stock && e.return_points && e.unregister_sale && e.close);
        assert!(!e.tell_settlement_cancelled, "settlement decided it");
        assert_eq!(e.notice, Some(Notice::Expired));
        assert!(S::Expired.is_closed());
    }

    const LIMITS: HoldLimits = HoldLimits { unpaid_share_percent: 50, order_max_units: 10, order_max_percent: 20 };

    #[test]
    fn one_unpaid_order_holds_at_most_ten_units_or_a_fifth() {
        assert_eq!(check_hold(&LIMITS, 100, 0, 10), Ok(()));
        assert_eq!(check_hold(&LIMITS, 100, 0, 21), Err(HoldRefusal::OrderTooLarge { max: 20 }));
        assert_eq!(check_hold(&LIMITS, 100, 0, 20), Ok(()));
        assert_eq!(check_hold(&LIMITS, 20, 0, 11), Err(HoldRefusal::OrderTooLarge { max: 10 }));
        // A big shelf: a fifth of it.
        assert_eq!(check_hold(&LIMITS, 1_000, 0, 200), Ok(()));
        assert_eq!(check_hold(&LIMITS, 1_000, 0, 201), Err(HoldRefusal::OrderTooLarge { max: 200 }));
    }

    #[test]
    fn unpaid_orders_together_hold_at_most_half() {
        assert_eq!(check_hold(&LIMITS, 10, 0, 5), Ok(()));
        assert_eq!(check_hold(&LIMITS, 10, 0, 6), Err(HoldRefusal::ShareHeld));
        // Five of twenty held (the stock counts the shelf and the holds): five more make half.
        assert_eq!(check_hold(&LIMITS, 15, 5, 5), Ok(()));
        assert_eq!(check_hold(&LIMITS, 10, 10, 1), Err(HoldRefusal::ShareHeld));
        // An offer of one unit can still be ordered; a share rounds up.
        assert_eq!(check_hold(&LIMITS, 1, 0, 1), Ok(()));
        assert_eq!(check_hold(&LIMITS, 3, 0, 2), Ok(()));
        assert_eq!(check_hold(&LIMITS, 1, 2, 1), Err(HoldRefusal::ShareHeld));
        // Generous settings let everything through.
        let open = HoldLimits { unpaid_share_percent: 100, order_max_units: 1_000, order_max_percent: 100 };
        assert_eq!(check_hold(&open, 7, 0, 7), Ok(()));
    }

    #[test]
    fn parties() {
        assert!(may(Party::Buyer, E::Cancel) && may(Party::Seller, E::Cancel));
        assert!(!may(Party::Manufacturer, E::Cancel));
        assert!(may(Party::Seller, E::Confirm) && !may(Party::Buyer, E::Confirm));
        assert!(may(Party::Manufacturer, E::Approve) && !may(Party::Seller, E::Approve));
        assert!(!may(Party::Seller, E::Paid));
    }

    #[test]
    fn effects_of_each_move() {
        let payable = effects(S::AwaitingApproval, S::AwaitingPayment);
        assert!(payable.announce_payable && payable.notice == Some(Notice::Approved));
        let early = effects(S::AwaitingConfirmation, S::Cancelled);
        assert!(early.release_stock && early.close && early.unregister_sale && early.return_points);
        assert!(!early.tell_settlement_cancelled, "settlement never heard of it");
        assert!(effects(S::AwaitingPayment, S::Cancelled).tell_settlement_cancelled);
        let late = effects(S::Shipped, S::Cancelled);
        assert!(!late.release_stock, "the goods are gone from the shelf");
        assert!(effects(S::Paid, S::CancelRequested).ask_delivery_to_cancel);
        let kept = effects(S::CancelRequested, S::Paid);
        assert_eq!(kept, Effects { notice: Some(Notice::CancelRefused), ..Effects::default() });
        let done = effects(S::Shipped, S::Delivered);
        assert!(done.close && !done.release_stock && !done.return_points);
    }

    #[test]
    fn statuses_round_trip() {
        for s in S::iter() {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(OrderStatus::parse("placed"), None);
    }

    #[test]
    fn quantity_bounds() {
        assert!(check_quantity(0, 100).is_err());
        assert!(check_quantity(-3, 100).is_err());
        assert!(check_quantity(101, 100).is_err());
        assert_eq!(check_quantity(100, 100), Ok(100));
    }

    #[test]
    fn pricing_with_points_never_reaches_zero() {
        let unit = Money::new(1_250, Currency::EUR);
        let p = price(unit, 2, 0, 1, Ceiling::MAX).unwrap();
        assert_eq!((p.amount.amount, p.discount.amount, p.points_used), (2_500, 0, 0));
        let p = price(unit, 2, 300, 1, Ceiling::MAX).unwrap();
        assert_eq!((p.amount.amount, p.discount.amount, p.points_used), (2_200, 300, 300));
        let p = price(unit, 1, 10_000, 1, Ceiling::MAX).unwrap();
        assert_eq!((p.amount.amount, p.points_used), (1, 1_249));
        let p = price(unit, 1, 10_000, 10, Ceiling::MAX).unwrap();
        assert_eq!((p.amount.amount, p.points_used), (10, 124));
        assert!(price(unit, 1, -1, 1, Ceiling::MAX).is_err());
    }

    #[test]
    fn an_order_is_worth_at_most_the_money_ceiling() {
        use shared::error::ApiError;
        let code = |unit: i64, qty: i64, ceiling: Ceiling| {
            price(Money::new(unit, Currency::EUR), qty, 0, 1, ceiling).map(|p| p.amount.amount).map_err(|e| e.code())
        };
        let max = shared::money::MAX_AMOUNT;
        assert_eq!(code(max, 1, Ceiling::MAX), Ok(max));
        assert_eq!(code(max / 4, 4, Ceiling::MAX), Ok(max));
        assert_eq!(code(max / 4 + 1, 4, Ceiling::MAX), Err("amount_too_large"));
        assert_eq!(code(1_250, i64::MAX, Ceiling::MAX), Err("amount_too_large"));
        assert_eq!(code(i64::MAX, 2, Ceiling::MAX), Err("amount_too_large"));
        assert_eq!(code(600, 2, Ceiling::new(1_000).unwrap()), Err("amount_too_large"));
        assert_eq!(code(500, 2, Ceiling::new(1_000).unwrap()), Ok(1_000));
    }

    #[test]
    fn handles_are_random_and_texts_are_checked() {
        assert_ne!(buyer_handle(), buyer_handle());
        assert!(buyer_handle().starts_with("buyer-"));
        assert_eq!(check_message("  hello\n "), Ok("hello".into()));
        assert!(check_message("  ").is_err());
        assert!(check_message("a\u{7}b").is_err());
        assert!(check_message(&"x".repeat(2001)).is_err());
        assert!(check_reason("").is_err());
        assert_eq!(check_reason(" changed my mind "), Ok("changed my mind".into()));
    }

    const HEX_KEY: &str = "0b6a1f3e9c2d4e5f8a7b1c2d3e4f5a6b";

    #[test]
    fn order_keys_carry_128_bits() {
        let ok = [
            HEX_KEY,
            "0B6A1F3E9C2D4E5F8A7B1C2D3E4F5A6B",
            "0b6a1f3e-9c2d-4e5f-8a7b-1c2d3e4f5a6b",
            // 22 base64url characters: 132 bits.
            "Qm9vayBvZiBrZXlzIDEyMw",
            "ab-_CDefGH12ijKLmnOPqr",
        ];
        for key in ok {
            assert!(OrderKey::parse(key).is_ok(), "{key:?}");
        }
        let long: String = "0123456789abcdefghijklmnopqrstuvwxyz".chars().cycle().take(255).collect();
        assert!(OrderKey::parse(&long).is_ok());
        let refused = [
            String::new(),
            // The old minimum: sixteen of one character, and sixteen hex digits.
            "a".repeat(16),
            "0123456789abcdef".into(),
            // 31 hex digits: 124 bits.
            HEX_KEY[..31].to_string(),
            // 21 base64url characters.
            "Qm9vayBvZiBrZXlzIDEyM".into(),
            // Long enough, too few different characters.
            "xyzxyzxyzxyzxyzxyzxyzx".into(),
            "abababababababababababababababababab".into(),
            "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a".into(),
            "a".repeat(64),
            // Outside base64url.
            " 0b6a1f3e9c2d4e5f8a7b1c2d3e4f5a6b".into(),
            "0b6a1f3e9c2d 4e5f8a7b1c2d3e4f5a6b".into(),
            "0b6a1f3e9c2d4e5f8a7b1c2d3e4f5a6é".into(),
            "0b6a1f3e9c2d\t4e5f8a7b1c2d3e4f5a6b".into(),
            "Qm9vayBvZiBrZXlzIDEyMw==".into(),
            "Qm9vayBvZiBr+XlzIDEyMw/".into(),
            format!("{HEX_KEY}\u{7f}"),
            long.clone() + "x",
        ];
        for bad in &refused {
            assert_eq!(OrderKey::parse(bad).err(), Some(KeyRefusal::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn order_keys_are_stored_only_as_hashes() {
        let k = OrderKey::parse(HEX_KEY).unwrap();
        assert_eq!(k.digest(), shared::crypto::sha256_hex(HEX_KEY.as_bytes()));
        assert!(!k.digest().contains(HEX_KEY));
        assert!(!format!("{k:?}").contains(HEX_KEY), "the key never reaches a log line");
        // The fingerprint depends on the request and on the key: without the key, the
        // stored one cannot be checked against a guessed body.
        assert_eq!(k.fingerprint("body"), k.fingerprint("body"));
        assert_ne!(k.fingerprint("body"), k.fingerprint("other body"));
        let other = OrderKey::parse("fedcba9876543210fedcba9876543210").unwrap();
        assert_ne!(k.fingerprint("body"), other.fingerprint("body"));
        assert_ne!(k.fingerprint("body"), shared::crypto::sha256_hex(b"body"));
    }
}
