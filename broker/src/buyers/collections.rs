//! Collection points and the points they mint. Only a store the operator enabled mints,
//! at most a daily cap of points, and every mint is funded first: the store's available
//! balance at settlement is charged the points' value into the points liability, keyed by
//! the mint id (see `mint`), before the buyer's account holds a single point.

use crate::error::{BrokerError, Code};
use crate::schema::{collection_mints, collection_points};
use diesel::prelude::*;
use serde::Deserialize;
use shared::db::AnyConnection;
use shared::ids::{BuyerId, StoreId};
use shared::money::{Currency, Money};
use shared::time::{now, Timestamp};

/// What `[settings.broker]` says about collection points and group prices.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CollectionSettings {
    /// Points one collection point may mint per UTC day.
    pub collection_daily_points_cap: i64,
    /// The currency points are valued and funded in (`point_value_minor` of it each); an
    /// order in another currency cannot spend them.
    pub points_currency: String,
    /// Group prices one store may set per product: a small public list.
    pub group_prices_per_product: i64,
}

impl Default for CollectionSettings {
    fn default() -> Self {
        CollectionSettings {
            collection_daily_points_cap: 50_000,
            points_currency: "EUR".into(),
            group_prices_per_product: 5,
        }
    }
}

impl CollectionSettings {
    pub fn of(state: &crate::State) -> CollectionSettings {
        state.core.config.setting(shared::config::ServiceName::Broker)
    }

    pub fn currency(&self) -> Result<Currency, BrokerError> {
        Ok(Currency::parse(&self.points_currency)?)
    }
}

shared::text_enum! {
    /// Where a mint stands; stored as its snake_case name, an unknown one is a read error.
    pub enum MintStatus {
        /// Recorded, its charge at settlement not yet answered.
        Charging,
        /// Charged and its points credited.
        Credited,
        /// Refused by settlement; its code was given back.
        Failed,
    }
}

/// A mint as the broker keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mint {
    pub id: String,
    pub store_id: StoreId,
    pub code_hash: Option<String>,
    pub items: i64,
    pub points: i64,
    /// What the points are worth: what the store is charged.
    pub value: Money,
    pub status: MintStatus,
    pub failure: Option<String>,
    pub created_at: Timestamp,
}

/// A fresh mint id: the charge's key at settlement.
pub fn new_mint_id() -> String {
    format!("mint_{}", shared::ids::random_hex128())
}

/// The value of `points` at `point_value` minor units each.
pub fn value_of(points: i64, point_value: i64, currency: Currency) -> Result<Money, BrokerError> {
    points
        .checked_mul(point_value.max(1))
        .map(|a| Money::new(a, currency))
        .ok_or_else(|| BrokerError::refused(Code::InvalidItems, "too many points"))
}

/// Whether a daily total plus a new mint stays within the cap.
pub fn within_cap(minted_today: i64, points: i64, cap: i64) -> bool {
    minted_today.checked_add(points).is_some_and(|t| t <= cap)
}

/// The start of the UTC day `t` falls in.
pub fn day_start(t: Timestamp) -> Timestamp {
    t.date().and_hms_opt(0, 0, 0).expect("midnight exists")
}

pub fn is_collection_point(conn: &mut AnyConnection, store: &StoreId) -> QueryResult<bool> {
    let n: i64 = collection_points::table.find(&store).count().get_result(conn)?;
    Ok(n > 0)
}

/// Enables or disables a store as a collection point; mints already charged stand.
pub fn set_collection_point(conn: &mut AnyConnection, store: &StoreId, enabled: bool) -> QueryResult<()> {
    if enabled {
        if !is_collection_point(conn, store)? {
            diesel::insert_into(collection_points::table)
                .values((collection_points::store_id.eq(&store), collection_points::enabled_at.eq(now())))
                .execute(conn)?;
        }
    } else {
        diesel::delete(collection_points::table.find(&store)).execute(conn)?;
    }
    Ok(())
}

/// Locks the store's collection-point row for the rest of the transaction, so that two
/// mints at one store count against the daily cap one after the other; `false` when the
/// store is not a collection point.
pub fn lock_collection_point(conn: &mut AnyConnection, store: &StoreId) -> QueryResult<bool> {
    let n = diesel::update(collection_points::table.find(&store))
        .set(collection_points::enabled_at.eq(collection_points::enabled_at))
        .execute(conn)?;
    Ok(n == 1)
}

/// Points the store minted (or is minting) since `since`: failed mints do not count.
pub fn minted_since(conn: &mut AnyConnection, store: &StoreId, since: Timestamp) -> QueryResult<i64> {
    // Read the rows rather than `SUM` (NUMERIC on PostgreSQL): a day's mints at one store
    // are few.
    let rows: Vec<i64> = collection_mints::table
        .filter(collection_mints::store_id.eq(&store))
        .filter(collection_mints::created_at.ge(since))
        .filter(collection_mints::status.ne(MintStatus::Failed))
        .select(collection_mints::points)
        .load(conn)?;
    Ok(rows.into_iter().fold(0i64, |a, p| a.saturating_add(p)))
}

pub fn insert(conn: &mut AnyConnection, m: &Mint) -> QueryResult<()> {
    diesel::insert_into(collection_mints::table)
        .values((
            collection_mints::id.eq(&m.id),
            collection_mints::store_id.eq(&m.store_id),
            collection_mints::code_hash.eq(m.code_hash.as_deref()),
            collection_mints::items.eq(m.items),
            collection_mints::points.eq(m.points),
            collection_mints::amount.eq(m.value.amount),
            collection_mints::currency.eq(&m.value.currency),
            collection_mints::status.eq(m.status),
            collection_mints::failure.eq(m.failure.as_deref()),
            collection_mints::created_at.eq(m.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

type MintRow = (String, StoreId, Option<String>, i64, i64, i64, Currency, MintStatus, Option<String>, Timestamp);

pub fn get(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Mint>> {
    let row: Option<MintRow> = collection_mints::table
        .find(id)
        .select((
            collection_mints::id,
            collection_mints::store_id,
            collection_mints::code_hash,
            collection_mints::items,
            collection_mints::points,
            collection_mints::amount,
            collection_mints::currency,
            collection_mints::status,
            collection_mints::failure,
            collection_mints::created_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(id, store, code_hash, items, points, amount, currency, status, failure, created_at)| {
        Ok(Mint {
            id,
            store_id: store,
            code_hash,
            items,
            points,
            value: Money::new(amount, currency),
            status,
            failure,
            created_at,
        })
    })
    .transpose()
}

/// Ends a charging mint as `status`; `false` when it was no longer charging (another
/// attempt ended it). The code hash goes with it: afterwards nothing ties the collecting
/// store to the account.
pub fn finish(conn: &mut AnyConnection, id: &str, status: MintStatus, failure: Option<&str>) -> QueryResult<bool> {
    let n = diesel::update(collection_mints::table.find(id).filter(collection_mints::status.eq(MintStatus::Charging)))
        .set((
            collection_mints::status.eq(status),
            collection_mints::failure.eq(failure),
            collection_mints::code_hash.eq(None::<String>),
            collection_mints::completed_at.eq(Some(now())),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// The account a redeemed code belongs to.
pub fn code_owner(conn: &mut AnyConnection, code_hash: &str) -> QueryResult<Option<BuyerId>> {
    use crate::schema::collection_codes;
    Ok(collection_codes::table
        .find(code_hash)
        .select(collection_codes::buyer_id)
        .first::<String>(conn)
        .optional()?
        .map(BuyerId::from_db))
}

/// A mint that was not funded gives its code back: it minted nothing, and the buyer may
/// hand it in at a collection point that can fund it.
pub fn unredeem_code(conn: &mut AnyConnection, code_hash: &str) -> QueryResult<()> {
    use crate::schema::collection_codes;
    diesel::update(collection_codes::table.find(code_hash))
        .set((collection_codes::redeemed_at.eq(None::<Timestamp>), collection_codes::items.eq(None::<i64>)))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_caps_and_days() {
        assert_eq!(value_of(150, 1, Currency::EUR).unwrap(), Money::new(150, Currency::EUR));
        assert_eq!(value_of(150, 3, Currency::EUR).unwrap().amount, 450);
        assert!(value_of(i64::MAX, 2, Currency::EUR).is_err());
        assert!(within_cap(0, 100, 100));
        assert!(!within_cap(1, 100, 100));
        assert!(!within_cap(i64::MAX, 1, i64::MAX));
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(17, 3, 4).unwrap();
        assert_eq!(day_start(t).to_string(), "2026-12-01 00:00:00");
        assert!(new_mint_id().starts_with("mint_") && new_mint_id() != new_mint_id());
    }
}
