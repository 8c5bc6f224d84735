//! The search query. Offers carry their product's kind and their current price (the
//! urgent price while it runs, else the regular one) so that one index,
//! `offers_search (kind, sellable, current_price)`, both narrows the scan to sellable
//! offers of the kind and yields them in rank order: the database reads the page it
//! returns (and the ties at its end) instead of sorting every match. Each characteristic
//! is an indexed lookup in `product_attributes_lookup (name, value, product_id)`.

use super::domain::SearchQuery;
use crate::catalog::offers::{offer_from, OfferTuple};
use crate::catalog::urgent_prices::urgent_price_ended;
use crate::schema::{offers, product_attributes, products, stores};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use shared::db::AnyConnection;
use shared::time::Timestamp;

type Backend = <AnyConnection as diesel::Connection>::Backend;
type Source =
    diesel::dsl::InnerJoinQuerySource<diesel::dsl::InnerJoinQuerySource<offers::table, stores::table>, products::table>;
/// A price expression over the searched offers.
type Price = Box<dyn BoxableExpression<Source, Backend, SqlType = BigInt>>;

/// What a buyer pays now, as search ranks and filters by it. Normally the maintained
/// `current_price` column, which the index follows. While an urgent price has ended but
/// the sweeper has not yet rewritten it (a moment after it ends), the stored column is
/// stale, so the rule itself decides, at the cost of sorting every match.
fn price_now(swept: bool, t: Timestamp) -> Price {
    if swept {
        Box::new(offers::current_price)
    } else {
        Box::new(
            case_when(offers::urgent_until.gt(t), offers::urgent_price_amount.assume_not_null())
                .otherwise(offers::price_amount),
        )
    }
}

pub use client::broker::catalog::Hit;

/// One page of sellable offers with stock, ranked by price, then nearness to the buyer's
/// region, then stock. Fetches one more than the page to tell whether another follows.
pub fn search(conn: &mut AnyConnection, q: &SearchQuery) -> QueryResult<(Vec<Hit>, bool)> {
    let t = shared::time::now();
    let swept = !urgent_price_ended(conn, t)?;
    let price = || price_now(swept, t);
    let mut query = offers::table
        .inner_join(stores::table)
        .inner_join(products::table)
        .filter(offers::kind.eq(&q.kind))
        .filter(offers::sellable.eq(true))
        .filter(offers::stock.gt(0))
        .filter(stores::suspended_at.is_null())
        .into_boxed();
    for (name, value) in &q.attributes {
        query = query.filter(
            offers::product_id.eq_any(
                product_attributes::table
                    .filter(product_attributes::name.eq(name.clone()))
                    .filter(product_attributes::value.eq(value.clone()))
                    .select(product_attributes::product_id),
            ),
        );
    }
    if let Some(c) = q.currency {
        query = query.filter(offers::price_currency.eq(c.as_str().to_string()));
    }
    if let Some(lo) = q.min_price {
        query = query.filter(price().ge(lo));
    }
    if let Some(hi) = q.max_price {
        query = query.filter(price().le(hi));
    }
    if let Some(r) = &q.region {
        query = query.filter(stores::region.eq(r.clone()));
    }
    if let Some(c) = &q.category {
        query = query.filter(stores::category.eq(c.clone()));
    }
    if let Some(e) = &q.compatible {
        // The list is stored as a JSON array of plain words: match the quoted word.
        query = query.filter(products::compatible_with.like(format!("%\"{e}\"%")));
    }
    query = query.order(price().asc());
    // Region nearness (see `catalog::domain::nearness`): the same region, then the same
    // parent region (`north` for `north-kiel`), then elsewhere. The parent's children are
    // the range ["north-", "north.") because '.' follows '-'; a range rather than
    // `LIKE 'north-%'` keeps SQLite from re-preparing the statement at every execution
    // (a bound LIKE pattern expires a prepared statement when it is rebound). Without
    // `near` every offer is as near as any other, so the term is left out and the whole
    // ranking is the order of `offers_search`; with it, only offers of equal price are sorted.
    if let Some(near) = &q.near {
        let parent = crate::catalog::domain::parent_region(near).to_string();
        let (children_from, children_to) = (format!("{parent}-"), format!("{parent}."));
        let nearness = case_when(stores::region.eq(near.clone()), 0.into_sql::<Integer>())
            .when(
                stores::region.eq(parent).or(stores::region.ge(children_from).and(stores::region.lt(children_to))),
                1.into_sql::<Integer>(),
            )
            .otherwise(2.into_sql::<Integer>());
        query = query.then_order_by(nearness.asc());
    }
    let rows: Vec<(OfferTuple, String, String, String, String)> = query
        .then_order_by(offers::stock.desc())
        .then_order_by(offers::store_id.asc())
        .then_order_by(offers::product_id.asc())
        .limit(q.limit + 1)
        .offset(q.offset)
        .select((crate::offer_columns!(), stores::name, products::name, stores::region, stores::category))
        .load(conn)?;
    let more = rows.len() as i64 > q.limit;
    let hits = rows
        .into_iter()
        .take(q.limit as usize)
        .map(|(o, store_name, product_name, region, category)| {
            let offer = offer_from(o)?;
            let price = offer.price_at(t);
            Ok(Hit {
                urgent: price != offer.price,
                store_id: offer.store_id,
                store_name,
                product_id: offer.product_id,
                product_name,
                price,
                stock: offer.stock,
                region,
                category,
            })
        })
        .collect::<QueryResult<Vec<_>>>()?;
    Ok((hits, more))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::InstrumentationEvent;
    use shared::ids::StoreId;
    use std::sync::{Arc, Mutex};

    fn sqlite() -> (tempfile::TempDir, AnyConnection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = shared::db::Manager::new(dir.path().join("b.db").to_str().unwrap()).establish().unwrap();
        crate::MIGRATIONS.run(&mut conn).unwrap();
        (dir, conn)
    }

    #[derive(QueryableByName)]
    struct PlanRow {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    fn sqlite_plan(conn: &mut AnyConnection, query: &[(&str, &str)]) -> Vec<String> {
        let sql = captured_search_sql(conn, query);
        let AnyConnection::Sqlite(c) = conn else { unreachable!() };
        let plan: Vec<PlanRow> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(c).unwrap();
        plan.into_iter().map(|r| r.detail).collect()
    }

    /// Runs the real search query with instrumentation, then asks SQLite how it would run
    /// exactly that SQL: through the search index and the attribute index, never a scan of
    /// all offers, and in the index's order, so that it stops after the page.
    #[test]
    fn the_search_query_uses_the_indexes() {
        let (_dir, mut conn) = sqlite();
        let plan = sqlite_plan(
            &mut conn,
            &[("kind", "drill"), ("attr.colour", "red"), ("min_price", "1"), ("currency", "EUR"), ("region", "north")],
        );
        let text = plan.join("\n");
        assert!(text.contains("offers_search"), "the search index is not used:\n{text}");
        assert!(text.contains("product_attributes_lookup"), "the attribute index is not used:\n{text}");
        assert!(!plan.iter().any(|l| l.starts_with("SCAN") && l.contains("offers")), "offers are scanned:\n{text}");
        assert!(!text.contains("TEMP B-TREE"), "matches are sorted:\n{text}");
        // Ranked by nearness too: only offers of equal price are sorted, never every match.
        let plan = sqlite_plan(&mut conn, &[("kind", "drill"), ("near", "north-kiel")]);
        let text = plan.join("\n");
        assert!(text.contains("offers_search"), "the search index is not used:\n{text}");
        assert!(!text.contains("USE TEMP B-TREE FOR ORDER BY"), "every match is sorted:\n{text}");
    }

    fn ranked(conn: &mut AnyConnection, query: &[(&str, &str)]) -> Vec<(StoreId, i64, bool)> {
        let pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let q = super::super::domain::parse(&pairs).unwrap();
        search(conn, &q).unwrap().0.into_iter().map(|h| (h.store_id, h.price.amount, h.urgent)).collect()
    }

    /// An urgent price ranks while it runs; once it ends it ranks as the regular price at
    /// once, before the sweeper has rewritten the stored current price and after.
    #[test]
    fn an_ended_urgent_price_ranks_as_the_regular_price() {
        use crate::catalog::testing::*;
        use crate::catalog::urgent_prices::{end_urgent_prices, set_urgent_price};
        let (_dir, mut conn) = sqlite();
        let w = world(&mut conn);
        let (urgent, steady) =
            (shop(&mut conn, &w, Some(&w.union_a), "north"), shop(&mut conn, &w, Some(&w.union_a), "north"));
        offer(&mut conn, &urgent, &w.product, 900, 3, true);
        offer(&mut conn, &steady, &w.product, 800, 3, true);
        let until = shared::time::now() + chrono::Duration::hours(1);
        set_urgent_price(&mut conn, &urgent, &w.product, Some(eur(700)), Some(until)).unwrap();
        let cheap = [("kind", "drill"), ("max_price", "750"), ("currency", "EUR")];
        assert_eq!(
            ranked(&mut conn, &[("kind", "drill")]),
            vec![(urgent.clone(), 700, true), (steady.clone(), 800, false)]
        );
        assert_eq!(ranked(&mut conn, &cheap), vec![(urgent.clone(), 700, true)]);
        // The clock passes the end; the sweeper has not run yet.
        let ended = shared::time::now() - chrono::Duration::seconds(1);
        diesel::update(offers::table.filter(offers::store_id.eq(&urgent)))
            .set(offers::urgent_until.eq(ended))
            .execute(&mut conn)
            .unwrap();
        let regular = vec![(steady.clone(), 800, false), (urgent.clone(), 900, false)];
        assert_eq!(ranked(&mut conn, &[("kind", "drill")]), regular);
        assert_eq!(ranked(&mut conn, &cheap), vec![]);
        assert_eq!(end_urgent_prices(&mut conn, shared::time::now()).unwrap(), 1);
        assert_eq!(ranked(&mut conn, &[("kind", "drill")]), regular);
        assert_eq!(ranked(&mut conn, &cheap), vec![]);
    }

    fn captured_search_sql(conn: &mut AnyConnection, query: &[(&str, &str)]) -> String {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = seen.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                sink.lock().unwrap().push(query.to_string());
            }
        });
        let pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let q = super::super::domain::parse(&pairs).unwrap();
        search(conn, &q).unwrap();
        conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
        let sql = seen.lock().unwrap().iter().find(|s| s.contains("FROM") && s.contains("JOIN")).cloned().unwrap();
        sql.split(" -- binds:").next().unwrap().to_string()
    }

    /// The same check on PostgreSQL, when the suite runs there
    /// (`MARKETPLACE_TEST_DATABASE=postgres`): with sequential scans discouraged, the generic
    /// plan of the real query reaches offers through `offers_search`.
    #[test]
    fn the_search_query_uses_the_indexes_on_postgres() {
        let admin = match std::env::var("MARKETPLACE_TEST_DATABASE").ok().as_deref() {
            Some("postgres") => "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_string(),
            Some(url) if url.starts_with("postgres") => url.to_string(),
            _ => return,
        };
        let name = format!("mkt_plan_{}", &shared::ids::random_hex128()[..12]);
        let url = shared::db::create_postgres_database(&admin, &name).unwrap();
        let result = std::panic::catch_unwind(|| {
            let mut conn = shared::db::Manager::new(&url).establish().unwrap();
            crate::MIGRATIONS.run(&mut conn).unwrap();
            let AnyConnection::Postgresql(c) = &mut conn else { unreachable!() };
            use diesel::connection::SimpleConnection;
            c.batch_execute("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off;").unwrap();
            #[derive(QueryableByName)]
            struct Line {
                #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
                line: String,
            }
            let cases: [(&[(&str, &str)], &str); 2] = [
                // By kind alone: the search index.
                (&[("kind", "drill"), ("region", "north")], "offers_search"),
                // With a characteristic, PostgreSQL may start from the attribute index and
                // reach offers by product instead: either way, no scan of all offers.
                (&[("kind", "drill"), ("attr.colour", "red")], "product_attributes_lookup"),
            ];
            for (i, (query, index)) in cases.into_iter().enumerate() {
                let sql = captured_search_sql(&mut conn, query);
                let params = sql.matches('$').count();
                let AnyConnection::Postgresql(c) = &mut conn else { unreachable!() };
                c.batch_execute(&format!("PREPARE search_plan_{i} AS {sql}")).unwrap();
                let nulls = vec!["NULL"; params].join(", ");
                let plan: Vec<Line> =
                    diesel::sql_query(format!("EXPLAIN EXECUTE search_plan_{i}({nulls})")).load(c).unwrap();
                let text = plan.into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n");
                assert!(text.contains(index), "`{index}` is not used:\n{text}\n{sql}");
                assert!(!text.contains("Seq Scan on offers"), "offers are scanned:\n{text}");
            }
        });
        let _ = shared::db::drop_postgres_database(&admin, &name);
        if let Err(p) = result {
            std::panic::resume_unwind(p);
        }
    }
}
