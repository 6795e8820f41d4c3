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
