import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { PageHeader, ProblemAlert, Time } from '../components/ui';
import { usePagedList } from '../hooks';
import { href, navigate, parseHashQuery, replaceHashQuery } from '../router';
import { useCan } from '../session';
import { PAYMENT_STATUSES, type Page, type Payment } from '../types';
import {
  DirectionBadge,
  fmtUSD,
  originatorNames,
  OriginatorSelect,
  PaymentsLayout,
  PayStatusBadge,
  useOriginators,
} from './PaymentsCommon';

const PAGE_SIZE = 50;

interface Filters {
  status: string;
  originator_id: string;
  counterparty_id: string;
  effective_from: string;
  effective_to: string;
  file_id: string;
  upload_id: string;
}

const EMPTY: Filters = {
  status: '',
  originator_id: '',
  counterparty_id: '',
  effective_from: '',
  effective_to: '',
  file_id: '',
  upload_id: '',
};

function filtersFromHash(): Filters {
  const h = parseHashQuery(window.location.hash);
  const f = { ...EMPTY };
  for (const k of Object.keys(EMPTY) as (keyof Filters)[]) f[k] = h[k] ?? '';
  return f;
}

export function PaymentsListPage() {
  const canWrite = useCan('payments', 'write');
  const [filters, setFilters] = useState<Filters>(filtersFromHash);
  const originators = useOriginators();
  const nameOf = originatorNames(originators.data);
  const key = JSON.stringify(filters);

  // The filters live in the address, so a reload or a link (from a file, an upload) shows the same payments.
  useEffect(() => replaceHashQuery({ ...filters }), [key]);
  useEffect(() => {
    const onHash = () => setFilters(filtersFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const payments = usePagedList(
    (cursor) => get<Page<Payment>>('/v1/payments', { ...filters, cursor, limit: PAGE_SIZE }),
    [key],
  );
  const set = (k: keyof Filters, v: string) => setFilters({ ...filters, [k]: v });
  const anyFilter = Object.values(filters).some((v) => v !== '');
  const chips: [keyof Filters, string][] = [
    ['counterparty_id', 'Counterparty'],
    ['file_id', 'ACH file'],
    ['upload_id', 'Upload'],
  ];

  return (
    <PaymentsLayout active="">
      <div data-testid="payments-page">
        <PageHeader
          title="Payments"
          subtitle="ACH payments made by hand, from templates and from CSV uploads, newest first"
          actions={
            canWrite && (
              <a class="btn btn-primary" href={href('payments', 'new')} data-testid="new-payment">
                + New payment
              </a>
            )
          }
        />
        <div class="card shadow-sm">
          <div class="card-header bg-body">
            <form class="row g-2 align-items-end" role="search" onSubmit={(e) => e.preventDefault()} data-testid="payment-filters">
              <div class="col-6 col-md-2">
                <label for="payments-status" class="form-label small mb-1">
                  Status
                </label>
                <select
                  id="payments-status"
                  class="form-select form-select-sm"
                  value={filters.status}
                  onChange={(e) => set('status', e.currentTarget.value)}
                >
                  <option value="">Any</option>
                  {PAYMENT_STATUSES.map((s) => (
                    <option key={s} value={s}>
                      {s.replace('_', ' ')}
                    </option>
                  ))}
                </select>
              </div>
              <div class="col-6 col-md-3">
                <label for="payments-originator" class="form-label small mb-1">
                  Originator
                </label>
                <OriginatorSelect
                  id="payments-originator"
                  small
                  anyLabel="Any"
                  value={filters.originator_id}
                  onChange={(v) => set('originator_id', v)}
                  originators={originators.data}
                />
              </div>
              <div class="col-6 col-md-2">
                <label for="payments-from" class="form-label small mb-1">
                  Effective from
                </label>
                <input
                  id="payments-from"
                  type="date"
                  class="form-control form-control-sm"
                  value={filters.effective_from}
                  onChange={(e) => set('effective_from', e.currentTarget.value)}
                />
              </div>
              <div class="col-6 col-md-2">
                <label for="payments-to" class="form-label small mb-1">
                  Effective to
                </label>
                <input
                  id="payments-to"
                  type="date"
                  class="form-control form-control-sm"
                  value={filters.effective_to}
                  onChange={(e) => set('effective_to', e.currentTarget.value)}
                />
              </div>
              <div class="col-auto d-flex align-items-center gap-2">
                <button type="button" class="btn btn-sm btn-link" disabled={!anyFilter} onClick={() => setFilters(EMPTY)}>
                  Clear
                </button>
                <button type="button" class="btn btn-sm btn-outline-secondary" onClick={() => void payments.reload()}>
                  Refresh
                </button>
              </div>
            </form>
            {chips.some(([k]) => filters[k]) && (
              <div class="d-flex flex-wrap gap-2 mt-2" data-testid="payment-filter-chips">
                {chips
                  .filter(([k]) => filters[k])
                  .map(([k, label]) => (
                    <span key={k} class="badge rounded-pill text-bg-light border fw-normal d-inline-flex align-items-center gap-1">
                      {label} <code>#{filters[k]}</code>
                      <button
                        type="button"
                        class="btn-close"
                        style={{ fontSize: '0.5rem' }}
                        aria-label={`Remove the ${label.toLowerCase()} filter`}
                        onClick={() => set(k, '')}
                      />
                    </span>
                  ))}
              </div>
            )}
          </div>
          <ProblemAlert error={payments.error ?? originators.error} />
          <PaymentsTable
            items={payments.items}
            loading={payments.loading}
            nameOf={nameOf}
            empty={anyFilter ? 'No payments match these filters.' : 'No payments yet.'}
          />
          <LoadMore next={payments.next} loading={payments.loadingMore} onMore={() => void payments.more()} testid="payments-load-more" />
        </div>
      </div>
    </PaymentsLayout>
  );
}

/** The payments table of the list page, a file and a counterparty. */
export function PaymentsTable(props: {
  items: Payment[] | null;
  loading: boolean;
  nameOf?: (originatorId: string) => string;
  empty: string;
  testid?: string;
}) {
  return (
    <DataTable
      testid={props.testid ?? 'payments-table'}
      cols={props.nameOf ? 8 : 7}
      head={
        <>
          <th>ID</th>
          <th>Receiver</th>
          {props.nameOf && <th>Originator</th>}
          <th class="text-end">Amount</th>
          <th>SEC</th>
          <th>Effective</th>
          <th>Status</th>
          <th>Created</th>
        </>
      }
      items={props.items}
      loading={props.loading}
      empty={props.empty}
      row={(p) => (
        <tr
          key={p.id}
          class="clickable-row"
          data-testid="payment-row"
          data-id={p.id}
          data-status={p.status}
          data-amount-cents={p.amount_cents}
          onClick={(e) => {
            if (!(e.target instanceof HTMLAnchorElement)) navigate('payments', p.id);
          }}
        >
          <td>
            <a href={href('payments', p.id)} class="font-monospace" data-testid="payment-link">
              #{p.id}
            </a>
          </td>
          <td>
            {p.receiver_name}
            <div class="small text-body-secondary font-monospace">
              {p.routing_number} · {p.account_number}
            </div>
          </td>
          {props.nameOf && <td class="small">{props.nameOf(p.originator_id)}</td>}
          <td class="text-end text-nowrap">
            <span class="font-monospace" data-testid="payment-amount">
              {fmtUSD(p.amount_cents)}
            </span>
            <div>
              <DirectionBadge direction={p.direction} />
              {p.prenote && <span class="badge text-bg-light border fw-normal ms-1">prenote</span>}
            </div>
          </td>
          <td>
            <code>{p.sec_code}</code>
          </td>
          <td class="text-nowrap small">
            {p.effective_date}
            {p.same_day && <div class="text-body-secondary">same day</div>}
            {p.schedule_note && (
              <div class="text-warning-emphasis" title={p.schedule_note}>
                date moved
              </div>
            )}
          </td>
          <td>
            <PayStatusBadge status={p.status} testid="payment-status" title={p.status_reason ?? undefined} />
          </td>
          <td class="small">
            <Time iso={p.created_at} />
          </td>
        </tr>
      )}
    />
  );
}
