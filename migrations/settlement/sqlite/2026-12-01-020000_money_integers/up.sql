-- Money columns hold integers only. SQLite keeps any value in any column: an overflowing
-- `debits + x` becomes a float, and a text or real would be stored as given. A CHECK
-- cannot be added to an existing column without rebuilding its table, so these triggers
-- refuse, before the row is written, any money value that is not an integer (the whole
-- statement, and the transaction that made it, fail). PostgreSQL's columns are BIGINT.

CREATE TRIGGER orders_money_integer_insert BEFORE INSERT ON orders
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.expected) <> 'integer'
    OR typeof(NEW.paid) <> 'integer';
END;

CREATE TRIGGER orders_money_integer_update BEFORE UPDATE OF expected, paid ON orders
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.expected) <> 'integer'
    OR typeof(NEW.paid) <> 'integer';
END;

CREATE TRIGGER payments_money_integer_insert BEFORE INSERT ON payments
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer'
    OR typeof(NEW.captured) <> 'integer'
    OR typeof(NEW.refunded) <> 'integer'
    OR typeof(NEW.returned) <> 'integer';
END;

CREATE TRIGGER payments_money_integer_update BEFORE UPDATE OF amount, captured, refunded, returned ON payments
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer'
    OR typeof(NEW.captured) <> 'integer'
    OR typeof(NEW.refunded) <> 'integer'
    OR typeof(NEW.returned) <> 'integer';
END;

CREATE TRIGGER refunds_money_integer_insert BEFORE INSERT ON refunds
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER refunds_money_integer_update BEFORE UPDATE OF amount ON refunds
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER accounts_money_integer_insert BEFORE INSERT ON accounts
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.debits) <> 'integer'
    OR typeof(NEW.credits) <> 'integer';
END;

CREATE TRIGGER accounts_money_integer_update BEFORE UPDATE OF debits, credits ON accounts
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.debits) <> 'integer'
    OR typeof(NEW.credits) <> 'integer';
END;

CREATE TRIGGER ledger_entries_money_integer_insert BEFORE INSERT ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.debit) <> 'integer'
    OR typeof(NEW.credit) <> 'integer';
END;

CREATE TRIGGER remittances_money_integer_insert BEFORE INSERT ON remittances
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER remittances_money_integer_update BEFORE UPDATE OF amount ON remittances
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER charges_money_integer_insert BEFORE INSERT ON charges
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER charges_money_integer_update BEFORE UPDATE OF amount ON charges
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER report_purchases_money_integer_insert BEFORE INSERT ON report_purchases
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.price_amount) <> 'integer';
END;

CREATE TRIGGER report_purchases_money_integer_update BEFORE UPDATE OF price_amount ON report_purchases
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.price_amount) <> 'integer';
END;
