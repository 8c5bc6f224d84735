//! The broker's tables, written by hand to match `migrations/broker/`.

diesel::table! {
    sellers (id) {
        id -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    manufacturers (id) {
        id -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    unions (id) {
        id -> Text,
        name -> Text,
        region -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stores (id) {
        id -> Text,
        name -> Text,
        union_id -> Nullable<Text>,
        category -> Text,
        region -> Text,
        seller_id -> Nullable<Text>,
        manufacturer_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        attributes -> Text,
        list_price_amount -> BigInt,
        list_price_currency -> Text,
        manufacturer_id -> Nullable<Text>,
        requires_approval -> Bool,
        backorder_days -> Integer,
        compatible_with -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    product_attributes (product_id, name) {
        product_id -> Text,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    offers (store_id, product_id) {
        store_id -> Text,
        product_id -> Text,
        kind -> Text,
        price_amount -> BigInt,
        price_currency -> Text,
        stock -> BigInt,
        sellable -> Bool,
        reason -> Nullable<Text>,
        union_fulfilment -> Bool,
        requires_price_confirmation -> Bool,
        reserve_threshold -> Nullable<BigInt>,
        urgent_price_amount -> Nullable<BigInt>,
        urgent_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        current_price -> BigInt,
    }
}

diesel::table! {
    stock_movements (seq) {
        seq -> BigInt,
        store_id -> Text,
        product_id -> Text,
        delta -> BigInt,
        stock_after -> BigInt,
        kind -> Text,
        supplier_id -> Nullable<Text>,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    suppliers (id) {
        id -> Text,
        store_id -> Text,
        name -> Text,
        contact -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    selection_events (seq) {
        seq -> BigInt,
        store_id -> Text,
        product_id -> Text,
        quantity -> BigInt,
        outcome -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    redirects (seq) {
        seq -> BigInt,
        from_store_id -> Text,
        to_store_id -> Text,
        product_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    preference_events (seq) {
        seq -> BigInt,
        source -> Text,
        session_id -> Nullable<Text>,
        kind -> Text,
        attributes -> Text,
        product_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    browsing_events (seq) {
        seq -> BigInt,
        session_id -> Text,
        union_id -> Nullable<Text>,
        store_id -> Nullable<Text>,
        product_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(stores -> unions (union_id));
diesel::joinable!(offers -> stores (store_id));
diesel::joinable!(offers -> products (product_id));
diesel::joinable!(product_attributes -> products (product_id));
diesel::joinable!(suppliers -> stores (store_id));

diesel::allow_tables_to_appear_in_same_query!(
    sellers,
    manufacturers,
    unions,
    stores,
    products,
    product_attributes,
    offers,
    stock_movements,
    suppliers,
    selection_events,
    redirects,
    preference_events,
    browsing_events,
);
