import { useEffect, useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { CUSTOMER_STATUSES, customerName, useLists, useSegments } from '../clients';
import { DataTable, LoadMore } from '../components/DataTable';
import { LazyCount, Tags, Val } from '../components/hub';
import { PageHeader, ProblemAlert, StatusBadge, Time } from '../components/ui';
import { useDebounced, usePagedList } from '../hooks';
import { href, navigate, parseHashQuery, replaceHashQuery } from '../router';
import { useCan } from '../session';
import type { Customer, DistributionList, Page } from '../types';

const PAGE_SIZE = 50;

interface Filters {
  q: string;
  tag: string;
  status: string;
  list: string;
  segment: string;
}

function filtersFromHash(): Filters {
  const h = parseHashQuery(window.location.hash);
  return { q: h.q ?? '', tag: h.tag ?? '', status: h.status ?? '', list: h.list ?? '', segment: h.segment ?? '' };
}

export function CustomersPage() {
  const canWrite = useCan('customers', 'write');
  const [draft, setDraft] = useState<Filters>(filtersFromHash);
  const lists = useLists();
  const segments = useSegments();

  // Typing searches by itself once the user pauses; the selects apply at once.
  const typed = useDebounced({ q: draft.q.trim(), tag: draft.tag.trim() }, 300);
  const filters: Filters = { ...draft, q: typed.q, tag: typed.tag };
  const key = JSON.stringify(filters);

  // The filters live in the address, so a reload or a shared link shows the same customers.
  useEffect(() => replaceHashQuery({ ...filters }), [key]);
  // A link to another filter while this page is open (e.g. from a list) replaces the filters.
  useEffect(() => {
    const onHash = () => setDraft(filtersFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const customers = usePagedList(
    (cursor) => get<Page<Customer>>('/v1/customers', { ...filters, cursor, limit: PAGE_SIZE }),
    [key],
  );

  const set = (k: keyof Filters, v: string) => setDraft({ ...draft, [k]: v });
  const exportHref = withQuery('/v1/customers/export.csv', {
    list: filters.list,
    segment: filters.segment,
    q: filters.q,
    tag: filters.tag,
    status: filters.status,
  });
  const anyFilter = Object.values(draft).some((v) => v !== '');

  return (
    <div data-testid="customers-page">
      <PageHeader
        title="Customers"
        subtitle="Search and filter the customers synced from upstream systems and imports"
        actions={
          <>
            <a class="btn btn-outline-secondary" href={exportHref} download="customers.csv" data-testid="customers-export">
              Export CSV
            </a>
            {canWrite && (
              <a class="btn btn-primary" href={href('imports')} data-testid="customers-import">
                Import CSV
              </a>
            )}
          </>
        }
      />
      <div class="card shadow-sm">
        <div class="card-header bg-body">
          <form class="row g-2 align-items-end" role="search" onSubmit={(e) => e.preventDefault()} data-testid="customer-filters">
            <div class="col-md-4 col-lg-3">
              <label for="customers-q" class="form-label small mb-1">
                Search
              </label>
              <input
                id="customers-q"
                class="form-control form-control-sm"
                type="search"
                placeholder="Name, email, company or external id"
                value={draft.q}
                onInput={(e) => set('q', e.currentTarget.value)}
              />
            </div>
            <div class="col-6 col-md-2">
              <label for="customers-tag" class="form-label small mb-1">
                Tag
              </label>
              <input
                id="customers-tag"
                class="form-control form-control-sm"
                value={draft.tag}
                onInput={(e) => set('tag', e.currentTarget.value)}
              />
            </div>
            <div class="col-6 col-md-2 col-lg-1">
              <label for="customers-status" class="form-label small mb-1">
                Status
              </label>
              <select
                id="customers-status"
                class="form-select form-select-sm"
                value={draft.status}
                onChange={(e) => set('status', e.currentTarget.value)}
              >
                <option value="">Any</option>
                {CUSTOMER_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </div>
            <div class="col-6 col-md-2">
              <label for="customers-list" class="form-label small mb-1">
                List
              </label>
              <KeySelect id="customers-list" value={draft.list} onChange={(v) => set('list', v)} items={lists.data} />
            </div>
            <div class="col-6 col-md-2">
              <label for="customers-segment" class="form-label small mb-1">
                Segment
              </label>
              <KeySelect id="customers-segment" value={draft.segment} onChange={(v) => set('segment', v)} items={segments.data} />
            </div>
            <div class="col-auto">
              <button
                type="button"
                class="btn btn-sm btn-link"
                disabled={!anyFilter}
                onClick={() => setDraft({ q: '', tag: '', status: '', list: '', segment: '' })}
              >
                Clear
              </button>
            </div>
          </form>
          {(filters.list || filters.segment) && (
            <div class="small text-body-secondary mt-2" data-testid="customers-match-count">
              {filters.list && (
                <span class="me-3">
                  List <code>{filters.list}</code>:{' '}
                  <LazyCount
                    load={async () => (await get<DistributionList>(`/v1/lists/${encodeURIComponent(filters.list)}`)).members ?? 0}
                    deps={[filters.list]}
                    testid="list-member-count"
                  />{' '}
                  members
                </span>
              )}
              {filters.segment && (
                <span>
                  Segment <code>{filters.segment}</code>:{' '}
                  <LazyCount
                    load={async () =>
                      (await get<{ count: number }>(`/v1/segments/${encodeURIComponent(filters.segment)}/count`)).count
                    }
                    deps={[filters.segment]}
                    testid="segment-count"
                  />{' '}
                  customers
                </span>
              )}
            </div>
          )}
        </div>
        <ProblemAlert error={customers.error ?? lists.error ?? segments.error} />
        <DataTable
          testid="customers-table"
          cols={7}
          head={
            <>
              <th>External ID</th>
              <th>Name / company</th>
              <th>Email</th>
              <th>Phone</th>
              <th>Status</th>
              <th>Tags</th>
              <th>Updated</th>
            </>
          }
          items={customers.items}
          loading={customers.loading}
          empty={anyFilter ? 'No customers match these filters.' : 'No customers yet. Sync them through the API or import a CSV.'}
          row={(c) => (
            <tr
              key={c.id}
              class="clickable-row"
              data-testid="customer-row"
              data-external-id={c.external_id}
              onClick={(e) => {
                if (!(e.target instanceof HTMLAnchorElement)) navigate('customers', c.external_id);
              }}
            >
              <td>
                <a href={href('customers', c.external_id)} data-testid="customer-link" class="font-monospace">
                  {c.external_id}
                </a>
              </td>
              <td>
                <Val v={customerName(c)} />
                {c.company_name && customerName(c) !== c.company_name && (
                  <div class="small text-body-secondary">{c.company_name}</div>
                )}
              </td>
              <td class="text-nowrap">
                <Val v={c.email} />
              </td>
              <td class="text-nowrap">
                <Val v={c.phone} />
              </td>
              <td>
                <StatusBadge status={c.status} />
              </td>
              <td>
                <Tags tags={c.tags} />
              </td>
              <td class="small">
                <Time iso={c.updated_at} />
              </td>
            </tr>
          )}
        />
        <LoadMore next={customers.next} loading={customers.loadingMore} onMore={() => void customers.more()} testid="customers-load-more" />
      </div>
    </div>
  );
}

/** A select of lists or segments by key ("Any" for none); an unknown key stays selectable. */
function KeySelect(props: {
  id: string;
  value: string;
  onChange: (key: string) => void;
  items: readonly { key: string; name: string }[] | null;
}) {
  const items = props.items ?? [];
  return (
    <select id={props.id} class="form-select form-select-sm" value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
      <option value="">Any</option>
      {props.value && !items.some((i) => i.key === props.value) && <option value={props.value}>{props.value}</option>}
      {items.map((i) => (
        <option key={i.key} value={i.key}>
          {i.name} ({i.key})
        </option>
      ))}
    </select>
  );
}
