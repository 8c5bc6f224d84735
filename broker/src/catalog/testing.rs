//! A small world on a fresh SQLite database, for the broker's unit tests.

use super::domain::{Offer, Product};
use super::offers::put_offer;
use super::products::insert_product;
use crate::catalog::domain::Registration;
use crate::stores::store::insert_store;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ManufacturerId, ProductId, SellerId, StoreId, UnionId};
use shared::money::{Currency, Money};
use shared::time::now;

pub fn sqlite() -> (tempfile::TempDir, AnyConnection) {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = shared::db::Manager::new(dir.path().join("b.db").to_str().unwrap()).establish().unwrap();
    crate::MIGRATIONS.run(&mut conn).unwrap();
    (dir, conn)
}

#[derive(QueryableByName)]
pub struct OutboxLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub destination: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub payload: String,
}

pub fn outbox(conn: &mut AnyConnection) -> Vec<OutboxLine> {
    let AnyConnection::Sqlite(c) = conn else { unreachable!() };
    diesel::sql_query("SELECT destination, kind, payload FROM outbox ORDER BY seq").load(c).unwrap()
}

pub fn eur(a: i64) -> Money {
    Money::new(a, Currency::EUR)
}

pub struct World {
    pub union_a: UnionId,
    pub seller: SellerId,
    pub product: ProductId,
    pub manufacturer: ManufacturerId,
    pub maker_store: StoreId,
}

pub fn world(conn: &mut AnyConnection) -> World {
    let union_a = UnionId::generate();
    crate::unions::store::insert_union(conn, &union_a, "A", "north").unwrap();
    let seller = SellerId::generate();
    crate::accounts::store::insert_seller(conn, &seller, "S", "s@x.example", "hash").unwrap();
    let manufacturer = ManufacturerId::generate();
    crate::accounts::store::insert_manufacturer(conn, &manufacturer, "M", "m@x.example", "hash").unwrap();
    let maker_store = StoreId::generate();
    insert_store(
        conn,
        &Registration {
            id: maker_store.clone(),
            name: "M".into(),
            union_id: None,
            category: "manufacturer".into(),
            region: String::new(),
            seller_id: None,
            manufacturer_id: Some(manufacturer.clone()),
        },
    )
    .unwrap();
    let product = ProductId::generate();
    insert_product(
        conn,
        &Product {
            id: product.clone(),
            name: "Drill".into(),
            kind: "drill".into(),
            attributes: [("colour".to_string(), "Red".to_string())].into(),
            list_price: eur(1000),
            manufacturer_id: Some(manufacturer.clone()),
            requires_approval: false,
            backorder_days: 10,
            compatible_with: vec![],
        },
    )
    .unwrap();
    World { union_a, seller, product, manufacturer, maker_store }
}

pub fn shop(conn: &mut AnyConnection, w: &World, union: Option<&UnionId>, region: &str) -> StoreId {
    let id = StoreId::generate();
    insert_store(
        conn,
        &Registration {
            id: id.clone(),
            name: format!("shop {region}"),
            union_id: union.cloned(),
            category: "hardware".into(),
            region: region.into(),
            seller_id: Some(w.seller.clone()),
            manufacturer_id: None,
        },
    )
    .unwrap();
    id
}

pub fn offer(conn: &mut AnyConnection, store: &StoreId, product: &ProductId, price: i64, stock: i64, sellable: bool) {
    put_offer(
        conn,
        &Offer {
            store_id: store.clone(),
            product_id: product.clone(),
            kind: "drill".into(),
            price: eur(price),
            stock,
            sellable,
            reason: None,
            union_fulfilment: false,
            requires_price_confirmation: false,
            reserve_threshold: Some(2),
            urgent_price: None,
            urgent_until: None,
            updated_at: now(),
        },
    )
    .unwrap();
}
