// @generated automatically by Diesel CLI.
// From the migrations, by `scripts/schema write`: edit those, not this.

diesel::table! {
    addresses (order_id) {
        order_id -> Text,
        key_id -> Text,
        sealed -> Binary,
        region -> Text,
        branch_order -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    couriers (id) {
        id -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        region -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inventory (node_id, product_id) {
        node_id -> Text,
        product_id -> Text,
        quantity -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    legs (shipment_id, seq) {
        shipment_id -> Text,
        seq -> Integer,
        from_node -> Text,
        to_node -> Nullable<Text>,
        region -> Text,
        status -> Text,
        courier_id -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    nodes (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        region -> Text,
        lat -> Double,
        lon -> Double,
        rank -> Nullable<Integer>,
        owner -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    orders (order_id) {
        order_id -> Text,
        product_id -> Nullable<Text>,
        quantity -> Nullable<BigInt>,
        backorder -> Bool,
        requested_at -> Nullable<Timestamp>,
        paid_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        seller_node -> Nullable<Text>,
        manufacturer_node -> Nullable<Text>,
    }
}

diesel::table! {
    shipment_events (shipment_id, seq) {
        shipment_id -> Text,
        seq -> Integer,
        leg -> Integer,
        kind -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    shipments (id) {
        id -> Text,
        order_id -> Text,
        product_id -> Text,
        quantity -> BigInt,
        status -> Text,
        delivered -> Bool,
        source_node -> Nullable<Text>,
        current_leg -> Nullable<Integer>,
        failed_attempts -> Integer,
        estimated_delivery -> Nullable<Timestamp>,
        unroutable_since -> Nullable<Timestamp>,
        abandoned_at -> Nullable<Timestamp>,
        shipped_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        shred_after -> Nullable<Timestamp>,
        address_shredded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        pin_failures -> Integer,
        pin_confirmed -> Bool,
    }
}

diesel::table! {
    stock_movements (seq) {
        seq -> BigInt,
        node_id -> Text,
        product_id -> Text,
        delta -> BigInt,
        reason -> Text,
        shipment_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stores (id) {
        id -> Text,
        seller_id -> Nullable<Text>,
        manufacturer_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(inventory -> nodes (node_id));
diesel::joinable!(legs -> shipments (shipment_id));
diesel::joinable!(shipment_events -> shipments (shipment_id));

diesel::allow_tables_to_appear_in_same_query!(
    addresses,
    couriers,
    inventory,
    legs,
    nodes,
    orders,
    shipment_events,
    shipments,
    stock_movements,
    stores,
);
