-- Events: what happened to a customer (an order shipped, a price alert
-- fired), posted by upstream systems, and triggers that turn events into
-- messages. Events are written by a group-committing writer and processed
-- asynchronously, exactly once: the messages an event causes are queued in
-- the same transaction that marks the event processed.

CREATE TABLE events (
  id {{id}},
  type TEXT NOT NULL,
  customer_id BIGINT,
  device_id BIGINT,
  data TEXT NOT NULL,                     -- JSON object
  occurred_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  idempotency_key TEXT UNIQUE,            -- NULL: none given
  request_hash TEXT,
  source TEXT NOT NULL,                   -- who posted it (actor label)
  processed_at BIGINT                     -- NULL until triggers have run
);
-- The processor's queue: unprocessed events, oldest first.
CREATE INDEX events_unprocessed ON events(id) WHERE processed_at IS NULL;
CREATE INDEX events_customer ON events(customer_id, id);
CREATE INDEX events_type ON events(type, id);

CREATE TABLE triggers (
  id {{id}},
  key TEXT NOT NULL UNIQUE,
  event_type TEXT NOT NULL,
  definition TEXT NOT NULL,               -- JSON: condition, template_key, channels, ...
  enabled INTEGER NOT NULL DEFAULT 1,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX triggers_event_type ON triggers(event_type);

-- What each trigger did for an event: the message it queued (or recorded as
-- suppressed), or why none was queued. Also the dedupe window's memory.
CREATE TABLE event_messages (
  id {{id}},
  event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  trigger_key TEXT NOT NULL,
  customer_id BIGINT,
  message_id BIGINT,
  outcome TEXT NOT NULL,                  -- queued | suppressed | deduped | no_recipient | error
  detail TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX event_messages_event ON event_messages(event_id, id);
CREATE INDEX event_messages_dedupe ON event_messages(trigger_key, customer_id, created_at);
