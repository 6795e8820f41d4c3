import { useState } from 'preact/hooks';
import { get, post } from '../api';
import { DataTable } from '../components/DataTable';
import { ConfirmDialog, Notice, ProblemAlert, Spinner, Time } from '../components/ui';
import { useLoader } from '../hooks';
import { href } from '../router';
import { useCan } from '../session';
import type { Counterparty, Originator, Page, Payment, PaymentReturn } from '../types';
import { apiPath, DirectionBadge, Facts, fmtUSD, Mono, PayBreadcrumb, PaymentsLayout, PayStatusBadge } from './PaymentsCommon';

const CANCELLABLE = new Set(['pending', 'scheduled']);
const REASON_STATUSES = new Set(['pending', 'returned', 'failed', 'cancelled']);

export function PaymentDetailPage(props: { id: string }) {
  const canWrite = useCan('payments', 'write');
  const payment = useLoader(() => get<Payment>(apiPath('/v1/payments', props.id)), [props.id]);
  const p = payment.data;
  const originator = useLoader(
    async () => (p ? await get<Originator>(apiPath('/v1/originators', p.originator_id)) : null),
    [p?.originator_id],
  );
  const counterparty = useLoader(
    async () => (p ? await get<Counterparty>(apiPath('/v1/counterparties', p.counterparty_id)) : null),
    [p?.counterparty_id],
  );
  const returns = useLoader(
    async () => (await get<Page<PaymentReturn>>('/v1/payment-returns', { payment_id: props.id, limit: 50 })).items,
    [props.id],
  );
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  if (!p) {
    return (
      <PaymentsLayout active="">
        <div data-testid="payment-detail">
          <PayBreadcrumb trail={[{ label: 'Payments', to: ['payments'] }]} label={`#${props.id}`} />
          {payment.error ? <ProblemAlert error={payment.error} /> : <Spinner />}
        </div>
      </PaymentsLayout>
    );
  }
  const events = p.events ?? [];
  const entries = p.entries ?? [];

  return (
    <PaymentsLayout active="">
      <div data-testid="payment-detail" data-id={p.id} data-status={p.status}>
        <PayBreadcrumb trail={[{ label: 'Payments', to: ['payments'] }]} label={`#${p.id}`} />
        <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
          <h1 class="h3 mb-0">
            Payment #{p.id}:{' '}
            <span class="font-monospace" data-testid="payment-detail-amount">
              {fmtUSD(p.amount_cents)}
            </span>
          </h1>
          <DirectionBadge direction={p.direction} />
          <PayStatusBadge status={p.status} testid="payment-detail-status" />
          {p.prenote && <span class="badge text-bg-light border">prenote</span>}
          <span class="ms-auto d-flex gap-2">
            <button class="btn btn-sm btn-outline-secondary" onClick={() => void payment.reload()} data-testid="payment-refresh">
              Refresh
            </button>
            {canWrite && CANCELLABLE.has(p.status) && (
              <button class="btn btn-sm btn-outline-danger" onClick={() => setConfirmCancel(true)} data-testid="payment-cancel">
                Cancel payment
              </button>
            )}
          </span>
        </div>
        {notice && (
          <Notice testid="payment-notice" onClose={() => setNotice(null)}>
            {notice}
          </Notice>
        )}
        <ProblemAlert error={payment.error} />
        {p.schedule_note && (
          <div class="alert alert-info py-2" role="status" data-testid="payment-schedule-note">
            <strong>Date moved:</strong> {p.schedule_note}
            {p.requested_effective_date && (
              <>
                {' '}
                (requested {p.requested_effective_date}, effective {p.effective_date})
              </>
            )}
          </div>
        )}
        {/* "in file …" and the like repeat the facts below; held, returned, failed and cancelled payments say why. */}
        {p.status_reason && REASON_STATUSES.has(p.status) && (
          <div
            class={`alert ${['returned', 'failed'].includes(p.status) ? 'alert-danger' : 'alert-secondary'} py-2`}
            role="status"
            data-testid="payment-status-reason"
          >
            {p.return_code && <code class="me-2">{p.return_code}</code>}
            {p.status_reason}
          </div>
        )}
        <div class="row g-3">
          <div class="col-lg-5">
            <div class="card shadow-sm mb-3">
              <div class="card-header bg-body">Payment</div>
              <div class="card-body">
                <Facts
                  rows={[
                    ['Originator', originator.data ? <a href={href('payments', 'originators', p.originator_id)}>{originator.data.name}</a> : `#${p.originator_id}`],
                    [
                      'Receiver',
                      <>
                        <a href={href('payments', 'counterparties', p.counterparty_id)} data-testid="payment-counterparty-link">
                          {p.receiver_name}
                        </a>
                        {counterparty.data && counterparty.data.name !== p.receiver_name && (
                          <div class="text-body-secondary">now {counterparty.data.name}</div>
                        )}
                      </>,
                    ],
                    ['Receiver ID', p.receiver_id],
                    ['Account', <span class="font-monospace">{p.routing_number} · {p.account_number} ({p.account_type.replace('_', ' ')})</span>],
                    ['SEC code', <code>{p.sec_code}</code>, 'payment-detail-sec'],
                    ['Entry description', <code>{p.entry_description}</code>],
                    ['Payment type', p.payment_type_code],
                    ['Addenda', p.addenda && <code class="text-body">{p.addenda}</code>],
                    ['Effective date', p.effective_date, 'payment-detail-effective'],
                    ['Requested date', p.requested_effective_date],
                    [
                      'Window',
                      <>
                        {p.window.replace('_', '-')} · <Time iso={p.window_at} />
                      </>,
                    ],
                    [
                      'ACH file',
                      p.file_id && (
                        <a href={href('payments', 'files', p.file_id)} data-testid="payment-file-link">
                          file #{p.file_id}
                        </a>
                      ),
                    ],
                    [
                      'From',
                      p.upload_id ? (
                        <a href={href('payments', 'uploads', p.upload_id)}>
                          upload #{p.upload_id}, row {p.upload_row}
                        </a>
                      ) : p.template_id ? (
                        <a href={href('payments', 'templates')}>template #{p.template_id}</a>
                      ) : (
                        'made by hand'
                      ),
                    ],
                    ['Idempotency key', <Mono v={p.idempotency_key} />],
                    [
                      'Created',
                      <>
                        <Time iso={p.created_at} /> by {p.created_by}
                      </>,
                    ],
                  ]}
                />
              </div>
            </div>
          </div>
          <div class="col-lg-7">
            <div class="card shadow-sm mb-3">
              <div class="card-header bg-body">
                Entries <span class="fw-normal small text-body-secondary">{entries.length > 1 ? `(split into ${entries.length})` : ''}</span>
              </div>
              <DataTable
                testid="payment-entries"
                hover={false}
                cols={4}
                head={
                  <>
                    <th>Part</th>
                    <th class="text-end">Amount</th>
                    <th>Trace number</th>
                    <th>File</th>
                  </>
                }
                items={entries}
                empty="No entries."
                row={(e) => (
                  <tr key={e.part} data-testid="payment-entry-row" data-trace={e.trace_number ?? ''}>
                    <td>{e.part}</td>
                    <td class="text-end font-monospace">{fmtUSD(e.amount_cents)}</td>
                    <td>
                      <Mono v={e.trace_number} testid="payment-entry-trace" />
                    </td>
                    <td>{e.file_id ? <a href={href('payments', 'files', e.file_id)}>#{e.file_id}</a> : <span class="text-body-tertiary">not yet</span>}</td>
                  </tr>
                )}
              />
            </div>
            <div class="card shadow-sm mb-3">
              <div class="card-header bg-body">Status timeline</div>
              <ul class="list-group list-group-flush" data-testid="payment-timeline">
                {events.length === 0 && <li class="list-group-item text-body-secondary small">No events.</li>}
                {events.map((ev, i) => (
                  <li key={i} class="list-group-item d-flex flex-wrap gap-2 align-items-center" data-testid="payment-event" data-status={ev.status}>
                    <PayStatusBadge status={ev.status} />
                    <span class="small flex-grow-1">{ev.reason ?? ''}</span>
                    <span class="small text-body-secondary">
                      {ev.actor} · <Time iso={ev.at} />
                    </span>
                  </li>
                ))}
              </ul>
            </div>
            {(returns.data?.length ?? 0) > 0 && (
              <div class="card shadow-sm mb-3" data-testid="payment-returns">
                <div class="card-header bg-body">Returns and notifications of change</div>
                <ul class="list-group list-group-flush">
                  {returns.data!.map((r) => (
                    <li key={r.id} class="list-group-item small">
                      <span class={`badge ${r.kind === 'noc' ? 'text-bg-info' : 'text-bg-danger'} me-2`}>{r.kind === 'noc' ? 'NOC' : 'return'}</span>
                      <code class="me-2">{r.code}</code>
                      {r.reason}
                      {r.corrected_data && (
                        <>
                          {' '}
                          — corrected data <code>{r.corrected_data}</code>
                        </>
                      )}
                      <span class="text-body-secondary">
                        {' '}
                        · <Time iso={r.received_at} /> · {r.file}
                      </span>
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </div>
        </div>
        {confirmCancel && (
          <ConfirmDialog
            title="Cancel payment"
            confirmLabel="Cancel payment"
            danger
            onClose={() => setConfirmCancel(false)}
            onConfirm={async () => {
              await post<Payment>(apiPath('/v1/payments', p.id, 'cancel'));
              await payment.reload();
              setNotice('The payment was cancelled; it will not go into a file.');
            }}
          >
            Cancel the {p.direction} of {fmtUSD(p.amount_cents)} to {p.receiver_name}? It has not gone into a file yet.
          </ConfirmDialog>
        )}
      </div>
    </PaymentsLayout>
  );
}
