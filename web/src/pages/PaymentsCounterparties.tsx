import { useState } from 'preact/hooks';
import { get, patch, post } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { FormModal, TextField } from '../components/forms';
import { AddButton, Field, inputClass, Notice, PageHeader, ProblemAlert, Spinner, Time } from '../components/ui';
import { useAction, useDebounced, useLoader, usePagedList } from '../hooks';
import { href, hrefQuery, navigate } from '../router';
import { useCan } from '../session';
import { ACCOUNT_TYPES, type Counterparty, type Page, type Payment } from '../types';
import { PaymentsTable } from './PaymentsList';
import { apiPath, Facts, Mono, PayBreadcrumb, PaymentsLayout, PayStatusBadge, PrenoteBadge, useOriginators, originatorNames } from './PaymentsCommon';

export function CounterpartiesPage() {
  const canWrite = useCan('payments', 'write');
  const [q, setQ] = useState('');
  const query = useDebounced(q.trim(), 300);
  const list = usePagedList((cursor) => get<Page<Counterparty>>('/v1/counterparties', { q: query, cursor, limit: 50 }), [query]);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <PaymentsLayout active="counterparties">
      <div data-testid="counterparties-page">
        <PageHeader
          title="Counterparties"
          subtitle="The receivers of payments and their bank accounts (account numbers are masked)"
          actions={
            canWrite && (
              <AddButton onClick={() => setCreating(true)} testid="new-counterparty">
                New counterparty
              </AddButton>
            )
          }
        />
        {notice && (
          <Notice testid="counterparty-notice" onClose={() => setNotice(null)}>
            {notice}
          </Notice>
        )}
        <div class="card shadow-sm">
          <div class="card-header bg-body">
            <div class="row g-2">
              <div class="col-md-4">
                <label for="counterparties-q" class="form-label small mb-1">
                  Search
                </label>
                <input
                  id="counterparties-q"
                  type="search"
                  class="form-control form-control-sm"
                  placeholder="Name or account digits"
                  value={q}
                  onInput={(e) => setQ(e.currentTarget.value)}
                />
              </div>
            </div>
          </div>
          <ProblemAlert error={list.error} />
          <DataTable
            testid="counterparties-table"
            cols={6}
            head={
              <>
                <th>ID</th>
                <th>Name</th>
                <th>Bank account</th>
                <th>Prenote</th>
                <th>Status</th>
                <th>Updated</th>
              </>
            }
            items={list.items}
            loading={list.loading}
            empty={query ? 'No counterparty matches.' : 'No counterparties yet.'}
            row={(c) => (
              <tr
                key={c.id}
                class="clickable-row"
                data-testid="counterparty-row"
                data-id={c.id}
                data-name={c.name}
                onClick={(e) => {
                  if (!(e.target instanceof HTMLAnchorElement)) navigate('payments', 'counterparties', c.id);
                }}
              >
                <td class="font-monospace">#{c.id}</td>
                <td>
                  <a href={href('payments', 'counterparties', c.id)} class="fw-medium" data-testid="counterparty-link">
                    {c.name}
                  </a>
                  <div class="small text-body-secondary">
                    {c.kind}
                    {c.receiver_id && ` · ${c.receiver_id}`}
                  </div>
                </td>
                <td class="font-monospace small">
                  {c.routing_number} · {c.account_number}
                  <div class="text-body-secondary font-sans-serif">{c.account_type.replace('_', ' ')}</div>
                </td>
                <td>
                  <PrenoteBadge status={c.prenote_status} />
                </td>
                <td>
                  <PayStatusBadge status={c.status} />
                </td>
                <td class="small">
                  <Time iso={c.updated_at} />
                </td>
              </tr>
            )}
          />
          <LoadMore next={list.next} loading={list.loadingMore} onMore={() => void list.more()} testid="counterparties-load-more" />
        </div>
        {creating && (
          <CounterpartyDialog
            counterparty={null}
            onClose={() => setCreating(false)}
            onSaved={(c) => {
              setCreating(false);
              setNotice(`Counterparty #${c.id} ${c.name} created.`);
              void list.reload();
            }}
          />
        )}
      </div>
    </PaymentsLayout>
  );
}

const SHOWN = ['name', 'kind', 'receiver_id', 'email', 'routing_number', 'account_number', 'account_type', 'prenote', 'status'];

export function CounterpartyDialog(props: { counterparty: Counterparty | null; onClose: () => void; onSaved: (c: Counterparty) => void }) {
  const c = props.counterparty;
  const [name, setName] = useState(c?.name ?? '');
  const [kind, setKind] = useState(c?.kind ?? 'individual');
  const [receiverId, setReceiverId] = useState(c?.receiver_id ?? '');
  const [email, setEmail] = useState(c?.email ?? '');
  const [routing, setRouting] = useState(c?.routing_number ?? '');
  const [account, setAccount] = useState('');
  const [accountType, setAccountType] = useState(c?.account_type ?? 'checking');
  const [prenote, setPrenote] = useState(c ? c.prenote_status !== 'none' : false);
  const [status, setStatus] = useState(c?.status ?? 'active');
  const action = useAction();
  const fe = action.fieldErrors;

  const submit = async () => {
    const body: Record<string, unknown> = {
      name: name.trim(),
      kind,
      receiver_id: receiverId.trim(),
      email: email.trim() === '' ? null : email.trim(),
      routing_number: routing.trim(),
      account_type: accountType,
    };
    // The account number comes back masked: it is sent only when typed in.
    if (account.trim() !== '' || !c) body.account_number = account.trim();
    if (!c || prenote !== (c.prenote_status !== 'none')) body.prenote = prenote;
    if (c) body.status = status;
    props.onSaved(
      c
        ? await patch<Counterparty>(apiPath('/v1/counterparties', c.id), body, { 'If-Match': `"${c.version}"` })
        : await post<Counterparty>('/v1/counterparties', body),
    );
  };

  return (
    <FormModal
      title={c ? `Edit counterparty #${c.id}` : 'New counterparty'}
      testid="counterparty-dialog"
      size="lg"
      onClose={props.onClose}
      formId="counterparty-form"
      action={action}
      onSubmit={submit}
      shownFields={SHOWN}
      submitLabel={c ? 'Save counterparty' : 'Create counterparty'}
      submitTestid="counterparty-submit"
    >
      <div class="row">
        <div class="col-md-8">
          <TextField id="counterparty-name" label="Name" value={name} onValue={setName} maxLength={22} error={fe.name} help="Up to 22 characters, as on the entry" />
        </div>
        <div class="col-md-4">
          <Field id="counterparty-kind" label="Kind" error={fe.kind}>
            <select id="counterparty-kind" class={inputClass(fe.kind, 'form-select')} value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
              <option value="individual">individual (PPD, WEB, TEL)</option>
              <option value="company">company (CCD, CTX)</option>
            </select>
          </Field>
        </div>
        <div class="col-md-6">
          <TextField id="counterparty-receiver-id" label="Receiver ID" value={receiverId} onValue={setReceiverId} maxLength={15} error={fe.receiver_id} help="Optional, up to 15 characters" />
        </div>
        <div class="col-md-6">
          <TextField id="counterparty-email" label="Email" type="email" value={email} onValue={setEmail} error={fe.email} help="Optional" />
        </div>
        <div class="col-md-4">
          <TextField id="counterparty-routing" label="Routing number" inputMode="numeric" value={routing} onValue={setRouting} maxLength={9} error={fe.routing_number} help="9 digits; the check digit is verified" />
        </div>
        <div class="col-md-4">
          <TextField
            id="counterparty-account"
            label="Account number"
            value={account}
            onValue={setAccount}
            maxLength={17}
            autoComplete="off"
            placeholder={c?.account_number ?? ''}
            error={fe.account_number}
            help={c ? 'Leave empty to keep the current one' : 'Up to 17 characters'}
          />
        </div>
        <div class="col-md-4">
          <Field id="counterparty-account-type" label="Account type" error={fe.account_type}>
            <select id="counterparty-account-type" class={inputClass(fe.account_type, 'form-select')} value={accountType} onChange={(e) => setAccountType(e.currentTarget.value)}>
              {ACCOUNT_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t.replace('_', ' ')}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {c && (
          <div class="col-md-4">
            <Field id="counterparty-status" label="Status" error={fe.status}>
              <select id="counterparty-status" class={inputClass(fe.status, 'form-select')} value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
                <option value="active">active</option>
                <option value="disabled">disabled</option>
              </select>
            </Field>
          </div>
        )}
        <div class="col-12">
          <div class="form-check">
            <input id="counterparty-prenote" class="form-check-input" type="checkbox" checked={prenote} onChange={(e) => setPrenote(e.currentTarget.checked)} />
            <label class="form-check-label" for="counterparty-prenote">
              Verify the account with a zero-dollar prenote first
              <div class="small text-body-secondary">The first payment then sends the prenote and waits three banking days for it to come back.</div>
            </label>
          </div>
          {fe.prenote && <div class="invalid-feedback d-block">{fe.prenote}</div>}
        </div>
      </div>
    </FormModal>
  );
}

export function CounterpartyDetailPage(props: { id: string }) {
  const canWrite = useCan('payments', 'write');
  const cp = useLoader(() => get<Counterparty>(apiPath('/v1/counterparties', props.id)), [props.id]);
  const originators = useOriginators();
  const payments = usePagedList(
    (cursor) => get<Page<Payment>>('/v1/payments', { counterparty_id: props.id, cursor, limit: 25 }),
    [props.id],
  );
  const [editing, setEditing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const c = cp.data;
  if (!c) {
    return (
      <PaymentsLayout active="counterparties">
        <div data-testid="counterparty-detail">
          <PayBreadcrumb trail={[{ label: 'Counterparties', to: ['payments', 'counterparties'] }]} label={`#${props.id}`} />
          {cp.error ? <ProblemAlert error={cp.error} /> : <Spinner />}
        </div>
      </PaymentsLayout>
    );
  }
  return (
    <PaymentsLayout active="counterparties">
      <div data-testid="counterparty-detail" data-id={c.id}>
        <PayBreadcrumb trail={[{ label: 'Counterparties', to: ['payments', 'counterparties'] }]} label={c.name} />
        <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
          <h1 class="h3 mb-0" data-testid="counterparty-name">
            {c.name}
          </h1>
          <PayStatusBadge status={c.status} />
          <PrenoteBadge status={c.prenote_status} testid="counterparty-prenote" />
          {canWrite && (
            <span class="ms-auto d-flex gap-2">
              <button class="btn btn-sm btn-outline-primary" onClick={() => setEditing(true)} data-testid="counterparty-edit">
                Edit
              </button>
              <a class="btn btn-sm btn-primary" href={hrefQuery(['payments', 'new'], { counterparty_id: c.id })} data-testid="counterparty-new-payment">
                New payment
              </a>
            </span>
          )}
        </div>
        {notice && (
          <Notice testid="counterparty-notice" onClose={() => setNotice(null)}>
            {notice}
          </Notice>
        )}
        <div class="row g-3">
          <div class="col-lg-4">
            <div class="card shadow-sm">
              <div class="card-header bg-body">Counterparty #{c.id}</div>
              <div class="card-body">
                <Facts
                  rows={[
                    ['Kind', c.kind],
                    ['Receiver ID', c.receiver_id],
                    ['Email', c.email],
                    ['Routing number', <Mono v={c.routing_number} />],
                    ['Account number', <Mono v={c.account_number} />],
                    ['Account type', c.account_type.replace('_', ' ')],
                    ['Prenote', <PrenoteBadge status={c.prenote_status} />],
                    ['Prenote payment', c.prenote_payment_id && <a href={href('payments', c.prenote_payment_id)}>#{c.prenote_payment_id}</a>],
                    ['Prenote settles on', c.prenote_settles_on],
                    ['Created', <Time iso={c.created_at} />],
                    ['Updated', <Time iso={c.updated_at} />],
                  ]}
                />
              </div>
            </div>
          </div>
          <div class="col-lg-8">
            <div class="card shadow-sm">
              <div class="card-header bg-body d-flex justify-content-between">
                <span>Payments</span>
                <a class="small fw-normal" href={hrefQuery(['payments'], { counterparty_id: c.id })}>
                  All with filters
                </a>
              </div>
              <ProblemAlert error={payments.error} />
              <PaymentsTable items={payments.items} loading={payments.loading} nameOf={originatorNames(originators.data)} empty="No payments to or from this counterparty yet." testid="counterparty-payments" />
              <LoadMore next={payments.next} loading={payments.loadingMore} onMore={() => void payments.more()} testid="counterparty-payments-more" />
            </div>
          </div>
        </div>
        {editing && (
          <CounterpartyDialog
            counterparty={c}
            onClose={() => setEditing(false)}
            onSaved={(n) => {
              setEditing(false);
              cp.setData(n);
              setNotice('Counterparty saved.');
            }}
          />
        )}
      </div>
    </PaymentsLayout>
  );
}
