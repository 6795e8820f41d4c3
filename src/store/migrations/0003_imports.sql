-- CSV imports of customers and subscriptions. The uploaded file is kept in the
-- database (not on a node's disk) so any node can run the import job, and a
-- retried job reads the same bytes. rows_done is the number of CSV records
-- already applied: it commits with each chunk of rows (and with the chunk's
-- errors and counts), so a job that lost its lease resumes from it instead of
-- counting rows twice.

CREATE TABLE imports (
  id {{id}},
  kind TEXT NOT NULL,                 -- customers | subscriptions
  filename TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  state TEXT NOT NULL,                -- uploaded | queued | running | succeeded | failed | cancelled
  delimiter TEXT NOT NULL,
  columns {{json}} NOT NULL,
  suggested_mapping {{json}} NOT NULL,
  mapping {{json}},
  preview {{json}} NOT NULL,
  job_id BIGINT,
  rows_total BIGINT NOT NULL DEFAULT 0,
  rows_done BIGINT NOT NULL DEFAULT 0,
  created_count BIGINT NOT NULL DEFAULT 0,
  updated_count BIGINT NOT NULL DEFAULT 0,
  unchanged_count BIGINT NOT NULL DEFAULT 0,
  failed_count BIGINT NOT NULL DEFAULT 0,
  error TEXT,
  previous_import_id BIGINT,
  actor {{json}},                     -- who started it: the job acts on their behalf
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE INDEX imports_sha256 ON imports(sha256, id);

CREATE TABLE import_files (
  import_id BIGINT PRIMARY KEY REFERENCES imports(id) ON DELETE CASCADE,
-- @sqlite
  data BLOB NOT NULL
-- @end
-- @postgres
  data BYTEA NOT NULL
-- @end
);

CREATE TABLE import_errors (
  id {{id}},
  import_id BIGINT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
  row_no BIGINT NOT NULL,
  column_name TEXT NOT NULL,
  field TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX import_errors_import ON import_errors(import_id, id);
