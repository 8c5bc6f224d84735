//! `GET /v1/seller/statement?store_id=&from=&to=`: what a store earned over a period, in
//! aggregate lines. Sales count at public prices (offer price × quantity, what the seller
//! sees on each order); what group prices took off them is one `group_discounts` line for
//! the whole period, never per order, so a statement cannot tell which orders a group
//! bought. Points buyers spent are no line at all: the points liability paid them.

use super::routes::resolve_store;
use crate::error::{Code, Result, SettlementError};
use crate::orders::pricing;
use crate::State;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shared::ids::StoreId;
use shared::money::Money;
use shared::owner::StoreOwner;
use utoipa::{IntoParams, ToSchema};

/// The longest period one statement covers.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Deserialize, IntoParams)]
pub struct StatementQuery {
    /// Required when the seller has several stores.
    pub store_id: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC); the first of this month when left out.
    pub from: Option<String>,
    /// Last day, included; today when left out.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Line {
    /// `gross_sales`, `group_discounts`, `fees`, `refunds_before_release`, `chargebacks`
    /// (refunds after release), `fees_returned` (the fees on what chargebacks refunded),
    /// `referral_fees_earned` and `fulfilment_fees_earned` (as the referring or shipping
    /// store of others' orders), and `referral_fees_charged_back` and
    /// `fulfilment_fees_charged_back` (what others' chargebacks took back of those).
    pub kind: &'static str,
    pub amount: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Statement {
    pub store_id: StoreId,
    pub from: String,
    pub to: String,
    /// Orders released to the store in the period.
    pub orders: i64,
    pub lines: Vec<Line>,
    /// What the lines add up to: what the period's releases credited to the balance, less
    /// what its chargebacks took back.
    pub net: Money,
}

fn day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| SettlementError::refused(Code::InvalidPeriod, "`from` and `to` are dates, YYYY-MM-DD"))
}

/// The period `[from, to]` in days; `to` is included.
pub fn period(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
    let to = to.map(day).transpose()?.unwrap_or(today);
    let from = from.map(day).transpose()?.unwrap_or_else(|| to.with_day0(0).unwrap_or(to));
    if from > to || (to - from).num_days() >= MAX_DAYS {
        return Err(SettlementError::refused(
            Code::InvalidPeriod,
            format!("`from` must be on or before `to`, at most {MAX_DAYS} days apart"),
        ));
    }
    Ok((from, to))
}

use chrono::Datelike;

/// What a period holds for a store: its own released sales, what chargebacks on them
/// refunded and the fees returned with them, and the fees others' orders passed to it and
/// their chargebacks took back.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub sales: pricing::Totals,
    pub charged_back: i64,
    pub fees_returned: i64,
    pub earned: pricing::PassedFees,
    pub earned_back: pricing::PassedFees,
}

/// The statement's lines; they add up to `net`, what the period moved on the balance.
pub fn lines(p: &Period, currency: shared::money::Currency) -> (Vec<Line>, Money) {
    let m = |a: i64| Money::new(a, currency);
    let t = &p.sales;
    // Partial refunds made while the money was in escrow are released less.
    let refunds = t.public_amount - t.group_discount - t.fees - t.store_credit;
    let mut out = vec![
        Line { kind: "gross_sales", amount: m(t.public_amount) },
        Line { kind: "group_discounts", amount: m(-t.group_discount) },
        Line { kind: "fees", amount: m(-t.fees) },
    ];
    let mut add = |kind: &'static str, amount: i64, shown: bool| {
        if shown {
            out.push(Line { kind, amount: m(amount) });
        }
    };
    add("refunds_before_release", -refunds, refunds != 0);
    add("chargebacks", -p.charged_back, p.charged_back != 0);
    add("fees_returned", p.fees_returned, p.charged_back != 0);
    let (earned, back) = (p.earned, p.earned_back);
    add("referral_fees_earned", earned.referral, earned.referral != 0);
    add("fulfilment_fees_earned", earned.fulfilment, earned.fulfilment != 0);
    add("referral_fees_charged_back", -back.referral, back.referral != 0);
    add("fulfilment_fees_charged_back", -back.fulfilment, back.fulfilment != 0);
    let net = out.iter().map(|l| l.amount.amount).sum();
    (out, m(net))
}

/// The store's statement for a period: sales at public prices, group discounts as one
/// line, fees, and the net credited.
#[utoipa::path(get, path = "/v1/seller/statement", params(StatementQuery),
    responses((status = 200, body = Statement), (status = 400, description = "store_id_required"),
        (status = 403, description = "another seller's store"), (status = 422, description = "invalid_period")),
    security(("seller" = [])))]
pub async fn statement(
    state: web::Data<State>,
    owner: StoreOwner,
    q: web::Query<StatementQuery>,
) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let (from, to) = period(q.from.as_deref(), q.to.as_deref(), shared::time::now().date())?;
    let currency = state.settings.currency()?;
    let start = from.and_hms_opt(0, 0, 0).expect("midnight exists");
    let end = (to + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight exists");
    let statement = state
        .core
        .db
        .read(move |c| {
            let store = resolve_store(c, &owner, given)?;
            let sales = pricing::totals(c, &store, currency, start, end)?;
            let (charged_back, fees_returned) =
                crate::refunds::store::chargeback_totals(c, &store, currency, start, end)?;
            let p = Period {
                sales,
                charged_back,
                fees_returned,
                earned: pricing::passed_fees(c, &store, currency, start, end)?,
                earned_back: crate::refunds::store::passed_fees_charged_back(c, &store, currency, start, end)?,
            };
            let (lines, net) = lines(&p, currency);
            Ok::<_, SettlementError>(Statement {
                store_id: store,
                from: from.to_string(),
                to: to.to_string(),
                orders: p.sales.orders,
                lines,
                net,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(statement))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;

    #[test]
    fn periods_default_to_this_month_and_are_bounded() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 17).unwrap();
        let (f, t) = period(None, None, today).unwrap();
        assert_eq!((f.to_string(), t.to_string()), ("2026-12-01".into(), "2026-12-17".into()));
        assert!(period(Some("2026-12-18"), Some("2026-12-17"), today).is_err());
        assert!(period(Some("2020-01-01"), Some("2026-12-17"), today).is_err());
        assert!(period(Some("17.12.2026"), None, today).is_err());
    }

    #[test]
    fn lines_add_up_to_the_net() {
        let sales =
            pricing::Totals { orders: 2, public_amount: 2_000, group_discount: 200, store_credit: 1_700, fees: 54 };
        let (out, net) = lines(&Period { sales, ..Period::default() }, Currency::EUR);
        let kinds: Vec<&str> = out.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, ["gross_sales", "group_discounts", "fees", "refunds_before_release"]);
        assert_eq!((out.iter().map(|l| l.amount.amount).sum::<i64>(), net.amount), (1_700, 1_700));
        let sales = pricing::Totals { orders: 1, public_amount: 1_000, group_discount: 0, store_credit: 970, fees: 30 };
        assert_eq!(lines(&Period { sales, ..Period::default() }, Currency::EUR).0.len(), 3);
        // A chargeback of 400 with 12 of fees returned: the store gave back 388.
        let p = Period { sales, charged_back: 400, fees_returned: 12, ..Period::default() };
        let (out, net) = lines(&p, Currency::EUR);
        let kinds: Vec<&str> = out.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, ["gross_sales", "group_discounts", "fees", "chargebacks", "fees_returned"]);
        assert_eq!(net.amount, 970 - 388);
    }

    #[test]
    fn fees_passed_from_others_orders_are_lines_of_their_own() {
        // A store that sold nothing but referred an order (20) and shipped one (20), of
        // which a chargeback took 8 of the referral fee back.
        let p = Period {
            earned: pricing::PassedFees { referral: 20, fulfilment: 20 },
            earned_back: pricing::PassedFees { referral: 8, fulfilment: 0 },
            ..Period::default()
        };
        let (out, net) = lines(&p, Currency::EUR);
        let kinds: Vec<(&str, i64)> = out.iter().map(|l| (l.kind, l.amount.amount)).collect();
        assert_eq!(
            kinds,
            [
                ("gross_sales", 0),
                ("group_discounts", 0),
                ("fees", 0),
                ("referral_fees_earned", 20),
                ("fulfilment_fees_earned", 20),
                ("referral_fees_charged_back", -8)
            ]
        );
        assert_eq!(net.amount, 32);
    }
}
