//! The order side's tables, written by hand to match `migrations/broker/*/…_orders`.

use crate::schema::{offers, products, sellers, stores};

diesel::table! {
    orders (id) {
        id -> Text,
        store_id -> Text,
        product_id -> Text,
        quantity -> BigInt,
        unit_price -> BigInt,
        discount -> BigInt,
        amount -> BigInt,
        currency -> Text,
        status -> Text,
        needs_confirmation -> Bool,
        needs_approval -> Bool,
        referral_store_id -> Nullable<Text>,
        shipper_store_id -> Nullable<Text>,
        stock_store_id -> Nullable<Text>,
        backorder -> Bool,
        buyer_handle -> Text,
        sale_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        pay_by -> Nullable<Timestamp>,
    }
}

diesel::table! {
    order_contacts (order_id) {
        order_id -> Text,
        key_id -> Text,
        sealed -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    order_messages (seq) {
        seq -> BigInt,
        order_id -> Text,
        author -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// `Idempotency-Key`s of placed orders: the key's hash, never the key.
    order_keys (key_hash) {
        key_hash -> Text,
        request_hash -> Text,
        order_id -> Nullable<Text>,
        answer -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    buyers (id) {
        id -> Text,
        handle -> Text,
        password_hash -> Text,
        points -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    buyer_equipment (buyer_id, equipment) {
        buyer_id -> Text,
        equipment -> Text,
    }
}

diesel::table! {
    order_points (order_id) {
        order_id -> Text,
        buyer_id -> Text,
        points -> BigInt,
    }
}

diesel::table! {
    collection_codes (code_hash) {
        code_hash -> Text,
        buyer_id -> Text,
        created_at -> Timestamp,
        redeemed_at -> Nullable<Timestamp>,
        items -> Nullable<BigInt>,
    }
}

diesel::table! {
    group_prices (store_id, product_id, group_key) {
        store_id -> Text,
        product_id -> Text,
        group_key -> Text,
        equipment -> Nullable<Text>,
        min_points -> Nullable<BigInt>,
        amount -> BigInt,
        currency -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sales (id) {
        id -> Text,
        product_id -> Text,
        kind -> Text,
        characteristics -> Text,
        store_id -> Text,
        category -> Text,
        region -> Text,
        quantity -> BigInt,
        amount -> BigInt,
        currency -> Text,
        sold_at -> Timestamp,
    }
}

diesel::joinable!(orders -> stores (store_id));
diesel::joinable!(orders -> products (product_id));

diesel::allow_tables_to_appear_in_same_query!(
    orders,
    order_contacts,
    order_messages,
    order_keys,
    buyers,
    buyer_equipment,
    order_points,
    collection_codes,
    group_prices,
    sales,
);
diesel::allow_tables_to_appear_in_same_query!(orders, stores);
diesel::allow_tables_to_appear_in_same_query!(orders, products);
diesel::allow_tables_to_appear_in_same_query!(orders, sellers);
diesel::allow_tables_to_appear_in_same_query!(orders, offers);
diesel::allow_tables_to_appear_in_same_query!(group_prices, offers);
