-- Payments: originators (the companies whose money moves, with their bank's
-- SFTP profile and cutoff windows), counterparties and their bank accounts,
-- templates, payments and their NACHA entries, CSV uploads, the ACH files
-- built at each cutoff, and the return / NOC entries that come back.
-- Money is integer cents; dates are "YYYY-MM-DD" in the originator's time zone.

CREATE TABLE payment_originators (
  id {{id}},
  name TEXT NOT NULL,                       -- company name, batch header (<= 16)
  company_id TEXT NOT NULL,                 -- company identification (10)
  entry_description TEXT NOT NULL,          -- default company entry description
  odfi_routing TEXT NOT NULL,               -- the originating bank's routing number (9)
  immediate_destination TEXT NOT NULL,      -- routing number the file goes to (9)
  immediate_destination_name TEXT NOT NULL,
  immediate_origin TEXT NOT NULL,           -- 10 characters as the bank assigned
  immediate_origin_name TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  same_day_cutoff TEXT,                     -- "HH:MM" local; NULL: no same-day window
  next_day_cutoff TEXT NOT NULL,            -- "HH:MM" local
  same_day_limit_cents BIGINT NOT NULL,
  allow_same_day_split INTEGER NOT NULL DEFAULT 0,
  allowed_sec_codes TEXT NOT NULL,          -- JSON array
  offset_routing TEXT,                      -- balancing entry per batch when set
  offset_account TEXT,
  offset_account_type TEXT,
  sftp_host TEXT,
  sftp_port INTEGER,
  sftp_username TEXT,
  sftp_private_key TEXT,                    -- never returned by the API
  sftp_host_key_sha256 TEXT,
  sftp_upload_dir TEXT,
  sftp_inbox_dir TEXT,
  pgp_public_key TEXT,
  pgp_fingerprint TEXT,
  next_trace BIGINT NOT NULL DEFAULT 1,     -- next 7-digit trace sequence
  status TEXT NOT NULL DEFAULT 'active',    -- active | disabled
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE payment_counterparties (
  id {{id}},
  name TEXT NOT NULL,
  kind TEXT NOT NULL,                       -- individual | company
  receiver_id TEXT NOT NULL DEFAULT '',     -- individual identification number (<= 15)
  email TEXT,
  routing_number TEXT NOT NULL,
  account_number TEXT NOT NULL,
  account_type TEXT NOT NULL,               -- checking | savings | general_ledger | loan
  prenote_status TEXT NOT NULL DEFAULT 'none',  -- none | pending | sent | verified | failed
  prenote_payment_id BIGINT,
  prenote_settles_on TEXT,                  -- live entries wait until this date
  status TEXT NOT NULL DEFAULT 'active',
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX payment_counterparties_name ON payment_counterparties(name);

CREATE TABLE payment_templates (
  id {{id}},
  name TEXT NOT NULL,
  originator_id BIGINT NOT NULL REFERENCES payment_originators(id),
  counterparty_id BIGINT NOT NULL REFERENCES payment_counterparties(id),
  direction TEXT NOT NULL,
  amount_cents BIGINT,                      -- NULL: given with each use
  sec_code TEXT NOT NULL,
  entry_description TEXT,
  addenda TEXT,
  payment_type_code TEXT,
  same_day INTEGER NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE payment_uploads (
  id {{id}},
  originator_id BIGINT NOT NULL REFERENCES payment_originators(id),
  filename TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  status TEXT NOT NULL,                     -- validated | submitted | discarded
  total_rows INTEGER NOT NULL,
  valid_rows INTEGER NOT NULL,
  error_rows INTEGER NOT NULL,
  errors TEXT NOT NULL,                     -- JSON array of {row, column, message}
  rows_json TEXT NOT NULL,                  -- the valid rows' payment inputs, until submitted
  submitted_rows INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  submitted_at BIGINT
);

CREATE TABLE ach_files (
  id {{id}},
  originator_id BIGINT NOT NULL REFERENCES payment_originators(id),
  file_date TEXT NOT NULL,                  -- creation date, originator's time zone
  file_id_modifier TEXT NOT NULL,
  name TEXT NOT NULL,                       -- the name it is delivered under
  content TEXT NOT NULL,                    -- the NACHA text as built
  sha256 TEXT NOT NULL,
  entry_count INTEGER NOT NULL,
  batch_count INTEGER NOT NULL,
  debit_total_cents BIGINT NOT NULL,
  credit_total_cents BIGINT NOT NULL,
  window_kind TEXT NOT NULL,                -- same_day | next_day | manual
  status TEXT NOT NULL,                     -- built | delivering | delivered | failed | not_delivered
  delivery_attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,                   -- when status is built: next delivery try
  lease_owner TEXT,
  lease_expires_at BIGINT,
  remote_name TEXT,                         -- as uploaded (".pgp" when encrypted)
  encrypted_content TEXT,                   -- ASCII-armored; kept so a retry sends the same bytes
  encrypted_sha256 TEXT,
  delivered_at BIGINT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  UNIQUE (originator_id, file_date, file_id_modifier)
);

CREATE INDEX ach_files_due ON ach_files(status, next_attempt_at);
CREATE INDEX ach_files_originator ON ach_files(originator_id, id);

CREATE TABLE payments (
  id {{id}},
  originator_id BIGINT NOT NULL REFERENCES payment_originators(id),
  counterparty_id BIGINT NOT NULL REFERENCES payment_counterparties(id),
  template_id BIGINT,
  upload_id BIGINT,
  upload_row INTEGER,
  idempotency_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,               -- a repeat with other data is a conflict
  direction TEXT NOT NULL,
  amount_cents BIGINT NOT NULL,
  sec_code TEXT NOT NULL,
  prenote INTEGER NOT NULL DEFAULT 0,
  entry_description TEXT NOT NULL,
  addenda TEXT,
  payment_type_code TEXT,
  same_day INTEGER NOT NULL DEFAULT 0,      -- as scheduled (may differ from requested)
  requested_effective_date TEXT,
  effective_date TEXT NOT NULL,
  window_kind TEXT NOT NULL,                -- same_day | next_day
  window_at BIGINT NOT NULL,                -- the cutoff whose file takes it (UTC ms)
  schedule_note TEXT,
  -- The receiver as it was when the payment was made (NOCs change the
  -- counterparty for later payments, not this one).
  receiver_name TEXT NOT NULL,
  receiver_id TEXT NOT NULL,
  routing_number TEXT NOT NULL,
  account_number TEXT NOT NULL,
  account_type TEXT NOT NULL,
  status TEXT NOT NULL,        -- pending | scheduled | in_file | submitted | settled | returned | failed | cancelled
  status_reason TEXT,
  return_code TEXT,
  file_id BIGINT REFERENCES ach_files(id),
  created_by TEXT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (originator_id, idempotency_key)
);
CREATE INDEX payments_due ON payments(status, window_at);
CREATE INDEX payments_originator ON payments(originator_id, id);
CREATE INDEX payments_counterparty ON payments(counterparty_id, id);
CREATE INDEX payments_file ON payments(file_id);
CREATE INDEX payments_upload ON payments(upload_id);

-- A payment's NACHA entries: one, or several when it was split.
CREATE TABLE payment_entries (
  id {{id}},
  payment_id BIGINT NOT NULL REFERENCES payments(id),
  part INTEGER NOT NULL,                    -- 1..parts
  amount_cents BIGINT NOT NULL,
  file_id BIGINT REFERENCES ach_files(id),
  trace_number TEXT,                        -- set when the entry goes into a file
  UNIQUE (payment_id, part)
);
CREATE INDEX payment_entries_trace ON payment_entries(trace_number);
CREATE INDEX payment_entries_file ON payment_entries(file_id);

CREATE TABLE payment_events (
  id {{id}},
  payment_id BIGINT NOT NULL REFERENCES payments(id),
  status TEXT NOT NULL,
  reason TEXT,
  actor TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events(payment_id, id);

-- Files fetched from the bank's inbox, processed once each.
CREATE TABLE payment_inbox_files (
  id {{id}},
  originator_id BIGINT NOT NULL REFERENCES payment_originators(id),
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  entries INTEGER NOT NULL,
  matched INTEGER NOT NULL,
  error TEXT,
  received_at BIGINT NOT NULL,
  UNIQUE (originator_id, name, sha256)
);

CREATE TABLE payment_returns (
  id {{id}},
  inbox_file_id BIGINT NOT NULL REFERENCES payment_inbox_files(id),
  kind TEXT NOT NULL,                       -- return | noc
  code TEXT NOT NULL,                       -- R01 … / C01 …
  original_trace TEXT NOT NULL,
  payment_id BIGINT REFERENCES payments(id),
  entry_id BIGINT REFERENCES payment_entries(id),
  corrected_data TEXT,
  applied TEXT,                             -- JSON: what was changed
  amount_cents BIGINT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX payment_returns_payment ON payment_returns(payment_id);
CREATE INDEX payment_returns_trace ON payment_returns(original_trace);
