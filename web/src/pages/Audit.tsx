import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { get } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { JsonBlock, PageHeader, ProblemAlert, Time } from '../components/ui';
import { usePagedList } from '../hooks';
import type { AuditEntry, Page } from '../types';

const PAGE_SIZE = 50;

const KNOWN_ACTIONS = [
  'session.login',
  'session.logout',
  'session.login_failed',
  'user.create',
  'user.update',
  'role.create',
  'role.update',
  'role.delete',
  'token.create',
  'token.revoke',
  'job.create',
  'job.cancel',
];
const KNOWN_TYPES = ['user', 'role', 'token', 'job', 'session', 'schedule'];

interface Filters {
  action: string;
  resource_type: string;
  actor: string;
}

const EMPTY: Filters = { action: '', resource_type: '', actor: '' };

export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const entries = usePagedList(
    (cursor) => get<Page<AuditEntry>>('/v1/audit', { ...filters, cursor, limit: PAGE_SIZE }),
    [filters],
  );

  const toggle = (id: string) => {
    const s = new Set(open);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setOpen(s);
  };

  const set = (k: keyof Filters) => (e: { currentTarget: HTMLInputElement }) =>
    setDraft({ ...draft, [k]: e.currentTarget.value });

  return (
    <div data-testid="audit-page">
      <PageHeader
        title="Audit log"
        subtitle="Every change, newest first. Click a row to see what changed."
        actions={
          <button class="btn btn-outline-secondary" onClick={() => void entries.reload()} disabled={entries.loading} data-testid="audit-refresh">
            Refresh
          </button>
        }
      />
      <div class="card shadow-sm">
        <div class="card-header bg-body">
          <form
            class="row g-2 align-items-end"
            data-testid="audit-filters"
            onSubmit={(e) => {
              e.preventDefault();
              setFilters({
                action: draft.action.trim(),
                resource_type: draft.resource_type.trim(),
                actor: draft.actor.trim(),
              });
            }}
          >
            <div class="col-sm-6 col-md-3">
              <label for="audit-action" class="form-label small mb-1">
                Action
              </label>
              <input
                id="audit-action"
                class="form-control form-control-sm"
                list="audit-actions"
                placeholder="e.g. user.create"
                value={draft.action}
                onInput={set('action')}
              />
              <datalist id="audit-actions">
                {KNOWN_ACTIONS.map((a) => (
                  <option key={a} value={a} />
                ))}
              </datalist>
            </div>
            <div class="col-sm-6 col-md-3">
              <label for="audit-resource-type" class="form-label small mb-1">
                Resource type
              </label>
              <input
                id="audit-resource-type"
                class="form-control form-control-sm"
                list="audit-types"
                placeholder="e.g. user"
                value={draft.resource_type}
                onInput={set('resource_type')}
              />
              <datalist id="audit-types">
                {KNOWN_TYPES.map((a) => (
                  <option key={a} value={a} />
                ))}
              </datalist>
            </div>
            <div class="col-sm-6 col-md-3">
              <label for="audit-actor" class="form-label small mb-1">
                Actor
              </label>
              <input
                id="audit-actor"
                class="form-control form-control-sm"
                placeholder="Email, token name or id"
                value={draft.actor}
                onInput={set('actor')}
              />
            </div>
            <div class="col-auto">
              <button type="submit" class="btn btn-sm btn-primary" data-testid="audit-apply">
                Apply
              </button>
            </div>
            <div class="col-auto">
              <button
                type="button"
                class="btn btn-sm btn-outline-secondary"
                onClick={() => {
                  setDraft(EMPTY);
                  setFilters(EMPTY);
                }}
              >
                Clear
              </button>
            </div>
          </form>
        </div>
        <ProblemAlert error={entries.error} />
        <DataTable
          testid="audit-table"
          class="audit-table"
          cols={7}
          head={
            <>
              <th style={{ width: '1.5rem' }} />
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Resource</th>
              <th>Request ID</th>
              <th>Client IP</th>
            </>
          }
          items={entries.items}
          loading={entries.loading}
          empty="No audit entries match."
          row={(a) => {
            const isOpen = open.has(a.id);
            return (
              <Fragment key={a.id}>
                <tr
                  class="clickable-row"
                  onClick={() => toggle(a.id)}
                  aria-expanded={isOpen}
                  data-testid="audit-row"
                  data-action={a.action}
                  data-resource-id={a.resource?.id ?? ''}
                >
                  <td class="text-body-secondary">{isOpen ? '▾' : '▸'}</td>
                  <td class="small">
                    <Time iso={a.at} />
                  </td>
                  <td>
                    <span class="badge text-bg-light border me-1 fw-normal">{a.actor?.type}</span>
                    <span data-testid="audit-actor">{a.actor?.label ?? a.actor?.id ?? '—'}</span>
                  </td>
                  <td>
                    <code data-testid="audit-action">{a.action}</code>
                  </td>
                  <td class="small">
                    <span class="text-body-secondary">{a.resource?.type}</span>
                    {a.resource?.id && (
                      <>
                        {' '}
                        <code class="text-body">{a.resource.id}</code>
                      </>
                    )}
                  </td>
                  <td class="small font-monospace text-body-secondary">{a.request_id ?? '—'}</td>
                  <td class="small font-monospace">{a.client_ip ?? '—'}</td>
                </tr>
                {isOpen && (
                  <tr class="audit-detail" data-testid="audit-detail">
                    <td />
                    <td colSpan={6}>
                      <div class="row g-3 py-1">
                        <div class="col-md-6">
                          <div class="small fw-semibold mb-1">Before</div>
                          <JsonBlock value={a.before} testid="audit-before" />
                        </div>
                        <div class="col-md-6">
                          <div class="small fw-semibold mb-1">After</div>
                          <JsonBlock value={a.after} testid="audit-after" />
                        </div>
                      </div>
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          }}
        />
        <LoadMore next={entries.next} loading={entries.loadingMore} onMore={() => void entries.more()} testid="audit-load-more" />
      </div>
    </div>
  );
}
