// The segment rule language (docs/api.md "Segments") as the builder sees it:
// kinds of nodes, their defaults, operators per target, and where the server's
// 422 field paths ("rule.all[2].value") belong in the tree.
import type { FieldError } from './api';
import type { Rule } from './types';

export type ConditionKind = 'field' | 'attribute' | 'has_subscription' | 'member_of' | 'segment' | 'tag' | 'consent';
export type NodeKind = 'all' | 'any' | 'not' | ConditionKind | 'unknown';

export const CONDITION_KINDS: { kind: ConditionKind; label: string }[] = [
  { kind: 'attribute', label: 'Attribute' },
  { kind: 'field', label: 'Customer field' },
  { kind: 'has_subscription', label: 'Has subscription' },
  { kind: 'consent', label: 'Consent' },
  { kind: 'tag', label: 'Tag' },
  { kind: 'member_of', label: 'Member of list' },
  { kind: 'segment', label: 'In segment' },
];

const KINDS: NodeKind[] = ['all', 'any', 'not', 'field', 'attribute', 'has_subscription', 'member_of', 'segment', 'tag', 'consent'];

export function kindOf(rule: Rule): NodeKind {
  return KINDS.find((k) => k in rule) ?? 'unknown';
}

export const isGroup = (r: Rule) => Array.isArray(r.all) || Array.isArray(r.any);
export const children = (r: Rule): Rule[] => ((r.all ?? r.any) as Rule[] | undefined) ?? [];

export function newCondition(kind: ConditionKind): Rule {
  switch (kind) {
    case 'field':
      return { field: 'email', op: 'exists' };
    case 'attribute':
      return { attribute: '', op: 'eq', value: '' };
    case 'has_subscription':
      return { has_subscription: { status: 'active' } };
    case 'consent':
      return { consent: 'email' };
    default:
      return { [kind]: '' };
  }
}

/** A rule the builder can add conditions to: a group at the root. */
export function asRootGroup(rule: Rule): Rule {
  return isGroup(rule) ? rule : { all: [rule] };
}

export const TEXT_FIELDS = [
  'type',
  'salutation',
  'first_name',
  'last_name',
  'company_name',
  'email',
  'phone',
  'language',
  'country',
  'time_zone',
  'status',
];
export const TIME_FIELDS = ['created_at', 'updated_at'];
/** Fields with a fixed set of values get a select for eq/ne. */
export const FIELD_VALUES: Record<string, string[]> = {
  type: ['individual', 'sole_proprietor', 'company'],
  status: ['active', 'inactive'],
};

export const OP_LABELS: Record<string, string> = {
  eq: 'is',
  ne: 'is not',
  in: 'is one of',
  not_in: 'is none of',
  contains: 'contains',
  starts_with: 'starts with',
  ends_with: 'ends with',
  gt: 'greater than',
  gte: 'at least',
  lt: 'less than',
  lte: 'at most',
  exists: 'is set',
  not_exists: 'is not set',
  within_last: 'within the last',
  before_last: 'longer ago than',
};
const TIME_OP_LABELS: Record<string, string> = { gt: 'after', gte: 'at or after', lt: 'before', lte: 'at or before', eq: 'exactly at', ne: 'not at' };

export const TEXT_OPS = ['eq', 'ne', 'in', 'not_in', 'contains', 'starts_with', 'ends_with', 'exists', 'not_exists'];
export const TIME_OPS = ['within_last', 'before_last', 'gt', 'gte', 'lt', 'lte', 'eq', 'ne', 'exists', 'not_exists'];
export const ATTRIBUTE_OPS = ['eq', 'ne', 'in', 'not_in', 'contains', 'starts_with', 'ends_with', 'gt', 'gte', 'lt', 'lte', 'exists', 'not_exists'];

export const opLabel = (op: string, time: boolean) => (time ? TIME_OP_LABELS[op] : undefined) ?? OP_LABELS[op] ?? op;

export const NO_VALUE_OPS = new Set(['exists', 'not_exists']);
export const LIST_OPS = new Set(['in', 'not_in']);
export const DURATION_OPS = new Set(['within_last', 'before_last']);
export const TEXT_ONLY_OPS = new Set(['contains', 'starts_with', 'ends_with']);

export type ValueType = 'text' | 'number' | 'boolean';

export function valueTypeOf(value: unknown): ValueType {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  return 'text';
}

/** The value a comparison gets when its operator changes: kept where it still fits. */
export function valueForOp(op: string, old: unknown, time: boolean): unknown {
  if (NO_VALUE_OPS.has(op)) return undefined;
  if (DURATION_OPS.has(op)) return typeof old === 'string' && /^\d+[mhdw]$/.test(old) ? old : '30d';
  if (LIST_OPS.has(op)) return Array.isArray(old) ? old : old === undefined || old === '' ? [] : [old];
  if (Array.isArray(old)) return old[0] ?? '';
  if (time && typeof old === 'string' && /^\d+[mhdw]$/.test(old)) return '';
  return old ?? '';
}

/** Sets the comparison's operator and adapts its value. */
export function withOp(rule: Rule, op: string, time: boolean): Rule {
  const value = valueForOp(op, rule.value, time);
  const { value: _drop, ...rest } = rule;
  void _drop;
  return value === undefined ? { ...rest, op } : { ...rest, op, value };
}

/**
 * True when a condition still lacks something the user must type (a new
 * attribute name, a tag, a list): such a rule is not sent for a count yet.
 */
export function incomplete(rule: Rule): boolean {
  switch (kindOf(rule)) {
    case 'all':
    case 'any':
      return children(rule).some(incomplete);
    case 'not':
      return typeof rule.not === 'object' && rule.not !== null && incomplete(rule.not as Rule);
    case 'attribute':
      return rule.attribute === '';
    case 'member_of':
    case 'segment':
    case 'tag':
      return rule[kindOf(rule)] === '';
    case 'has_subscription': {
      const hs = rule.has_subscription as { products?: unknown[] } | undefined;
      return Array.isArray(hs?.products) && hs.products.length === 0;
    }
    default:
      return false;
  }
}

/** Where a field error can be shown; `prefix` slots also take errors inside them (value[2]). */
interface Slot {
  path: string;
  prefix: boolean;
}

function slots(rule: unknown, path: string, out: Slot[]) {
  out.push({ path, prefix: false });
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) return;
  const r = rule as Rule;
  const kind = kindOf(r);
  switch (kind) {
    case 'all':
    case 'any':
      out.push({ path: `${path}.${kind}`, prefix: false });
      if (Array.isArray(r[kind])) (r[kind] as unknown[]).forEach((c, i) => slots(c, `${path}.${kind}[${i}]`, out));
      break;
    case 'not':
      slots(r.not, `${path}.not`, out);
      break;
    case 'field':
    case 'attribute':
      out.push({ path: `${path}.${kind}`, prefix: false }, { path: `${path}.op`, prefix: false }, { path: `${path}.value`, prefix: true });
      break;
    case 'has_subscription':
      out.push({ path: `${path}.has_subscription`, prefix: true });
      break;
    default:
      out.push({ path: `${path}.${kind}`, prefix: false });
  }
}

/**
 * Places the server's field errors on the builder's controls: `placed` maps a
 * slot path to its message; `rest` are the errors no control shows.
 */
export function placeErrors(rule: Rule, errors: readonly FieldError[], root = 'rule') {
  const all: Slot[] = [];
  slots(rule, root, all);
  const placed: Record<string, string> = {};
  const rest: FieldError[] = [];
  for (const e of errors) {
    // The longest matching slot: the most specific control.
    let best: Slot | undefined;
    for (const s of all) {
      const hit = e.field === s.path || (s.prefix && (e.field.startsWith(`${s.path}.`) || e.field.startsWith(`${s.path}[`)));
      if (hit && (!best || s.path.length > best.path.length)) best = s;
    }
    if (best) {
      if (!(best.path in placed)) placed[best.path] = e.field === best.path ? e.message : `${e.field.slice(best.path.length).replace(/^\./, '')}: ${e.message}`;
    } else {
      rest.push(e);
    }
  }
  return { placed, rest };
}

/** "2026-01-31T12:00" (datetime-local, local time) for an RFC 3339 value, or "". */
export function toLocalInput(iso: unknown): string {
  if (typeof iso !== 'string' || iso === '') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(v: string): string {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}
