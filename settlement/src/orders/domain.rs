//! An order's settlement status and what a payment does to it.

use shared::money::Money;

pub use client::settlement::OrderStatus;

/// Why a payment is turned away whole; its code is the payment's `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Rejection {
    WrongCurrency,
    OrderCancelled,
    AlreadyPaid,
    /// Refunded after capture: closed for good.
    OrderClosed,
    NonSellable,
    /// Its `pay_by` passed: settlement no longer takes payment for it.
    Expired,
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No ledger entry; the whole amount goes back to the payer.
    Reject(Rejection),
    /// `booked` goes into escrow, `returned` back to the payer (the excess of an
    /// overpayment); `completes` when the order is then fully paid.
    Accept { booked: i64, returned: i64, completes: bool },
}

/// The amount check (seed 003 claim 11): compares what arrives with what is still due.
pub fn decide(
    status: OrderStatus,
    expected: Money,
    paid: i64,
    payment: Money,
    still_sellable: Result<(), shared::rules::Unsellable>,
) -> Decision {
    if payment.currency != expected.currency {
        return Decision::Reject(Rejection::WrongCurrency);
    }
    match status {
        OrderStatus::Cancelled => return Decision::Reject(Rejection::OrderCancelled),
        OrderStatus::Captured | OrderStatus::Disputed | OrderStatus::Released | OrderStatus::PartiallyRefunded => {
            return Decision::Reject(Rejection::AlreadyPaid)
        }
        OrderStatus::Refunded => return Decision::Reject(Rejection::OrderClosed),
        OrderStatus::Expired => return Decision::Reject(Rejection::Expired),
        OrderStatus::AwaitingPayment | OrderStatus::Partial => {}
    }
    if still_sellable.is_err() {
        return Decision::Reject(Rejection::NonSellable);
    }
    let due = (expected.amount - paid).max(0);
    if payment.amount >= due {
        Decision::Accept { booked: due, returned: payment.amount - due, completes: true }
    } else {
        Decision::Accept { booked: payment.amount, returned: 0, completes: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;
    use shared::rules::Unsellable;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    #[test]
    fn exact_short_over() {
        let s = OrderStatus::AwaitingPayment;
        assert_eq!(
            decide(s, eur(1000), 0, eur(1000), Ok(())),
            Decision::Accept { booked: 1000, returned: 0, completes: true }
        );
        assert_eq!(
            decide(s, eur(1000), 0, eur(400), Ok(())),
            Decision::Accept { booked: 400, returned: 0, completes: false }
        );
        assert_eq!(
            decide(s, eur(1000), 0, eur(1500), Ok(())),
            Decision::Accept { booked: 1000, returned: 500, completes: true }
        );
        // The rest of a partial payment, with a little extra.
        assert_eq!(
            decide(OrderStatus::Partial, eur(1000), 400, eur(700), Ok(())),
            Decision::Accept { booked: 600, returned: 100, completes: true }
        );
    }

    #[test]
    fn rejections() {
        let usd = Money::new(1000, Currency::parse("USD").unwrap());
        let ok = || Ok(());
        assert_eq!(
            decide(OrderStatus::AwaitingPayment, eur(1000), 0, usd, ok()),
            Decision::Reject(Rejection::WrongCurrency)
        );
        assert_eq!(
            decide(OrderStatus::Cancelled, eur(1000), 0, eur(1000), ok()),
            Decision::Reject(Rejection::OrderCancelled)
        );
        assert_eq!(
            decide(OrderStatus::Captured, eur(1000), 1000, eur(1000), ok()),
            Decision::Reject(Rejection::AlreadyPaid)
        );
        assert_eq!(
            decide(OrderStatus::Released, eur(1000), 1000, eur(1), ok()),
            Decision::Reject(Rejection::AlreadyPaid)
        );
        assert_eq!(
            decide(OrderStatus::AwaitingPayment, eur(1000), 0, eur(1000), Err(Unsellable::NonSellable)),
            Decision::Reject(Rejection::NonSellable)
        );
        assert_eq!(decide(OrderStatus::Expired, eur(1000), 0, eur(1000), ok()), Decision::Reject(Rejection::Expired));
    }
}

#[cfg(test)]
mod stored {
    use super::*;

    #[test]
    fn statuses_are_stored_as_today_and_an_unknown_one_is_refused() {
        assert_eq!(OrderStatus::AwaitingPayment.as_ref(), "awaiting_payment");
        assert_eq!("expired".parse::<OrderStatus>(), Ok(OrderStatus::Expired));
        assert!("shipped".parse::<OrderStatus>().is_err());
        assert_eq!(serde_json::to_value(OrderStatus::Partial).unwrap(), "partial");
        assert_eq!(Rejection::WrongCurrency.code(), "wrong_currency");
        assert_eq!(Rejection::NonSellable.code(), "non_sellable");
    }
}
