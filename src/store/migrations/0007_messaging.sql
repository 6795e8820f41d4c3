-- Messaging: templates, the message outbox (every outgoing email, SMS and
-- push message, written in the same transaction as its cause) and each
-- message's status timeline.

CREATE TABLE message_templates (
  id {{id}},
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  channel TEXT NOT NULL,                  -- email | sms | push
  definition TEXT NOT NULL,               -- JSON: default_language, languages
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE messages (
  id {{id}},
  idempotency_key TEXT UNIQUE,            -- NULL: none given
  request_hash TEXT,                      -- of the request that used the key
  lane TEXT NOT NULL,                     -- alert | transactional | bulk
  purpose TEXT NOT NULL,                  -- transactional | marketing
  channel TEXT NOT NULL,                  -- email | sms | push
  provider TEXT NOT NULL,                 -- the configured provider's name
  customer_id BIGINT,
  device_id BIGINT,
  recipient TEXT NOT NULL,                -- address, E.164 number or push token
  template_key TEXT,
  language TEXT,
  content TEXT NOT NULL,                  -- JSON: the rendered message
  campaign_id BIGINT,
  status TEXT NOT NULL,                   -- queued | sending | sent | delivered | failed | suppressed | cancelled
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  next_attempt_at BIGINT,                 -- set while the message still has to go out
  lease_owner TEXT,
  lease_expires_at BIGINT,
  provider_message_id TEXT,
  error_code TEXT,
  error_message TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  sent_at BIGINT
);
-- The dispatcher's claim: due messages of one lane, oldest first.
CREATE INDEX messages_due ON messages(lane, next_attempt_at, id) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX messages_customer ON messages(customer_id, id);
CREATE INDEX messages_campaign ON messages(campaign_id, status);
CREATE INDEX messages_created ON messages(created_at, id);
CREATE INDEX messages_provider_id ON messages(provider, provider_message_id);

CREATE TABLE message_events (
  id {{id}},
  message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  at BIGINT NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER,
  detail TEXT
);
CREATE INDEX message_events_message ON message_events(message_id, id);
