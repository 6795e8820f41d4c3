import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { get, patch, post } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { TextField } from '../components/forms';
import { BusySpinner, Field, fieldError, inputClass, Notice, PageHeader, ProblemAlert, Spinner, Switch, Time } from '../components/ui';
import { useAction, useLoader, usePagedList } from '../hooks';
import { href, navigate } from '../router';
import { useCan } from '../session';
import { SEC_CODES, type Originator, type Page } from '../types';
import { AMOUNT_HINT, apiPath, centsToDollars, fmtUSD, Mono, parseDollars, PayBreadcrumb, PaymentsLayout, PayStatusBadge } from './PaymentsCommon';

export function OriginatorsPage() {
  const canWrite = useCan('payments', 'write');
  const list = usePagedList((cursor) => get<Page<Originator>>('/v1/originators', { cursor, limit: 50 }), []);
  return (
    <PaymentsLayout active="originators">
      <div data-testid="originators-page">
        <PageHeader
          title="Originators"
          subtitle="The companies whose payments Kontor sends: NACHA identity, bank, cutoff windows and delivery"
          actions={
            canWrite && (
              <a class="btn btn-primary" href={href('payments', 'originators', 'new')} data-testid="new-originator">
                + New originator
              </a>
            )
          }
        />
        <div class="card shadow-sm">
          <ProblemAlert error={list.error} />
          <DataTable
            testid="originators-table"
            cols={6}
            head={
              <>
                <th>Name</th>
                <th>Company ID</th>
                <th>ODFI</th>
                <th>Cutoffs</th>
                <th>Delivery</th>
                <th>Status</th>
              </>
            }
            items={list.items}
            loading={list.loading}
            empty="No originators yet."
            row={(o) => (
              <tr
                key={o.id}
                class="clickable-row"
                data-testid="originator-row"
                data-id={o.id}
                data-name={o.name}
                onClick={(e) => {
                  if (!(e.target instanceof HTMLAnchorElement)) navigate('payments', 'originators', o.id);
                }}
              >
                <td>
                  <a href={href('payments', 'originators', o.id)} class="fw-medium" data-testid="originator-link">
                    {o.name}
                  </a>
                  <div class="small text-body-secondary">“{o.entry_description}”</div>
                </td>
                <td>
                  <code>{o.company_id}</code>
                </td>
                <td class="font-monospace small">{o.odfi_routing}</td>
                <td class="small text-nowrap">
                  {o.same_day_cutoff ? `same day ${o.same_day_cutoff} · ` : ''}next day {o.next_day_cutoff}
                  <div class="text-body-secondary">{o.time_zone}</div>
                </td>
                <td class="small">
                  {o.sftp ? (
                    <span class="font-monospace">
                      {o.sftp.username}@{o.sftp.host}
                    </span>
                  ) : (
                    <span class="text-warning-emphasis">no SFTP profile</span>
                  )}
                  <div class="text-body-secondary">{o.pgp_fingerprint ? 'PGP key set' : 'no PGP key'}</div>
                </td>
                <td>
                  <PayStatusBadge status={o.status} />
                </td>
              </tr>
            )}
          />
          <LoadMore next={list.next} loading={list.loadingMore} onMore={() => void list.more()} testid="originators-load-more" />
        </div>
      </div>
    </PaymentsLayout>
  );
}

/** `#/payments/originators/new` (id null) or an originator's page with its settings form. */
export function OriginatorPage(props: { id: string | null }) {
  const loaded = useLoader(async () => (props.id ? await get<Originator>(apiPath('/v1/originators', props.id)) : null), [props.id]);
  const [notice, setNotice] = useState<string | null>(null);
  const o = loaded.data;
  const title = props.id ? (o ? o.name : props.id) : 'New originator';
  return (
    <PaymentsLayout active="originators">
      <div data-testid="originator-page">
        <PayBreadcrumb trail={[{ label: 'Originators', to: ['payments', 'originators'] }]} label={title} />
        {props.id && !o ? (
          loaded.error ? (
            <ProblemAlert error={loaded.error} />
          ) : (
            <Spinner />
          )
        ) : (
          <>
            <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
              <h1 class="h3 mb-0" data-testid="originator-title">
                {title}
              </h1>
              {o && <PayStatusBadge status={o.status} testid="originator-status" />}
              {o && (
                <span class="small text-body-secondary">
                  version {o.version} · updated <Time iso={o.updated_at} />
                </span>
              )}
            </div>
            {notice && (
              <Notice testid="originator-notice" onClose={() => setNotice(null)}>
                {notice}
              </Notice>
            )}
            <OriginatorForm
              key={o ? `${o.id}-${o.version}` : 'new'}
              originator={o}
              onSaved={(n) => {
                if (!o) {
                  navigate('payments', 'originators', n.id);
                  return;
                }
                loaded.setData(n);
                setNotice('Originator saved.');
              }}
            />
          </>
        )}
      </div>
    </PaymentsLayout>
  );
}

function Section(props: { title: string; children: ComponentChildren; help?: string }) {
  return (
    <fieldset class="mb-4">
      <legend class="h6 border-bottom pb-1 mb-3">
        {props.title}
        {props.help && <span class="fw-normal small text-body-secondary ms-2">{props.help}</span>}
      </legend>
      {props.children}
    </fieldset>
  );
}

/** The shown fields of the form (server errors for others go to the alert on top). */
const SHOWN = [
  'name',
  'company_id',
  'entry_description',
  'status',
  'odfi_routing',
  'immediate_destination',
  'immediate_destination_name',
  'immediate_origin',
  'immediate_origin_name',
  'time_zone',
  'same_day_cutoff',
  'next_day_cutoff',
  'same_day_limit_cents',
  'allowed_sec_codes',
  'offset',
  'sftp',
  'pgp_public_key',
];

function OriginatorForm(props: { originator: Originator | null; onSaved: (o: Originator) => void }) {
  const o = props.originator;
  const canWrite = useCan('payments', 'write');
  const ro = !canWrite;
  const [v, setV] = useState(() => ({
    name: o?.name ?? '',
    company_id: o?.company_id ?? '',
    entry_description: o?.entry_description ?? '',
    status: o?.status ?? 'active',
    odfi_routing: o?.odfi_routing ?? '',
    immediate_destination: o?.immediate_destination ?? '',
    immediate_destination_name: o?.immediate_destination_name ?? '',
    immediate_origin: o?.immediate_origin ?? '',
    immediate_origin_name: o?.immediate_origin_name ?? '',
    time_zone: o?.time_zone ?? 'America/New_York',
    same_day: o ? o.same_day_cutoff !== null : true,
    same_day_cutoff: o?.same_day_cutoff ?? '14:00',
    next_day_cutoff: o?.next_day_cutoff ?? '20:00',
    same_day_limit: o ? centsToDollars(o.same_day_limit_cents) : '',
    allow_same_day_split: o?.allow_same_day_split ?? false,
    sec_codes: o?.allowed_sec_codes ?? [...SEC_CODES],
    offset: o?.offset !== null && o?.offset !== undefined,
    offset_routing: o?.offset?.routing_number ?? '',
    offset_account: '',
    offset_type: o?.offset?.account_type ?? 'checking',
    sftp: o?.sftp !== null && o?.sftp !== undefined,
    sftp_host: o?.sftp?.host ?? '',
    sftp_port: String(o?.sftp?.port ?? 22),
    sftp_username: o?.sftp?.username ?? '',
    sftp_private_key: '',
    sftp_host_key: o?.sftp?.host_key_sha256 ?? '',
    sftp_upload_dir: o?.sftp?.upload_dir ?? '.',
    sftp_inbox_dir: o?.sftp?.inbox_dir ?? '',
    pgp_key: '',
    pgp_remove: false,
  }));
  const [limitError, setLimitError] = useState<string | undefined>();
  const action = useAction();
  const fe = action.fieldErrors;
  const set = <K extends keyof typeof v>(k: K, val: (typeof v)[K]) => setV({ ...v, [k]: val });
  const err = (name: string) => fieldError(fe, name);

  const submit = async () => {
    const body: Record<string, unknown> = {
      name: v.name.trim(),
      company_id: v.company_id,
      entry_description: v.entry_description.trim(),
      odfi_routing: v.odfi_routing.trim(),
      immediate_destination: v.immediate_destination.trim(),
      immediate_destination_name: v.immediate_destination_name.trim(),
      immediate_origin: v.immediate_origin,
      immediate_origin_name: v.immediate_origin_name.trim(),
      time_zone: v.time_zone.trim(),
      same_day_cutoff: v.same_day ? v.same_day_cutoff : null,
      next_day_cutoff: v.next_day_cutoff,
      allow_same_day_split: v.allow_same_day_split,
      allowed_sec_codes: SEC_CODES.filter((c) => v.sec_codes.includes(c)),
    };
    if (o) body.status = v.status;
    if (v.same_day_limit.trim() !== '') {
      const cents = parseDollars(v.same_day_limit);
      if (cents === null) {
        setLimitError('Enter an amount in dollars, such as 1000000.00');
        return;
      }
      body.same_day_limit_cents = cents;
    }
    setLimitError(undefined);
    // The offset account number is masked in answers: it is sent only when typed in.
    if (v.offset) {
      const changed = !o?.offset || v.offset_account !== '' || v.offset_routing !== o.offset.routing_number || v.offset_type !== o.offset.account_type;
      if (changed) {
        const off: Record<string, string> = { routing_number: v.offset_routing.trim(), account_type: v.offset_type };
        if (v.offset_account.trim() !== '') off.account_number = v.offset_account.trim();
        body.offset = off;
      }
    } else if (!o || o.offset) {
      body.offset = null;
    }
    // The private key is write-only: left empty it stays as it is.
    if (v.sftp) {
      const s: Record<string, unknown> = {
        host: v.sftp_host.trim(),
        port: Number(v.sftp_port) || 22,
        username: v.sftp_username.trim(),
        host_key_sha256: v.sftp_host_key.trim(),
        upload_dir: v.sftp_upload_dir.trim() || '.',
        inbox_dir: v.sftp_inbox_dir.trim(),
      };
      if (v.sftp_private_key.trim() !== '') s.private_key = v.sftp_private_key;
      body.sftp = s;
    } else if (!o || o.sftp) {
      body.sftp = null;
    }
    if (v.pgp_remove) body.pgp_public_key = null;
    else if (v.pgp_key.trim() !== '') body.pgp_public_key = v.pgp_key;
    props.onSaved(
      o
        ? await patch<Originator>(apiPath('/v1/originators', o.id), body, { 'If-Match': `"${o.version}"` })
        : await post<Originator>('/v1/originators', body),
    );
  };

  const text = (k: keyof typeof v, id: string, label: string, extra: { help?: ComponentChildren; maxLength?: number; placeholder?: string; field?: string } = {}) => (
    <TextField
      id={id}
      label={label}
      value={v[k] as string}
      onValue={(x) => set(k, x as never)}
      error={err(extra.field ?? k)}
      help={extra.help}
      maxLength={extra.maxLength}
      placeholder={extra.placeholder}
      readOnly={ro}
    />
  );

  return (
    <form
      class="card shadow-sm"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(submit);
      }}
      data-testid="originator-form"
    >
      <div class="card-body">
        <ProblemAlert error={action.error} shownFields={SHOWN} testid="originator-form-error" />
        <Section title="Company" help="as the receivers' banks see it in the batch header">
          <div class="row">
            <div class="col-md-4">{text('name', 'originator-name', 'Company name', { maxLength: 16, help: 'Up to 16 characters' })}</div>
            <div class="col-md-3">{text('company_id', 'originator-company-id', 'Company ID', { maxLength: 10, help: '10 characters, often 1 and the EIN' })}</div>
            <div class="col-md-3">{text('entry_description', 'originator-entry-description', 'Default entry description', { maxLength: 10, help: 'Up to 10 characters' })}</div>
            {o && (
              <div class="col-md-2">
                <Field id="originator-status-select" label="Status" error={err('status')}>
                  <select id="originator-status-select" class={inputClass(err('status'), 'form-select')} value={v.status} disabled={ro} onChange={(e) => set('status', e.currentTarget.value)}>
                    <option value="active">active</option>
                    <option value="disabled">disabled</option>
                  </select>
                </Field>
              </div>
            )}
          </div>
        </Section>
        <Section title="Bank" help="the ODFI and the file header">
          <div class="row">
            <div class="col-md-4">{text('odfi_routing', 'originator-odfi', 'ODFI routing number', { maxLength: 9, help: '9 digits' })}</div>
            <div class="col-md-4">{text('immediate_destination', 'originator-destination', 'Immediate destination', { maxLength: 9, help: 'The routing number the file goes to' })}</div>
            <div class="col-md-4">{text('immediate_destination_name', 'originator-destination-name', 'Immediate destination name', { maxLength: 23 })}</div>
            <div class="col-md-4">{text('immediate_origin', 'originator-origin', 'Immediate origin', { maxLength: 10, help: '10 characters' })}</div>
            <div class="col-md-4">{text('immediate_origin_name', 'originator-origin-name', 'Immediate origin name', { maxLength: 23 })}</div>
          </div>
        </Section>
        <Section title="Windows and limits">
          <div class="row align-items-start">
            <div class="col-md-4">{text('time_zone', 'originator-time-zone', 'Time zone', { help: 'IANA name, such as America/New_York' })}</div>
            <div class="col-md-2">{text('next_day_cutoff', 'originator-next-day-cutoff', 'Next-day cutoff', { maxLength: 5, placeholder: 'HH:MM' })}</div>
            <div class="col-md-3">
              <Field id="originator-same-day-cutoff" label="Same-day cutoff" error={err('same_day_cutoff')}>
                <div class="input-group">
                  <div class="input-group-text">
                    <input
                      class="form-check-input mt-0"
                      type="checkbox"
                      aria-label="Offer same-day ACH"
                      checked={v.same_day}
                      disabled={ro}
                      onChange={(e) => set('same_day', e.currentTarget.checked)}
                      data-testid="originator-same-day"
                    />
                  </div>
                  <input
                    id="originator-same-day-cutoff"
                    class={inputClass(err('same_day_cutoff'))}
                    maxLength={5}
                    placeholder="HH:MM"
                    value={v.same_day ? v.same_day_cutoff : ''}
                    disabled={!v.same_day}
                    readOnly={ro}
                    onInput={(e) => set('same_day_cutoff', e.currentTarget.value)}
                  />
                </div>
              </Field>
            </div>
            <div class="col-md-3">
              <Field id="originator-same-day-limit" label="Same-day limit per entry (USD)" error={limitError ?? err('same_day_limit_cents')} help={o ? AMOUNT_HINT : 'Empty: the configured default'}>
                <input
                  id="originator-same-day-limit"
                  class={inputClass(limitError ?? err('same_day_limit_cents'))}
                  inputMode="decimal"
                  value={v.same_day_limit}
                  readOnly={ro}
                  onInput={(e) => set('same_day_limit', e.currentTarget.value)}
                />
              </Field>
            </div>
            <div class="col-md-6 mb-3">
              <Switch
                id="originator-split"
                label="Split same-day payments over the limit (the originator's agreement allows it)"
                checked={v.allow_same_day_split}
                onChange={(on) => !ro && set('allow_same_day_split', on)}
              />
            </div>
            <div class="col-md-6 mb-3">
              <div class="form-label mb-1">Allowed SEC codes</div>
              <div class="d-flex flex-wrap gap-3">
                {SEC_CODES.map((c) => (
                  <div class="form-check" key={c}>
                    <input
                      class="form-check-input"
                      type="checkbox"
                      id={`originator-sec-${c}`}
                      checked={v.sec_codes.includes(c)}
                      disabled={ro}
                      onChange={(e) => set('sec_codes', e.currentTarget.checked ? [...v.sec_codes, c] : v.sec_codes.filter((x) => x !== c))}
                    />
                    <label class="form-check-label font-monospace" for={`originator-sec-${c}`}>
                      {c}
                    </label>
                  </div>
                ))}
              </div>
              {err('allowed_sec_codes') && <div class="invalid-feedback d-block">{err('allowed_sec_codes')}</div>}
            </div>
          </div>
        </Section>
        <Section title="Offset account" help="optional: balances each batch against the originator's own account">
          <div class="mb-2">
            <Switch id="originator-offset" label="Add an offset entry to each batch" checked={v.offset} onChange={(on) => !ro && set('offset', on)} />
          </div>
          {v.offset && (
            <div class="row">
              <div class="col-md-4">{text('offset_routing', 'originator-offset-routing', 'Routing number', { maxLength: 9, field: 'offset.routing_number' })}</div>
              <div class="col-md-4">
                {text('offset_account', 'originator-offset-account', 'Account number', {
                  maxLength: 17,
                  field: 'offset.account_number',
                  placeholder: o?.offset?.account_number ?? '',
                  help: o?.offset ? 'Leave empty to keep the current one' : undefined,
                })}
              </div>
              <div class="col-md-4">
                <Field id="originator-offset-type" label="Account type" error={err('offset.account_type')}>
                  <select id="originator-offset-type" class="form-select" value={v.offset_type} disabled={ro} onChange={(e) => set('offset_type', e.currentTarget.value)}>
                    <option value="checking">checking</option>
                    <option value="savings">savings</option>
                    <option value="general_ledger">general ledger</option>
                  </select>
                </Field>
              </div>
            </div>
          )}
        </Section>
        <Section title="Delivery" help="the bank's SFTP server and OpenPGP key; without them files are built but not sent">
          <div class="mb-2">
            <Switch id="originator-sftp" label="Deliver files to the bank by SFTP" checked={v.sftp} onChange={(on) => !ro && set('sftp', on)} />
          </div>
          {v.sftp && (
            <div class="row" data-testid="originator-sftp-fields">
              <div class="col-md-5">{text('sftp_host', 'originator-sftp-host', 'Host', { field: 'sftp.host' })}</div>
              <div class="col-md-2">{text('sftp_port', 'originator-sftp-port', 'Port', { field: 'sftp.port' })}</div>
              <div class="col-md-5">{text('sftp_username', 'originator-sftp-username', 'Username', { field: 'sftp.username' })}</div>
              <div class="col-md-6">
                {text('sftp_host_key', 'originator-sftp-host-key', 'Host key fingerprint', { field: 'sftp.host_key_sha256', placeholder: 'SHA256:…', help: 'As ssh-keygen -lf prints it; the key is pinned' })}
              </div>
              <div class="col-md-3">{text('sftp_upload_dir', 'originator-sftp-upload-dir', 'Upload directory', { field: 'sftp.upload_dir' })}</div>
              <div class="col-md-3">{text('sftp_inbox_dir', 'originator-sftp-inbox-dir', 'Inbox directory', { field: 'sftp.inbox_dir', help: 'Returns are fetched from here; empty: not fetched' })}</div>
              {!ro && (
                <div class="col-12">
                  <Field
                    id="originator-sftp-key"
                    label="Private key"
                    error={err('sftp.private_key')}
                    help={o?.sftp?.has_private_key ? 'A key is stored (never shown). Paste a new one to replace it.' : 'PEM or OpenSSH, without passphrase. It is never shown again.'}
                  >
                    <textarea
                      id="originator-sftp-key"
                      class={inputClass(err('sftp.private_key'), 'form-control font-monospace small')}
                      rows={3}
                      autoComplete="off"
                      spellcheck={false}
                      value={v.sftp_private_key}
                      onInput={(e) => set('sftp_private_key', e.currentTarget.value)}
                    />
                  </Field>
                </div>
              )}
            </div>
          )}
          <div class="mb-1">
            <span class="form-label">Bank's PGP key: </span>
            {o?.pgp_fingerprint ? <Mono v={o.pgp_fingerprint} testid="originator-pgp-fingerprint" /> : <span class="text-body-secondary small">none</span>}
          </div>
          {!ro && (
            <>
              <Field id="originator-pgp" label={o?.pgp_fingerprint ? 'Replace the PGP public key' : 'PGP public key'} error={err('pgp_public_key')} help="ASCII-armored (-----BEGIN PGP PUBLIC KEY BLOCK-----)">
                <textarea
                  id="originator-pgp"
                  class={inputClass(err('pgp_public_key'), 'form-control font-monospace small')}
                  rows={3}
                  spellcheck={false}
                  value={v.pgp_key}
                  disabled={v.pgp_remove}
                  onInput={(e) => set('pgp_key', e.currentTarget.value)}
                />
              </Field>
              {o?.pgp_fingerprint && (
                <div class="form-check mb-2">
                  <input id="originator-pgp-remove" class="form-check-input" type="checkbox" checked={v.pgp_remove} onChange={(e) => set('pgp_remove', e.currentTarget.checked)} />
                  <label class="form-check-label" for="originator-pgp-remove">
                    Remove the PGP key
                  </label>
                </div>
              )}
            </>
          )}
        </Section>
        {o && (
          <div class="small text-body-secondary">
            Same-day limit now {fmtUSD(o.same_day_limit_cents)} per entry · created <Time iso={o.created_at} />
          </div>
        )}
      </div>
      {canWrite && (
        <div class="card-footer bg-body d-flex gap-2">
          <button type="submit" class="btn btn-primary" disabled={action.busy} data-testid="originator-submit">
            <BusySpinner busy={action.busy} />
            {o ? 'Save originator' : 'Create originator'}
          </button>
          <a class="btn btn-outline-secondary" href={href('payments', 'originators')}>
            Cancel
          </a>
        </div>
      )}
    </form>
  );
}
