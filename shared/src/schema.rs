// @generated automatically by Diesel CLI.
// From the migrations, by `scripts/schema write`: edit those, not this.

diesel::table! {
    inbox (message_id) {
        message_id -> Text,
        kind -> Text,
        source -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    outbox (seq) {
        seq -> BigInt,
        id -> Text,
        destination -> Text,
        ordering_key -> Text,
        kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(inbox, outbox,);
