// @generated automatically by Diesel CLI.
// From the migrations, by `scripts/schema write`: edit those, not this.

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        target -> Text,
        request_id -> Text,
        status -> Integer,
    }
}

diesel::table! {
    disabled_operators (operator_id) {
        operator_id -> Text,
        disabled_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        locked_until -> Timestamp,
        created_at -> Timestamp,
    }
}

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

diesel::allow_tables_to_appear_in_same_query!(audit_log, disabled_operators, idempotency_keys, inbox, outbox,);
