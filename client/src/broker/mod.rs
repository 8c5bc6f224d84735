//! The broker's public routes: their types, and a call per route.

pub mod accounts;
pub mod buyers;
pub mod catalog;
pub mod disputes;
pub mod orders;
pub mod stores;

use crate::{enc, Answer, Api, Failure};
use accounts::*;
use buyers::*;
use catalog::*;
use orders::{BuyerView, Confirmation, PlaceOrder, Placed, Placement, Reason, SellerOrders, SellerView};
use stores::{CreatedStore, MyStores, NewStoreBody, ShipmentViewToken, UnmetDemandReport};

/// Calls to the broker.
pub struct Broker {
    api: Api,
}

impl Broker {
    pub fn new(api: Api) -> Broker {
        Broker { api }
    }

    /// The raw calls, for what has no typed call here.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// `POST /v1/unions` (the operator).
    pub async fn create_union(&self, union: &NewUnion) -> Answer<CreatedUnion> {
        self.api.post_json("/v1/unions", union).await?.into_answer()
    }

    /// `POST /v1/sellers`: a seller registers itself.
    pub async fn register_seller(&self, seller: &NewSeller) -> Answer<Created> {
        self.api.post_json("/v1/sellers", seller).await?.into_answer()
    }

    /// `POST /v1/manufacturers` (the operator): the manufacturer and its own store.
    pub async fn create_manufacturer(&self, manufacturer: &NewManufacturer) -> Answer<CreatedManufacturer> {
        self.api.post_json("/v1/manufacturers", manufacturer).await?.into_answer()
    }

    /// `POST /v1/stores` (a seller).
    pub async fn create_store(&self, store: &NewStoreBody) -> Answer<CreatedStore> {
        self.api.post_json("/v1/stores", store).await?.into_answer()
    }

    /// `POST /v1/products` (the operator or a manufacturer).
    pub async fn create_product(&self, product: &NewProduct) -> Answer<CreatedProduct> {
        self.api.post_json("/v1/products", product).await?.into_answer()
    }

    /// `PUT /v1/stores/{store_id}/offers/{product_id}` (the store's seller): creates or
    /// replaces the offer.
    pub async fn put_offer(&self, store: &str, product: &str, offer: &OfferBody) -> Answer<OfferView> {
        let path = format!("/v1/stores/{}/offers/{}", enc(store), enc(product));
        self.api.send(reqwest::Method::PUT, &path, offer, &[]).await?.into_answer()
    }

    /// `PUT /v1/stores/{store_id}/group-prices` (the store's seller): a price for a group
    /// of buyers.
    pub async fn put_group_price(&self, store: &str, price: &GroupPrice) -> Answer<()> {
        let path = format!("/v1/stores/{}/group-prices", enc(store));
        self.api.send(reqwest::Method::PUT, &path, price, &[]).await?.into_done()
    }

    /// `GET /v1/orders/{order_id}`, with the order's capability as bearer.
    pub async fn order(&self, order: &str) -> Answer<BuyerView> {
        self.api.get(&format!("/v1/orders/{}", enc(order))).await?.into_answer()
    }

    /// `POST /v1/orders/{order_id}/accept` (the capability): the buyer accepts the goods.
    pub async fn accept(&self, order: &str) -> Answer<BuyerView> {
        self.api.post(&format!("/v1/orders/{}/accept", enc(order)), serde_json::json!({})).await?.into_answer()
    }

    /// `POST /v1/orders/{order_id}/capability` (the capability): a fresh one.
    pub async fn renew_capability(&self, order: &str) -> Answer<orders::FreshCapability> {
        self.api.post(&format!("/v1/orders/{}/capability", enc(order)), serde_json::json!({})).await?.into_answer()
    }

    /// `POST /v1/orders/{order_id}/disputes` (the capability): the buyer opens the order's
    /// dispute.
    pub async fn open_dispute(&self, order: &str, body: &disputes::OpenDispute) -> Answer<disputes::DisputeView> {
        self.api.post_json(&format!("/v1/orders/{}/disputes", enc(order)), body).await?.into_answer()
    }

    /// `GET /v1/orders/{order_id}/disputes/{dispute_id}` (the capability, or the store's
    /// seller).
    pub async fn dispute(&self, order: &str, dispute: &str) -> Answer<disputes::DisputeView> {
        self.api.get(&format!("/v1/orders/{}/disputes/{}", enc(order), enc(dispute))).await?.into_answer()
    }

    /// `POST /v1/orders/{order_id}/disputes/{dispute_id}/accept` (the capability): the
    /// buyer takes the store's offer.
    pub async fn take_offer(&self, order: &str, dispute: &str) -> Answer<disputes::DisputeView> {
        let path = format!("/v1/orders/{}/disputes/{}/accept", enc(order), enc(dispute));
        self.api.post(&path, serde_json::json!({})).await?.into_answer()
    }

    /// `POST /v1/orders/{order_id}/disputes/{dispute_id}/escalate` (the capability).
    pub async fn escalate(&self, order: &str, dispute: &str) -> Answer<disputes::DisputeView> {
        let path = format!("/v1/orders/{}/disputes/{}/escalate", enc(order), enc(dispute));
        self.api.post(&path, serde_json::json!({})).await?.into_answer()
    }

    /// `POST /v1/seller/disputes/{dispute_id}/responses` (the store's seller).
    pub async fn answer_dispute(&self, dispute: &str, body: &disputes::StoreResponse) -> Answer<disputes::DisputeView> {
        self.api.post_json(&format!("/v1/seller/disputes/{}/responses", enc(dispute)), body).await?.into_answer()
    }

    /// `GET /v1/arbiter/disputes?status=` (an arbiter): the queue, escalated by default.
    pub async fn dispute_queue(&self, status: Option<&str>) -> Answer<disputes::DisputeFiles> {
        let path = match status {
            Some(s) => format!("/v1/arbiter/disputes?status={}", enc(s)),
            None => "/v1/arbiter/disputes".to_string(),
        };
        self.api.get(&path).await?.into_answer()
    }

    /// `GET /v1/arbiter/disputes/{dispute_id}` (an arbiter): one file.
    pub async fn dispute_file(&self, dispute: &str) -> Answer<disputes::DisputeFile> {
        self.api.get(&format!("/v1/arbiter/disputes/{}", enc(dispute))).await?.into_answer()
    }

    /// `POST /v1/arbiter/disputes/{dispute_id}/decision` (an arbiter).
    pub async fn decide(&self, dispute: &str, body: &disputes::ArbiterDecision) -> Answer<disputes::DisputeView> {
        self.api.post_json(&format!("/v1/arbiter/disputes/{}/decision", enc(dispute)), body).await?.into_answer()
    }

    /// `GET /v1/unions`: the directory of regional unions, each with its stores.
    pub async fn unions(&self, limit: i64) -> Answer<UnionList> {
        self.api.get(&format!("/v1/unions?limit={limit}")).await?.into_answer()
    }

    /// `GET /v1/unions/{union_id}`.
    pub async fn union(&self, id: &str) -> Answer<UnionView> {
        self.api.get(&format!("/v1/unions/{}", enc(id))).await?.into_answer()
    }

    /// `GET /v1/search?{query}`: `query` is the encoded query string (kind, `attr.NAME`,
    /// price range, region, offset).
    pub async fn search(&self, query: &str) -> Answer<Results> {
        self.api.get(&format!("/v1/search?{query}")).await?.into_answer()
    }

    /// `GET /v1/stores/{store_id}`.
    pub async fn store(&self, id: &str) -> Answer<PublicStore> {
        self.api.get(&format!("/v1/stores/{}", enc(id))).await?.into_answer()
    }

    /// `GET /v1/stores/{store_id}/offers`: one page of a store's shelf.
    pub async fn shelf(&self, store: &str, limit: i64, offset: i64) -> Answer<Shelf> {
        self.api.get(&format!("/v1/stores/{}/offers?limit={limit}&offset={offset}", enc(store))).await?.into_answer()
    }

    /// `GET /v1/products/{product_id}`.
    pub async fn product(&self, id: &str) -> Answer<Product> {
        self.api.get(&format!("/v1/products/{}", enc(id))).await?.into_answer()
    }

    /// `POST /v1/stores/{store_id}/selections`: whether the store sells the product in
    /// that quantity, and where else to get it when not.
    pub async fn select(&self, store: &str, body: &SelectionBody) -> Answer<Selection> {
        self.api.post_json(&format!("/v1/stores/{}/selections", enc(store)), body).await?.into_answer()
    }

    /// `POST /v1/orders` with an `Idempotency-Key` (as the bearer of the `Api`, if any).
    pub async fn place(&self, order: &PlaceOrder, idempotency_key: &str) -> Answer<Placement> {
        self.placement(order, &[("idempotency-key", idempotency_key)]).await
    }

    /// `POST /v1/orders` without an `Idempotency-Key`: each call is an order of its own.
    pub async fn place_unkeyed(&self, order: &PlaceOrder) -> Answer<Placed> {
        match self.placement(order, &[]).await? {
            Placement::Placed(placed) => Ok(placed),
            Placement::PlacedEarlier(earlier) => Err(Failure::Unreachable(crate::Unreachable::new(format!(
                "an earlier order {} without a key",
                earlier.order_id
            )))),
        }
    }

    async fn placement(&self, order: &PlaceOrder, headers: &[(&str, &str)]) -> Answer<Placement> {
        let reply = self.api.send(reqwest::Method::POST, "/v1/orders", order, headers).await?;
        match reply.status {
            201 => reply.into_answer().map(Placement::Placed),
            200 => reply.into_answer().map(Placement::PlacedEarlier),
            _ => Err(Failure::Refused(reply)),
        }
    }

    /// `POST /v1/buyers`: a pseudonymous account.
    pub async fn register(&self, credentials: &NewBuyer) -> Answer<CreatedBuyer> {
        self.api.post_json("/v1/buyers", credentials).await?.into_answer()
    }

    /// `POST /v1/buyer-sessions`: signing in.
    pub async fn sign_in(&self, credentials: &NewBuyer) -> Answer<AccessToken> {
        self.api.post_json("/v1/buyer-sessions", credentials).await?.into_answer()
    }

    /// `GET /v1/buyer`: the signed-in buyer.
    pub async fn profile(&self) -> Answer<ProfileView> {
        self.api.get("/v1/buyer").await?.into_answer()
    }

    /// `PUT /v1/buyer/equipment`.
    pub async fn set_equipment(&self, equipment: &EquipmentBody) -> Answer<EquipmentBody> {
        self.api.send(reqwest::Method::PUT, "/v1/buyer/equipment", equipment, &[]).await?.into_answer()
    }

    /// `GET /v1/buyer/products`: products that fit the buyer's equipment.
    pub async fn compatible_products(&self, limit: i64) -> Answer<CompatibleProducts> {
        self.api.get(&format!("/v1/buyer/products?limit={limit}")).await?.into_answer()
    }

    /// `POST /v1/buyer/collection-codes`.
    pub async fn collection_code(&self) -> Answer<CollectionCode> {
        self.api.post("/v1/buyer/collection-codes", serde_json::json!({})).await?.into_answer()
    }

    /// `GET /v1/browsing`: what is kept under the browsing pseudonym.
    pub async fn browsing(&self) -> Answer<Sequence> {
        self.api.get("/v1/browsing").await?.into_answer()
    }

    /// `DELETE /v1/browsing`: forgets it.
    pub async fn forget_browsing(&self) -> Answer<()> {
        self.api.call(reqwest::Method::DELETE, "/v1/browsing", None, &[]).await?.into_done()
    }

    /// `POST /v1/sessions`: a seller or manufacturer signs in.
    pub async fn sign_in_account(&self, credentials: &Credentials) -> Answer<AccessToken> {
        self.api.post_json("/v1/sessions", credentials).await?.into_answer()
    }

    /// `GET /v1/seller/orders`.
    pub async fn seller_orders(&self, limit: i64) -> Answer<SellerOrders> {
        self.api.get(&format!("/v1/seller/orders?limit={limit}")).await?.into_answer()
    }

    /// `GET /v1/manufacturer/orders`: those waiting for its approval, then its own store's.
    pub async fn manufacturer_orders(&self, limit: i64) -> Answer<SellerOrders> {
        self.api.get(&format!("/v1/manufacturer/orders?limit={limit}")).await?.into_answer()
    }

    /// `POST /v1/orders/{order_id}/approve` (the manufacturer).
    pub async fn approve(&self, order: &str) -> Answer<SellerView> {
        self.api.post_json(&format!("/v1/orders/{}/approve", enc(order)), &serde_json::json!({})).await?.into_answer()
    }

    /// `POST /v1/orders/{order_id}/refuse` (the manufacturer).
    pub async fn refuse(&self, order: &str, reason: &Reason) -> Answer<SellerView> {
        self.api.post_json(&format!("/v1/orders/{}/refuse", enc(order)), reason).await?.into_answer()
    }

    /// `POST /v1/orders/{order_id}/confirm` (the seller).
    pub async fn confirm(&self, order: &str, confirmation: &Confirmation) -> Answer<SellerView> {
        self.api.post_json(&format!("/v1/orders/{}/confirm", enc(order)), confirmation).await?.into_answer()
    }

    /// `GET /v1/seller/stores`: the seller's own stores.
    pub async fn my_stores(&self) -> Answer<MyStores> {
        self.api.get("/v1/seller/stores").await?.into_answer()
    }

    /// `GET /v1/seller/stores/{store_id}/unmet-demand`.
    pub async fn unmet_demand(&self, store: &str) -> Answer<UnmetDemandReport> {
        self.api.get(&format!("/v1/seller/stores/{}/unmet-demand", enc(store))).await?.into_answer()
    }

    /// `POST /v1/seller/orders/{order_id}/shipment-view`: a token for delivery's view of
    /// the order's shipment.
    pub async fn shipment_view(&self, order: &str) -> Answer<ShipmentViewToken> {
        let path = format!("/v1/seller/orders/{}/shipment-view", enc(order));
        self.api.post(&path, serde_json::json!({})).await?.into_answer()
    }
}
