-- Client hub: customers with tags and consent, products, subscriptions,
-- distribution lists, segments, devices, and the change feed.
-- Every record an upstream system syncs has a version for If-Match.

CREATE TABLE customers (
  id {{id}},
  external_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL DEFAULT 'individual',
  salutation TEXT,
  first_name TEXT,
  last_name TEXT,
  company_name TEXT,
  email TEXT,
  phone TEXT,
  language TEXT,
  country TEXT,
  time_zone TEXT,
  status TEXT NOT NULL DEFAULT 'active',
  attributes {{json}} NOT NULL DEFAULT '{}',
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  erased_at BIGINT
);
CREATE INDEX customers_email ON customers(email);
CREATE INDEX customers_updated ON customers(updated_at, id);
CREATE INDEX customers_country ON customers(country);

CREATE TABLE customer_tags (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags(tag, customer_id);

CREATE TABLE consents (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  status TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  at BIGINT NOT NULL,
  PRIMARY KEY (customer_id, channel)
);
CREATE INDEX consents_channel ON consents(channel, status, customer_id);

CREATE TABLE products (
  id {{id}},
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE subscriptions (
  id {{id}},
  external_id TEXT NOT NULL UNIQUE,
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  product_id BIGINT NOT NULL REFERENCES products(id),
  status TEXT NOT NULL,
  starts_at BIGINT,
  ends_at BIGINT,
  source TEXT NOT NULL DEFAULT '',
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions(customer_id, status);
CREATE INDEX subscriptions_product ON subscriptions(product_id, status, customer_id);

CREATE TABLE segments (
  id {{id}},
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  rule {{json}} NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE lists (
  id {{id}},
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,            -- static | products | segment
  product_codes {{json}} NOT NULL DEFAULT '[]',
  segment_id BIGINT REFERENCES segments(id),
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE list_members (
  list_id BIGINT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  added_at BIGINT NOT NULL,
  PRIMARY KEY (list_id, customer_id)
);
CREATE INDEX list_members_customer ON list_members(customer_id);

CREATE TABLE devices (
  id {{id}},
  installation_id TEXT NOT NULL UNIQUE,
  customer_id BIGINT REFERENCES customers(id),
  platform TEXT NOT NULL,
  token TEXT,
  app_version TEXT,
  locale TEXT,
  status TEXT NOT NULL DEFAULT 'active',
  last_seen_at BIGINT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX devices_customer ON devices(customer_id);
CREATE INDEX devices_last_seen ON devices(status, last_seen_at);

-- The change feed: one row per create/update/delete, written in the same
-- transaction as the change. `seq` orders the feed.
CREATE TABLE changes (
  seq {{id}},
  entity TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  op TEXT NOT NULL,
  version BIGINT,
  at BIGINT NOT NULL,
  data {{json}}
);
CREATE INDEX changes_entity ON changes(entity, entity_key);
