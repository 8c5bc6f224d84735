// @generated automatically by Diesel CLI.
// From the migrations, by `scripts/schema write`: edit those, not this.

diesel::table! {
    privacy_budget (month) {
        month -> Text,
        spent -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    privacy_seller_budget (seller_id, month) {
        seller_id -> Text,
        month -> Text,
        spent -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    privacy_spends (seq) {
        seq -> BigInt,
        purchase_id -> Text,
        seller_id -> Text,
        month -> Text,
        epsilon -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    report_meta (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    report_purchases (id) {
        id -> Text,
        seller_id -> Text,
        store_id -> Text,
        kind -> Text,
        group_by -> Text,
        from_month -> Text,
        to_month -> Text,
        price_amount -> BigInt,
        price_currency -> Text,
        epsilon_spent -> BigInt,
        release_id -> Nullable<Text>,
        status -> Text,
        failure -> Nullable<Text>,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    report_releases (id) {
        id -> Text,
        kind -> Text,
        group_by -> Text,
        from_month -> Text,
        to_month -> Text,
        epsilon -> BigInt,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(report_purchases -> report_releases (release_id));

diesel::allow_tables_to_appear_in_same_query!(
    privacy_budget,
    privacy_seller_budget,
    privacy_spends,
    report_meta,
    report_purchases,
    report_releases,
);
