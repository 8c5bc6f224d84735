// @generated automatically by Diesel CLI.
// From the migrations, by `scripts/schema write`: edit those, not this.

diesel::table! {
    accounts (id) {
        id -> Text,
        kind -> Text,
        owner -> Nullable<Text>,
        currency -> Text,
        debits -> BigInt,
        credits -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chargebacks (refund_id) {
        refund_id -> Text,
        order_id -> Text,
        store_id -> Text,
        currency -> Text,
        amount -> BigInt,
        store_debit -> BigInt,
        fees_returned -> BigInt,
        created_at -> Timestamp,
        marketplace_returned -> BigInt,
        referral_returned -> BigInt,
        fulfilment_returned -> BigInt,
    }
}

diesel::table! {
    charges (purchase_id) {
        purchase_id -> Text,
        store_id -> Text,
        amount -> BigInt,
        currency -> Text,
        status -> Text,
        created_at -> Timestamp,
        refunded_at -> Nullable<Timestamp>,
        purpose -> Text,
    }
}

diesel::table! {
    dispute_decisions (dispute_id) {
        dispute_id -> Text,
        order_id -> Text,
        refunded -> BigInt,
        released -> BigInt,
        currency -> Text,
        executed_at -> Timestamp,
    }
}

diesel::table! {
    events (partner_id, seq) {
        partner_id -> Text,
        seq -> BigInt,
        id -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (seq) {
        seq -> BigInt,
        transaction_id -> Text,
        account_id -> Text,
        debit -> BigInt,
        credit -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_transactions (id) {
        id -> Text,
        kind -> Text,
        order_id -> Nullable<Text>,
        reference -> Nullable<Text>,
        currency -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    order_pricing (order_id) {
        order_id -> Text,
        store_id -> Text,
        currency -> Text,
        public_amount -> BigInt,
        group_discount -> BigInt,
        points_discount -> BigInt,
        released_at -> Nullable<Timestamp>,
        store_credit -> Nullable<BigInt>,
        fees -> Nullable<BigInt>,
        marketplace_fee -> Nullable<BigInt>,
        referral_fee -> Nullable<BigInt>,
        fulfilment_fee -> Nullable<BigInt>,
    }
}

diesel::table! {
    orders (order_id) {
        order_id -> Text,
        store_id -> Text,
        product_id -> Text,
        referral_store_id -> Nullable<Text>,
        shipper_store_id -> Nullable<Text>,
        expected -> BigInt,
        currency -> Text,
        paid -> BigInt,
        status -> Text,
        partial_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        pay_by -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        accepted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    partners (id) {
        id -> Text,
        name -> Text,
        api_key_hash -> Text,
        webhook_url -> Nullable<Text>,
        webhook_secret_key_id -> Text,
        webhook_secret -> Binary,
        event_seq -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    payments (id) {
        id -> Text,
        partner_id -> Text,
        order_id -> Text,
        partner_reference -> Text,
        amount -> BigInt,
        currency -> Text,
        captured -> BigInt,
        refunded -> BigInt,
        returned -> BigInt,
        status -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    payout_accounts (store_id) {
        store_id -> Text,
        key_id -> Text,
        sealed -> Binary,
        last4 -> Text,
        updated_at -> Timestamp,
        hold_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refunds (id) {
        id -> Text,
        payment_id -> Text,
        amount -> BigInt,
        currency -> Text,
        reason -> Text,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    remittances (id) {
        id -> Text,
        store_id -> Text,
        amount -> BigInt,
        currency -> Text,
        transaction_id -> Text,
        created_at -> Timestamp,
        account_last4 -> Nullable<Text>,
    }
}

diesel::table! {
    sellability (store_id, product_id) {
        store_id -> Text,
        product_id -> Text,
        sellable -> Bool,
        reason -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    stores (store_id) {
        store_id -> Text,
        seller_id -> Nullable<Text>,
        manufacturer_id -> Nullable<Text>,
        union_id -> Nullable<Text>,
        name -> Text,
        category -> Text,
        region -> Text,
        created_at -> Timestamp,
        suspended_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(chargebacks -> orders (order_id));
diesel::joinable!(chargebacks -> refunds (refund_id));
diesel::joinable!(dispute_decisions -> orders (order_id));
diesel::joinable!(events -> partners (partner_id));
diesel::joinable!(ledger_entries -> accounts (account_id));
diesel::joinable!(ledger_entries -> ledger_transactions (transaction_id));
diesel::joinable!(payments -> partners (partner_id));
diesel::joinable!(refunds -> payments (payment_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    chargebacks,
    charges,
    dispute_decisions,
    events,
    ledger_entries,
    ledger_transactions,
    order_pricing,
    orders,
    partners,
    payments,
    payout_accounts,
    refunds,
    remittances,
    sellability,
    stores,
);
