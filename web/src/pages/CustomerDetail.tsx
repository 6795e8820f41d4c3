import { type ComponentChildren, Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { del, get, request } from '../api';
import { customerName, customerPath } from '../clients';
import { DataTable, LoadMore } from '../components/DataTable';
import { KindBadge, Tags, Val } from '../components/hub';
import { ConfirmDialog, JsonBlock, Notice, ProblemAlert, Spinner, StatusBadge, Time, Breadcrumb } from '../components/ui';
import { prettyJson } from '../format';
import { useLoader, usePagedList } from '../hooks';
import { href, hrefQuery } from '../router';
import { useCan } from '../session';
import { CONSENT_CHANNELS, type Customer, type Device, type ListRef, type Page, type Subscription, type TimelineEntry } from '../types';

export function CustomerDetailPage(props: { id: string }) {
  const canWrite = useCan('customers', 'write');
  const customer = useLoader(async () => {
    const res = await request<Customer>(customerPath(props.id));
    return { c: res.data, etag: res.headers.get('ETag') };
  }, [props.id]);
  const [erasing, setErasing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  // Bumped after an erasure so that every card loads again.
  const [generation, setGeneration] = useState(0);

  const c = customer.data?.c;
  if (!c) {
    return (
      <div data-testid="customer-detail">
        <Breadcrumb parent="customers" parentLabel="Customers" label={props.id} />
        {customer.error ? <ProblemAlert error={customer.error} /> : <Spinner />}
      </div>
    );
  }
  const name = customerName(c);
  const erased = c.status === 'erased';

  return (
    <div data-testid="customer-detail">
      <Breadcrumb parent="customers" parentLabel="Customers" label={c.external_id} />
      <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
        <h1 class="h3 mb-0" data-testid="customer-name">
          {name || <span class="text-body-secondary">{erased ? 'Erased customer' : 'Unnamed customer'}</span>}
        </h1>
        <code class="fs-6" data-testid="customer-external-id">
          {c.external_id}
        </code>
        <StatusBadge status={c.status} testid="customer-status" />
        <span class="badge text-bg-light border fw-normal">{c.type.replace('_', ' ')}</span>
        <span class="small text-body-secondary ms-1">version {c.version}</span>
        <div class="ms-auto d-flex gap-2">
          <a class="btn btn-sm btn-outline-secondary" href={hrefQuery(['customers'], {})}>
            Back to customers
          </a>
          {canWrite && !erased && (
            <button class="btn btn-sm btn-outline-danger" onClick={() => setErasing(true)} data-testid="customer-erase">
              Erase…
            </button>
          )}
        </div>
      </div>
      {notice && (
        <Notice testid="customer-notice" onClose={() => setNotice(null)}>
          {notice}
        </Notice>
      )}
      {erased && (
        <div class="alert alert-secondary py-2" data-testid="customer-erased">
          This customer was erased <Time iso={c.erased_at} />: personal data is anonymized; the audit trail is kept.
        </div>
      )}
      <div class="row g-3">
        <div class="col-lg-5 col-xl-4">
          <ProfileCard c={c} />
          <ConsentCard c={c} />
          <AttributesCard c={c} />
        </div>
        <div class="col-lg-7 col-xl-8" key={generation}>
          <SubscriptionsCard id={c.external_id} />
          <ListsCard id={c.external_id} />
          <DevicesCard id={c.external_id} />
          <TimelineCard id={c.external_id} />
        </div>
      </div>
      {erasing && (
        <EraseDialog
          c={c}
          onClose={() => setErasing(false)}
          onErased={async () => {
            setNotice(`Customer ${c.external_id} was erased.`);
            await customer.reload();
            setGeneration((g) => g + 1);
          }}
        />
      )}
    </div>
  );
}


function Card(props: { title: string; testid: string; extra?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="card shadow-sm mb-3" data-testid={props.testid} aria-label={props.title}>
      <div class="card-header bg-body d-flex align-items-center justify-content-between gap-2">
        <h2 class="h6 mb-0 fw-semibold">{props.title}</h2>
        {props.extra}
      </div>
      {props.children}
    </section>
  );
}

const PROFILE_FIELDS: [keyof Customer, string][] = [
  ['salutation', 'Salutation'],
  ['first_name', 'First name'],
  ['last_name', 'Last name'],
  ['company_name', 'Company'],
  ['email', 'Email'],
  ['phone', 'Phone'],
  ['language', 'Language'],
  ['country', 'Country'],
  ['time_zone', 'Time zone'],
];

function ProfileCard(props: { c: Customer }) {
  const { c } = props;
  return (
    <Card title="Profile" testid="customer-profile">
      <div class="card-body">
        <dl class="row mb-0 small">
          {PROFILE_FIELDS.map(([k, label]) => (
            <Fragment key={k}>
              <dt class="col-5 fw-normal text-body-secondary">{label}</dt>
              <dd class="col-7 mb-1 text-break" data-testid={`customer-${k}`}>
                <Val v={c[k] as string | null} />
              </dd>
            </Fragment>
          ))}
          <dt class="col-5 fw-normal text-body-secondary">Tags</dt>
          <dd class="col-7 mb-1">
            <Tags tags={c.tags} testid="customer-tags" />
          </dd>
          <dt class="col-5 fw-normal text-body-secondary">Created</dt>
          <dd class="col-7 mb-1">
            <Time iso={c.created_at} />
          </dd>
          <dt class="col-5 fw-normal text-body-secondary">Updated</dt>
          <dd class="col-7 mb-0">
            <Time iso={c.updated_at} />
          </dd>
        </dl>
      </div>
    </Card>
  );
}

function ConsentCard(props: { c: Customer }) {
  return (
    <Card title="Consent" testid="customer-consent">
      <div class="table-responsive">
      <table class="table table-sm mb-0 align-middle">
        <thead class="table-light">
          <tr>
            <th class="ps-3">Channel</th>
            <th>Status</th>
            <th>Source</th>
            <th>Since</th>
          </tr>
        </thead>
        <tbody>
          {CONSENT_CHANNELS.map((ch) => {
            const k = props.c.consent?.[ch];
            return (
              <tr key={ch} data-testid="consent-row" data-channel={ch} data-status={k?.status ?? 'none'}>
                <td class="ps-3">{ch}</td>
                <td>{k ? <StatusBadge status={k.status} /> : <span class="text-body-tertiary small">not recorded</span>}</td>
                <td class="small">
                  <Val v={k?.source} />
                </td>
                <td class="small text-nowrap pe-3">
                  <Time iso={k?.at} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      </div>
    </Card>
  );
}

function AttributesCard(props: { c: Customer }) {
  const entries = Object.entries(props.c.attributes ?? {});
  return (
    <Card title="Attributes" testid="customer-attributes">
      {entries.length === 0 ? (
        <div class="card-body text-body-secondary small">No custom attributes.</div>
      ) : (
        <table class="table table-sm mb-0">
          <tbody>
            {entries.map(([k, v]) => (
              <tr key={k} data-testid="attribute-row" data-name={k}>
                <th scope="row" class="ps-3 fw-normal text-body-secondary small text-nowrap">
                  {k}
                </th>
                <td class="small text-break">
                  {v !== null && typeof v === 'object' ? <pre class="mb-0 small">{prettyJson(v)}</pre> : <code class="text-body">{JSON.stringify(v)}</code>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function SubscriptionsCard(props: { id: string }) {
  const subs = useLoader(async () => (await get<{ items: Subscription[] }>(customerPath(props.id, 'subscriptions'))).items, [props.id]);
  return (
    <Card title="Subscriptions" testid="customer-subscriptions">
      <ProblemAlert error={subs.error} />
      <DataTable
        testid="subscriptions-table"
        hover={false}
        cols={6}
        head={
          <>
            <th>Product</th>
            <th>Status</th>
            <th>Start</th>
            <th>End</th>
            <th>Source</th>
            <th>ID</th>
          </>
        }
        items={subs.data}
        loading={subs.loading}
        empty="No subscriptions or purchases."
        row={(s) => (
          <tr key={s.external_id} data-testid="subscription-row" data-product={s.product} data-status={s.status}>
            <td>
              <code class="text-body">{s.product}</code>
              {s.product_kind === 'single' && <span class="badge text-bg-light border ms-1 fw-normal">single</span>}
            </td>
            <td>
              <StatusBadge status={s.status} />
            </td>
            <td class="small">
              <Time iso={s.starts_at} />
            </td>
            <td class="small">
              <Time iso={s.ends_at} />
            </td>
            <td class="small">
              <Val v={s.source} />
            </td>
            <td class="small font-monospace text-body-secondary">{s.external_id}</td>
          </tr>
        )}
      />
    </Card>
  );
}

function ListsCard(props: { id: string }) {
  const lists = useLoader(async () => (await get<{ items: ListRef[] }>(customerPath(props.id, 'lists'))).items, [props.id]);
  return (
    <Card title="Lists" testid="customer-lists">
      <ProblemAlert error={lists.error} />
      <div class="card-body py-2">
        {lists.data === null ? (
          <Spinner />
        ) : lists.data.length === 0 ? (
          <span class="text-body-secondary small">Not a member of any list.</span>
        ) : (
          <ul class="list-inline mb-0">
            {lists.data.map((l) => (
              <li key={l.key} class="list-inline-item mb-1" data-testid="customer-list" data-key={l.key}>
                <a href={href('lists', l.key)} class="text-decoration-none border rounded px-2 py-1 d-inline-flex gap-2 align-items-center">
                  {l.name}
                  <KindBadge kind={l.kind} />
                </a>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}

function DevicesCard(props: { id: string }) {
  const devices = useLoader(async () => (await get<{ items: Device[] }>(customerPath(props.id, 'devices'))).items, [props.id]);
  return (
    <Card title="Devices" testid="customer-devices">
      <ProblemAlert error={devices.error} />
      <DataTable
        testid="devices-table"
        hover={false}
        cols={6}
        head={
          <>
            <th>Installation</th>
            <th>Platform</th>
            <th>Status</th>
            <th>App version</th>
            <th>Push token</th>
            <th>Last seen</th>
          </>
        }
        items={devices.data}
        loading={devices.loading}
        empty="No app installations."
        row={(d) => (
          <tr key={d.installation_id} data-testid="device-row">
            <td class="small font-monospace text-break">{d.installation_id}</td>
            <td>{d.platform}</td>
            <td>
              <StatusBadge status={d.status} />
            </td>
            <td class="small">
              <Val v={d.app_version} />
              {d.locale && <span class="text-body-secondary"> · {d.locale}</span>}
            </td>
            <td class="small">{d.token ? 'yes' : <span class="text-body-tertiary">no</span>}</td>
            <td class="small">
              <Time iso={d.last_seen_at} relative />
            </td>
          </tr>
        )}
      />
    </Card>
  );
}

// ---- Timeline ----

const IGNORED_IN_DIFF = new Set(['version', 'updated_at', 'created_at']);

interface Change {
  field: string;
  before: unknown;
  after: unknown;
}

/** Top-level fields that differ between two versions of a record. */
export function diffRecords(before: Record<string, unknown> | null, after: Record<string, unknown> | null): Change[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const out: Change[] = [];
  for (const k of keys) {
    if (IGNORED_IN_DIFF.has(k)) continue;
    const b = before?.[k];
    const a = after?.[k];
    if (JSON.stringify(b ?? null) !== JSON.stringify(a ?? null)) out.push({ field: k, before: b ?? null, after: a ?? null });
  }
  return out;
}

const str = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v));

/** One line saying what happened, e.g. "Subscription to GOLD: active → cancelled". */
export function summarize(e: TimelineEntry, changes: Change[] | null): string {
  const d = e.data ?? {};
  const changed = (names: Change[]) => names.map((c) => c.field).join(', ');
  switch (e.entity) {
    case 'customer':
      if (e.op === 'create') return 'Customer created';
      if (e.op === 'delete') return 'Customer erased';
      if (changes && changes.length > 0) return `Customer updated: ${changed(changes)}`;
      return 'Customer updated';
    case 'subscription': {
      const product = str(d.product) || e.key;
      if (e.op === 'create') return `Subscription to ${product} created (${str(d.status)})`;
      if (e.op === 'delete') return `Subscription ${e.key} removed`;
      const st = changes?.find((c) => c.field === 'status');
      if (st) return `Subscription to ${product}: ${str(st.before)} → ${str(st.after)}`;
      if (changes && changes.length > 0) return `Subscription to ${product} updated: ${changed(changes)}`;
      return `Subscription to ${product} updated`;
    }
    case 'list_membership': {
      const list = str(d.list) || e.key.split('/')[0] || e.key;
      return e.op === 'delete' ? `Removed from list ${list}` : `Added to list ${list}`;
    }
    case 'device': {
      const what = `${str(d.platform) || 'Device'} device ${e.key}`;
      if (e.op === 'create') return `${what} registered`;
      if (e.op === 'delete') return `${what} removed`;
      if (d.customer === null) return `${what} detached (logged out)`;
      const st = changes?.find((c) => c.field === 'status');
      if (st) return `${what}: ${str(st.before)} → ${str(st.after)}`;
      return `${what} updated`;
    }
    default:
      return `${e.entity} ${e.key}: ${e.op}`;
  }
}

const ENTITY_LABEL: Record<string, string> = {
  customer: 'profile',
  subscription: 'subscription',
  list_membership: 'list',
  device: 'device',
};

function TimelineCard(props: { id: string }) {
  const timeline = usePagedList(
    (cursor) => get<Page<TimelineEntry>>(customerPath(props.id, 'timeline'), { cursor, limit: 50 }),
    [props.id],
    (e) => e.seq,
  );
  const [open, setOpen] = useState<Set<string>>(new Set());
  const items = timeline.items;

  // The previous version of each entry is the next older entry of the same record.
  const previous = new Map<string, TimelineEntry | null>();
  if (items) {
    for (let i = 0; i < items.length; i++) {
      const e = items[i]!;
      const prev = items.slice(i + 1).find((x) => x.entity === e.entity && x.key === e.key) ?? null;
      previous.set(e.seq, prev);
    }
  }

  const toggle = (seq: string) => {
    const s = new Set(open);
    if (s.has(seq)) s.delete(seq);
    else s.add(seq);
    setOpen(s);
  };

  return (
    <Card
      title="Timeline"
      testid="customer-timeline"
      extra={
        <button class="btn btn-sm btn-outline-secondary" onClick={() => void timeline.reload()}>
          Refresh
        </button>
      }
    >
      <ProblemAlert error={timeline.error} />
      <DataTable
        testid="timeline-table"
        cols={4}
        head={
          <>
            <th style={{ width: '1.5rem' }} />
            <th>When</th>
            <th>What</th>
            <th>Change</th>
          </>
        }
        items={items}
        loading={timeline.loading}
        empty="No changes recorded."
        row={(e) => {
          const prev = previous.get(e.seq) ?? null;
          const changes = e.op === 'update' && prev ? diffRecords(prev.data, e.data) : null;
          const isOpen = open.has(e.seq);
          return (
            <Fragment key={e.seq}>
              <tr
                class="clickable-row"
                onClick={() => toggle(e.seq)}
                aria-expanded={isOpen}
                data-testid="timeline-row"
                data-entity={e.entity}
                data-op={e.op}
              >
                <td class="text-body-secondary">{isOpen ? '▾' : '▸'}</td>
                <td class="small text-nowrap">
                  <Time iso={e.at} />
                </td>
                <td>
                  <span class="badge text-bg-light border fw-normal me-2">{ENTITY_LABEL[e.entity] ?? e.entity}</span>
                  <span data-testid="timeline-summary">{summarize(e, changes)}</span>
                </td>
                <td class="small text-body-secondary text-nowrap">
                  {e.op}
                  {e.version !== null && ` · v${e.version}`}
                </td>
              </tr>
              {isOpen && (
                <tr class="audit-detail" data-testid="timeline-detail">
                  <td />
                  <td colSpan={3}>
                    {changes && changes.length > 0 && (
                      <table class="table table-sm table-bordered bg-body small mb-2" data-testid="timeline-diff">
                        <thead>
                          <tr>
                            <th>Field</th>
                            <th>Before</th>
                            <th>After</th>
                          </tr>
                        </thead>
                        <tbody>
                          {changes.map((c) => (
                            <tr key={c.field}>
                              <td class="font-monospace">{c.field}</td>
                              <td class="text-danger-emphasis text-break">{str(c.before) || '—'}</td>
                              <td class="text-success-emphasis text-break">{str(c.after) || '—'}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    )}
                    <div class="small fw-semibold mb-1">Record after the change</div>
                    <JsonBlock value={e.data} testid="timeline-data" />
                  </td>
                </tr>
              )}
            </Fragment>
          );
        }}
      />
      <LoadMore next={timeline.next} loading={timeline.loadingMore} onMore={() => void timeline.more()} testid="timeline-load-more" />
    </Card>
  );
}

function EraseDialog(props: { c: Customer; onClose: () => void; onErased: () => Promise<void> }) {
  const [typed, setTyped] = useState('');
  return (
    <ConfirmDialog
      title="Erase customer"
      confirmLabel="Erase personal data"
      danger
      confirmDisabled={typed.trim() !== props.c.external_id}
      onClose={props.onClose}
      onConfirm={async () => {
        await del(customerPath(props.c.external_id));
        await props.onErased();
      }}
    >
      <p>
        Erasing <strong>{customerName(props.c) || props.c.external_id}</strong> anonymizes their personal data, removes
        tags, consent and list memberships, and detaches their devices. The record and the audit trail stay.{' '}
        <strong>This cannot be undone.</strong>
      </p>
      <label for="erase-confirm" class="form-label">
        Type the external id <code>{props.c.external_id}</code> to confirm
      </label>
      <input
        id="erase-confirm"
        class="form-control"
        autocomplete="off"
        value={typed}
        onInput={(e) => setTyped(e.currentTarget.value)}
        data-testid="erase-confirm-input"
      />
    </ConfirmDialog>
  );
}
