//! Urgent prices end by the clock, not by a write: this sweeper rewrites an offer's
//! current price (what search ranks by) to the regular one once its urgent price ends. It
//! wakes at the next end, or at least every [`MAX_WAIT`], and each rewrite is conditional,
//! so copies of the broker may sweep side by side. Until an ended price is swept, search
//! ranks by the price rule itself (see `search::store`), so a late sweep costs speed only.

use super::urgent_prices::{end_urgent_prices, next_urgent_end};
use crate::error::BrokerError;
use shared::server::Core;
use shared::time::Timestamp;
use std::time::Duration;

/// The longest the sweeper sleeps: an urgent price set meanwhile may end sooner than the
/// one it was waiting for.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

pub fn spawn(core: Core) {
    tokio::spawn(async move {
        loop {
            let wait = match sweep(&core).await {
                Ok((n, next)) => {
                    if n > 0 {
                        tracing::info!(offers = n, "urgent prices ended");
                    }
                    wait_for(shared::time::now(), next)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "urgent price sweep failed");
                    MAX_WAIT
                }
            };
            tokio::time::sleep(wait).await;
        }
    });
}

/// One pass: ends the urgent prices due by now (writing only when one is due). Returns how
/// many it ended and when the next running one ends.
pub async fn sweep(core: &Core) -> Result<(usize, Option<Timestamp>), BrokerError> {
    let next = core.db.read(|c| next_urgent_end(c).map_err(BrokerError::from)).await?;
    let t = shared::time::now();
    if next.is_none_or(|n| n > t) {
        return Ok((0, next));
    }
    let (ended, next) = core
        .db
        .write(move |c| {
            let ended = end_urgent_prices(c, t)?;
            Ok::<_, BrokerError>((ended, next_urgent_end(c)?))
        })
        .await?;
    Ok((ended, next))
}

/// How long to sleep at `now` when the next urgent price ends at `next`: until just after
/// it ends, within (0, MAX_WAIT].
pub fn wait_for(now: Timestamp, next: Option<Timestamp>) -> Duration {
    let Some(next) = next else { return MAX_WAIT };
    let until = (next - now).to_std().unwrap_or_default() + Duration::from_millis(1);
    until.min(MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::offers::find_offer;
    use crate::catalog::testing::*;
    use crate::catalog::urgent_prices::{set_urgent_price, urgent_price_ended};
    use crate::schema::offers;
    use diesel::prelude::*;

    fn current_price(conn: &mut shared::db::AnyConnection, s: &shared::ids::StoreId, w: &World) -> i64 {
        offers::table
            .filter(offers::store_id.eq(&s))
            .filter(offers::product_id.eq(&w.product))
            .select(offers::current_price)
            .first(conn)
            .unwrap()
    }

    #[test]
    fn the_wait_reaches_the_next_end_and_no_further_than_the_bound() {
        let now = shared::time::now();
        assert_eq!(wait_for(now, None), MAX_WAIT);
        assert_eq!(wait_for(now, Some(now + chrono::Duration::hours(1))), MAX_WAIT);
        assert_eq!(wait_for(now, Some(now + chrono::Duration::milliseconds(200))), Duration::from_millis(201));
        assert_eq!(wait_for(now, Some(now - chrono::Duration::seconds(5))), Duration::from_millis(1));
    }

    #[test]
    fn the_current_price_follows_the_urgent_price_and_its_end() {
        let (_d, mut conn) = sqlite();
        let w = world(&mut conn);
        let s = shop(&mut conn, &w, Some(&w.union_a), "north");
        offer(&mut conn, &s, &w.product, 900, 3, true);
        assert_eq!(current_price(&mut conn, &s, &w), 900);
        let t = shared::time::now();
        let until = t + chrono::Duration::hours(1);
        set_urgent_price(&mut conn, &s, &w.product, Some(eur(700)), Some(until)).unwrap();
        assert_eq!(current_price(&mut conn, &s, &w), 700);
        // A new regular price leaves the running urgent price current.
        let mut o = find_offer(&mut conn, &s, &w.product).unwrap().unwrap();
        o.price = eur(950);
        crate::catalog::offers::put_offer(&mut conn, &o).unwrap();
        assert_eq!(current_price(&mut conn, &s, &w), 700);
        assert_eq!(next_urgent_end(&mut conn).unwrap(), Some(until));
        // Nothing has ended yet: the sweep changes nothing.
        assert_eq!(end_urgent_prices(&mut conn, t).unwrap(), 0);
        assert!(!urgent_price_ended(&mut conn, t).unwrap());
        // Once it ends, the stored price is stale until the sweep, then regular again.
        let later = until + chrono::Duration::seconds(1);
        assert!(urgent_price_ended(&mut conn, later).unwrap());
        assert_eq!(end_urgent_prices(&mut conn, later).unwrap(), 1);
        assert_eq!(current_price(&mut conn, &s, &w), 950);
        assert!(!urgent_price_ended(&mut conn, later).unwrap());
        assert_eq!(next_urgent_end(&mut conn).unwrap(), None);
        assert_eq!(end_urgent_prices(&mut conn, later).unwrap(), 0);
        // Ending an urgent price by hand restores the regular price at once.
        set_urgent_price(&mut conn, &s, &w.product, Some(eur(600)), Some(until)).unwrap();
        assert_eq!(current_price(&mut conn, &s, &w), 600);
        set_urgent_price(&mut conn, &s, &w.product, None, None).unwrap();
        assert_eq!(current_price(&mut conn, &s, &w), 950);
        // An urgent price that has already ended is never current.
        set_urgent_price(&mut conn, &s, &w.product, Some(eur(600)), Some(t)).unwrap();
        assert_eq!(current_price(&mut conn, &s, &w), 950);
    }

    /// The sweeper's pass on a running broker database: it ends what is due, leaves what
    /// still runs, and names when that ends.
    #[tokio::test]
    async fn a_sweep_pass_ends_what_is_due_and_names_the_next_end() {
        let dir = tempfile::tempdir().unwrap();
        let config = shared::config::Config {
            data_dir: dir.path().to_path_buf(),
            operator_token: Some("op-test".into()),
            ..Default::default()
        };
        let core = Core::open(&config, shared::config::ServiceName::Broker, crate::MIGRATIONS).unwrap();
        let later = shared::time::now() + chrono::Duration::hours(1);
        let soon = shared::time::now() + chrono::Duration::milliseconds(50);
        let (ending, running, w) = core
            .db
            .write(move |c| {
                let w = world(c);
                let (a, b) = (shop(c, &w, Some(&w.union_a), "north"), shop(c, &w, Some(&w.union_a), "north"));
                offer(c, &a, &w.product, 900, 3, true);
                offer(c, &b, &w.product, 800, 3, true);
                set_urgent_price(c, &a, &w.product, Some(eur(700)), Some(soon))?;
                set_urgent_price(c, &b, &w.product, Some(eur(600)), Some(later))?;
                Ok::<_, BrokerError>((a, b, w))
            })
            .await
            .unwrap();
        assert_eq!(sweep(&core).await.unwrap(), (0, Some(soon)));
        tokio::time::sleep(wait_for(shared::time::now(), Some(soon))).await;
        assert_eq!(sweep(&core).await.unwrap(), (1, Some(later)));
        let prices = core
            .db
            .read(move |c| Ok::<_, BrokerError>((current_price(c, &ending, &w), current_price(c, &running, &w))))
            .await
            .unwrap();
        assert_eq!(prices, (900, 600));
        assert_eq!(sweep(&core).await.unwrap(), (0, Some(later)));
    }
}
