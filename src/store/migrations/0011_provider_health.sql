-- Messaging provider health: the state the dispatcher last saw of each
-- provider (a refused credential pauses it) and its last error, for
-- GET /v1/messaging/providers. One row per provider name, written only when
-- something changes.
CREATE TABLE provider_health (
  name TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  state TEXT NOT NULL,                    -- ok | paused
  paused_reason TEXT,
  paused_until BIGINT,
  last_error TEXT,
  last_error_at BIGINT,
  updated_at BIGINT NOT NULL
);

-- One push token, one active installation: registering a token finds the
-- other rows that hold it.
CREATE INDEX devices_token ON devices(token);
