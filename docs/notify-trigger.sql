-- Instant syncs for a PostgreSQL hub: `lynq serve` LISTENs on the hub's
-- spec.source.postgresql.notifyChannel and syncs the hub when a notification arrives.
-- Replace customers (the hub's table) and lynq_customers (the channel) with your own.
--
-- FOR EACH STATEMENT: one notification per INSERT/UPDATE/DELETE statement, however many
-- rows it touches. The bridge debounces what is left (a burst of statements is one or
-- two syncs), and PostgreSQL itself folds identical notifications of one transaction.
CREATE OR REPLACE FUNCTION lynq_notify_customers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('lynq_customers', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS lynq_notify ON customers;
CREATE TRIGGER lynq_notify
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customers
  FOR EACH STATEMENT EXECUTE FUNCTION lynq_notify_customers();
