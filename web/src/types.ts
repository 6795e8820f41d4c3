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
