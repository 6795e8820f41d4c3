-- Messaging preferences: per-customer, per-topic, per-channel choices
-- (opt-outs are rows with allowed = 0), and the suppression list of
-- recipients that must never be sent to (bounces, complaints, requests).

CREATE TABLE message_preferences (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  topic TEXT NOT NULL,
  channel TEXT NOT NULL,                  -- email | sms | push
  allowed INTEGER NOT NULL,               -- 1 | 0
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (customer_id, topic, channel)
);
CREATE INDEX message_preferences_topic ON message_preferences(topic, customer_id);

CREATE TABLE suppressions (
  id {{id}},
  channel TEXT NOT NULL,
  recipient TEXT NOT NULL,                -- normalised: emails lower-case
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (channel, recipient)
);
CREATE INDEX suppressions_recipient ON suppressions(recipient);
