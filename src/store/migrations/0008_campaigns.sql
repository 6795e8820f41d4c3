-- Campaigns: one template (or A/B variants) to an audience, snapshotted when
-- sending starts and expanded into outbox messages chunk by chunk.

CREATE TABLE campaigns (
  id {{id}},
  name TEXT NOT NULL,
  channel TEXT NOT NULL,                  -- email | sms | push
  template_key TEXT,
  topic TEXT,
  list_id BIGINT,                         -- the audience: a list or a saved segment
  segment_id BIGINT,
  send_at BIGINT,                         -- NULL: as soon as scheduled
  local_time INTEGER NOT NULL DEFAULT 0,  -- 1: send_at's wall-clock time in each recipient's zone
  variants TEXT NOT NULL DEFAULT '[]',    -- JSON [{key, template_key, percent}]
  rate_limit_per_minute BIGINT,
  data TEXT NOT NULL DEFAULT '{}',        -- JSON: the templates' campaign.* variables
  state TEXT NOT NULL,                    -- draft | scheduled | sending | paused | completed | cancelled
  audience_count BIGINT,                  -- recipients snapshotted
  start_at BIGINT,                        -- the instant expansion's due times count from
  expand_cursor BIGINT NOT NULL DEFAULT 0,-- the last customer id expanded into messages
  expanded BIGINT NOT NULL DEFAULT 0,     -- recipients expanded so far (rate-limit slots)
  expansion_done INTEGER NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  started_at BIGINT,
  completed_at BIGINT
);
CREATE INDEX campaigns_state ON campaigns(state, id);

-- The audience as it was when sending started, in customer id order so that
-- expansion can walk it with a cursor.
CREATE TABLE campaign_recipients (
  campaign_id BIGINT NOT NULL,
  customer_id BIGINT NOT NULL,
  PRIMARY KEY (campaign_id, customer_id)
);

-- A paused campaign's queued messages keep their due time here while
-- next_attempt_at is NULL, so the dispatcher's claim index passes them over.
ALTER TABLE messages ADD COLUMN paused_due_at BIGINT;
