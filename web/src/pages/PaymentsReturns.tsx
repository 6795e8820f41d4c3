import { useState } from 'preact/hooks';
import { api, get } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { BusySpinner, Field, fieldError, inputClass, Notice, PageHeader, ProblemAlert, Time } from '../components/ui';
import { prettyJson } from '../format';
import { useAction, usePagedList } from '../hooks';
import { href } from '../router';
import { useCan } from '../session';
import type { Page, PaymentReturn, ReturnFileResult } from '../types';
import { fmtUSD, Mono, OriginatorSelect, PaymentsLayout, useOriginators } from './PaymentsCommon';

export function PaymentReturnsPage() {
  const canWrite = useCan('payments', 'write');
  const returns = usePagedList((cursor) => get<Page<PaymentReturn>>('/v1/payment-returns', { cursor, limit: 50 }), []);
  return (
    <PaymentsLayout active="returns">
      <div data-testid="payment-returns-page">
        <PageHeader
          title="Returns"
          subtitle="Returns and notifications of change (NOC) from the bank, matched to payments by trace number"
          actions={
            <button class="btn btn-outline-secondary" onClick={() => void returns.reload()}>
              Refresh
            </button>
          }
        />
        <div class="row g-3">
          {canWrite && (
            <div class="col-lg-4">
              <ReturnUploadCard onDone={() => void returns.reload()} />
            </div>
          )}
          <div class={canWrite ? 'col-lg-8' : 'col-12'}>
            <div class="card shadow-sm">
              <ProblemAlert error={returns.error} />
              <DataTable
                testid="payment-returns-table"
                cols={6}
                head={
                  <>
                    <th>Kind</th>
                    <th>Code</th>
                    <th>Payment</th>
                    <th class="text-end">Amount</th>
                    <th>Applied</th>
                    <th>Received</th>
                  </>
                }
                items={returns.items}
                loading={returns.loading}
                empty="No returns or notifications of change yet."
                row={(r) => (
                  <tr key={r.id} data-testid="payment-return-row" data-code={r.code}>
                    <td>
                      <span class={`badge ${r.kind === 'noc' ? 'text-bg-info' : 'text-bg-danger'}`}>{r.kind === 'noc' ? 'NOC' : 'return'}</span>
                    </td>
                    <td>
                      <code>{r.code}</code>
                      <div class="small text-body-secondary">{r.reason}</div>
                      {r.corrected_data && (
                        <div class="small">
                          corrected data <code>{r.corrected_data}</code>
                        </div>
                      )}
                    </td>
                    <td class="small">
                      {r.payment_id ? <a href={href('payments', r.payment_id)}>#{r.payment_id}</a> : <span class="text-warning-emphasis">not matched</span>}
                      <div class="text-body-secondary">
                        trace <Mono v={r.original_trace} />
                      </div>
                    </td>
                    <td class="text-end font-monospace small">{fmtUSD(r.amount_cents)}</td>
                    <td class="small">
                      {r.applied === null || r.applied === undefined ? (
                        <span class="text-body-tertiary">—</span>
                      ) : (
                        <code class="text-body text-break" title={prettyJson(r.applied)}>
                          {typeof r.applied === 'string' ? r.applied : JSON.stringify(r.applied)}
                        </code>
                      )}
                    </td>
                    <td class="small">
                      <Time iso={r.received_at} />
                      <div class="text-body-secondary font-monospace text-break">{r.file}</div>
                    </td>
                  </tr>
                )}
              />
              <LoadMore next={returns.next} loading={returns.loadingMore} onMore={() => void returns.more()} testid="payment-returns-load-more" />
            </div>
          </div>
        </div>
      </div>
    </PaymentsLayout>
  );
}

/** Process a return / NOC file by hand (the bank's SFTP inbox is otherwise fetched by a job). */
function ReturnUploadCard(props: { onDone: () => void }) {
  const originators = useOriginators();
  const [originatorId, setOriginatorId] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [result, setResult] = useState<ReturnFileResult | null>(null);
  const action = useAction();
  const fe = action.fieldErrors;
  const list = originators.data ?? [];
  const chosen = originatorId || (list.length === 1 ? list[0]!.id : '');
  const upload = async () => {
    if (!file || !chosen) return;
    setResult(
      await api<ReturnFileResult>('/v1/payment-returns', {
        method: 'POST',
        query: { originator_id: chosen, filename: file.name },
        rawBody: file,
        contentType: 'text/plain',
      }),
    );
    props.onDone();
  };
  return (
    <form
      class="card shadow-sm"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(upload);
      }}
      data-testid="return-upload-form"
    >
      <div class="card-header bg-body">Process a return file</div>
      <div class="card-body">
        {result && (
          <Notice testid="return-upload-result" onClose={() => setResult(null)}>
            {result.already_processed
              ? 'This file was processed before; nothing changed.'
              : `${result.entries} entr${result.entries === 1 ? 'y' : 'ies'} read, ${result.matched} matched to payments.`}
          </Notice>
        )}
        <ProblemAlert error={action.error ?? originators.error} shownFields={['file', 'originator_id']} />
        <Field id="return-originator" label="Originator" error={fe.originator_id}>
          <OriginatorSelect id="return-originator" value={chosen} onChange={setOriginatorId} originators={originators.data} error={fe.originator_id} />
        </Field>
        <Field id="return-file" label="Return or NOC file (NACHA)" error={fieldError(fe, 'file')} help="As the bank sent it, unencrypted. A file is applied once.">
          <input
            id="return-file"
            type="file"
            accept=".ach,.txt,text/plain"
            class={inputClass(fieldError(fe, 'file'))}
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            data-testid="return-file"
          />
        </Field>
        <button type="submit" class="btn btn-primary" disabled={!file || !chosen || action.busy} data-testid="return-upload-submit">
          <BusySpinner busy={action.busy} />
          Process file
        </button>
      </div>
    </form>
  );
}
