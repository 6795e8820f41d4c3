import { useState } from 'preact/hooks';
import { api, ApiError, get, post } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import {
  BusySpinner,
  ConfirmDialog,
  Field,
  fieldError,
  inputClass,
  Notice,
  PageHeader,
  ProblemAlert,
  Spinner,
  Time,
} from '../components/ui';
import { useAction, useLoader, usePagedList } from '../hooks';
import { href, hrefQuery, navigate } from '../router';
import { useCan } from '../session';
import type { Page, PaymentUpload } from '../types';
import { apiPath, originatorNames, OriginatorSelect, PayBreadcrumb, PaymentsLayout, PayStatusBadge, useOriginators } from './PaymentsCommon';

const uploadPath = (id: string, ...rest: string[]) => apiPath('/v1/payment-uploads', id, ...rest);

const COLUMNS: [string, string][] = [
  ['counterparty_id', 'required: the counterparty’s id'],
  ['direction', 'required: credit or debit'],
  ['amount', 'dollars such as 1234.56 (or amount_cents: whole cents)'],
  ['sec_code', 'required: PPD, CCD, CTX, WEB or TEL'],
  ['effective_date', 'YYYY-MM-DD; empty: the next window'],
  ['same_day', 'true or false'],
  ['entry_description', 'up to 10 characters'],
  ['addenda', 'payment related information'],
  ['payment_type_code', 'R or S (WEB debits, TEL)'],
  ['idempotency_key', 'empty: the file’s hash and row number'],
];

export function PaymentUploadsPage() {
  const canWrite = useCan('payments', 'write');
  const originators = useOriginators();
  const nameOf = originatorNames(originators.data);
  const uploads = usePagedList((cursor) => get<Page<PaymentUpload>>('/v1/payment-uploads', { cursor, limit: 20 }), []);

  return (
    <PaymentsLayout active="uploads">
      <div data-testid="payment-uploads-page">
        <PageHeader title="Payment uploads" subtitle="A CSV of payments is checked row by row; nothing is queued until you submit it" />
        <div class="row g-3">
          {canWrite && (
            <div class="col-lg-4">
              <UploadCard originators={originators} />
            </div>
          )}
          <div class={canWrite ? 'col-lg-8' : 'col-12'}>
            <div class="card shadow-sm">
              <div class="card-header bg-body">Uploads</div>
              <ProblemAlert error={uploads.error ?? originators.error} />
              <DataTable
                testid="payment-uploads-table"
                cols={5}
                head={
                  <>
                    <th>File</th>
                    <th>Originator</th>
                    <th>Status</th>
                    <th>Rows</th>
                    <th>Uploaded</th>
                  </>
                }
                items={uploads.items}
                loading={uploads.loading}
                empty="No uploads yet."
                row={(u) => (
                  <tr key={u.id} class="clickable-row" onClick={() => navigate('payments', 'uploads', u.id)} data-testid="payment-upload-row" data-id={u.id}>
                    <td>
                      <a href={href('payments', 'uploads', u.id)} class="fw-medium text-break">
                        {u.filename}
                      </a>
                    </td>
                    <td class="small">{nameOf(u.originator_id)}</td>
                    <td>
                      <PayStatusBadge status={u.status} />
                    </td>
                    <td class="small text-nowrap">
                      {u.valid_rows} valid
                      {u.error_rows > 0 && <span class="text-danger"> · {u.error_rows} with errors</span>}
                      {u.status === 'submitted' && <span class="text-success"> · {u.submitted_rows} queued</span>}
                    </td>
                    <td class="small">
                      <Time iso={u.created_at} />
                      <div class="text-body-secondary">{u.created_by}</div>
                    </td>
                  </tr>
                )}
              />
              <LoadMore next={uploads.next} loading={uploads.loadingMore} onMore={() => void uploads.more()} testid="payment-uploads-load-more" />
            </div>
          </div>
        </div>
      </div>
    </PaymentsLayout>
  );
}

function UploadCard(props: { originators: ReturnType<typeof useOriginators> }) {
  const [originatorId, setOriginatorId] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const action = useAction();
  const fe = action.fieldErrors;
  const list = props.originators.data ?? [];
  const chosen = originatorId || (list.length === 1 ? list[0]!.id : '');
  const upload = async () => {
    if (!file || !chosen) return;
    const u = await api<PaymentUpload>('/v1/payment-uploads', {
      method: 'POST',
      query: { originator_id: chosen, filename: file.name },
      rawBody: file,
      contentType: 'text/csv',
    });
    navigate('payments', 'uploads', u.id);
  };
  return (
    <form
      class="card shadow-sm"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(upload);
      }}
      data-testid="payment-upload-form"
    >
      <div class="card-header bg-body">Upload a CSV</div>
      <div class="card-body">
        <ProblemAlert error={action.error} shownFields={['file', 'originator_id']} />
        <Field id="upload-originator" label="Originator" error={fe.originator_id}>
          <OriginatorSelect id="upload-originator" value={chosen} onChange={setOriginatorId} originators={props.originators.data} error={fe.originator_id} />
        </Field>
        <Field id="upload-file" label="CSV file" error={fieldError(fe, 'file')} help="UTF-8, comma separated, with a header line.">
          <input
            id="upload-file"
            type="file"
            accept=".csv,text/csv"
            class={inputClass(fieldError(fe, 'file'))}
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            data-testid="payment-upload-file"
          />
        </Field>
        <button type="submit" class="btn btn-primary" disabled={!file || !chosen || action.busy} data-testid="payment-upload-submit">
          <BusySpinner busy={action.busy} />
          Upload and check
        </button>
        <details class="mt-3 small">
          <summary>Columns</summary>
          <table class="table table-sm small mt-2 mb-0">
            <tbody>
              {COLUMNS.map(([c, d]) => (
                <tr key={c}>
                  <td>
                    <code>{c}</code>
                  </td>
                  <td class="text-body-secondary">{d}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </div>
    </form>
  );
}

export function PaymentUploadDetailPage(props: { id: string }) {
  const canWrite = useCan('payments', 'write');
  const upload = useLoader(() => get<PaymentUpload>(uploadPath(props.id)), [props.id]);
  const originators = useOriginators();
  const nameOf = originatorNames(originators.data);
  const action = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const [confirmDiscard, setConfirmDiscard] = useState(false);
  const u = upload.data;

  if (!u) {
    return (
      <PaymentsLayout active="uploads">
        <div data-testid="payment-upload-detail">
          <PayBreadcrumb trail={[{ label: 'Uploads', to: ['payments', 'uploads'] }]} label={props.id} />
          {upload.error ? <ProblemAlert error={upload.error} /> : <Spinner />}
        </div>
      </PaymentsLayout>
    );
  }
  const errors = u.errors ?? [];
  const open = u.status === 'validated';
  const refused = action.error instanceof ApiError && action.error.status === 409;

  const submit = (onlyValid: boolean) =>
    void action.run(async () => {
      const done = await post<PaymentUpload>(uploadPath(u.id, 'submit'), { only_valid: onlyValid });
      upload.setData({ ...u, ...done, errors: u.errors });
      setNotice(`${done.submitted_rows} payment${done.submitted_rows === 1 ? '' : 's'} queued.`);
    });

  return (
    <PaymentsLayout active="uploads">
      <div data-testid="payment-upload-detail" data-status={u.status}>
        <PayBreadcrumb trail={[{ label: 'Uploads', to: ['payments', 'uploads'] }]} label={u.filename} />
        <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
          <h1 class="h3 mb-0 text-break">{u.filename}</h1>
          <PayStatusBadge status={u.status} testid="payment-upload-status" />
          <span class="small text-body-secondary">
            for {nameOf(u.originator_id)} · uploaded <Time iso={u.created_at} /> by {u.created_by}
            {u.submitted_at && (
              <>
                {' '}
                · submitted <Time iso={u.submitted_at} />
              </>
            )}
          </span>
        </div>
        {notice && (
          <Notice testid="payment-upload-notice" onClose={() => setNotice(null)}>
            {notice}{' '}
            <a href={hrefQuery(['payments'], { upload_id: u.id })} data-testid="payment-upload-payments-link">
              See the payments
            </a>
          </Notice>
        )}
        <ProblemAlert error={upload.error} />
        <div class="row row-cols-2 row-cols-md-4 g-2 mb-3" data-testid="payment-upload-counts">
          {(
            [
              ['total_rows', 'Rows', ''],
              ['valid_rows', 'Valid', 'text-success'],
              ['error_rows', 'With errors', 'text-danger'],
              ['submitted_rows', 'Queued', 'text-primary'],
            ] as const
          ).map(([k, label, color]) => (
            <div class="col" key={k}>
              <div class="count-tile">
                <div class="small text-body-secondary">{label}</div>
                <div class={`count-value ${color}`} data-testid={`payment-upload-count-${k}`}>
                  {u[k].toLocaleString()}
                </div>
              </div>
            </div>
          ))}
        </div>
        {canWrite && open && (
          <div class="card shadow-sm mb-3" data-testid="payment-upload-actions">
            <div class="card-body">
              {refused ? (
                <div class="alert alert-warning" role="alert" data-testid="payment-upload-refused">
                  <strong>Not submitted.</strong> {action.error instanceof ApiError && action.error.problem.detail}
                </div>
              ) : (
                <ProblemAlert error={action.error} />
              )}
              {u.error_rows > 0 ? (
                <p class="mb-2">
                  <strong class="text-danger">{u.error_rows} row{u.error_rows === 1 ? ' has' : 's have'} errors.</strong> Fix the file and upload it again, or queue only the{' '}
                  {u.valid_rows} valid row{u.valid_rows === 1 ? '' : 's'} now (the others are left out).
                </p>
              ) : (
                <p class="mb-2">Every row is valid. Submitting queues {u.valid_rows} payment{u.valid_rows === 1 ? '' : 's'}.</p>
              )}
              <div class="d-flex flex-wrap gap-2">
                <button class="btn btn-primary" disabled={action.busy} onClick={() => submit(false)} data-testid="payment-upload-submit-all">
                  <BusySpinner busy={action.busy} />
                  Submit upload
                </button>
                {u.error_rows > 0 && u.valid_rows > 0 && (
                  <button class="btn btn-warning" disabled={action.busy} onClick={() => submit(true)} data-testid="payment-upload-submit-valid">
                    Submit the {u.valid_rows} valid row{u.valid_rows === 1 ? '' : 's'} only
                  </button>
                )}
                <button class="btn btn-outline-danger ms-auto" disabled={action.busy} onClick={() => setConfirmDiscard(true)} data-testid="payment-upload-discard">
                  Discard
                </button>
              </div>
            </div>
          </div>
        )}
        {u.status === 'submitted' && !notice && (
          <div class="alert alert-success py-2" role="status">
            {u.submitted_rows} payment{u.submitted_rows === 1 ? ' was' : 's were'} queued.{' '}
            <a href={hrefQuery(['payments'], { upload_id: u.id })} data-testid="payment-upload-payments-link">
              See the payments
            </a>
          </div>
        )}
        {errors.length > 0 && (
          <div class="card shadow-sm" data-testid="payment-upload-errors">
            <div class="card-header bg-body d-flex flex-wrap justify-content-between align-items-center gap-2">
              <span>Row errors</span>
              <a
                class="btn btn-sm btn-outline-danger"
                href={uploadPath(u.id, 'errors.csv')}
                download={`${u.filename.replace(/\.csv$/i, '')}-errors.csv`}
                data-testid="payment-upload-errors-csv"
              >
                Download error report (CSV)
              </a>
            </div>
            <DataTable
              testid="payment-upload-errors-table"
              hover={false}
              cols={3}
              head={
                <>
                  <th>Row</th>
                  <th>Column</th>
                  <th>Message</th>
                </>
              }
              items={errors}
              empty="No row errors."
              row={(e) => (
                <tr key={`${e.row}-${e.column}-${e.message}`} data-testid="payment-upload-error-row" data-row={e.row} data-column={e.column}>
                  <td class="font-monospace">{e.row}</td>
                  <td class="font-monospace small">{e.column || '—'}</td>
                  <td class="small">{e.message}</td>
                </tr>
              )}
            />
          </div>
        )}
        {confirmDiscard && (
          <ConfirmDialog
            title="Discard upload"
            confirmLabel="Discard"
            danger
            onClose={() => setConfirmDiscard(false)}
            onConfirm={async () => {
              const done = await post<PaymentUpload>(uploadPath(u.id, 'discard'));
              upload.setData({ ...u, ...done, errors: u.errors });
              setNotice(null);
            }}
          >
            Drop <code>{u.filename}</code> without queueing any of its payments?
          </ConfirmDialog>
        )}
      </div>
    </PaymentsLayout>
  );
}
