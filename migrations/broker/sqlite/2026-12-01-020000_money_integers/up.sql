-- Money columns hold integers only. SQLite keeps any value in any column: an overflowing
-- `debits + x` becomes a float, and a text or real would be stored as given. A CHECK
-- cannot be added to an existing column without rebuilding its table, so these triggers
-- refuse, before the row is written, any money value that is not an integer (the whole
-- statement, and the transaction that made it, fail). PostgreSQL's columns are BIGINT.

CREATE TRIGGER products_money_integer_insert BEFORE INSERT ON products
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.list_price_amount) <> 'integer';
END;

CREATE TRIGGER products_money_integer_update BEFORE UPDATE OF list_price_amount ON products
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.list_price_amount) <> 'integer';
END;

CREATE TRIGGER offers_money_integer_insert BEFORE INSERT ON offers
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.price_amount) <> 'integer'
    OR typeof(NEW.urgent_price_amount) NOT IN ('integer', 'null')
    OR typeof(NEW.current_price) <> 'integer';
END;

CREATE TRIGGER offers_money_integer_update BEFORE UPDATE OF price_amount, urgent_price_amount, current_price ON offers
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.price_amount) <> 'integer'
    OR typeof(NEW.urgent_price_amount) NOT IN ('integer', 'null')
    OR typeof(NEW.current_price) <> 'integer';
END;

CREATE TRIGGER orders_money_integer_insert BEFORE INSERT ON orders
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.unit_price) <> 'integer'
    OR typeof(NEW.discount) <> 'integer'
    OR typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER orders_money_integer_update BEFORE UPDATE OF unit_price, discount, amount ON orders
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.unit_price) <> 'integer'
    OR typeof(NEW.discount) <> 'integer'
    OR typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER group_prices_money_integer_insert BEFORE INSERT ON group_prices
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER group_prices_money_integer_update BEFORE UPDATE OF amount ON group_prices
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER sales_money_integer_insert BEFORE INSERT ON sales
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER sales_money_integer_update BEFORE UPDATE OF amount ON sales
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.amount) <> 'integer';
END;

CREATE TRIGGER report_purchases_money_integer_insert BEFORE INSERT ON report_purchases
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.price_amount) <> 'integer';
END;

CREATE TRIGGER report_purchases_money_integer_update BEFORE UPDATE OF price_amount ON report_purchases
BEGIN SELECT RAISE(ABORT, 'money must be an integer number of minor units') WHERE typeof(NEW.price_amount) <> 'integer';
END;
