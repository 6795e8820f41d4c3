// The messaging pages' shapes (see src/messaging/api.cpp and the campaign,
// trigger and provider routes), their API paths and the SMS segment counter.
import { get } from './api';
import { useLoader } from './hooks';

export type Channel = 'email' | 'sms' | 'push';
export const CHANNELS: Channel[] = ['email', 'sms', 'push'];
export const CHANNEL_LABELS: Record<Channel, string> = { email: 'Email', sms: 'SMS', push: 'Push' };

/** The parts of one language of a template; which ones apply depends on the channel. */
export interface TemplateContent {
  subject?: string;
  html?: string;
  text?: string;
  title?: string;
  body?: string;
  image?: string;
  link?: string;
  data?: Record<string, string>;
}

export interface SmsCount {
  encoding: 'GSM-7' | 'UCS-2' | string;
  segments: number;
  characters: number;
}

export interface TemplateCheck {
  language: string;
  sms?: SmsCount;
  push_payload_bytes?: number;
  unknown_variables: { field: string; message: string }[];
}

export interface MessageTemplate {
  key: string;
  name: string;
  channel: Channel;
  default_language: string;
  languages: Record<string, TemplateContent>;
  version: number;
  created_at: string;
  updated_at: string;
  /** Only in the answer to a save: what the server found rendering every language with the sample. */
  check?: TemplateCheck[];
}

export interface TemplatePreview {
  language: string;
  content: TemplateContent;
  sms?: SmsCount;
  push_payload_bytes?: number;
  unknown_variables: { field: string; message: string }[];
}

export type CampaignState = 'draft' | 'scheduled' | 'sending' | 'paused' | 'completed' | 'cancelled';
export const CAMPAIGN_STATES: CampaignState[] = ['draft', 'scheduled', 'sending', 'paused', 'completed', 'cancelled'];

export interface CampaignCounts {
  audience: number;
  queued: number;
  sent: number;
  delivered: number;
  failed: number;
  suppressed: number;
  cancelled: number;
}

export interface Variant {
  key: string;
  template_key: string;
  percent: number;
}

/** The audience as the server names it: a list or a saved segment (by id, or by key where ids are not exposed). */
export type Audience = Record<string, string | number>;

export interface Campaign {
  id: string | number;
  name: string;
  channel: Channel;
  template_key: string;
  topic: string | null;
  audience: Audience;
  send_at: string | null;
  local_time: boolean;
  variants?: Variant[] | null;
  rate_limit_per_minute: number | null;
  data?: Record<string, unknown> | null;
  state: CampaignState;
  counts?: Partial<CampaignCounts>;
  version: number;
  created_by?: string;
  created_at: string;
  updated_at: string;
  started_at?: string | null;
  completed_at?: string | null;
}

export type Lane = 'transactional' | 'alert';

export interface Trigger {
  key: string;
  event_type: string;
  condition: unknown;
  template_key: string;
  channels: Channel[];
  delay_seconds: number;
  dedupe_window_seconds: number;
  topic: string | null;
  lane: Lane;
  enabled: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

export type MessageStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'failed' | 'suppressed' | 'cancelled';
export const MESSAGE_STATUSES: MessageStatus[] = ['queued', 'sending', 'sent', 'delivered', 'failed', 'suppressed', 'cancelled'];

export interface Message {
  id: string;
  lane: string;
  purpose: string;
  channel: Channel;
  provider: string;
  status: MessageStatus | string;
  recipient: string;
  template: string | null;
  language: string | null;
  campaign_id: string | null;
  idempotency_key: string | null;
  provider_message_id: string | null;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  max_attempts: number;
  next_attempt_at: string | null;
  sent_at: string | null;
  created_at: string;
  updated_at: string;
  content: TemplateContent & Record<string, unknown>;
}

export interface MessageEvent {
  at: string;
  status: string;
  attempt: number | null;
  detail: string;
}

export interface MessageDetail extends Message {
  events: MessageEvent[];
}

export interface ProviderHealth {
  name: string;
  channel: Channel | string;
  state: 'ok' | 'paused' | string;
  paused_reason: string | null;
  paused_until: string | null;
  last_error: string | null;
  last_error_at: string | null;
  queued: number;
  sent_1h: number;
  failed_1h: number;
}

// ---- paths

const path = (base: string, ...rest: (string | number)[]) => [base, ...rest.map((s) => encodeURIComponent(String(s)))].join('/');
export const templatePath = (key: string, ...rest: string[]) => path('/v1/templates', key, ...rest);
export const campaignPath = (id: string | number, ...rest: string[]) => path('/v1/campaigns', id, ...rest);
export const triggerPath = (key: string) => path('/v1/triggers', key);
export const messagePath = (id: string) => path('/v1/messages', id);

export const useTemplates = () =>
  useLoader(async () => (await get<{ items: MessageTemplate[] }>('/v1/templates')).items, []);

// ---- campaigns

/** What the progress bar counts as done: every message with an outcome. */
export function campaignDone(c: Pick<Campaign, 'counts'>): number {
  const n = c.counts ?? {};
  return (n.sent ?? 0) + (n.delivered ?? 0) + (n.failed ?? 0) + (n.suppressed ?? 0);
}

/** The ProgressBar's colour and animation for a campaign state. */
export function progressState(s: CampaignState | string): string {
  switch (s) {
    case 'sending':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'queued';
  }
}

/** Which actions a campaign's state allows (the server answers 409 to the others). */
export function campaignActions(s: CampaignState | string) {
  return {
    edit: s === 'draft' || s === 'scheduled',
    remove: s === 'draft',
    schedule: s === 'draft',
    pause: s === 'sending',
    resume: s === 'paused',
    cancel: s === 'draft' || s === 'scheduled' || s === 'sending' || s === 'paused',
  };
}

/** The audience's kind and reference, whatever the server calls the field (list_id, segment_id, list, segment). */
export function audienceOf(a: Audience | null | undefined): { kind: 'list' | 'segment'; ref: string } | null {
  if (!a) return null;
  for (const [k, v] of Object.entries(a)) {
    if (k.startsWith('list')) return { kind: 'list', ref: String(v) };
    if (k.startsWith('segment')) return { kind: 'segment', ref: String(v) };
  }
  return null;
}

// ---- SMS segments, as the server counts them (messaging/templates.cpp CountSms)

// GSM 03.38 default alphabet beyond ASCII.
const GSM_BASIC = new Set([
  0xa1, 0xa3, 0xa4, 0xa5, 0xa7, 0xbf, 0xc4, 0xc5, 0xc6, 0xc7, 0xc9, 0xd1, 0xd6, 0xd8, 0xdc, 0xdf, 0xe0, 0xe4, 0xe5, 0xe6,
  0xe8, 0xe9, 0xec, 0xf1, 0xf2, 0xf6, 0xf8, 0xf9, 0xfc, 0x393, 0x394, 0x398, 0x39b, 0x39e, 0x3a0, 0x3a3, 0x3a6, 0x3a8, 0x3a9,
]);
const GSM_EXTENSION = new Set(['^', '{', '}', '\\', '[', '~', ']', '|', '\f', '€']);

/** Septets per character: 1 basic, 2 extension table (ESC + char), 0 not in GSM-7. */
function septets(ch: string): number {
  const c = ch.codePointAt(0) ?? 0;
  if (GSM_EXTENSION.has(ch)) return 2;
  if (c < 0x80) {
    if (ch === '\n' || ch === '\r') return 1;
    if (c < 0x20 || c === 0x7f || ch === '`') return 0;
    return 1;
  }
  return GSM_BASIC.has(c) ? 1 : 0;
}

/**
 * GSM-7 when every character is in the basic set or the extension table, else UCS-2.
 * One SMS holds 160 septets or 70 code units; concatenated ones 153 or 67 each, and an
 * extension character or a surrogate pair is never split.
 */
export function countSms(text: string): SmsCount & { units: number; perSegment: number } {
  const chars = Array.from(text);
  const gsm = chars.every((ch) => septets(ch) > 0);
  const single = gsm ? 160 : 70;
  const multi = gsm ? 153 : 67;
  let units = 0;
  let segments = 1;
  let used = 0;
  for (const ch of chars) {
    const w = gsm ? septets(ch) : (ch.codePointAt(0) ?? 0) > 0xffff ? 2 : 1;
    units += w;
    if (used + w > multi) {
      segments++;
      used = 0;
    }
    used += w;
  }
  return {
    encoding: gsm ? 'GSM-7' : 'UCS-2',
    characters: chars.length,
    units,
    segments: units === 0 ? 0 : units <= single ? 1 : segments,
    perSegment: units <= single ? single : multi,
  };
}

/** A datetime-local value ("2026-12-05T18:00") for an RFC 3339 time, in the browser's zone. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The wall-clock value of a datetime-local input as written, in UTC ("2026-12-05T18:00" -> "…T18:00:00Z"). */
export function wallClockIso(local: string): string {
  return `${local.slice(0, 16)}:00Z`;
}

/** A datetime-local value in the browser's zone as an RFC 3339 UTC time. */
export function localInputToIso(local: string): string | null {
  if (!local) return null;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
