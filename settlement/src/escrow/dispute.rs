//! A dispute at settlement: while it is open the escrow stays held whatever arrives; its
//! decision is executed once, keyed by the dispute id: `min(decided, still refundable)`
//! back to the buyer through the partners (a partner's own refund meanwhile counts), the
//! rest released to the store with fees on that part only.

use super::workflow::release_from;
use crate::error::Result;
use crate::orders::{store as orders, OrderStatus};
use crate::payments::store as payments;
use crate::refunds::{domain as refunds, workflow::write};
use crate::schema::dispute_decisions;
use diesel::prelude::*;
use shared::config::{FeeConfig, ServiceName};
use shared::db::AnyConnection;
use shared::ids::{DisputeId, OrderId};
use shared::messages::Message;
use shared::money::Money;

/// The buyer opened a dispute: a captured order is held (`disputed`). An order settlement
/// does not know yet is "not yet"; one released, refunded or cancelled meanwhile is left
/// as it is (the broker opens disputes only before release).
pub fn opened(conn: &mut AnyConnection, order_id: &OrderId) -> Result<()> {
    let Some(_) = orders::lock(conn, order_id)? else {
        return Err(shared::Error::NotYet(format!("dispute_opened for an order not known yet: {order_id}")).into());
    };
    orders::transition(conn, order_id, OrderStatus::Captured, OrderStatus::Disputed)?;
    Ok(())
}

/// What executing a decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    pub refunded: Money,
    pub released: Money,
}

/// Executes the decision once; `None` when this dispute's decision ran before, or the
/// order is not disputed (then nothing moves).
pub fn execute(
    conn: &mut AnyConnection,
    dispute: &DisputeId,
    order_id: &OrderId,
    refund: Money,
    fees: &FeeConfig,
) -> Result<Option<Executed>> {
    let done: i64 =
        dispute_decisions::table.filter(dispute_decisions::dispute_id.eq(dispute)).count().get_result(conn)?;
    if done > 0 {
        return Ok(None);
    }
    let Some(order) = orders::lock(conn, order_id)? else {
        return Err(shared::Error::NotYet(format!("dispute_decided for an order not known yet: {order_id}")).into());
    };
    match order.status {
        OrderStatus::Disputed => {}
        // `dispute_opened` is still on its way: the decision waits for it.
        OrderStatus::Captured => {
            return Err(shared::Error::NotYet(format!("dispute_decided before dispute_opened: {order_id}")).into())
        }
        // Refunded by its partner or undeliverable meanwhile: nothing is left to decide.
        _ => return Ok(None),
    }
    let reason = format!("dispute {dispute}");
    let plan = refunds::dispute_refund(&order, &payments::of_order(conn, order_id)?, refund, &reason);
    let refunded = Money::new(order.paid - plan.paid, order.currency);
    write(conn, &plan)?;
    let mut released = Money::zero(order.currency);
    if plan.status == OrderStatus::Disputed {
        let to = if refunded.amount > 0 { OrderStatus::PartiallyRefunded } else { OrderStatus::Released };
        let held = crate::ledger::store::owed(conn, &crate::ledger::Account::Escrow(order_id.clone()), order.currency)?;
        release_from(conn, order_id, fees, OrderStatus::Disputed, to)?;
        released = held;
    }
    // The broker learns the outcome once: the order refunded (wholly or in part, the rest
    // released) or completed. Delivery has nothing to stop: the goods were handed over.
    let messages = if refunded.amount == 0 {
        vec![(ServiceName::Broker, Message::EscrowReleased { order_id: order_id.clone() })]
    } else {
        refunds::refunded(order_id, &reason, refunded, released.amount > 0, false)
    };
    for (to, m) in messages {
        shared::outbox::send(conn, ServiceName::Settlement, to, m)?;
    }
    diesel::insert_into(dispute_decisions::table)
        .values((
            dispute_decisions::dispute_id.eq(dispute),
            dispute_decisions::order_id.eq(order_id),
            dispute_decisions::refunded.eq(refunded.amount),
            dispute_decisions::released.eq(released.amount),
            dispute_decisions::currency.eq(order.currency),
            dispute_decisions::executed_at.eq(shared::time::now()),
        ))
        .execute(conn)?;
    Ok(Some(Executed { refunded, released }))
}
