import { useState } from 'preact/hooks';
import { ApiError, api, get, put } from '../api';
import { customerName, keyProblem, useLists, useProducts, useSegments } from '../clients';
import { DataTable, LoadMore } from '../components/DataTable';
import { FormModal, TextField } from '../components/forms';
import { KindBadge, LazyCount, Val } from '../components/hub';
import {
  AddButton,
  BusySpinner,
  Field,
  fieldError,
  inputClass,
  Notice,
  PageHeader,
  ProblemAlert,
  Spinner,
  StatusBadge,
  Time, Breadcrumb } from '../components/ui';
import { useAction, useLoader, usePagedList } from '../hooks';
import { href, hrefQuery } from '../router';
import { useCan } from '../session';
import type { Customer, DistributionList, ListKind, Page } from '../types';

const listPath = (key: string) => `/v1/lists/${encodeURIComponent(key)}`;
const countMembers = async (key: string) => (await get<DistributionList>(listPath(key))).members ?? 0;

const KIND_HELP: Record<ListKind, string> = {
  static: 'Members are added and removed by hand or through the API.',
  products: 'Every customer with an active subscription to one of the products, evaluated now.',
  segment: 'Every customer the saved segment matches, evaluated now.',
};

export function ListsPage() {
  const canWrite = useCan('customers', 'write');
  const lists = useLists();
  const [editing, setEditing] = useState<DistributionList | 'new' | null>(null);
  const [saved, setSaved] = useState<DistributionList | null>(null);

  return (
    <div data-testid="lists-page">
      <PageHeader
        title="Lists"
        subtitle="Distribution lists: static membership, or dynamic by products or a segment"
        actions={
          canWrite && (
            <AddButton onClick={() => setEditing('new')} testid="new-list">
              New list
            </AddButton>
          )
        }
      />
      {saved && (
        <Notice testid="list-saved" onClose={() => setSaved(null)}>
          List <strong>{saved.name}</strong> was saved. <a href={href('lists', saved.key)}>Open it</a>
        </Notice>
      )}
      <div class="card shadow-sm">
        <ProblemAlert error={lists.error} />
        <DataTable
          testid="lists-table"
          cols={canWrite ? 7 : 6}
          head={
            <>
              <th>Name</th>
              <th>Key</th>
              <th>Kind</th>
              <th>Rule</th>
              <th class="text-end">Members</th>
              <th>Updated</th>
              {canWrite && <th />}
            </>
          }
          items={lists.data}
          loading={lists.loading}
          empty="No lists yet."
          row={(l) => (
            <tr key={l.key} data-testid="list-row" data-key={l.key}>
              <td>
                <a href={href('lists', l.key)} class="fw-medium" data-testid="list-link">
                  {l.name}
                </a>
              </td>
              <td class="font-monospace small">{l.key}</td>
              <td>
                <KindBadge kind={l.kind} />
              </td>
              <td class="small">
                <ListRule l={l} />
              </td>
              <td class="text-end">
                <a href={hrefQuery(['customers'], { list: l.key })} title="Show the members">
                  <LazyCount load={() => countMembers(l.key)} deps={[l.key, l.version]} testid="list-members" />
                </a>
              </td>
              <td class="small">
                <Time iso={l.updated_at} />
              </td>
              {canWrite && (
                <td class="text-end">
                  <button class="btn btn-sm btn-outline-secondary" onClick={() => setEditing(l)} data-testid="list-edit">
                    Edit
                  </button>
                </td>
              )}
            </tr>
          )}
        />
      </div>
      {editing && (
        <ListDialog
          list={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(l) => {
            setEditing(null);
            setSaved(l);
            void lists.reload();
          }}
        />
      )}
    </div>
  );
}

function ListRule(props: { l: DistributionList }) {
  const { l } = props;
  if (l.kind === 'products') {
    return (
      <>
        active subscribers of{' '}
        {l.product_codes.map((p) => (
          <code key={p} class="me-1">
            {p}
          </code>
        ))}
      </>
    );
  }
  if (l.kind === 'segment' && l.segment) {
    return (
      <>
        segment <a href={href('segments', l.segment)}>{l.segment}</a>
      </>
    );
  }
  return <span class="text-body-secondary">members by hand</span>;
}

function ListDialog(props: { list: DistributionList | null; onClose: () => void; onSaved: (l: DistributionList) => void }) {
  const existing = props.list;
  const [key, setKey] = useState(existing?.key ?? '');
  const [name, setName] = useState(existing?.name ?? '');
  const [kind, setKind] = useState<ListKind>((existing?.kind as ListKind) ?? 'static');
  const [codes, setCodes] = useState<string[]>(existing?.product_codes ?? []);
  const [segment, setSegment] = useState(existing?.segment ?? '');
  const [keyError, setKeyError] = useState<string | null>(null);
  const products = useProducts();
  const segments = useSegments();
  const action = useAction((e) =>
    e instanceof ApiError && e.status === 404 && !existing ? new ApiError(422, { title: 'Invalid key', errors: [{ field: 'key', message: e.message }] }, null) : e,
  );
  const fe = action.fieldErrors;

  const submit = async () => {
    const problem = keyProblem(key.trim());
    setKeyError(problem);
    if (problem) throw new ApiError(422, { title: 'Check the key', errors: [{ field: 'key', message: problem }] }, null);
    const body: Record<string, unknown> = { name: name.trim(), kind };
    if (kind === 'products') body.product_codes = codes;
    if (kind === 'segment') body.segment = segment;
    props.onSaved(await put<DistributionList>(listPath(key.trim()), body));
  };

  const toggleCode = (code: string, on: boolean) => setCodes(on ? [...codes.filter((c) => c !== code), code] : codes.filter((c) => c !== code));

  return (
    <FormModal
      title={existing ? `Edit list ${existing.key}` : 'New list'}
      testid="list-dialog"
      size="lg"
      onClose={props.onClose}
      formId="list-form"
      action={action}
      onSubmit={submit}
      shownFields={['key', 'name', 'kind', 'product_codes', 'segment']}
      submitLabel={existing ? 'Save list' : 'Create list'}
      submitTestid="list-submit"
    >
      <div class="row">
        <TextField
          id="list-key"
          label="Key"
          fieldClass="col-md-5 mb-3"
          value={key}
          onValue={setKey}
          disabled={existing !== null}
          error={keyError ?? fe.key}
          help="Stable id used by the API, e.g. newsletter-de"
        />
        <TextField id="list-name" label="Name" fieldClass="col-md-7 mb-3" value={name} onValue={setName} error={fe.name} />
      </div>
      <fieldset class="mb-3">
        <legend class="form-label fs-6">Kind</legend>
        {(['static', 'products', 'segment'] as ListKind[]).map((k) => (
          <div class="form-check" key={k}>
            <input
              class="form-check-input"
              type="radio"
              name="list-kind"
              id={`list-kind-${k}`}
              checked={kind === k}
              onChange={() => setKind(k)}
            />
            <label class="form-check-label" for={`list-kind-${k}`}>
              <strong>{k}</strong> <span class="text-body-secondary small">— {KIND_HELP[k]}</span>
            </label>
          </div>
        ))}
        {fe.kind && <div class="invalid-feedback d-block">{fe.kind}</div>}
      </fieldset>
      {kind === 'products' && (
        <fieldset class="mb-3" data-testid="list-products">
          <legend class="form-label fs-6">Products</legend>
          <ProblemAlert error={products.error} />
          {products.data === null ? (
            <Spinner />
          ) : products.data.length === 0 ? (
            <div class="text-body-secondary small">No products yet.</div>
          ) : (
            <div class="row row-cols-1 row-cols-md-2">
              {products.data.map((p) => (
                <div class="col" key={p.code}>
                  <div class="form-check">
                    <input
                      class="form-check-input"
                      type="checkbox"
                      id={`list-product-${p.code}`}
                      checked={codes.includes(p.code)}
                      onChange={(e) => toggleCode(p.code, e.currentTarget.checked)}
                    />
                    <label class="form-check-label" for={`list-product-${p.code}`}>
                      {p.name} <code class="small">{p.code}</code>
                    </label>
                  </div>
                </div>
              ))}
            </div>
          )}
          {fieldError(fe, 'product_codes') && <div class="invalid-feedback d-block">{fieldError(fe, 'product_codes')}</div>}
        </fieldset>
      )}
      {kind === 'segment' && (
        <Field id="list-segment" label="Segment" error={fe.segment}>
          <select id="list-segment" class={inputClass(fe.segment, 'form-select')} value={segment} onChange={(e) => setSegment(e.currentTarget.value)}>
            <option value="">Choose a segment…</option>
            {(segments.data ?? []).map((s) => (
              <option key={s.key} value={s.key}>
                {s.name} ({s.key})
              </option>
            ))}
          </select>
        </Field>
      )}
    </FormModal>
  );
}

export function ListDetailPage(props: { listKey: string }) {
  const canWrite = useCan('customers', 'write');
  const list = useLoader(() => get<DistributionList>(listPath(props.listKey)), [props.listKey]);
  const members = usePagedList(
    (cursor) => get<Page<Customer>>('/v1/customers', { list: props.listKey, cursor, limit: 50 }),
    [props.listKey],
  );
  const [editing, setEditing] = useState(false);
  const l = list.data;
  const isStatic = l?.kind === 'static';
  const refresh = () => {
    void list.reload();
    void members.reload();
  };

  return (
    <div data-testid="list-detail">
      <Breadcrumb parent="lists" parentLabel="Lists" label={props.listKey} />
      <ProblemAlert error={list.error} />
      {!l ? (
        !list.error && <Spinner />
      ) : (
        <>
          <PageHeader
            title={l.name}
            subtitle={
              <span class="d-inline-flex flex-wrap gap-2 align-items-center">
                <code>{l.key}</code>
                <KindBadge kind={l.kind} />
                <ListRule l={l} />
                <span>
                  · <strong data-testid="list-detail-count">{l.members ?? 0}</strong> members now
                </span>
              </span>
            }
            actions={
              <>
                <a class="btn btn-outline-secondary" href={hrefQuery(['customers'], { list: l.key })} data-testid="list-open-customers">
                  Open in customers
                </a>
                {canWrite && (
                  <button class="btn btn-outline-primary" onClick={() => setEditing(true)}>
                    Edit
                  </button>
                )}
              </>
            }
          />
          {canWrite && isStatic && <AddMemberForm listKey={l.key} onAdded={refresh} />}
          {!isStatic && (
            <div class="alert alert-info py-2 small">Members of a {l.kind} list follow its rule; they cannot be added or removed by hand.</div>
          )}
          <div class="card shadow-sm">
            <ProblemAlert error={members.error} />
            <DataTable
              testid="members-table"
              cols={canWrite && isStatic ? 5 : 4}
              head={
                <>
                  <th>External ID</th>
                  <th>Name</th>
                  <th>Email</th>
                  <th>Status</th>
                  {canWrite && isStatic && <th />}
                </>
              }
              items={members.items}
              loading={members.loading}
              empty="This list has no members."
              row={(c) => (
                <tr key={c.id} data-testid="member-row" data-external-id={c.external_id}>
                  <td>
                    <a href={href('customers', c.external_id)} class="font-monospace">
                      {c.external_id}
                    </a>
                  </td>
                  <td>
                    <Val v={customerName(c)} />
                  </td>
                  <td>
                    <Val v={c.email} />
                  </td>
                  <td>
                    <StatusBadge status={c.status} />
                  </td>
                  {canWrite && isStatic && (
                    <td class="text-end">
                      <RemoveMemberButton listKey={l.key} externalId={c.external_id} onRemoved={refresh} />
                    </td>
                  )}
                </tr>
              )}
            />
            <LoadMore next={members.next} loading={members.loadingMore} onMore={() => void members.more()} testid="members-load-more" />
          </div>
          {editing && (
            <ListDialog
              list={l}
              onClose={() => setEditing(false)}
              onSaved={() => {
                setEditing(false);
                refresh();
              }}
            />
          )}
        </>
      )}
    </div>
  );
}

const memberPath = (key: string, id: string) => `${listPath(key)}/members/${encodeURIComponent(id)}`;

function AddMemberForm(props: { listKey: string; onAdded: () => void }) {
  const [id, setId] = useState('');
  const [added, setAdded] = useState<string | null>(null);
  const action = useAction();
  return (
    <form
      class="card card-body shadow-sm mb-3"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const ext = id.trim();
        void action.run(async () => {
          await api(memberPath(props.listKey, ext), { method: 'PUT' });
          setAdded(ext);
          setId('');
          props.onAdded();
        });
      }}
      data-testid="add-member-form"
    >
      <ProblemAlert error={action.error} />
      <div class="row g-2 align-items-end">
        <div class="col-sm-6 col-md-4">
          <label for="add-member-id" class="form-label small mb-1">
            Add a customer by external id
          </label>
          <input id="add-member-id" class="form-control form-control-sm" value={id} onInput={(e) => setId(e.currentTarget.value)} />
        </div>
        <div class="col-auto">
          <button type="submit" class="btn btn-sm btn-primary" disabled={action.busy || id.trim() === ''} data-testid="add-member">
            <BusySpinner busy={action.busy} />
            Add member
          </button>
        </div>
        {added && (
          <div class="col-auto small text-success" role="status">
            Added {added}.
          </div>
        )}
      </div>
    </form>
  );
}

function RemoveMemberButton(props: { listKey: string; externalId: string; onRemoved: () => void }) {
  const action = useAction();
  return (
    <button
      class="btn btn-sm btn-outline-danger"
      disabled={action.busy}
      title={action.error ? String((action.error as Error).message) : undefined}
      onClick={() =>
        void action.run(async () => {
          await api(memberPath(props.listKey, props.externalId), { method: 'DELETE' });
          props.onRemoved();
        })
      }
      data-testid="remove-member"
    >
      {action.error ? 'Retry remove' : 'Remove'}
    </button>
  );
}
