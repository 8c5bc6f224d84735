//! The privacy budget: how much ε may ever be spent on one calendar month of buyer data.
//!
//! * One global budget per month (default ε = 1), split by configuration between the
//!   broker's analyses and settlement's, which cover the same orders: the two parts never
//!   add up to more than the whole, so an order's total loss stays within the global budget
//!   whatever both services release.
//! * Of a service's part, each salesperson may spend only a share, so that one of them
//!   cannot use up the month for everyone. The service's part is the real limit: however
//!   many salespeople pool their reports, together they cannot go past it.
//! * A release is paid for once, in every month its window touches; the released copy is
//!   then resold at no further cost (reselling a fixed output reveals nothing new).
//!
//! The services keep the spent amounts in their databases and reserve with conditional
//! updates; [`Budget`] states the rules and [`MemoryLedger`] applies them in memory (for
//! tests and as the reference the stores follow).

use crate::epsilon::Epsilon;
use crate::period::{Month, Window};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Whose analyses spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Analyst {
    Broker,
    Settlement,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "the broker's ({broker}) and settlement's ({settlement}) budgets add up to more than the monthly {monthly}"
    )]
    Oversplit { monthly: Epsilon, broker: Epsilon, settlement: Epsilon },
    #[error("a salesperson's share must be between 1 and 10 000 basis points, not {0}")]
    Share(u32),
}

/// Which limit a release would cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// The service's part of the month's budget.
    Service,
    /// The salesperson's share of it.
    Seller,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the privacy budget of {month} is spent ({limit:?} limit): {left} left, {needed} needed")]
pub struct Exhausted {
    pub month: Month,
    pub limit: Limit,
    pub left: Epsilon,
    pub needed: Epsilon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    monthly: Epsilon,
    broker: Epsilon,
    settlement: Epsilon,
    seller_share_bps: u32,
}

/// What a salesperson is shown of the budget: ε per calendar month for everything both
/// services release, this service's part of it, what one salesperson may spend of that
/// part, and what this salesperson can still spend on the current month.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BudgetView {
    pub monthly_epsilon: Epsilon,
    pub service_epsilon: Epsilon,
    pub seller_epsilon: Epsilon,
    pub left_this_month: Epsilon,
}

impl BudgetView {
    pub fn new(budget: &Budget, analyst: Analyst, left_this_month: Epsilon) -> BudgetView {
        BudgetView {
            monthly_epsilon: budget.monthly(),
            service_epsilon: budget.service_cap(analyst),
            seller_epsilon: budget.seller_cap(analyst),
            left_this_month,
        }
    }
}

/// What has been spent on one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spent {
    /// By the service, for everyone.
    pub service: Epsilon,
    /// By this salesperson.
    pub seller: Epsilon,
}

impl Budget {
    pub fn new(
        monthly: Epsilon,
        broker: Epsilon,
        settlement: Epsilon,
        seller_share_bps: u32,
    ) -> Result<Budget, BudgetError> {
        if broker.checked_add(settlement).is_none_or(|sum| sum > monthly) {
            return Err(BudgetError::Oversplit { monthly, broker, settlement });
        }
        if seller_share_bps == 0 || seller_share_bps > 10_000 {
            return Err(BudgetError::Share(seller_share_bps));
        }
        Ok(Budget { monthly, broker, settlement, seller_share_bps })
    }

    pub fn monthly(&self) -> Epsilon {
        self.monthly
    }

    pub fn seller_share_bps(&self) -> u32 {
        self.seller_share_bps
    }

    /// The service's part of each month.
    pub fn service_cap(&self, analyst: Analyst) -> Epsilon {
        match analyst {
            Analyst::Broker => self.broker,
            Analyst::Settlement => self.settlement,
        }
    }

    /// What one salesperson may spend of the service's part of each month.
    pub fn seller_cap(&self, analyst: Analyst) -> Epsilon {
        self.service_cap(analyst).share(self.seller_share_bps)
    }

    /// What this salesperson can still spend on a month.
    pub fn left(&self, analyst: Analyst, spent: Spent) -> Epsilon {
        let service = self.service_cap(analyst).saturating_sub(spent.service);
        let seller = self.seller_cap(analyst).saturating_sub(spent.seller);
        service.min(seller)
    }

    /// Whether a release costing `cost` in each month of `spent` fits every month.
    pub fn check(&self, analyst: Analyst, spent: &[(Month, Spent)], cost: Epsilon) -> Result<(), Exhausted> {
        for (month, s) in spent {
            let service_left = self.service_cap(analyst).saturating_sub(s.service);
            if service_left < cost {
                return Err(Exhausted { month: *month, limit: Limit::Service, left: service_left, needed: cost });
            }
            let seller_left = self.seller_cap(analyst).saturating_sub(s.seller);
            if seller_left < cost {
                return Err(Exhausted { month: *month, limit: Limit::Seller, left: seller_left, needed: cost });
            }
        }
        Ok(())
    }
}

/// The budget rules applied to in-memory spend records.
#[derive(Debug, Clone)]
pub struct MemoryLedger {
    budget: Budget,
    analyst: Analyst,
    service: HashMap<Month, Epsilon>,
    seller: HashMap<(String, Month), Epsilon>,
}

impl MemoryLedger {
    pub fn new(budget: Budget, analyst: Analyst) -> MemoryLedger {
        MemoryLedger { budget, analyst, service: HashMap::new(), seller: HashMap::new() }
    }

    pub fn spent(&self, seller: &str, month: Month) -> Spent {
        Spent {
            service: self.service.get(&month).copied().unwrap_or_default(),
            seller: self.seller.get(&(seller.to_string(), month)).copied().unwrap_or_default(),
        }
    }

    /// Charges `cost` to every month of `window`, all or nothing.
    pub fn charge(&mut self, seller: &str, window: Window, cost: Epsilon) -> Result<(), Exhausted> {
        let months = window.months();
        let spent: Vec<(Month, Spent)> = months.iter().map(|m| (*m, self.spent(seller, *m))).collect();
        self.budget.check(self.analyst, &spent, cost)?;
        for m in months {
            let s = self.service.entry(m).or_default();
            *s = s.checked_add(cost).expect("checked above");
            let s = self.seller.entry((seller.to_string(), m)).or_default();
            *s = s.checked_add(cost).expect("checked above");
        }
        Ok(())
    }

    /// The least this salesperson can still spend over the months of `window`.
    pub fn left(&self, seller: &str, window: Window) -> Epsilon {
        window.months().iter().map(|m| self.budget.left(self.analyst, self.spent(seller, *m))).min().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eps(x: f64) -> Epsilon {
        Epsilon::from_config(x).unwrap()
    }

    fn budget() -> Budget {
        Budget::new(eps(1.0), eps(0.6), eps(0.4), 5_000).unwrap()
    }

    fn w(from: &str, to: &str) -> Window {
        Window::parse(from, to).unwrap()
    }

    #[test]
    fn the_split_never_exceeds_the_monthly_budget() {
        assert!(Budget::new(eps(1.0), eps(0.6), eps(0.4), 5_000).is_ok());
        assert!(matches!(Budget::new(eps(1.0), eps(0.6), eps(0.5), 5_000), Err(BudgetError::Oversplit { .. })));
        assert!(matches!(Budget::new(eps(1.0), eps(0.5), eps(0.5), 0), Err(BudgetError::Share(0))));
        let b = budget();
        assert_eq!(b.service_cap(Analyst::Broker), eps(0.6));
        assert_eq!(b.seller_cap(Analyst::Broker), eps(0.3));
        assert_eq!(b.seller_cap(Analyst::Settlement), eps(0.2));
    }

    #[test]
    fn a_salesperson_spends_only_a_share() {
        let mut l = MemoryLedger::new(budget(), Analyst::Broker);
        l.charge("s1", w("2026-11", "2026-11"), eps(0.2)).unwrap();
        assert_eq!(l.left("s1", w("2026-11", "2026-11")), eps(0.1));
        let refused = l.charge("s1", w("2026-11", "2026-11"), eps(0.2)).unwrap_err();
        assert_eq!(refused.limit, Limit::Seller);
        // A refused charge spends nothing.
        assert_eq!(l.spent("s1", Month::parse("2026-11").unwrap()).seller, eps(0.2));
    }

    #[test]
    fn colluding_salespeople_cannot_pass_the_service_budget() {
        let mut l = MemoryLedger::new(budget(), Analyst::Broker);
        l.charge("s1", w("2026-11", "2026-11"), eps(0.3)).unwrap();
        l.charge("s2", w("2026-11", "2026-11"), eps(0.3)).unwrap();
        let refused = l.charge("s3", w("2026-11", "2026-11"), eps(0.1)).unwrap_err();
        assert_eq!(refused.limit, Limit::Service);
        assert_eq!(l.left("s3", w("2026-11", "2026-11")), Epsilon::ZERO);
        // Another month is untouched.
        assert_eq!(l.left("s3", w("2026-10", "2026-10")), eps(0.3));
    }

    #[test]
    fn overlapping_windows_pay_in_every_month_they_share() {
        // Jan–Feb and Feb–Mar both read February: differencing them could isolate
        // February's data, so February pays for both, and a third window over February is
        // refused once its budget is gone, all or nothing across the window's months.
        let b = Budget::new(eps(1.0), eps(0.4), eps(0.4), 10_000).unwrap();
        let mut l = MemoryLedger::new(b, Analyst::Broker);
        l.charge("s1", w("2026-01", "2026-02"), eps(0.2)).unwrap();
        l.charge("s2", w("2026-02", "2026-03"), eps(0.2)).unwrap();
        let feb = Month::parse("2026-02").unwrap();
        assert_eq!(l.spent("x", feb).service, eps(0.4));
        let refused = l.charge("s3", w("2026-03-05", "2026-04-20"), eps(0.2));
        assert!(refused.is_ok(), "March has 0.2 left and April 0.4");
        let refused = l.charge("s3", w("2026-02-10", "2026-02-11"), eps(0.1)).unwrap_err();
        assert_eq!(refused.month, feb);
        let jan = Month::parse("2026-01").unwrap();
        let before = l.spent("s4", jan);
        assert!(l.charge("s4", w("2026-01", "2026-02"), eps(0.1)).is_err());
        assert_eq!(l.spent("s4", jan), before, "January is not charged when February refuses");
    }
}
