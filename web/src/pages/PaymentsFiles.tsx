import { useState } from 'preact/hooks';
import { get, post } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { BusySpinner, Notice, PageHeader, ProblemAlert, Spinner, Time } from '../components/ui';
import { useAction, useLoader, usePagedList, usePolling } from '../hooks';
import { href, navigate } from '../router';
import { useCan } from '../session';
import type { AchFile, AchRecord, Page, ParsedAchFile, Payment } from '../types';
import { PaymentsTable } from './PaymentsList';
import {
  apiPath,
  Facts,
  fmtUSD,
  Mono,
  originatorNames,
  OriginatorSelect,
  PayBreadcrumb,
  PaymentsLayout,
  PayStatusBadge,
  useOriginators,
} from './PaymentsCommon';

const filePath = (id: string, ...rest: string[]) => apiPath('/v1/ach-files', id, ...rest);
const FILE_STATUSES = ['built', 'delivered', 'failed'];
const FUTURE_DAYS = 30;

/** A built file the uploaders have not reported on yet. */
const awaitingDelivery = (f: AchFile) => f.status === 'built' && f.last_error === null;

export function AchFilesPage() {
  const canWrite = useCan('payments', 'write');
  const originators = useOriginators();
  const nameOf = originatorNames(originators.data);
  const [originatorId, setOriginatorId] = useState('');
  const [status, setStatus] = useState('');
  const files = usePagedList(
    (cursor) => get<Page<AchFile>>('/v1/ach-files', { originator_id: originatorId, status, cursor, limit: 50 }),
    [originatorId, status],
  );
  usePolling(() => void files.reload(), 2000, (files.items ?? []).some(awaitingDelivery));

  return (
    <PaymentsLayout active="files">
      <div data-testid="ach-files-page">
        <PageHeader title="ACH files" subtitle="NACHA files built at each cutoff (one per originator and window), encrypted and delivered to the bank" />
        {canWrite && <BuildCard originators={originators} onBuilt={() => void files.reload()} />}
        <div class="card shadow-sm">
          <div class="card-header bg-body">
            <form class="row g-2 align-items-end" role="search" onSubmit={(e) => e.preventDefault()}>
              <div class="col-6 col-md-3">
                <label for="files-originator" class="form-label small mb-1">
                  Originator
                </label>
                <OriginatorSelect id="files-originator" small anyLabel="Any" value={originatorId} onChange={setOriginatorId} originators={originators.data} />
              </div>
              <div class="col-6 col-md-2">
                <label for="files-status" class="form-label small mb-1">
                  Status
                </label>
                <select id="files-status" class="form-select form-select-sm" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
                  <option value="">Any</option>
                  {FILE_STATUSES.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
              </div>
              <div class="col-auto">
                <button type="button" class="btn btn-sm btn-outline-secondary" onClick={() => void files.reload()} data-testid="ach-files-refresh">
                  Refresh
                </button>
              </div>
            </form>
          </div>
          <ProblemAlert error={files.error ?? originators.error} />
          <DataTable
            testid="ach-files-table"
            cols={7}
            head={
              <>
                <th>File</th>
                <th>Originator</th>
                <th>Window</th>
                <th class="text-end">Entries</th>
                <th class="text-end">Debits / credits</th>
                <th>Status</th>
                <th>Built</th>
              </>
            }
            items={files.items}
            loading={files.loading}
            empty="No files built yet."
            row={(f) => (
              <tr
                key={f.id}
                class="clickable-row"
                data-testid="ach-file-row"
                data-id={f.id}
                data-name={f.name}
                data-status={f.status}
                onClick={(e) => {
                  if (!(e.target instanceof HTMLAnchorElement)) navigate('payments', 'files', f.id);
                }}
              >
                <td>
                  <a href={href('payments', 'files', f.id)} class="font-monospace" data-testid="ach-file-link">
                    {f.name}
                  </a>
                  {f.last_error && (
                    <div class="small text-danger-emphasis text-break" data-testid="ach-file-row-error">
                      {f.last_error}
                    </div>
                  )}
                </td>
                <td class="small">{nameOf(f.originator_id)}</td>
                <td class="small text-nowrap">
                  {f.file_date} · {f.window.replace('_', '-')}
                </td>
                <td class="text-end">{f.entry_count}</td>
                <td class="text-end font-monospace small text-nowrap">
                  {fmtUSD(f.debit_total_cents)} / {fmtUSD(f.credit_total_cents)}
                </td>
                <td>
                  <PayStatusBadge status={f.status} testid="ach-file-status" />
                </td>
                <td class="small">
                  <Time iso={f.created_at} />
                </td>
              </tr>
            )}
          />
          <LoadMore next={files.next} loading={files.loadingMore} onMore={() => void files.more()} testid="ach-files-load-more" />
        </div>
      </div>
    </PaymentsLayout>
  );
}

/** "Build now": files from every payment whose window has come (or, optionally, comes within 30 days). */
function BuildCard(props: { originators: ReturnType<typeof useOriginators>; onBuilt: () => void }) {
  const [originatorId, setOriginatorId] = useState('');
  const [future, setFuture] = useState(false);
  const [built, setBuilt] = useState<AchFile[] | null>(null);
  const action = useAction();
  const build = async () => {
    const body: Record<string, string> = {};
    if (originatorId) body.originator_id = originatorId;
    if (future) body.through = new Date(Date.now() + FUTURE_DAYS * 86_400_000).toISOString();
    const res = await post<{ items: AchFile[] }>('/v1/ach-files', body);
    setBuilt(res.items);
    props.onBuilt();
  };
  return (
    <div class="card shadow-sm mb-3" data-testid="ach-build">
      <div class="card-body">
        <ProblemAlert error={action.error} />
        {built && (
          <Notice testid="ach-build-result" onClose={() => setBuilt(null)}>
            {built.length === 0 ? (
              'No payments were due: no file was built.'
            ) : (
              <>
                Built {built.length} file{built.length === 1 ? '' : 's'}:{' '}
                {built.map((f, i) => (
                  <span key={f.id}>
                    {i > 0 && ', '}
                    <a href={href('payments', 'files', f.id)} class="font-monospace">
                      {f.name}
                    </a>{' '}
                    ({f.entry_count} entr{f.entry_count === 1 ? 'y' : 'ies'})
                  </span>
                ))}
              </>
            )}
          </Notice>
        )}
        <form
          class="row g-2 align-items-end"
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(build);
          }}
        >
          <div class="col-md-3">
            <label for="build-originator" class="form-label small mb-1">
              Build files now for
            </label>
            <OriginatorSelect id="build-originator" small anyLabel="Every originator" value={originatorId} onChange={setOriginatorId} originators={props.originators.data} />
          </div>
          <div class="col-md-auto">
            <div class="form-check mb-1">
              <input id="build-future" class="form-check-input" type="checkbox" checked={future} onChange={(e) => setFuture(e.currentTarget.checked)} data-testid="ach-build-future" />
              <label class="form-check-label small" for="build-future">
                Include future windows (the next {FUTURE_DAYS} days)
              </label>
            </div>
          </div>
          <div class="col-md-auto">
            <button type="submit" class="btn btn-sm btn-primary" disabled={action.busy} data-testid="ach-build-now">
              <BusySpinner busy={action.busy} />
              Build now
            </button>
          </div>
          <div class="col-12 small text-body-secondary">
            The cutoff job builds files by itself at every cutoff; this takes every payment whose window has come{future ? ` or comes within ${FUTURE_DAYS} days` : ''}.
          </div>
        </form>
      </div>
    </div>
  );
}

export function AchFileDetailPage(props: { id: string }) {
  const canWrite = useCan('payments', 'write');
  const file = useLoader(() => get<AchFile>(filePath(props.id)), [props.id]);
  const originators = useOriginators();
  const nameOf = originatorNames(originators.data);
  const payments = usePagedList(
    (cursor) => get<Page<Payment>>('/v1/payments', { file_id: props.id, cursor, limit: 100 }),
    [props.id],
  );
  const redeliver = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const f = file.data;
  usePolling(() => void file.reload(), 2000, f !== null && awaitingDelivery(f));

  if (!f) {
    return (
      <PaymentsLayout active="files">
        <div data-testid="ach-file-detail">
          <PayBreadcrumb trail={[{ label: 'Files', to: ['payments', 'files'] }]} label={props.id} />
          {file.error ? <ProblemAlert error={file.error} /> : <Spinner />}
        </div>
      </PaymentsLayout>
    );
  }

  return (
    <PaymentsLayout active="files">
      <div data-testid="ach-file-detail" data-status={f.status}>
        <PayBreadcrumb trail={[{ label: 'Files', to: ['payments', 'files'] }]} label={f.name} />
        <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
          <h1 class="h4 mb-0 font-monospace text-break" data-testid="ach-file-name">
            {f.name}
          </h1>
          <PayStatusBadge status={f.status} testid="ach-file-detail-status" />
          <span class="ms-auto d-flex gap-2">
            <a class="btn btn-sm btn-outline-primary" href={filePath(f.id, 'content')} download={f.name} data-testid="ach-file-download">
              Download NACHA file
            </a>
            <button class="btn btn-sm btn-outline-secondary" onClick={() => void file.reload()}>
              Refresh
            </button>
            {canWrite && f.status !== 'delivered' && (
              <button
                class="btn btn-sm btn-outline-warning"
                disabled={redeliver.busy}
                onClick={() =>
                  void redeliver.run(async () => {
                    file.setData(await post<AchFile>(filePath(f.id, 'redeliver')));
                    setNotice('The file was queued for delivery again.');
                  })
                }
                data-testid="ach-file-redeliver"
              >
                <BusySpinner busy={redeliver.busy} />
                Redeliver
              </button>
            )}
          </span>
        </div>
        {notice && (
          <Notice testid="ach-file-notice" onClose={() => setNotice(null)}>
            {notice}
          </Notice>
        )}
        <ProblemAlert error={redeliver.error ?? file.error} onClose={redeliver.error ? () => redeliver.setError(null) : undefined} />
        {f.last_error && (
          <div class={`alert ${f.status === 'failed' ? 'alert-danger' : 'alert-warning'} py-2`} role="alert" data-testid="ach-file-last-error">
            <strong>Delivery:</strong> {f.last_error}
          </div>
        )}
        <div class="row g-3">
          <div class="col-lg-4">
            <div class="card shadow-sm mb-3">
              <div class="card-header bg-body">File</div>
              <div class="card-body">
                <Facts
                  rows={[
                    ['Originator', <a href={href('payments', 'originators', f.originator_id)}>{nameOf(f.originator_id)}</a>],
                    ['File date', `${f.file_date} (modifier ${f.file_id_modifier})`],
                    ['Window', f.window.replace('_', '-')],
                    ['Batches', f.batch_count],
                    ['Entries', f.entry_count, 'ach-file-entry-count'],
                    ['Debits', <span class="font-monospace">{fmtUSD(f.debit_total_cents)}</span>],
                    ['Credits', <span class="font-monospace">{fmtUSD(f.credit_total_cents)}</span>],
                    ['SHA-256', <Mono v={f.sha256} />],
                    ['Delivery attempts', f.delivery_attempts],
                    ['Next attempt', f.next_attempt_at && <Time iso={f.next_attempt_at} />],
                    ['Delivered', f.delivered_at && <Time iso={f.delivered_at} />],
                    ['Remote name', <Mono v={f.remote_name} />],
                    ['Encrypted SHA-256', <Mono v={f.encrypted_sha256} />],
                    ['Built', <Time iso={f.created_at} />],
                  ]}
                />
              </div>
            </div>
          </div>
          <div class="col-lg-8">
            <ParsedFile id={f.id} />
          </div>
        </div>
        <div class="card shadow-sm mt-3">
          <div class="card-header bg-body">Payments in this file</div>
          <ProblemAlert error={payments.error} />
          <PaymentsTable items={payments.items} loading={payments.loading} empty="No payments." testid="ach-file-payments" />
          <LoadMore next={payments.next} loading={payments.loadingMore} onMore={() => void payments.more()} testid="ach-file-payments-more" />
        </div>
      </div>
    </PaymentsLayout>
  );
}

const TRANSACTION_CODES: Record<string, string> = {
  '22': 'checking credit',
  '23': 'checking credit prenote',
  '27': 'checking debit',
  '28': 'checking debit prenote',
  '32': 'savings credit',
  '33': 'savings credit prenote',
  '37': 'savings debit',
  '38': 'savings debit prenote',
  '42': 'GL credit',
  '43': 'GL credit prenote',
  '47': 'GL debit',
  '48': 'GL debit prenote',
  '52': 'loan credit',
  '53': 'loan credit prenote',
  '55': 'loan debit',
};

const str = (r: AchRecord | undefined, k: string) => (r && (typeof r[k] === 'string' || typeof r[k] === 'number') ? String(r[k]) : '');
const addendaOf = (e: AchRecord) => (Array.isArray(e.addenda) ? (e.addenda as AchRecord[]) : []);
const num = (r: AchRecord | undefined, k: string) => (r && typeof r[k] === 'number' ? (r[k] as number) : 0);
/** "261207" (YYMMDD) → "2026-12-07". */
const yymmdd = (s: string) => (/^\d{6}$/.test(s) ? `20${s.slice(0, 2)}-${s.slice(2, 4)}-${s.slice(4, 6)}` : s);

/** The file's records, read back by the ACH library: batches and their entries as tables. */
function ParsedFile(props: { id: string }) {
  const parsed = useLoader(() => get<ParsedAchFile>(filePath(props.id, 'parsed')), [props.id]);
  const [raw, setRaw] = useState<string | null>(null);
  const rawAction = useAction();
  const d = parsed.data;
  const showRaw = () =>
    void rawAction.run(async () => {
      const res = await fetch(filePath(props.id, 'content'), { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`The file could not be loaded (HTTP ${res.status})`);
      setRaw(await res.text());
    });
  return (
    <div class="card shadow-sm" data-testid="ach-file-parsed">
      <div class="card-header bg-body d-flex justify-content-between align-items-center">
        <span>Contents</span>
        <button class="btn btn-sm btn-link p-0" onClick={() => (raw === null ? showRaw() : setRaw(null))} data-testid="ach-file-raw-toggle">
          {raw === null ? 'Show the NACHA text' : 'Hide the NACHA text'}
        </button>
      </div>
      <div class="card-body">
        <ProblemAlert error={parsed.error ?? rawAction.error} />
        {raw !== null && (
          <pre class="json-block mb-3" style={{ whiteSpace: 'pre', overflowX: 'auto' }} data-testid="ach-file-raw">
            {raw}
          </pre>
        )}
        {!d ? (
          !parsed.error && <Spinner />
        ) : (
          <>
            {(d.errors?.length ?? 0) > 0 && (
              <div class="alert alert-danger small py-2" role="alert">
                The file does not read back cleanly:
                <ul class="mb-0">
                  {d.errors!.map((e, i) => (
                    <li key={i}>
                      line {e.line}: {e.message}
                    </li>
                  ))}
                </ul>
              </div>
            )}
            <div class="small mb-3" data-testid="ach-file-header">
              <strong>File header:</strong> to <code>{str(d.fileHeader, 'immediateDestination')}</code> {str(d.fileHeader, 'immediateDestinationName')} from{' '}
              <code>{str(d.fileHeader, 'immediateOrigin')}</code> {str(d.fileHeader, 'immediateOriginName')}, created {yymmdd(str(d.fileHeader, 'fileCreationDate'))}{' '}
              {str(d.fileHeader, 'fileCreationTime')}, modifier <code>{str(d.fileHeader, 'fileIdModifier')}</code>
              {d.fileControl && (
                <>
                  {' '}
                  · {Number(str(d.fileControl, 'batchCount'))} batch(es), {Number(str(d.fileControl, 'entryAddendaCount'))} entries and addenda, debits{' '}
                  {fmtUSD(num(d.fileControl, 'totalDebitEntryDollarAmountInFile'))}, credits {fmtUSD(num(d.fileControl, 'totalCreditEntryDollarAmountInFile'))}
                </>
              )}
            </div>
            {d.batches.map((b, bi) => (
              <div key={bi} class="mb-3" data-testid="ach-batch">
                <div class="small fw-semibold mb-1">
                  Batch {Number(str(b.batchHeader, 'batchNumber'))}: {str(b.batchHeader, 'companyName')} <code>{str(b.batchHeader, 'companyIdentification')}</code> ·{' '}
                  <code>{str(b.batchHeader, 'standardEntryClassCode')}</code> · “{str(b.batchHeader, 'companyEntryDescription')}” · effective{' '}
                  {yymmdd(str(b.batchHeader, 'effectiveEntryDate'))}
                  {b.batchControl && (
                    <span class="fw-normal text-body-secondary">
                      {' '}
                      · debits {fmtUSD(num(b.batchControl, 'totalDebitEntryDollarAmount'))}, credits {fmtUSD(num(b.batchControl, 'totalCreditEntryDollarAmount'))}
                    </span>
                  )}
                </div>
                <div class="table-responsive">
                  <table class="table table-sm table-bordered small mb-0" data-testid="ach-entries-table">
                    <thead class="table-light">
                      <tr>
                        <th>Trace number</th>
                        <th>Transaction</th>
                        <th>RDFI</th>
                        <th>Account</th>
                        <th class="text-end">Amount</th>
                        <th>Name</th>
                        <th>ID number</th>
                        <th>Addenda</th>
                      </tr>
                    </thead>
                    <tbody>
                      {b.entries.map((e, ei) => {
                        const code = str(e, 'transactionCode');
                        return (
                          <tr key={ei} data-testid="ach-entry-row" data-trace={str(e, 'traceNumber')}>
                            <td class="font-monospace">{str(e, 'traceNumber')}</td>
                            <td>
                              <code>{code}</code> <span class="text-body-secondary">{TRANSACTION_CODES[code] ?? ''}</span>
                            </td>
                            <td class="font-monospace">
                              {str(e, 'rdfiIdentification')}
                              {str(e, 'checkDigit')}
                            </td>
                            <td class="font-monospace">{str(e, 'dfiAccountNumber')}</td>
                            <td class="text-end font-monospace" data-testid="ach-entry-amount">
                              {fmtUSD(num(e, 'amount'))}
                            </td>
                            <td>{str(e, 'individualName') || str(e, 'receivingCompanyName')}</td>
                            <td class="font-monospace">{str(e, 'identificationNumber')}</td>
                            <td class="text-break">
                              {addendaOf(e).map((a, ai) => (
                                <code key={ai} class="d-block text-body">
                                  {str(a, 'paymentRelatedInformation') || str(a, 'addendaTypeCode')}
                                </code>
                              ))}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
              </div>
            ))}
            {d.batches.length === 0 && <div class="text-body-secondary small">No batches.</div>}
          </>
        )}
      </div>
    </div>
  );
}
