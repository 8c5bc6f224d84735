//! Differencing attacks against released reports. The attacker knows everything about the
//! data except whether one target order is in it, knows exactly what that order adds,
//! sees every released figure and uses the optimal (likelihood-ratio) test. Differential
//! privacy bounds how often any such attacker can be right: with ε spent on the target's
//! data, at most e^ε / (1 + e^ε) of the time for an even prior.

use privacy::analyses::{grid, sales_contributions, PublicLabels, ReportKind, Sale, Settings};
use privacy::budget::{Analyst, MemoryLedger};
use privacy::report::{Contribution, Plan, Release};
use privacy::Grid;
use privacy::{Epsilon, Month, Window};

fn at(month: &str, day: u32) -> chrono::NaiveDateTime {
    Month::parse(month).unwrap().start() + chrono::Duration::days(i64::from(day) - 1) + chrono::Duration::hours(12)
}

fn labels() -> PublicLabels {
    let mut l = PublicLabels::default();
    l.kinds.insert("drill".into());
    l.categories.extend(["tools".to_string(), "home".to_string()]);
    l.regions.insert("north".into());
    l
}

fn sale(order: String, month: &str, category: &str) -> Sale {
    Sale {
        order,
        kind: "drill".into(),
        category: category.into(),
        region: "north".into(),
        at: at(month, 10),
        quantity: 1,
        value: 4_000,
    }
}

/// Background: a steady market over January to March.
fn background() -> Vec<Sale> {
    let mut v = vec![];
    for month in ["2026-01", "2026-02", "2026-03"] {
        for i in 0..150 {
            v.push(sale(format!("{month}-t{i}"), month, "tools"));
        }
        for i in 0..60 {
            v.push(sale(format!("{month}-h{i}"), month, "home"));
        }
    }
    v
}

/// The target: one more tools order in February, of a known size.
fn target() -> Sale {
    Sale { quantity: 3, value: 45_000, ..sale("target".into(), "2026-02", "tools") }
}

fn in_window(sales: &[Sale], w: Window) -> Vec<Sale> {
    sales.iter().filter(|s| s.at >= w.start() && s.at < w.end()).cloned().collect()
}

/// The sales history of `w` grouped by category, with or without the target, ready to
/// be released again and again.
struct Scenario {
    grid: Grid,
    with: Vec<Contribution>,
    without: Vec<Contribution>,
}

impl Scenario {
    fn new(w: Window) -> Scenario {
        let grouping = ReportKind::SalesHistory.grouping("category").unwrap();
        let without = in_window(&background(), w);
        let mut with = without.clone();
        with.push(target());
        Scenario {
            grid: grid(grouping, &labels(), w).unwrap(),
            with: sales_contributions(grouping, &labels(), &with),
            without: sales_contributions(grouping, &labels(), &without),
        }
    }

    fn release(&self, plan: &Plan, with_target: bool) -> Release {
        plan.release(&self.grid, if with_target { &self.with } else { &self.without }).unwrap()
    }
}

/// Log-likelihood ratio of "target present" over "absent" for one release, given the
/// exact figures without the target (the attacker knows them) and what the target adds.
fn llr(r: &Release, exact_without: &[i64], target_adds: &[i64]) -> f64 {
    let row = r.rows.iter().find(|row| row.cell == vec!["tools".to_string()]).unwrap();
    if row.suppressed {
        return 0.0;
    }
    r.noise
        .iter()
        .enumerate()
        .map(|(m, noise)| {
            let y = row.values[m].unwrap() as f64;
            let absent = exact_without[m] as f64;
            let present = absent + target_adds[m] as f64;
            ((y - absent).abs() - (y - present).abs()) / noise.noise.scale
        })
        .sum()
}

/// Plays the attack `trials` times with the target present and `trials` times absent;
/// returns the share of right guesses.
fn attack(trials: usize, releases: impl Fn(bool) -> Vec<(Release, Vec<i64>)>) -> f64 {
    // The target order adds 1 order, 3 units and its value capped to 50 000.
    let adds = [1, 3, 45_000];
    let mut right = 0;
    for t in 0..2 * trials {
        let present = t % 2 == 0;
        let score: f64 = releases(present).iter().map(|(r, exact)| llr(r, exact, &adds)).sum();
        let guess = if score == 0.0 { t % 4 < 2 } else { score > 0.0 };
        if guess == present {
            right += 1;
        }
    }
    right as f64 / (2 * trials) as f64
}

fn bound(epsilon: Epsilon) -> f64 {
    let e = epsilon.as_f64().exp();
    e / (1.0 + e)
}

#[test]
fn one_order_added_between_two_reports_is_hidden_within_epsilon() {
    let settings = Settings::default();
    let plan = Plan::new(ReportKind::SalesHistory.spec(&settings)).unwrap();
    let w = Window::parse("2026-02", "2026-02").unwrap();
    // Exact figures without the target, as the attacker knows them: 150 orders, 150 units,
    // 150 · 4 000 in tools.
    let exact = vec![150, 150, 600_000];
    let trials = 6_000;
    let feb = Scenario::new(w);
    let accuracy = attack(trials, |present| vec![(feb.release(&plan, present), exact.clone())]);
    // Sampling error of the accuracy estimate: √(0.25 / 12 000) ≈ 0.0046; 0.015 is > 3σ.
    let limit = bound(plan.epsilon()) + 0.015;
    println!(
        "one order: attacker right {accuracy:.4}, ε = {} bounds it by {:.4}",
        plan.epsilon(),
        bound(plan.epsilon())
    );
    assert!(accuracy <= limit, "attacker right {accuracy:.4} of the time, ε = {} allows {limit:.4}", plan.epsilon());
    // The test is sharp enough to see a leak: without noise the same attacker always wins.
    assert!(accuracy > 0.5, "the optimal attacker should gain a little: {accuracy:.4}");
}

#[test]
fn overlapping_windows_cost_both_releases_in_the_shared_month_and_no_more() {
    let settings = Settings::default();
    let plan = Plan::new(ReportKind::SalesHistory.spec(&settings)).unwrap();
    let cost = plan.epsilon();
    let jan_feb = Window::parse("2026-01", "2026-02").unwrap();
    let feb_mar = Window::parse("2026-02", "2026-03").unwrap();

    // Two salespeople buy the two windows: February, where the target lies, pays twice.
    let mut ledger = MemoryLedger::new(settings.budget().unwrap(), Analyst::Broker);
    ledger.charge("s1", jan_feb, cost).unwrap();
    ledger.charge("s2", feb_mar, cost).unwrap();
    let feb = Month::parse("2026-02").unwrap();
    let spent_on_feb = ledger.spent("nobody", feb).service;
    assert_eq!(spent_on_feb, Epsilon::from_micros(2 * cost.micros()));

    // Pooling both releases, the optimal attacker is still held to what February paid.
    let exact = vec![300, 300, 1_200_000];
    let trials = 5_000;
    let (a, b) = (Scenario::new(jan_feb), Scenario::new(feb_mar));
    let accuracy = attack(trials, |present| {
        vec![(a.release(&plan, present), exact.clone()), (b.release(&plan, present), exact.clone())]
    });
    let limit = bound(spent_on_feb) + 0.015;
    println!(
        "overlapping windows: attacker right {accuracy:.4}, ε = {spent_on_feb} bounds it by {:.4}",
        bound(spent_on_feb)
    );
    assert!(accuracy <= limit, "pooled attack right {accuracy:.4}, February's ε {spent_on_feb} allows {limit:.4}");

    // Once February's part is spent, any further window touching it is refused, however
    // its dates are chosen, and nothing is charged to its other months either.
    ledger.charge("s3", Window::parse("2026-02-20", "2026-03-10").unwrap(), cost).unwrap();
    let spent_now = ledger.spent("nobody", feb).service;
    assert_eq!(spent_now, settings.broker_epsilon);
    let march = Month::parse("2026-03").unwrap();
    let march_before = ledger.spent("nobody", march).service;
    assert!(ledger.charge("s4", Window::parse("2026-02-27", "2026-03-01").unwrap(), cost).is_err());
    assert_eq!(ledger.spent("nobody", feb).service, spent_now);
    assert_eq!(ledger.spent("nobody", march).service, march_before);
}

#[test]
fn a_resold_copy_reveals_nothing_new() {
    // Reselling returns the stored release byte for byte; a second, fresh computation would
    // not. This is why reselling is free and recomputing is charged.
    let plan = Plan::new(ReportKind::SalesHistory.spec(&Settings::default())).unwrap();
    let feb = Scenario::new(Window::parse("2026-02", "2026-02").unwrap());
    let first = feb.release(&plan, false);
    let stored = serde_json::to_string(&first).unwrap();
    let resold = serde_json::to_string(&first).unwrap();
    assert_eq!(stored, resold);
    let fresh = (0..5).map(|_| serde_json::to_string(&feb.release(&plan, false)).unwrap());
    assert!(fresh.into_iter().any(|f| f != stored), "fresh noise differs from the stored copy");
}
