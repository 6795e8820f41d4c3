-- Foundation: settings, roles, staff users, sessions, API tokens, login
-- throttling, the audit log and the job scheduler.
-- Times are Unix milliseconds (UTC); JSON documents are TEXT.

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE roles (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  permissions TEXT NOT NULL,
  builtin INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE users (
  id {{id}},
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL REFERENCES roles(name),
  status TEXT NOT NULL DEFAULT 'active',
  overrides TEXT NOT NULL DEFAULT '{}',
  preferences TEXT NOT NULL DEFAULT '{}',
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_login_at BIGINT
);

CREATE TABLE sessions (
  id {{id}},
  token_hash TEXT NOT NULL UNIQUE,
  user_id BIGINT NOT NULL REFERENCES users(id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  client_ip TEXT NOT NULL DEFAULT '',
  user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
  id {{id}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  expires_at BIGINT,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE login_failures (
  id {{id}},
  email TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email, at);
CREATE INDEX login_failures_ip ON login_failures(client_ip, at);

CREATE TABLE audit_log (
  id {{id}},
  at BIGINT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL DEFAULT '',
  actor_label TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL DEFAULT '',
  before_json TEXT,
  after_json TEXT,
  request_id TEXT NOT NULL DEFAULT '',
  client_ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_action ON audit_log(action, id);
CREATE INDEX audit_log_resource ON audit_log(resource_type, resource_id, id);
CREATE INDEX audit_log_actor ON audit_log(actor_label, id);

CREATE TABLE schedules (
  id {{id}},
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL DEFAULT 'UTC',
  payload TEXT NOT NULL DEFAULT '{}',
  enabled INTEGER NOT NULL DEFAULT 1,
  next_run_at BIGINT NOT NULL,
  last_job_id BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE jobs (
  id {{id}},
  kind TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  state TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  run_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 5,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  progress_done BIGINT NOT NULL DEFAULT 0,
  progress_total BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  schedule_id BIGINT REFERENCES schedules(id),
  dedupe_key TEXT UNIQUE,
  created_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE INDEX jobs_kind ON jobs(kind, id);

CREATE TABLE job_runs (
  id {{id}},
  job_id BIGINT NOT NULL REFERENCES jobs(id),
  attempt INTEGER NOT NULL,
  node TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  outcome TEXT,
  error TEXT
);
CREATE INDEX job_runs_job ON job_runs(job_id);

-- The audit log is append-only for everyone, whatever a route does.
-- @sqlite
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
-- @end
-- @postgres
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
-- @end
