//! A payment's status, and what taking a payment does, decided over the rows read under
//! the order's lock (no database here).

use crate::orders::domain::{decide, Decision, Rejection};
use crate::orders::{OrderRow, OrderStatus};
use crate::payments::store::PaymentRow;
use crate::refunds::domain as refunds;
use shared::money::Money;
use shared::time::Timestamp;

pub use client::settlement::PaymentStatus;

/// What taking a payment does, decided over the order, its earlier payments and the
/// offer's sellability as read under the order's lock.
#[derive(Debug, Clone, PartialEq)]
pub struct Take {
    /// The order's deadline passed before the sweeper came by: it expires first, in the
    /// same transaction, so that the late payment and the expiry can never both win.
    pub expiry: Option<refunds::Plan>,
    pub status: PaymentStatus,
    pub reason: Option<Rejection>,
    /// Booked into escrow.
    pub booked: i64,
    /// Returned to the payer at once: an overpayment's excess, or all of a rejected payment.
    pub returned: i64,
    /// The order afterwards (`None`: unchanged): status, paid total, first partial payment.
    pub order: Option<(OrderStatus, i64, Option<Timestamp>)>,
    /// Earlier partial payments that are now part of a captured order.
    pub promoted: Vec<PaymentRow>,
}

impl Take {
    /// The order's answer when it is captured: the broker and delivery hear it is paid.
    pub fn completes(&self) -> bool {
        self.order.is_some_and(|(status, _, _)| status == OrderStatus::Captured)
    }
}

/// Takes `payment` for `order` at `now` (seed 003 claim 11: the amount check against what
/// is still due).
pub fn take(order: &OrderRow, earlier: &[PaymentRow], sellable: Option<bool>, payment: Money, now: Timestamp) -> Take {
    let mut expiry = None;
    let (mut status, mut paid) = (order.status, order.paid);
    if order.overdue(now) {
        let reason = Rejection::Expired.code();
        expiry = refunds::order_refund(order, earlier, refunds::OrderRefund::Expired, reason);
        if let Some(plan) = &expiry {
            (status, paid) = (plan.status, plan.paid);
        }
    }
    let rejected = |why| Take {
        expiry: expiry.clone(),
        status: PaymentStatus::Rejected,
        reason: Some(why),
        booked: 0,
        returned: payment.amount,
        order: None,
        promoted: Vec::new(),
    };
    match decide(status, order.expected(), paid, payment, shared::rules::still_sellable(sellable)) {
        Decision::Reject(why) => rejected(why),
        Decision::Accept { booked, returned, completes: true } => Take {
            expiry,
            status: PaymentStatus::Captured,
            reason: None,
            booked,
            returned,
            order: Some((OrderStatus::Captured, paid + booked, None)),
            promoted: earlier.iter().filter(|p| p.status == PaymentStatus::Partial).cloned().collect(),
        },
        Decision::Accept { booked, returned, completes: false } => Take {
            expiry,
            status: PaymentStatus::Partial,
            reason: None,
            booked,
            returned,
            order: Some((OrderStatus::Partial, paid + booked, Some(order.partial_since.unwrap_or(now)))),
            promoted: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ids::{OrderId, PartnerId, PaymentId, ProductId, StoreId};
    use shared::money::Currency;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    fn order(status: OrderStatus, paid: i64, pay_by: Option<Timestamp>) -> OrderRow {
        OrderRow {
            order_id: OrderId::generate(),
            store_id: StoreId::generate(),
            product_id: ProductId::generate(),
            referral_store_id: None,
            shipper_store_id: None,
            expected: 1_000,
            currency: Currency::EUR,
            paid,
            status,
            partial_since: None,
            pay_by,
            delivered_at: None,
            accepted_at: None,
        }
    }

    fn partial(order: &OrderRow, captured: i64) -> PaymentRow {
        PaymentRow {
            id: PaymentId::generate(),
            partner_id: PartnerId::generate(),
            order_id: order.order_id.clone(),
            amount: captured,
            currency: Currency::EUR,
            captured,
            refunded: 0,
            returned: 0,
            status: PaymentStatus::Partial,
            reason: None,
        }
    }

    #[test]
    fn a_short_payment_holds_the_order_partial_and_the_rest_captures_it_with_the_earlier_ones() {
        let now = shared::time::now();
        let o = order(OrderStatus::AwaitingPayment, 0, None);
        let t = take(&o, &[], Some(true), eur(400), now);
        assert_eq!((t.status, t.booked, t.returned), (PaymentStatus::Partial, 400, 0));
        assert_eq!(t.order, Some((OrderStatus::Partial, 400, Some(now))));
        assert!(!t.completes());

        let o = OrderRow { status: OrderStatus::Partial, paid: 400, partial_since: Some(now), ..o };
        let first = partial(&o, 400);
        let t = take(&o, std::slice::from_ref(&first), None, eur(700), now);
        assert_eq!((t.status, t.booked, t.returned), (PaymentStatus::Captured, 600, 100));
        assert_eq!(t.order, Some((OrderStatus::Captured, 1_000, None)));
        assert_eq!(t.promoted, vec![first]);
        assert!(t.completes() && t.expiry.is_none());
    }

    #[test]
    fn a_rejected_payment_goes_back_whole_and_leaves_the_order_alone() {
        let now = shared::time::now();
        let o = order(OrderStatus::AwaitingPayment, 0, None);
        let t = take(&o, &[], Some(false), eur(1_000), now);
        assert_eq!(
            (t.status, t.reason, t.booked, t.returned),
            (PaymentStatus::Rejected, Some(Rejection::NonSellable), 0, 1_000)
        );
        assert_eq!(t.order, None);
        let usd = Money::new(1_000, Currency::parse("USD").unwrap());
        assert_eq!(take(&o, &[], None, usd, now).reason, Some(Rejection::WrongCurrency));
    }

    #[test]
    fn a_payment_after_the_deadline_expires_the_order_and_its_partial_payments_go_back() {
        let now = shared::time::now();
        let o = OrderRow { partial_since: Some(now), ..order(OrderStatus::Partial, 400, Some(now)) };
        let first = partial(&o, 400);
        let t = take(&o, std::slice::from_ref(&first), Some(true), eur(600), now);
        assert_eq!((t.status, t.reason, t.returned), (PaymentStatus::Rejected, Some(Rejection::Expired), 600));
        let expiry = t.expiry.expect("the order expires");
        assert_eq!((expiry.status, expiry.paid), (OrderStatus::Expired, 0));
        assert_eq!(expiry.refunds.len(), 1);
        assert_eq!((expiry.refunds[0].amount, expiry.refunds[0].closes_payment), (eur(400), true));
        assert_eq!(expiry.messages.len(), 1, "the broker hears of the expiry");
    }
}
