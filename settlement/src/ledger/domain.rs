//! Accounts and transactions as plain values. A [`Transaction`] is checked to balance
//! before anything is written.

use shared::ids::{OrderId, PartnerId, StoreId};
use shared::money::{Currency, Money};

shared::text_enum! {
    /// What a ledger transaction records, stored as text; an unknown stored kind is a read
    /// error.
    #[derive(PartialOrd, Ord)]
    pub enum TransactionKind {
        /// A partner's payment into an order's escrow.
        Payment,
        /// A refund of one payment.
        Refund,
        /// The refund of everything still refundable on an order.
        OrderRefund,
        /// A refund after release: back from the store and the fees' accounts.
        Chargeback,
        /// Escrow to the stores and fees on delivery.
        Release,
        /// A store's balance to its payout account.
        Remittance,
        ReportCharge,
        ReportChargeRefund,
        PointsMint,
        PointsMintRefund,
    }
}

/// One account of the chart. Every account holds one currency; its id names it. Its kind
/// ([`AccountKind`], the variant without its id) is stored as text; an unknown stored
/// kind is a read error.
#[derive(Debug, Clone, PartialEq, Eq, Hash, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(AccountKind),
    derive(
        PartialOrd,
        Ord,
        Hash,
        serde::Serialize,
        serde::Deserialize,
        strum::EnumString,
        strum::AsRefStr,
        strum::IntoStaticStr,
        strum::Display,
        strum::EnumIter,
        diesel::AsExpression,
        diesel::FromSqlRow
    ),
    diesel(sql_type = diesel::sql_types::Text),
    serde(rename_all = "snake_case"),
    strum(serialize_all = "snake_case")
)]
pub enum Account {
    /// What a payment partner collected for us and has not returned (an asset).
    PartnerClearing(PartnerId),
    /// Money held for one order until delivery or refund (a liability).
    Escrow(OrderId),
    /// A store's available balance, owed to it until remitted (a liability).
    Store(StoreId),
    /// Our revenue from the marketplace fee.
    MarketplaceFees,
    /// Pass-through of referral fees from the paying store to the referring one, so that
    /// the fee shows on the ledger as a fee and not as a plain transfer.
    ReferralFees,
    /// Pass-through of fulfilment fees to the shipping store.
    FulfilmentFees,
    /// Our revenue from the analyses sold to stores.
    ReportRevenue,
    /// Collection points in buyers' hands (a liability): a collection point's balance
    /// funds it when it mints points, and it pays the store where points are spent.
    PointsLiability,
    /// Pass-through of refunds on their way back to the payer through the partner.
    Refunds,
    /// Money sent to stores' payout accounts.
    Payouts,
}

shared::sql_text!(AccountKind);

impl Account {
    pub fn kind(&self) -> AccountKind {
        AccountKind::from(self)
    }

    pub fn owner(&self) -> Option<&str> {
        match self {
            Account::PartnerClearing(p) => Some(p.as_str()),
            Account::Escrow(o) => Some(o.as_str()),
            Account::Store(s) => Some(s.as_str()),
            _ => None,
        }
    }

    pub fn id(&self, currency: Currency) -> String {
        match self.owner() {
            Some(owner) => format!("{}:{owner}:{currency}", self.kind()),
            None => format!("{}:{currency}", self.kind()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub account: Account,
    pub debit: i64,
    pub credit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a transaction needs at least two entries")]
    Empty,
    #[error("an entry amount is negative")]
    Negative,
    #[error("an entry is in {0}, the transaction in {1}")]
    Currency(Currency, Currency),
    #[error("debits {debits} and credits {credits} differ")]
    Unbalanced { debits: i64, credits: i64 },
    #[error("amounts out of range")]
    Overflow,
}

/// A set of entries that moves money between accounts; written all at once or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub kind: TransactionKind,
    pub currency: Currency,
    pub order: Option<OrderId>,
    /// What caused it: a payment, refund, remittance or purchase id.
    pub reference: Option<String>,
    pub lines: Vec<Line>,
    error: Option<LedgerError>,
}

impl Transaction {
    pub fn new(kind: TransactionKind, currency: Currency) -> Self {
        Transaction { kind, currency, order: None, reference: None, lines: Vec::new(), error: None }
    }

    pub fn order(mut self, order: &OrderId) -> Self {
        self.order = Some(order.clone());
        self
    }

    pub fn reference(mut self, reference: impl AsRef<str>) -> Self {
        self.reference = Some(reference.as_ref().to_string());
        self
    }

    /// Debits `debit` and credits `credit` with `amount`. A zero amount adds nothing.
    pub fn move_money(mut self, debit: Account, credit: Account, amount: Money) -> Self {
        self.add(debit, credit, amount);
        self
    }

    /// [`Transaction::move_money`] in place, for transactions built in a loop.
    pub fn add(&mut self, debit: Account, credit: Account, amount: Money) {
        if amount.currency != self.currency {
            self.error.get_or_insert(LedgerError::Currency(amount.currency, self.currency));
            return;
        }
        if amount.amount < 0 {
            self.error.get_or_insert(LedgerError::Negative);
            return;
        }
        if amount.amount > 0 {
            self.lines.push(Line { account: debit, debit: amount.amount, credit: 0 });
            self.lines.push(Line { account: credit, debit: 0, credit: amount.amount });
        }
    }

    /// Refuses a transaction that does not balance, is empty or mixes currencies.
    pub fn check(&self) -> Result<(), LedgerError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.lines.len() < 2 {
            return Err(LedgerError::Empty);
        }
        let (mut debits, mut credits) = (0i64, 0i64);
        for l in &self.lines {
            if l.debit < 0 || l.credit < 0 {
                return Err(LedgerError::Negative);
            }
            debits = debits.checked_add(l.debit).ok_or(LedgerError::Overflow)?;
            credits = credits.checked_add(l.credit).ok_or(LedgerError::Overflow)?;
        }
        if debits != credits {
            return Err(LedgerError::Unbalanced { debits, credits });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    #[test]
    fn moves_balance_and_zero_moves_vanish() {
        let order = OrderId::generate();
        let t = Transaction::new(TransactionKind::Payment, Currency::EUR)
            .move_money(Account::PartnerClearing(PartnerId::generate()), Account::Escrow(order), eur(500))
            .move_money(Account::Refunds, Account::Payouts, eur(0));
        assert_eq!(t.lines.len(), 2);
        assert_eq!(t.check(), Ok(()));
    }

    #[test]
    fn empty_negative_and_mixed_currency_are_refused() {
        assert_eq!(Transaction::new(TransactionKind::Refund, Currency::EUR).check(), Err(LedgerError::Empty));
        let neg = Transaction::new(TransactionKind::Refund, Currency::EUR).move_money(
            Account::Refunds,
            Account::Payouts,
            eur(-1),
        );
        assert_eq!(neg.check(), Err(LedgerError::Negative));
        let usd = Money::new(5, Currency::parse("USD").unwrap());
        let mixed = Transaction::new(TransactionKind::Refund, Currency::EUR).move_money(
            Account::Refunds,
            Account::Payouts,
            usd,
        );
        assert!(matches!(mixed.check(), Err(LedgerError::Currency(..))));
        let mut lopsided = Transaction::new(TransactionKind::Refund, Currency::EUR).move_money(
            Account::Refunds,
            Account::Payouts,
            eur(5),
        );
        lopsided.lines[0].debit = 6;
        assert_eq!(lopsided.check(), Err(LedgerError::Unbalanced { debits: 6, credits: 5 }));
    }

    #[test]
    fn kinds_are_stored_as_today_and_an_unknown_one_is_refused() {
        assert_eq!(Account::PartnerClearing(PartnerId::generate()).kind().as_ref(), "partner_clearing");
        assert_eq!(TransactionKind::ReportChargeRefund.as_ref(), "report_charge_refund");
        assert_eq!("points_mint".parse::<TransactionKind>(), Ok(TransactionKind::PointsMint));
        assert!("capture".parse::<TransactionKind>().is_err());
        assert!("vault".parse::<AccountKind>().is_err());
    }

    #[test]
    fn account_ids_name_kind_owner_and_currency() {
        let s = StoreId::generate();
        assert_eq!(Account::Store(s.clone()).id(Currency::EUR), format!("store:{s}:EUR"));
        assert_eq!(Account::MarketplaceFees.id(Currency::EUR), "marketplace_fees:EUR");
    }
}
