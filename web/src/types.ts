export const COMPONENTS = [
  'customers',
  'messaging',
  'editions',
  'documents',
  'portal',
  'payments',
  'analytics',
  'admin',
] as const;

export type Component = (typeof COMPONENTS)[number];
export type Level = 'none' | 'read' | 'write';
export type Permissions = Partial<Record<Component, Level>>;
export type Overrides = Partial<Record<Component, Level | null>>;

export const COMPONENT_LABELS: Record<Component, string> = {
  customers: 'Customers',
  messaging: 'Messaging',
  editions: 'Editions',
  documents: 'Documents',
  portal: 'Portal',
  payments: 'Payments',
  analytics: 'Analytics',
  admin: 'Administration',
};

export interface Me {
  id: string;
  email: string;
  name: string;
  role: string;
  auth: 'session' | 'token';
  token_id?: string;
  permissions: Permissions;
  preferences: Record<string, unknown>;
  csrf_token?: string;
}

export interface User {
  id: string;
  email: string;
  name: string;
  status: 'active' | 'disabled' | string;
  role: string;
  overrides: Overrides;
  permissions: Permissions;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
  version: number | string;
}

export interface Role {
  name: string;
  builtin: boolean;
  description: string;
  permissions: Permissions;
  users: number;
}

export interface Token {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  user_id: string;
  user_email: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  status: 'active' | 'expired' | 'revoked' | string;
}

export interface CreatedToken extends Token {
  token: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: { type: 'user' | 'token' | 'system' | string; id: string | null; label: string | null };
  action: string;
  resource: { type: string; id: string | null };
  before: unknown;
  after: unknown;
  request_id: string | null;
  client_ip: string | null;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Job {
  id: string;
  kind: string;
  state: JobState | string;
  payload: unknown;
  run_at: string;
  attempts: number;
  max_attempts: number;
  progress: { done: number; total: number } | null;
  last_error: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  schedule: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface JobKind {
  kind: string;
  description: string;
}

export interface Schedule {
  id: string;
  name: string;
  kind: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  next_run_at: string | null;
  last_job_id: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

// ---- Client hub (component `customers`; webhooks under `admin`) ----

export type ConsentChannel = 'email' | 'sms' | 'push';
export const CONSENT_CHANNELS: readonly ConsentChannel[] = ['email', 'sms', 'push'];

export interface Consent {
  status: 'granted' | 'withdrawn' | string;
  source: string;
  at: string;
}

export interface Customer {
  id: string;
  external_id: string;
  type: 'individual' | 'sole_proprietor' | 'company' | string;
  salutation: string | null;
  first_name: string | null;
  last_name: string | null;
  company_name: string | null;
  email: string | null;
  phone: string | null;
  language: string | null;
  country: string | null;
  time_zone: string | null;
  status: 'active' | 'inactive' | 'erased' | string;
  attributes: Record<string, unknown>;
  tags: string[];
  consent: Partial<Record<ConsentChannel, Consent>>;
  version: number;
  created_at: string;
  updated_at: string;
  erased_at: string | null;
}

export interface Product {
  code: string;
  name: string;
  kind: 'subscription' | 'single' | string;
}

export interface Subscription {
  external_id: string;
  customer: string;
  product: string;
  product_kind: string;
  status: 'active' | 'paused' | 'cancelled' | 'expired' | string;
  starts_at: string | null;
  ends_at: string | null;
  source: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface Device {
  installation_id: string;
  platform: 'android' | 'ios' | 'web' | string;
  status: 'active' | 'unregistered' | 'stale' | string;
  token: string | null;
  app_version: string | null;
  locale: string | null;
  customer: string | null;
  last_seen_at: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export type ListKind = 'static' | 'products' | 'segment';

export interface DistributionList {
  /** What a campaign's audience names (audience.list_id). */
  id?: number;
  key: string;
  name: string;
  kind: ListKind | string;
  product_codes: string[];
  segment: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  /** Only from GET /v1/lists/{key}: counted now. */
  members?: number;
}

export interface ListRef {
  key: string;
  name: string;
  kind: string;
}

/** A segment rule node (see docs/api.md "Segments"); kept as plain JSON. */
export type Rule = Record<string, unknown>;

export interface Segment {
  /** What a campaign's audience names (audience.segment_id). */
  id?: number;
  key: string;
  name: string;
  rule: Rule;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface SegmentPreview {
  count: number;
  sample: string[];
}

export interface TimelineEntry {
  seq: string;
  at: string;
  entity: 'customer' | 'subscription' | 'list_membership' | 'device' | string;
  key: string;
  op: 'create' | 'update' | 'delete' | string;
  version: number | null;
  data: Record<string, unknown> | null;
}

export type ImportKind = 'customers' | 'subscriptions';
export type ImportState = 'uploaded' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface ImportField {
  name: string;
  required: boolean;
  description: string;
}

export interface ImportRowError {
  row: number;
  column: string | null;
  field: string | null;
  message: string;
}

export interface Import {
  id: string;
  kind: ImportKind | string;
  filename: string;
  size_bytes: number;
  sha256: string;
  state: ImportState | string;
  delimiter: string;
  columns: string[];
  mapping: Record<string, string | null> | null;
  suggested_mapping: Record<string, string | null>;
  preview: string[][];
  fields: ImportField[];
  job_id: string | null;
  progress: { done: number; total: number } | null;
  counts: { rows: number; created: number; updated: number; unchanged: number; failed: number } | null;
  errors: ImportRowError[];
  error: string | null;
  previous_import_id: string | null;
  created_by: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: string | null;
  consecutive_failures: number;
  created_at: string;
  updated_at: string;
}

export interface CreatedWebhook extends Webhook {
  secret: string;
}

export interface WebhookEventType {
  type: string;
  description: string;
}

export interface Delivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed' | string;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  response_status: number | null;
  error: string | null;
  duration_ms: number | null;
  created_at: string;
}

export interface DeliveryDetail extends Delivery {
  request_body: string | null;
  request_headers: Record<string, string> | [string, string][] | null;
  response_body: string | null;
}

// ---- Payments (component `payments`) ----

export type PaymentStatus = 'pending' | 'scheduled' | 'in_file' | 'submitted' | 'settled' | 'returned' | 'failed' | 'cancelled';
export const PAYMENT_STATUSES: readonly PaymentStatus[] = [
  'pending',
  'scheduled',
  'in_file',
  'submitted',
  'settled',
  'returned',
  'failed',
  'cancelled',
];
export type SecCode = 'PPD' | 'CCD' | 'CTX' | 'WEB' | 'TEL';
export const SEC_CODES: readonly SecCode[] = ['PPD', 'CCD', 'CTX', 'WEB', 'TEL'];
export type AccountType = 'checking' | 'savings' | 'general_ledger' | 'loan';
export const ACCOUNT_TYPES: readonly AccountType[] = ['checking', 'savings', 'general_ledger', 'loan'];

export interface SftpProfile {
  host: string;
  port: number;
  username: string;
  host_key_sha256: string;
  upload_dir: string;
  inbox_dir: string;
  has_private_key?: boolean;
}

export interface OffsetAccount {
  routing_number: string;
  /** Masked in answers. */
  account_number: string;
  account_type: 'checking' | 'savings' | 'general_ledger' | string;
}

export interface Originator {
  id: string;
  name: string;
  company_id: string;
  entry_description: string;
  odfi_routing: string;
  immediate_destination: string;
  immediate_destination_name: string;
  immediate_origin: string;
  immediate_origin_name: string;
  time_zone: string;
  same_day_cutoff: string | null;
  next_day_cutoff: string;
  same_day_limit_cents: number;
  allow_same_day_split: boolean;
  allowed_sec_codes: string[];
  offset: OffsetAccount | null;
  sftp: SftpProfile | null;
  pgp_fingerprint: string | null;
  status: 'active' | 'disabled' | string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface Counterparty {
  id: string;
  name: string;
  kind: 'individual' | 'company' | string;
  receiver_id: string;
  email: string | null;
  routing_number: string;
  /** Masked ("••••6789"). */
  account_number: string;
  account_type: AccountType | string;
  prenote_status: 'none' | 'pending' | 'sent' | 'verified' | 'failed' | string;
  prenote_payment_id: string | null;
  prenote_settles_on: string | null;
  status: 'active' | 'disabled' | string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface PaymentTemplate {
  id: string;
  name: string;
  originator_id: string;
  counterparty_id: string;
  direction: 'credit' | 'debit' | string;
  amount_cents: number | null;
  sec_code: SecCode | string;
  entry_description: string | null;
  addenda: string | null;
  payment_type_code: string | null;
  same_day: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface PaymentEntry {
  part: number;
  amount_cents: number;
  file_id: string | null;
  trace_number: string | null;
}

export interface PaymentEvent {
  status: PaymentStatus | string;
  reason: string | null;
  actor: string;
  at: string;
}

export interface Payment {
  id: string;
  originator_id: string;
  counterparty_id: string;
  template_id: string | null;
  upload_id: string | null;
  upload_row: number | null;
  idempotency_key: string;
  direction: 'credit' | 'debit' | string;
  amount_cents: number;
  sec_code: SecCode | string;
  prenote: boolean;
  entry_description: string;
  addenda: string | null;
  payment_type_code: string | null;
  same_day: boolean;
  requested_effective_date: string | null;
  effective_date: string;
  window: 'same_day' | 'next_day' | string;
  window_at: string;
  schedule_note: string | null;
  receiver_name: string;
  receiver_id: string;
  routing_number: string;
  account_number: string;
  account_type: string;
  status: PaymentStatus | string;
  status_reason: string | null;
  return_code: string | null;
  file_id: string | null;
  created_by: string;
  version: number;
  created_at: string;
  updated_at: string;
  /** Only from GET /v1/payments/{id} (and create/cancel answers). */
  entries?: PaymentEntry[];
  /** Only from GET /v1/payments/{id}. */
  events?: PaymentEvent[];
}

export interface PaymentUploadError {
  row: number;
  column: string;
  message: string;
}

export interface PaymentUpload {
  id: string;
  originator_id: string;
  filename: string;
  sha256: string;
  status: 'validated' | 'submitted' | 'discarded' | string;
  total_rows: number;
  valid_rows: number;
  error_rows: number;
  submitted_rows: number;
  created_by: string;
  created_at: string;
  submitted_at: string | null;
  /** Only from the create call and GET /v1/payment-uploads/{id}. */
  errors?: PaymentUploadError[];
}

export interface AchFile {
  id: string;
  originator_id: string;
  file_date: string;
  file_id_modifier: string;
  name: string;
  sha256: string;
  entry_count: number;
  batch_count: number;
  debit_total_cents: number;
  credit_total_cents: number;
  window: 'same_day' | 'next_day' | string;
  status: 'built' | 'delivered' | 'failed' | string;
  delivery_attempts: number;
  next_attempt_at: string | null;
  delivered_at: string | null;
  remote_name: string | null;
  encrypted_sha256: string | null;
  last_error: string | null;
  created_at: string;
}

/** One NACHA record as GET /v1/ach-files/{id}/parsed gives it: field name → value (entries also carry `addenda`). */
export type AchRecord = Record<string, unknown>;

export interface ParsedAchFile {
  fileHeader: AchRecord;
  batches: {
    batchHeader: AchRecord;
    entries: AchRecord[];
    batchControl?: AchRecord;
  }[];
  fileControl?: AchRecord;
  errors?: { line: number; message: string; field?: string }[];
}

export interface PaymentReturn {
  id: string;
  kind: 'return' | 'noc' | string;
  code: string;
  reason: string;
  original_trace: string;
  payment_id: string | null;
  corrected_data: string | null;
  applied: unknown;
  amount_cents: number;
  received_at: string;
  file: string;
}

export interface ReturnFileResult {
  inbox_file_id: string;
  already_processed: boolean;
  entries: number;
  matched: number;
  items: unknown[];
}

export interface BankHoliday {
  date: string;
  name: string;
  actual: string;
}
