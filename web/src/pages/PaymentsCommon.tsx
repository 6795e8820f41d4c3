// Shared pieces of the payments pages (component `payments`): money in cents,
// status badges, the section's sub-navigation, originator and counterparty pickers.
import { Fragment, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { errorMessage, get } from '../api';
import { inputClass } from '../components/ui';
import { useDebounced, useLoader } from '../hooks';
import { href } from '../router';
import { useCan } from '../session';
import type { Counterparty, Originator, Page } from '../types';

// ---- paths

/** "/v1/payments/12/cancel" with every segment after the base encoded. */
export const apiPath = (base: string, ...rest: string[]) => [base, ...rest.map((s) => encodeURIComponent(s))].join('/');

// ---- money: integer cents, shown as USD

/** 123456 → "$1,234.56" (integer arithmetic, no float rounding). */
export function fmtUSD(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return '—';
  const neg = cents < 0;
  const abs = Math.abs(Math.trunc(cents));
  const dollars = Math.floor(abs / 100);
  const rest = abs % 100;
  return `${neg ? '−' : ''}$${dollars.toLocaleString('en-US')}.${String(rest).padStart(2, '0')}`;
}

/** 123456 → "1234.56": a cents amount as the dollars an amount field takes. */
export function centsToDollars(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return '';
  const abs = Math.abs(Math.trunc(cents));
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/**
 * Dollars as typed ("1234.56", "1,234.5", "$12", ".99") → integer cents, read
 * digit by digit as a string so no float rounding can creep in; null when it is
 * not an amount (negative, more than two decimals, letters…).
 */
export function parseDollars(text: string): number | null {
  let s = text.trim();
  if (s.startsWith('$')) s = s.slice(1).trim();
  const m = /^(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d{0,2}))?$/.exec(s);
  if (!m) return null;
  const whole = (m[1] ?? '').replace(/,/g, '');
  const frac = m[2] ?? '';
  if (whole === '' && frac === '') return null;
  if (whole.replace(/^0+/, '').length > 12) return null;
  return Number(whole || '0') * 100 + Number(frac.padEnd(2, '0'));
}

export const AMOUNT_HINT = 'Dollars and cents, such as 1234.56';

// ---- idempotency

/** A fresh idempotency key (a UUID; also where crypto.randomUUID is missing, as on plain http). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---- badges

const PAYMENT_STATUS_STYLE: Record<string, string> = {
  pending: 'text-bg-warning',
  scheduled: 'text-bg-info',
  in_file: 'text-bg-primary',
  submitted: 'text-bg-dark',
  settled: 'text-bg-success',
  returned: 'text-bg-danger',
  failed: 'text-bg-danger',
  cancelled: 'text-bg-secondary',
  // ACH files
  built: 'text-bg-info',
  delivered: 'text-bg-success',
  // uploads
  validated: 'text-bg-info',
  discarded: 'text-bg-secondary',
  // originators, counterparties
  active: 'text-bg-success',
  disabled: 'text-bg-secondary',
};

/** A payment, file, upload or originator status as a coloured badge ("in_file" reads "in file"). */
export function PayStatusBadge(props: { status: string; testid?: string; title?: string }) {
  return (
    <span
      class={`badge ${PAYMENT_STATUS_STYLE[props.status] ?? 'text-bg-light border'}`}
      data-testid={props.testid}
      data-status={props.status}
      title={props.title}
    >
      {props.status.replace(/_/g, ' ')}
    </span>
  );
}

const PRENOTE_STYLE: Record<string, string> = {
  none: 'text-bg-light border',
  pending: 'text-bg-warning',
  sent: 'text-bg-info',
  verified: 'text-bg-success',
  failed: 'text-bg-danger',
};

export function PrenoteBadge(props: { status: string; testid?: string }) {
  return (
    <span class={`badge ${PRENOTE_STYLE[props.status] ?? 'text-bg-light border'}`} data-testid={props.testid}>
      {props.status === 'none' ? 'no prenote' : `prenote ${props.status}`}
    </span>
  );
}

export function DirectionBadge(props: { direction: string }) {
  return props.direction === 'debit' ? (
    <span class="badge rounded-pill text-bg-light border text-danger-emphasis fw-normal">debit</span>
  ) : (
    <span class="badge rounded-pill text-bg-light border text-success-emphasis fw-normal">credit</span>
  );
}

// ---- layout

interface Tab {
  key: string;
  label: string;
  write?: boolean;
}

const TABS: Tab[] = [
  { key: '', label: 'Payments' },
  { key: 'new', label: 'New payment', write: true },
  { key: 'uploads', label: 'Uploads' },
  { key: 'files', label: 'Files' },
  { key: 'returns', label: 'Returns' },
  { key: 'originators', label: 'Originators' },
  { key: 'counterparties', label: 'Counterparties' },
  { key: 'templates', label: 'Templates' },
  { key: 'calendar', label: 'Calendar' },
];

/** The payments section: its sub-navigation above the page. `active` is the tab's key ('' for the list). */
export function PaymentsLayout(props: { active: string; children: ComponentChildren }) {
  const canWrite = useCan('payments', 'write');
  return (
    <div data-testid="module-payments">
      <ul class="nav nav-tabs mb-3 flex-nowrap overflow-x-auto text-nowrap" data-testid="payments-nav" aria-label="Payments">
        {TABS.filter((t) => !t.write || canWrite).map((t) => (
          <li class="nav-item" key={t.key}>
            <a
              class={`nav-link ${props.active === t.key ? 'active' : ''}`}
              aria-current={props.active === t.key ? 'page' : undefined}
              href={t.key ? href('payments', t.key) : href('payments')}
              data-testid={`payments-tab-${t.key || 'list'}`}
            >
              {t.label}
            </a>
          </li>
        ))}
      </ul>
      {props.children}
    </div>
  );
}

/** "Payments / Files / this file": the trail at the top of a payments detail page. */
export function PayBreadcrumb(props: { trail: { label: string; to: string[] }[]; label: ComponentChildren }) {
  return (
    <nav aria-label="breadcrumb">
      <ol class="breadcrumb small mb-2">
        {props.trail.map((t) => (
          <li class="breadcrumb-item" key={t.label}>
            <a href={href(...t.to)}>{t.label}</a>
          </li>
        ))}
        <li class="breadcrumb-item active text-truncate" aria-current="page" style={{ maxWidth: '30rem' }}>
          {props.label}
        </li>
      </ol>
    </nav>
  );
}

/** A label/value list in a card body. */
export function Facts(props: { rows: [ComponentChildren, ComponentChildren, string?][]; labelCol?: number }) {
  const l = props.labelCol ?? 5;
  return (
    <dl class="row mb-0 small">
      {props.rows.map(([k, v, testid], i) => (
        <Fragment key={i}>
          <dt class={`col-${l} fw-normal text-body-secondary`}>
            {k}
          </dt>
          <dd class={`col-${12 - l} text-break`} data-testid={testid}>
            {v === null || v === undefined || v === '' ? <span class="text-body-tertiary">—</span> : v}
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

// ---- originators and counterparties

export const useOriginators = () =>
  useLoader(async () => (await get<Page<Originator>>('/v1/originators', { limit: 500 })).items, []);

/** Originator id → name, for tables. */
export function originatorNames(list: readonly Originator[] | null): (id: string) => string {
  const m = new Map((list ?? []).map((o) => [o.id, o.name]));
  return (id) => m.get(id) ?? `#${id}`;
}

/** A select of the originators; `anyLabel` adds an empty choice (for filters). */
export function OriginatorSelect(props: {
  id: string;
  value: string;
  onChange: (id: string) => void;
  originators: readonly Originator[] | null;
  error?: string;
  anyLabel?: string;
  small?: boolean;
  testid?: string;
}) {
  const list = props.originators ?? [];
  const base = props.small ? 'form-select form-select-sm' : 'form-select';
  return (
    <select
      id={props.id}
      class={inputClass(props.error, base)}
      value={props.value}
      onChange={(e) => props.onChange(e.currentTarget.value)}
      data-testid={props.testid}
    >
      {props.anyLabel !== undefined ? (
        <option value="">{props.anyLabel}</option>
      ) : (
        <option value="" disabled>
          {props.originators === null ? 'Loading originators…' : list.length === 0 ? 'No originators yet' : 'Choose an originator…'}
        </option>
      )}
      {props.value && !list.some((o) => o.id === props.value) && <option value={props.value}>#{props.value}</option>}
      {list.map((o) => (
        <option key={o.id} value={o.id} disabled={o.status !== 'active' && props.anyLabel === undefined}>
          {o.name} ({o.company_id}){o.status !== 'active' ? ` — ${o.status}` : ''}
        </option>
      ))}
    </select>
  );
}

/** "Anna Berg · ••••6789 (checking)". */
export function counterpartyLabel(c: Counterparty): string {
  return `${c.name} · ${c.account_number} (${c.account_type.replace('_', ' ')})${c.status !== 'active' ? ` — ${c.status}` : ''}`;
}

/**
 * Picks a counterparty: a search box (name or account digits) and a select of
 * the matches; the chosen one stays selectable while another search runs.
 */
export function CounterpartyPicker(props: {
  id: string;
  value: string;
  onChange: (id: string, c: Counterparty | null) => void;
  error?: string;
}) {
  const [q, setQ] = useState('');
  const query = useDebounced(q.trim(), 250);
  const matches = useLoader(
    async () => (await get<Page<Counterparty>>('/v1/counterparties', { q: query, limit: 50 })).items,
    [query],
  );
  // The chosen counterparty, also when the search no longer lists it (or it came from a link).
  const [chosen, setChosen] = useState<Counterparty | null>(null);
  useEffect(() => {
    if (!props.value || chosen?.id === props.value) return;
    const inList = matches.data?.find((c) => c.id === props.value);
    if (inList) {
      setChosen(inList);
      return;
    }
    let live = true;
    get<Counterparty>(apiPath('/v1/counterparties', props.value))
      .then((c) => live && setChosen(c))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [props.value, matches.data]);

  const list = matches.data ?? [];
  const options = chosen && chosen.id === props.value && !list.some((c) => c.id === chosen.id) ? [chosen, ...list] : list;
  return (
    <div data-testid="counterparty-picker">
      <input
        type="search"
        class="form-control form-control-sm mb-1"
        placeholder="Search by name or account digits"
        aria-label="Search counterparties"
        value={q}
        onInput={(e) => setQ(e.currentTarget.value)}
        data-testid="counterparty-search"
      />
      <select
        id={props.id}
        class={inputClass(props.error, 'form-select')}
        value={props.value}
        onChange={(e) => {
          const id = e.currentTarget.value;
          const c = options.find((x) => x.id === id) ?? null;
          setChosen(c);
          props.onChange(id, c);
        }}
        data-testid="counterparty-select"
      >
        <option value="" disabled>
          {matches.loading && !matches.data ? 'Loading…' : options.length === 0 ? 'No counterparty matches' : 'Choose a counterparty…'}
        </option>
        {props.value && !options.some((c) => c.id === props.value) && <option value={props.value}>#{props.value}</option>}
        {options.map((c) => (
          <option key={c.id} value={c.id}>
            {counterpartyLabel(c)}
          </option>
        ))}
      </select>
      {matches.error != null && (
        <div class="form-text text-danger" role="alert">
          The counterparties could not be loaded: {errorMessage(matches.error)}
        </div>
      )}
    </div>
  );
}

/** A value or a faint dash, in monospace. */
export function Mono(props: { v: string | number | null | undefined; testid?: string }) {
  if (props.v === null || props.v === undefined || props.v === '') return <span class="text-body-tertiary">—</span>;
  return (
    <code class="text-body" data-testid={props.testid}>
      {props.v}
    </code>
  );
}
