// @generated automatically by Diesel CLI.
// From the migrations, by `scripts/schema write`: edit those, not this.

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

diesel::table! {
    buyer_equipment (buyer_id, equipment) {
        buyer_id -> Text,
        equipment -> Text,
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
    collection_codes (code_hash) {
        code_hash -> Text,
        buyer_id -> Text,
        created_at -> Timestamp,
        redeemed_at -> Nullable<Timestamp>,
        items -> Nullable<BigInt>,
    }
}

diesel::table! {
    collection_mints (id) {
        id -> Text,
        store_id -> Text,
        code_hash -> Nullable<Text>,
        items -> BigInt,
        points -> BigInt,
        amount -> BigInt,
        currency -> Text,
        status -> Text,
        failure -> Nullable<Text>,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    collection_points (store_id) {
        store_id -> Text,
        enabled_at -> Timestamp,
    }
}

diesel::table! {
    dispute_messages (seq) {
        seq -> BigInt,
        dispute_id -> Text,
        author -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    disputes (id) {
        id -> Text,
        order_id -> Text,
        reason -> Text,
        status -> Text,
        respond_by -> Timestamp,
        offer_percent -> Nullable<BigInt>,
        offer_expires_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        refund -> Nullable<BigInt>,
        currency -> Text,
        return_required -> Bool,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
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
    manufacturers (id) {
        id -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
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
    operators (id) {
        id -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        roles -> Text,
        disabled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
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
    order_points (order_id) {
        order_id -> Text,
        buyer_id -> Text,
        points -> BigInt,
    }
}

diesel::table! {
    order_public_prices (order_id) {
        order_id -> Text,
        list_unit_price -> BigInt,
        public_amount -> BigInt,
        group_discount -> BigInt,
        currency -> Text,
    }
}

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
        accept_by -> Nullable<Timestamp>,
        accepted_at -> Nullable<Timestamp>,
        dispute_id -> Nullable<Text>,
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
    product_attributes (product_id, name) {
        product_id -> Text,
        name -> Text,
        value -> Text,
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
    redirects (seq) {
        seq -> BigInt,
        from_store_id -> Text,
        to_store_id -> Text,
        product_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    referral_uses (jti) {
        jti -> Text,
        expires_at -> Timestamp,
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
    sellers (id) {
        id -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
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
    stores (id) {
        id -> Text,
        name -> Text,
        union_id -> Nullable<Text>,
        category -> Text,
        region -> Text,
        seller_id -> Nullable<Text>,
        manufacturer_id -> Nullable<Text>,
        created_at -> Timestamp,
        suspended_at -> Nullable<Timestamp>,
        suspension_reason -> Nullable<Text>,
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
    unions (id) {
        id -> Text,
        name -> Text,
        region -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(buyer_equipment -> buyers (buyer_id));
diesel::joinable!(collection_codes -> buyers (buyer_id));
diesel::joinable!(collection_mints -> stores (store_id));
diesel::joinable!(collection_points -> stores (store_id));
diesel::joinable!(dispute_messages -> disputes (dispute_id));
diesel::joinable!(disputes -> orders (order_id));
diesel::joinable!(group_prices -> products (product_id));
diesel::joinable!(group_prices -> stores (store_id));
diesel::joinable!(offers -> products (product_id));
diesel::joinable!(offers -> stores (store_id));
diesel::joinable!(order_contacts -> orders (order_id));
diesel::joinable!(order_messages -> orders (order_id));
diesel::joinable!(order_points -> buyers (buyer_id));
diesel::joinable!(order_points -> orders (order_id));
diesel::joinable!(order_public_prices -> orders (order_id));
diesel::joinable!(orders -> products (product_id));
diesel::joinable!(orders -> stores (store_id));
diesel::joinable!(product_attributes -> products (product_id));
diesel::joinable!(products -> manufacturers (manufacturer_id));
diesel::joinable!(stores -> manufacturers (manufacturer_id));
diesel::joinable!(stores -> sellers (seller_id));
diesel::joinable!(stores -> unions (union_id));
diesel::joinable!(suppliers -> stores (store_id));

diesel::allow_tables_to_appear_in_same_query!(
    browsing_events,
    buyer_equipment,
    buyers,
    collection_codes,
    collection_mints,
    collection_points,
    dispute_messages,
    disputes,
    group_prices,
    manufacturers,
    offers,
    operators,
    order_contacts,
    order_messages,
    order_points,
    order_public_prices,
    orders,
    preference_events,
    product_attributes,
    products,
    redirects,
    referral_uses,
    sales,
    selection_events,
    sellers,
    stock_movements,
    stores,
    suppliers,
    unions,
);
