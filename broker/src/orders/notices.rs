//! The mails an order's steps send. The store's and the manufacturer's carry what the
//! seed's approval and cancellation mails carry (order number, date, item, quantity,
//! price, delivery time, the store's contact) and never anything about the buyer: there
//! is nothing to carry. The buyer's carry the order number and its status only: a
//! mailbox (or a relay's log) that holds them must not tell what was bought, for how
//! much or where; the buyer reads the rest with the order's capability.

use super::domain::Notice;
use client::broker::disputes::DisputeStatus;
use shared::ids::OrderId;
use shared::money::Money;
use shared::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Seller,
    Buyer,
    Manufacturer,
}

/// What every order mail may say.
#[derive(Debug, Clone)]
pub struct Summary {
    pub order_id: OrderId,
    pub placed_at: Timestamp,
    pub product_name: String,
    pub quantity: i64,
    pub amount: Money,
    pub store_name: String,
    pub delivery_days: i64,
    pub reason: Option<String>,
}

/// Who hears of a step.
pub fn audiences(notice: Notice) -> &'static [Audience] {
    match notice {
        Notice::ApprovalNeeded => &[Audience::Manufacturer, Audience::Seller, Audience::Buyer],
        // The buyer's contact went at delivery; the buyer follows a dispute on its page.
        Notice::Completed | Notice::Dispute(_) | Notice::Refunded { .. } => &[Audience::Seller],
        _ => &[Audience::Seller, Audience::Buyer],
    }
}

fn amount(m: &Money) -> String {
    let exp = m.currency.exponent() as u32;
    if exp == 0 {
        return format!("{} {}", m.amount, m.currency);
    }
    let scale = 10i64.pow(exp);
    let sign = if m.amount < 0 { "-" } else { "" };
    let abs = m.amount.unsigned_abs();
    format!("{sign}{}.{:0width$} {}", abs / scale as u64, abs % scale as u64, m.currency, width = exp as usize)
}

/// The order's status once `notice` is sent, as the API names it.
fn status(notice: Notice) -> &'static str {
    match notice {
        Notice::Placed => "placed",
        Notice::ConfirmationNeeded => "awaiting_confirmation",
        Notice::ApprovalNeeded => "awaiting_approval",
        Notice::Approved => "awaiting_payment",
        Notice::Paid | Notice::CancelRefused => "paid",
        Notice::CancelRequested => "cancel_requested",
        Notice::Cancelled => "cancelled",
        Notice::Expired => "expired",
        Notice::Shipped => "shipped",
        Notice::Delivered => "delivered",
        Notice::Completed => "completed",
        Notice::Dispute(_) => "disputed",
        Notice::Refunded { partial: true } => "partially_refunded",
        Notice::Refunded { partial: false } => "refunded",
    }
}

/// Subject and body of the mail `notice` sends to `audience`.
pub fn compose(notice: Notice, to: Audience, s: &Summary) -> (String, String) {
    let id = &s.order_id;
    let (subject, lead) = match (notice, to) {
        (Notice::Placed, Audience::Seller) => {
            (format!("New order {id}"), "A buyer placed an order at your store.".to_string())
        }
        (Notice::Placed, _) => (format!("Order {id} received"), "Your order was received.".to_string()),
        (Notice::ConfirmationNeeded, Audience::Seller) => (
            format!("Order {id}: please confirm the price"),
            "This order waits for your price confirmation.".to_string(),
        ),
        (Notice::ConfirmationNeeded, _) => (
            format!("Order {id} awaits the store's price confirmation"),
            "The store confirms the price before the order proceeds.".to_string(),
        ),
        (Notice::ApprovalNeeded, Audience::Manufacturer) => (
            format!("Order {id}: approval requested"),
            "An order for your product waits for your approval.".to_string(),
        ),
        (Notice::ApprovalNeeded, _) => (
            format!("Order {id} awaits the manufacturer's approval"),
            "The manufacturer approves this order before it proceeds.".to_string(),
        ),
        (Notice::Approved, Audience::Seller) => {
            (format!("Order {id} approved"), "The order is approved and awaits the buyer's payment.".to_string())
        }
        (Notice::Approved, _) => {
            (format!("Order {id} approved"), "Your order is approved: you may pay it now.".to_string())
        }
        (Notice::Paid, Audience::Seller) => {
            (format!("Order {id} paid"), "The order is paid; delivery will collect the goods.".to_string())
        }
        (Notice::Paid, _) => (format!("Order {id} paid"), "Your payment was received.".to_string()),
        (Notice::CancelRequested, _) => (
            format!("Order {id}: cancellation requested"),
            "A cancellation was requested. Delivery decides whether\nthe goods can still be stopped.".to_string(),
        ),
        (Notice::CancelRefused, _) => (
            format!("Order {id}: cancellation not possible"),
            "The goods could no longer be stopped; the order stays paid.".to_string(),
        ),
        (Notice::Cancelled, _) => (format!("Order {id} cancelled"), "The order was cancelled.".to_string()),
        (Notice::Expired, _) => {
            (format!("Order {id} expired"), "The order was not paid in time; nothing is owed.".to_string())
        }
        (Notice::Shipped, _) => (format!("Order {id} shipped"), "The order is on its way.".to_string()),
        (Notice::Delivered, Audience::Seller) => (
            format!("Order {id} delivered"),
            "The order was delivered. Its amount is released to your balance\nonce the buyer accepts it, or when the acceptance window ends.".to_string(),
        ),
        (Notice::Delivered, _) => (
            format!("Order {id} delivered"),
            "The order was delivered. Check it, then accept it on the order page;\nif you do nothing, it is accepted for you when the acceptance window ends.".to_string(),
        ),
        (Notice::Completed, _) => (
            format!("Order {id} complete"),
            "The order is complete: its amount is released to your balance.".to_string(),
        ),
        (Notice::Dispute(step), _) => dispute_mail(id, step),
        (Notice::Refunded { partial: true }, _) => (
            format!("Order {id} partly refunded"),
            "Part of the order's amount went back to the buyer; the rest is released\nto your balance.".to_string(),
        ),
        (Notice::Refunded { partial: false }, _) => {
            (format!("Order {id} refunded"), "The order's amount went back to the buyer.".to_string())
        }
    };
    if to == Audience::Buyer {
        let body = format!(
            "{lead}\n\nOrder number: {id}\nStatus: {}\nDetails and the store's messages at\n  /v1/orders/{id}\n",
            status(notice)
        );
        return (subject, body);
    }
    let mut body = format!(
        "{lead}\n\nOrder number: {id}\nOrder date: {}\nItem: {}\nQuantity: {}\nPrice: {}\nDelivery time: within {} days of payment\nStore: {}\nStore contact: through the order's messages at\n  /v1/orders/{id}/messages\n",
        shared::time::to_rfc3339(s.placed_at),
        s.product_name,
        s.quantity,
        amount(&s.amount),
        s.delivery_days,
        s.store_name,
    );
    if let Some(reason) = &s.reason {
        body.push_str(&format!("Reason: {reason}\n"));
    }
    (subject, body)
}

/// The store's mail for a step of the order's dispute; what was said is read on the
/// dispute's page, never in the mail.
fn dispute_mail(id: &OrderId, step: DisputeStatus) -> (String, String) {
    let (what, lead) = match step {
        DisputeStatus::Open => (
            "dispute opened",
            "The buyer opened a dispute. Answer it in your seller desk: accept (a full\nrefund), offer a partial refund, or contest. Unanswered, it goes to the arbiter.",
        ),
        DisputeStatus::Offered => ("refund offered", "Your partial refund offer is with the buyer."),
        DisputeStatus::Escalated => ("dispute escalated", "The dispute went to the arbiter, who decides it."),
        DisputeStatus::Decided => ("dispute decided", "The dispute is decided; the seller desk shows the decision."),
        DisputeStatus::AwaitingReturn => (
            "return required",
            "The dispute is decided with a return: nothing moves until the goods are back.",
        ),
        DisputeStatus::Closed => ("dispute closed", "The dispute's decision was carried out."),
    };
    (format!("Order {id}: {what}"), lead.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;

    fn summary(reason: Option<&str>) -> Summary {
        Summary {
            order_id: OrderId::generate(),
            placed_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap().and_hms_opt(9, 30, 0).unwrap(),
            product_name: "Toner cartridge TX-1".into(),
            quantity: 2,
            amount: Money::new(4_990, Currency::EUR),
            store_name: "Alpha Office".into(),
            delivery_days: 3,
            reason: reason.map(String::from),
        }
    }

    const EVERY_NOTICE: [Notice; 15] = [
        Notice::Placed,
        Notice::ConfirmationNeeded,
        Notice::ApprovalNeeded,
        Notice::Approved,
        Notice::Paid,
        Notice::CancelRequested,
        Notice::CancelRefused,
        Notice::Cancelled,
        Notice::Expired,
        Notice::Shipped,
        Notice::Delivered,
        Notice::Completed,
        Notice::Dispute(DisputeStatus::Open),
        Notice::Refunded { partial: true },
        Notice::Refunded { partial: false },
    ];

    #[test]
    fn buyer_mail_carries_the_order_number_and_status_only() {
        let s = summary(Some("price mistake"));
        for notice in EVERY_NOTICE {
            let (subject, body) = compose(notice, Audience::Buyer, &s);
            assert!(subject.contains(s.order_id.as_str()) && body.contains(s.order_id.as_str()));
            assert!(body.contains(&format!("Status: {}", status(notice))), "{body}");
            for detail in
                ["Toner", "TX-1", "49.90", "4990", "EUR", "Alpha Office", "Quantity", "2026-11-26", "price mistake"]
            {
                assert!(!subject.contains(detail) && !body.contains(detail), "{detail} in {subject}\n{body}");
            }
        }
    }

    #[test]
    fn approval_and_cancellation_mails_carry_the_seed_fields() {
        let s = summary(Some("price mistake"));
        for notice in [Notice::Approved, Notice::Cancelled] {
            for to in [Audience::Seller, Audience::Manufacturer] {
                let (subject, body) = compose(notice, to, &s);
                assert!(subject.contains(s.order_id.as_str()));
                for field in [
                    "Order number: ord_",
                    "Order date: 2026-11-26T09:30:00.000Z",
                    "Item: Toner cartridge TX-1",
                    "Quantity: 2",
                    "Price: 49.90 EUR",
                    "Delivery time: within 3 days",
                    "Store: Alpha Office",
                    "Store contact:",
                    "Reason: price mistake",
                ] {
                    assert!(body.contains(field), "{field} missing in {body}");
                }
            }
        }
    }

    #[test]
    fn lines_stay_short_enough_to_travel_as_plain_text() {
        let s = summary(Some("price mistake"));
        for notice in [Notice::Placed, Notice::CancelRequested, Notice::ConfirmationNeeded, Notice::Approved] {
            for to in [Audience::Seller, Audience::Buyer, Audience::Manufacturer] {
                let (_, body) = compose(notice, to, &s);
                assert!(body.lines().all(|l| l.len() <= 76), "{body}");
            }
        }
    }

    #[test]
    fn amounts_follow_the_currency_exponent() {
        assert_eq!(amount(&Money::new(5, Currency::EUR)), "0.05 EUR");
        assert_eq!(amount(&Money::new(1200, Currency::parse("JPY").unwrap())), "1200 JPY");
    }

    #[test]
    fn only_approval_requests_reach_the_manufacturer() {
        assert!(audiences(Notice::ApprovalNeeded).contains(&Audience::Manufacturer));
        assert!(!audiences(Notice::Cancelled).contains(&Audience::Manufacturer));
        assert!(audiences(Notice::Paid).contains(&Audience::Seller));
    }
}
