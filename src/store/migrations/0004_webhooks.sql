-- Outbound webhooks: endpoints, the delivery outbox with its attempt log, and
-- the fan-out cursor over the change feed.

CREATE TABLE webhooks (
  id {{id}},
  url TEXT NOT NULL,
  events TEXT NOT NULL,                   -- JSON array of event types, or ["*"]
  description TEXT NOT NULL DEFAULT '',
  secret TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT,
  disabled_at BIGINT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  -- Changes up to this feed position predate the webhook and are not sent to it.
  since_seq BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
  id {{id}},
  webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  change_seq BIGINT,                      -- NULL for pings
  status TEXT NOT NULL,                   -- pending | succeeded | failed
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  next_attempt_at BIGINT,
  last_attempt_at BIGINT,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  request_body TEXT NOT NULL,
  request_headers TEXT,                   -- JSON object of the last attempt
  response_status INTEGER,
  response_body TEXT,                     -- first 4 KiB
  error TEXT,
  duration_ms BIGINT,
  created_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries(created_at);
-- One delivery per change and endpoint, even if two nodes raced; also finds
-- a change's deliveries (erasure).
CREATE UNIQUE INDEX webhook_deliveries_change ON webhook_deliveries(change_seq, webhook_id);

CREATE TABLE webhook_attempts (
  id {{id}},
  delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  at BIGINT NOT NULL,
  response_status INTEGER,
  error TEXT,
  duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, attempt);

-- One row: the feed position up to which changes have been fanned out.
-- Starts at the current end of the feed: history is not replayed.
CREATE TABLE webhook_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cursor BIGINT NOT NULL
);
INSERT INTO webhook_state (id, cursor) SELECT 1, COALESCE(MAX(seq), 0) FROM changes;
