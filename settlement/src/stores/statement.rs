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
    /// (refunds after release) or `fees_returned` (the fees on what chargebacks refunded).
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

/// The statement's lines from the period's totals and its chargebacks (what they refunded,
/// the fees returned with them); they add up to `net`.
pub fn lines(t: &pricing::Totals, chargebacks: (i64, i64), currency: shared::money::Currency) -> (Vec<Line>, Money) {
    let m = |a: i64| Money::new(a, currency);
    // Partial refunds made while the money was in escrow are released less.
    let refunds = t.public_amount - t.group_discount - t.fees - t.store_credit;
    let mut out = vec![
        Line { kind: "gross_sales", amount: m(t.public_amount) },
        Line { kind: "group_discounts", amount: m(-t.group_discount) },
        Line { kind: "fees", amount: m(-t.fees) },
    ];
    if refunds != 0 {
        out.push(Line { kind: "refunds_before_release", amount: m(-refunds) });
    }
    let (charged_back, fees_returned) = chargebacks;
    if charged_back != 0 {
        out.push(Line { kind: "chargebacks", amount: m(-charged_back) });
        out.push(Line { kind: "fees_returned", amount: m(fees_returned) });
    }
    (out, m(t.store_credit - charged_back + fees_returned))
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
            let t = pricing::totals(c, &store, currency, start, end)?;
            let chargebacks = crate::refunds::store::chargeback_totals(c, &store, currency, start, end)?;
            let (lines, net) = lines(&t, chargebacks, currency);
            Ok::<_, SettlementError>(Statement {
                store_id: store,
                from: from.to_string(),
                to: to.to_string(),
                orders: t.orders,
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
        let t = pricing::Totals { orders: 2, public_amount: 2_000, group_discount: 200, store_credit: 1_700, fees: 54 };
        let (out, net) = lines(&t, (0, 0), Currency::EUR);
        let kinds: Vec<&str> = out.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, ["gross_sales", "group_discounts", "fees", "refunds_before_release"]);
        assert_eq!(out.iter().map(|l| l.amount.amount).sum::<i64>(), net.amount);
        let t = pricing::Totals { orders: 1, public_amount: 1_000, group_discount: 0, store_credit: 970, fees: 30 };
        assert_eq!(lines(&t, (0, 0), Currency::EUR).0.len(), 3);
        // A chargeback of 400 with 12 of fees returned: the store gave back 388.
        let (out, net) = lines(&t, (400, 12), Currency::EUR);
        let kinds: Vec<&str> = out.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, ["gross_sales", "group_discounts", "fees", "chargebacks", "fees_returned"]);
        assert_eq!(out.iter().map(|l| l.amount.amount).sum::<i64>(), net.amount);
        assert_eq!(net.amount, 970 - 388);
    }
}
