-- The demo's customers table, loaded into an embedded Postgres (pglite) that `npm start`
-- keeps in .lynq/demo/pglite and makes again whenever this file changes. Edit a row here
-- and run `npm start` again to see a one-node commit.
CREATE TABLE customers (
  id          text PRIMARY KEY,
  active      boolean NOT NULL,
  plan        text NOT NULL,
  replicas    integer NOT NULL,
  image       text NOT NULL,
  domain      text,
  created_at  timestamp NOT NULL
);

INSERT INTO customers VALUES
  ('acme',    true,  'gold',   3, 'nginx:1.27', 'acme.example.com',    '2024-01-15 09:30:00'),
  ('globex',  true,  'silver', 2, 'nginx:1.27', 'globex.example.com',  '2024-02-01 12:00:00'),
  ('initech', true,  'bronze', 1, 'nginx:1.27', NULL,                  '2024-03-10 08:15:00'),
  ('hooli',   false, 'gold',   3, 'nginx:1.27', 'hooli.example.com',   '2024-04-22 17:45:00');
