//! Settlement's public routes that the pages call: a store's balance and remittances.

use crate::{enc, Answer, Api};
use serde::{Deserialize, Serialize};
use shared::ids::{EventId, OrderId, PartnerId, PaymentId, RemittanceId, StoreId};
use shared::money::Money;
use utoipa::ToSchema;

shared::text_enum! {
    /// Where a payment stands, stored as text; an unknown stored status is a read error.
    pub enum PaymentStatus {
        /// Booked into escrow; the order is fully paid.
        Captured,
        /// Booked into escrow; the order still waits for the rest.
        Partial,
        /// Turned away whole: nothing booked, all of it returned.
        Rejected,
        /// Everything captured was refunded.
        Refunded,
    }
}

/// `POST /v1/payments` (a payment partner).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    pub order_id: String,
    pub amount: Money,
    /// The partner's own id for the payment, 1 to 200 characters.
    pub partner_reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundDue {
    /// To return to the payer.
    pub amount: Money,
}

/// What settlement made of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentAnswer {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    /// `captured`, `partial` or `rejected`.
    #[schema(value_type = String)]
    pub status: PaymentStatus,
    /// Why a payment was rejected: `wrong_currency`, `order_cancelled`, `already_paid`,
    /// `order_closed`, `non_sellable`, `expired` (its `pay_by` passed).
    pub reason: Option<String>,
    /// What the partner returns to the payer at once: the excess of an overpayment, or all of
    /// a rejected payment.
    pub refund: Option<RefundDue>,
    pub amount: Money,
    pub partner_reference: String,
}

/// `GET /v1/seller/balance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub store_id: StoreId,
    /// Released to the store, not yet remitted (negative after a refund that followed a payout).
    pub available: Money,
    /// Paid for the store's orders and held until delivery.
    pub escrow: Money,
}

/// One remittance to a store's payout account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Statement {
    pub id: RemittanceId,
    pub amount: Money,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created: shared::time::Timestamp,
    pub iban_last4: Option<String>,
}

/// `GET /v1/seller/remittances`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Statements {
    pub store_id: StoreId,
    pub remittances: Vec<Statement>,
}

shared::text_enum! {
    /// Where an order stands, stored as text; an unknown stored status is a read error.
    pub enum OrderStatus {
        AwaitingPayment,
        /// Some money arrived, not all; the order stays unpaid.
        Partial,
        /// Fully paid and held in escrow.
        Captured,
        /// The buyer disputes it: escrow stays held until the decision is executed.
        Disputed,
        /// Delivered: escrow went to the stores and fees.
        Released,
        /// A decision refunded part of it and released the rest.
        PartiallyRefunded,
        Refunded,
        Cancelled,
        /// `pay_by` passed before it was paid in full; anything paid went back.
        Expired,
    }
}

// `GET /v1/orders/{order_id}/settlement` (the order's capability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SettlementView {
    pub order_id: OrderId,
    pub expected: Money,
    /// Held or released for the order, net of refunds.
    pub paid: Money,
    /// `awaiting_payment`, `partial`, `captured`, `released`, `refunded` or `cancelled`.
    #[schema(value_type = String)]
    pub status: OrderStatus,
}

// `POST /v1/partners` (the operator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPartner {
    pub name: String,
    /// Where events are posted; loopback and plain http only outside strict mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedPartner {
    pub id: PartnerId,
    /// Shown once; send it as `Authorization: Bearer <api_key>`.
    pub api_key: String,
    /// Shown once; the HMAC key of `Settlement-Signature`, used as its UTF-8 bytes.
    pub webhook_secret: String,
}

// `PUT /v1/seller/payout-account?store_id=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutAccountBody {
    pub holder: String,
    pub iban: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PayoutAccountView {
    pub store_id: StoreId,
    /// The account is never shown again in full.
    pub iban_last4: String,
    /// The holder, in the answer to a change only (the stored account stays sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// Remittances to the store wait until then after a change; null when not held.
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub hold_until: Option<shared::time::Timestamp>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated: shared::time::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Remittance {
    pub id: RemittanceId,
    pub store_id: StoreId,
    pub amount: Money,
    /// The payout account it went to, masked.
    pub iban_last4: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Skipped {
    pub store_id: StoreId,
    pub amount: Money,
    /// `no_payout_account`, `payout_account_hold` or `suspended` (see [`SkipReason`]).
    #[schema(value_type = String)]
    pub reason: SkipReason,
}

/// Why a store's balance was not paid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SkipReason {
    /// `no_payout_account`: the balance waits until the seller sets one.
    NoPayoutAccount,
    /// `payout_account_hold`: the account changed recently; the balance waits until the
    /// hold ends, so that a change the seller did not make can be stopped first.
    PayoutAccountHold,
    /// `suspended`: an admin suspended the store; the balance waits until it is lifted.
    Suspended,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Batch {
    pub remittances: Vec<Remittance>,
    pub skipped: Vec<Skipped>,
}

/// What a partner may learn about a payment or refund: never the product or the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventData {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    pub amount: Money,
    pub status: String,
    pub reason: Option<String>,
}

/// An event as `/v1/events` lists it and as a webhook body carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub seq: i64,
    pub id: EventId,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created: shared::time::Timestamp,
    pub data: EventData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub events: Vec<Event>,
    /// Pass as `after` to read on.
    pub next_after: i64,
}

/// Calls to settlement.
pub struct Settlement {
    api: Api,
}

impl Settlement {
    pub fn new(api: Api) -> Settlement {
        Settlement { api }
    }

    /// The raw calls, for what has no typed call here.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// `POST /v1/payments` under an `Idempotency-Key` (a partner's API key as bearer).
    pub async fn pay(&self, payment: &PaymentBody, idempotency_key: &str) -> Answer<PaymentAnswer> {
        self.api
            .send(reqwest::Method::POST, "/v1/payments", payment, &[("idempotency-key", idempotency_key)])
            .await?
            .into_answer()
    }

    /// `POST /v1/partners` (the operator): a payment partner, with its key shown once.
    pub async fn create_partner(&self, partner: &NewPartner) -> Answer<CreatedPartner> {
        self.api.post_json("/v1/partners", partner).await?.into_answer()
    }

    /// `GET /v1/orders/{order_id}/settlement`, with the order's capability as bearer.
    pub async fn order_settlement(&self, order: &str) -> Answer<SettlementView> {
        self.api.get(&format!("/v1/orders/{}/settlement", enc(order))).await?.into_answer()
    }

    /// `PUT /v1/seller/payout-account?store_id=`: needs a recent password sign-in.
    pub async fn set_payout_account(&self, store: &str, account: &PayoutAccountBody) -> Answer<PayoutAccountView> {
        let path = format!("/v1/seller/payout-account?store_id={}", enc(store));
        self.api.send(reqwest::Method::PUT, &path, account, &[]).await?.into_answer()
    }

    /// `POST /v1/remittances/run` (the operator): a remittance batch now.
    pub async fn run_remittances(&self) -> Answer<Batch> {
        self.api.call(reqwest::Method::POST, "/v1/remittances/run", None, &[]).await?.into_answer()
    }

    /// `GET /v1/events?after=&limit=` (a partner): its events after `after`, in order.
    pub async fn events(&self, after: i64, limit: i64) -> Answer<EventList> {
        self.api.get(&format!("/v1/events?after={after}&limit={limit}")).await?.into_answer()
    }

    /// `GET /v1/seller/balance?store_id=`.
    pub async fn balance(&self, store: &str) -> Answer<Balance> {
        self.api.get(&format!("/v1/seller/balance?store_id={}", enc(store))).await?.into_answer()
    }

    /// `GET /v1/seller/remittances?store_id=`: newest first.
    pub async fn remittances(&self, store: &str, limit: i64) -> Answer<Statements> {
        self.api.get(&format!("/v1/seller/remittances?store_id={}&limit={limit}", enc(store))).await?.into_answer()
    }
}
