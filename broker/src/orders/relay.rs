//! The message relay between an order's buyer and its store: neither learns who the
//! other is.

use super::caller::{authorize, OrderCaller};
use super::domain::{self, Party};
use super::store::{self, RelayedMessage};
use super::workflow;
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::ids::OrderId;
use shared::time::Timestamp;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    seq: i64,
    /// `buyer` or `store`: never who.
    author: String,
    body: String,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    created_at: Timestamp,
}

impl From<RelayedMessage> for MessageView {
    fn from(m: RelayedMessage) -> Self {
        MessageView { seq: m.seq, author: m.author, body: m.body, created_at: m.created_at }
    }
}

#[derive(Deserialize)]
pub struct After {
    after: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(get, tag = "orders", path = "/v1/orders/{order_id}/messages",
    responses((status = 200, description = "{messages: [{seq, author, body, created_at}]}")))]
pub async fn messages(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    q: web::Query<After>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck(&id, "message")?;
    let (after, limit) = (q.after.unwrap_or(0), q.limit.unwrap_or(100).clamp(1, 500));
    let list = state
        .core
        .db
        .read(move |c| {
            authorize(c, &caller, &id, &[Party::Buyer, Party::Seller])?;
            Ok::<_, BrokerError>(store::messages(c, &id, after, limit)?)
        })
        .await?;
    let list: Vec<MessageView> = list.into_iter().map(MessageView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "messages": list })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    body: String,
}

#[utoipa::path(post, tag = "orders", path = "/v1/orders/{order_id}/messages", request_body = NewMessage,
    responses((status = 201, body = MessageView)))]
pub async fn post_message(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    body: web::Json<NewMessage>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck(&id, "message")?;
    let text = domain::check_message(&body.body).map_err(|d| BrokerError::refused(Code::InvalidMessage, d))?;
    let m = state
        .core
        .db
        .write(move |c| {
            let (order, _, _, party) = authorize(c, &caller, &id, &[Party::Buyer, Party::Seller])?;
            let author = if party == Party::Buyer { "buyer" } else { "store" };
            let m = store::add_message(c, &id, author, &text)?;
            // The store hears of a buyer's message by mail; the buyer reads the relay.
            if party == Party::Buyer {
                let (s, _) = workflow::surroundings(c, &order)?;
                if !s.contact_email.is_empty() {
                    let mail = shared::mail::Mail {
                        to: shared::mail::Recipient::Address { address: s.contact_email },
                        subject: format!("Order {id}: a message from the buyer"),
                        // The text itself stays in the relay: the mail only says where to read it.
                        body: format!(
                            "The buyer wrote about order {id}.\nRead and reply at\n  /v1/orders/{id}/messages\n"
                        ),
                    };
                    shared::mail::queue(c, &format!("store/{id}"), &mail)?;
                }
            }
            Ok::<_, BrokerError>(m)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Created().json(MessageView::from(m)))
}
