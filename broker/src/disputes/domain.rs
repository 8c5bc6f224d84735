//! A dispute's rules as plain data: when a buyer may open one, how the store, the buyer,
//! time and the arbiter move it, and what a decision refunds. No storage, no HTTP.

use crate::orders::domain::OrderStatus;
use shared::money::Money;
use shared::time::Timestamp;

pub use client::broker::disputes::{DisputeReason, DisputeStatus, Outcome, StoreAction};

/// What the rules need to know of the order.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts {
    pub status: OrderStatus,
    /// The end of the acceptance window, once delivered.
    pub accept_by: Option<Timestamp>,
    pub accepted_at: Option<Timestamp>,
    /// From when a buyer may say nothing came: the promised delivery plus the grace.
    pub not_received_from: Timestamp,
}

/// Why a dispute cannot be opened now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Accepted, released, refunded, or the window ended.
    WindowClosed,
    /// Nothing came yet, but the promised delivery (plus grace) has not passed.
    TooEarly,
}

/// Whether the buyer may open a dispute for `reason` at `now`.
pub fn may_open(reason: DisputeReason, order: &OrderFacts, now: Timestamp) -> Result<(), Closed> {
    let in_window = order.status == OrderStatus::Delivered
        && order.accepted_at.is_none()
        && order.accept_by.is_some_and(|end| now < end);
    // A cancellation the buyer asked for is delivery's to decide first.
    let on_the_way = matches!(order.status, OrderStatus::Paid | OrderStatus::Shipped);
    match reason {
        // A delivery the buyer says never reached them, within the window; or nothing at
        // all once the promised date (plus grace) passed.
        DisputeReason::NotReceived if in_window => Ok(()),
        DisputeReason::NotReceived if on_the_way && now >= order.not_received_from => Ok(()),
        DisputeReason::NotReceived if on_the_way => Err(Closed::TooEarly),
        _ if in_window => Ok(()),
        _ if on_the_way => Err(Closed::TooEarly),
        _ => Err(Closed::WindowClosed),
    }
}

/// What a step does to the dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The store offers a partial refund, standing until it lapses.
    Offered { percent: i64 },
    /// The arbiter decides.
    Escalated,
    /// Decided: this much goes back to the buyer, the rest to the store.
    Decided { refund: Money },
}

/// A step the dispute does not take in its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the dispute is {current}; that is not possible now")]
pub struct NotNow {
    pub current: DisputeStatus,
}

/// The store's answer to an open dispute: accept (refund everything paid), offer a
/// percentage (1 to 99), or contest (the arbiter decides).
pub fn store_answers(
    current: DisputeStatus,
    action: StoreAction,
    percent: Option<i64>,
    paid: Money,
) -> Result<Next, NotNow> {
    if current != DisputeStatus::Open {
        return Err(NotNow { current });
    }
    Ok(match action {
        StoreAction::Accept => Next::Decided { refund: paid },
        StoreAction::Offer => Next::Offered { percent: percent.unwrap_or_default() },
        StoreAction::Contest => Next::Escalated,
    })
}

/// The buyer takes the store's standing offer.
pub fn buyer_takes_offer(
    current: DisputeStatus,
    percent: Option<i64>,
    lapsed: bool,
    paid: Money,
) -> Result<Next, NotNow> {
    match (current, percent) {
        (DisputeStatus::Offered, Some(p)) if !lapsed => Ok(Next::Decided { refund: share(paid, p) }),
        _ => Err(NotNow { current }),
    }
}

/// The buyer declines the store's offer and hands the dispute to the arbiter. An open
/// dispute is the store's to answer first (time escalates it if the store stays silent).
pub fn buyer_escalates(current: DisputeStatus) -> Result<Next, NotNow> {
    match current {
        DisputeStatus::Offered => Ok(Next::Escalated),
        _ => Err(NotNow { current }),
    }
}

/// Time hands an unanswered dispute, or a lapsed offer, to the arbiter.
pub fn escalate(current: DisputeStatus) -> Result<Next, NotNow> {
    match current {
        DisputeStatus::Open | DisputeStatus::Offered => Ok(Next::Escalated),
        _ => Err(NotNow { current }),
    }
}

/// Why an arbiter's decision is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadDecision {
    NotEscalated(DisputeStatus),
    /// `split` needs a refund above nothing and below everything paid, in its currency.
    SplitOutOfRange,
}

/// The arbiter's decision on an escalated dispute.
pub fn arbiter_decides(
    current: DisputeStatus,
    outcome: Outcome,
    refund: Option<Money>,
    paid: Money,
) -> Result<Next, BadDecision> {
    if current != DisputeStatus::Escalated {
        return Err(BadDecision::NotEscalated(current));
    }
    let refund = match outcome {
        Outcome::Refund => paid,
        Outcome::Release => Money::zero(paid.currency),
        Outcome::Split => match refund {
            Some(r) if r.currency == paid.currency && r.amount > 0 && r.amount < paid.amount => r,
            _ => return Err(BadDecision::SplitOutOfRange),
        },
    };
    Ok(Next::Decided { refund })
}

/// `percent` of `paid`, rounded down to the minor unit.
pub fn share(paid: Money, percent: i64) -> Money {
    let amount = (paid.amount as i128 * percent.clamp(0, 100) as i128 / 100) as i64;
    Money::new(amount, paid.currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    fn facts(status: OrderStatus, now: Timestamp) -> OrderFacts {
        OrderFacts {
            status,
            accept_by: Some(now + chrono::Duration::days(7)),
            accepted_at: None,
            not_received_from: now + chrono::Duration::days(6),
        }
    }

    #[test]
    fn a_dispute_opens_within_the_window_or_once_nothing_came_in_time() {
        let now = shared::time::now();
        let delivered = facts(OrderStatus::Delivered, now);
        for reason in
            [DisputeReason::NotAsDescribed, DisputeReason::Damaged, DisputeReason::Other, DisputeReason::NotReceived]
        {
            assert_eq!(may_open(reason, &delivered, now), Ok(()), "{reason}");
            let after = now + chrono::Duration::days(7);
            assert_eq!(may_open(reason, &delivered, after), Err(Closed::WindowClosed), "{reason}");
            let accepted = OrderFacts { accepted_at: Some(now), ..delivered };
            assert_eq!(may_open(reason, &accepted, now), Err(Closed::WindowClosed), "{reason}");
        }
        let shipped = facts(OrderStatus::Shipped, now);
        assert_eq!(may_open(DisputeReason::NotReceived, &shipped, now), Err(Closed::TooEarly));
        assert_eq!(may_open(DisputeReason::NotReceived, &shipped, now + chrono::Duration::days(6)), Ok(()));
        assert_eq!(may_open(DisputeReason::Damaged, &shipped, now + chrono::Duration::days(6)), Err(Closed::TooEarly));
        for status in [OrderStatus::Completed, OrderStatus::Cancelled, OrderStatus::AwaitingPayment] {
            assert_eq!(may_open(DisputeReason::NotReceived, &facts(status, now), now), Err(Closed::WindowClosed));
        }
    }

    #[test]
    fn the_store_the_buyer_and_the_arbiter_each_move_it_only_where_it_stands() {
        let paid = eur(1_000);
        assert_eq!(
            store_answers(DisputeStatus::Open, StoreAction::Accept, None, paid),
            Ok(Next::Decided { refund: paid })
        );
        assert_eq!(
            store_answers(DisputeStatus::Open, StoreAction::Offer, Some(30), paid),
            Ok(Next::Offered { percent: 30 })
        );
        assert_eq!(store_answers(DisputeStatus::Open, StoreAction::Contest, None, paid), Ok(Next::Escalated));
        assert!(store_answers(DisputeStatus::Escalated, StoreAction::Accept, None, paid).is_err());
        assert_eq!(
            buyer_takes_offer(DisputeStatus::Offered, Some(30), false, paid),
            Ok(Next::Decided { refund: eur(300) })
        );
        assert!(buyer_takes_offer(DisputeStatus::Offered, Some(30), true, paid).is_err(), "a lapsed offer");
        assert!(buyer_takes_offer(DisputeStatus::Open, None, false, paid).is_err());
        assert_eq!(escalate(DisputeStatus::Offered), Ok(Next::Escalated));
        assert!(escalate(DisputeStatus::Decided).is_err());
        let decide = |o, r| arbiter_decides(DisputeStatus::Escalated, o, r, paid);
        assert_eq!(decide(Outcome::Refund, None), Ok(Next::Decided { refund: paid }));
        assert_eq!(decide(Outcome::Release, None), Ok(Next::Decided { refund: eur(0) }));
        assert_eq!(decide(Outcome::Split, Some(eur(250))), Ok(Next::Decided { refund: eur(250) }));
        for bad in [None, Some(eur(0)), Some(eur(1_000)), Some(Money::new(250, Currency::parse("USD").unwrap()))] {
            assert_eq!(decide(Outcome::Split, bad), Err(BadDecision::SplitOutOfRange), "{bad:?}");
        }
        assert_eq!(
            arbiter_decides(DisputeStatus::Decided, Outcome::Refund, None, paid),
            Err(BadDecision::NotEscalated(DisputeStatus::Decided))
        );
        assert_eq!(share(eur(999), 33), eur(329));
    }
}
