import { useState } from 'preact/hooks';
import { del, get, patch, post } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { FormModal, TextField } from '../components/forms';
import {
  AddButton,
  BusySpinner,
  ConfirmDialog,
  fieldError,
  JsonBlock,
  Modal,
  Notice,
  PageHeader,
  ProblemAlert,
  SecretBox,
  Spinner,
  StatusBadge,
  Time, Breadcrumb } from '../components/ui';
import { useAction, useLoader, usePagedList, usePolling } from '../hooks';
import { href, navigate } from '../router';
import { useCan } from '../session';
import type { CreatedWebhook, Delivery, DeliveryDetail, Page, Webhook, WebhookEventType } from '../types';

const hookPath = (id: string, ...rest: string[]) => ['/v1/webhooks', encodeURIComponent(id), ...rest].join('/');
const deliveryPath = (id: string, ...rest: string[]) => ['/v1/webhooks/deliveries', encodeURIComponent(id), ...rest].join('/');
const useEventTypes = () => useLoader(async () => (await get<{ items: WebhookEventType[] }>('/v1/webhooks/events')).items, []);

function EnabledBadge(props: { w: Webhook }) {
  return props.w.enabled ? (
    <StatusBadge status="enabled" testid="webhook-enabled" />
  ) : (
    <span class="badge text-bg-danger" data-testid="webhook-enabled" title={props.w.disabled_reason ?? undefined}>
      disabled
    </span>
  );
}

function Events(props: { events: string[] }) {
  return (
    <span class="d-inline-flex flex-wrap gap-1">
      {props.events.map((e) => (
        <code key={e} class="badge text-bg-light border fw-normal">
          {e === '*' ? 'all events' : e}
        </code>
      ))}
    </span>
  );
}

export function WebhooksPage() {
  const canWrite = useCan('admin', 'write');
  const hooks = usePagedList((cursor) => get<Page<Webhook>>('/v1/webhooks', { cursor, limit: 50 }), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedWebhook | null>(null);

  return (
    <div data-testid="webhooks-page">
      <PageHeader
        title="Webhooks"
        subtitle="Signed HTTP callbacks to other systems when customers, subscriptions, lists or devices change"
        actions={
          canWrite && (
            <AddButton onClick={() => setCreating(true)} testid="new-webhook">
              New webhook
            </AddButton>
          )
        }
      />
      <div class="card shadow-sm">
        <ProblemAlert error={hooks.error} />
        <DataTable
          testid="webhooks-table"
          cols={5}
          head={
            <>
              <th>Endpoint</th>
              <th>Events</th>
              <th>Status</th>
              <th class="text-center">Failures in a row</th>
              <th>Updated</th>
            </>
          }
          items={hooks.items}
          loading={hooks.loading}
          empty="No webhooks yet."
          row={(w) => (
            <tr
              key={w.id}
              class="clickable-row"
              onClick={(e) => {
                if (!(e.target instanceof HTMLAnchorElement)) navigate('webhooks', w.id);
              }}
              data-testid="webhook-row"
              data-url={w.url}
            >
              <td class="text-break">
                <a href={href('webhooks', w.id)} class="font-monospace small" data-testid="webhook-link">
                  {w.url}
                </a>
                {w.description && <div class="small text-body-secondary">{w.description}</div>}
              </td>
              <td>
                <Events events={w.events} />
              </td>
              <td>
                <EnabledBadge w={w} />
                {!w.enabled && w.disabled_reason && <div class="small text-danger-emphasis">{w.disabled_reason}</div>}
              </td>
              <td class={`text-center ${w.consecutive_failures > 0 ? 'text-danger fw-semibold' : ''}`}>{w.consecutive_failures}</td>
              <td class="small">
                <Time iso={w.updated_at} />
              </td>
            </tr>
          )}
        />
        <LoadMore next={hooks.next} loading={hooks.loadingMore} onMore={() => void hooks.more()} testid="webhooks-load-more" />
      </div>
      {creating && (
        <WebhookDialog
          webhook={null}
          onClose={() => setCreating(false)}
          onSaved={(w) => {
            setCreating(false);
            setCreated(w as CreatedWebhook);
            void hooks.reload();
          }}
        />
      )}
      {created && (
        <SecretDialog
          title="Webhook created"
          secret={created.secret}
          onClose={() => {
            setCreated(null);
            navigate('webhooks', created.id);
          }}
        />
      )}
    </div>
  );
}

function SecretDialog(props: { title: string; secret: string; onClose: () => void }) {
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      testid="webhook-secret-dialog"
      static
      footer={
        <button type="button" class="btn btn-primary" onClick={props.onClose} data-testid="webhook-secret-done">
          I have copied it
        </button>
      }
    >
      <div class="alert alert-warning" role="alert">
        <strong>Copy the signing secret now.</strong> It is shown only this once. The receiver checks{' '}
        <code>Kontor-Signature: v1=HMAC-SHA256(secret, timestamp + "." + body)</code>.
      </div>
      <SecretBox id="webhook-secret" label="Signing secret" value={props.secret} testid="webhook-secret" copyTestid="webhook-secret-copy" />
    </Modal>
  );
}

function WebhookDialog(props: { webhook: Webhook | null; onClose: () => void; onSaved: (w: Webhook) => void }) {
  const w = props.webhook;
  const types = useEventTypes();
  const [url, setUrl] = useState(w?.url ?? 'https://');
  const [description, setDescription] = useState(w?.description ?? '');
  const [events, setEvents] = useState<string[]>(w?.events ?? []);
  const action = useAction();
  const fe = action.fieldErrors;
  const all = events.includes('*');

  const toggle = (t: string, on: boolean) => {
    if (t === '*') setEvents(on ? ['*'] : []);
    else setEvents(on ? [...events.filter((e) => e !== t && e !== '*'), t] : events.filter((e) => e !== t));
  };

  const submit = async () => {
    const body = { url: url.trim(), events, description: description.trim() };
    props.onSaved(w ? await patch<Webhook>(hookPath(w.id), body) : await post<CreatedWebhook>('/v1/webhooks', body));
  };

  return (
    <FormModal
      title={w ? 'Edit webhook' : 'New webhook'}
      testid="webhook-dialog"
      size="lg"
      onClose={props.onClose}
      formId="webhook-form"
      action={action}
      onSubmit={submit}
      shownFields={['url', 'events', 'description']}
      submitLabel={w ? 'Save webhook' : 'Create webhook'}
      submitTestid="webhook-submit"
      canSubmit={events.length > 0}
    >
      <TextField id="webhook-url" label="Endpoint URL" type="url" value={url} onValue={setUrl} error={fe.url} help="Kontor POSTs JSON events here." />
      <TextField id="webhook-description" label="Description" value={description} onValue={setDescription} error={fe.description} />
      <fieldset class="mb-2" data-testid="webhook-events">
        <legend class="form-label fs-6">Events</legend>
        <ProblemAlert error={types.error} />
        {types.data === null ? (
          <Spinner />
        ) : (
          <>
            <div class="form-check mb-1">
              <input class="form-check-input" type="checkbox" id="event-all" checked={all} onChange={(e) => toggle('*', e.currentTarget.checked)} />
              <label class="form-check-label fw-medium" for="event-all">
                All events (<code>*</code>), including ones added later
              </label>
            </div>
            <div class="row row-cols-1 row-cols-md-2">
              {types.data.map((t) => (
                <div class="col" key={t.type}>
                  <div class="form-check">
                    <input
                      class="form-check-input"
                      type="checkbox"
                      id={`event-${t.type}`}
                      checked={all || events.includes(t.type)}
                      disabled={all}
                      onChange={(e) => toggle(t.type, e.currentTarget.checked)}
                    />
                    <label class="form-check-label" for={`event-${t.type}`}>
                      <code>{t.type}</code>
                      <div class="small text-body-secondary">{t.description}</div>
                    </label>
                  </div>
                </div>
              ))}
            </div>
          </>
        )}
        {fieldError(fe, 'events') && <div class="invalid-feedback d-block">{fieldError(fe, 'events')}</div>}
      </fieldset>
    </FormModal>
  );
}

export function WebhookDetailPage(props: { id: string }) {
  const canWrite = useCan('admin', 'write');
  const hook = useLoader(() => get<Webhook>(hookPath(props.id)), [props.id]);
  const [status, setStatus] = useState('');
  const deliveries = usePagedList(
    (cursor) => get<Page<Delivery>>(hookPath(props.id, 'deliveries'), { status, cursor, limit: 50 }),
    [props.id, status],
  );
  const [editing, setEditing] = useState(false);
  const [confirm, setConfirm] = useState<'rotate' | 'delete' | 'disable' | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [openDelivery, setOpenDelivery] = useState<string | null>(null);
  const action = useAction();
  const pending = (deliveries.items ?? []).some((d) => d.status === 'pending');
  usePolling(() => void deliveries.reload(), 2000, pending);

  const w = hook.data;
  if (!w) {
    return (
      <div data-testid="webhook-detail">
        <Breadcrumb parent="webhooks" parentLabel="Webhooks" label={props.id} />
        {hook.error ? <ProblemAlert error={hook.error} /> : <Spinner />}
      </div>
    );
  }
  const setEnabled = async (enabled: boolean) => {
    hook.setData(await patch<Webhook>(hookPath(w.id), { enabled }));
    setNotice(enabled ? 'Webhook enabled; failures were reset.' : 'Webhook disabled.');
  };

  return (
    <div data-testid="webhook-detail">
      <Breadcrumb parent="webhooks" parentLabel="Webhooks" label={w.url} />
      <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
        <h1 class="h4 mb-0 font-monospace text-break" data-testid="webhook-url">
          {w.url}
        </h1>
        <EnabledBadge w={w} />
      </div>
      {notice && (
        <Notice testid="webhook-notice" onClose={() => setNotice(null)}>
          {notice}
        </Notice>
      )}
      <ProblemAlert error={action.error} onClose={() => action.setError(null)} />
      {!w.enabled && (
        <div class="alert alert-danger" role="alert" data-testid="webhook-disabled-reason">
          <strong>Disabled</strong> <Time iso={w.disabled_at} />
          {w.disabled_reason ? `: ${w.disabled_reason}` : ''}. Enabling it again resets the failure count.
        </div>
      )}
      <div class="row g-3">
        <div class="col-lg-4">
          <div class="card shadow-sm">
            <div class="card-header bg-body">Settings</div>
            <div class="card-body small">
              <dl class="row mb-2">
                <dt class="col-5 fw-normal text-body-secondary">Events</dt>
                <dd class="col-7">
                  <Events events={w.events} />
                </dd>
                <dt class="col-5 fw-normal text-body-secondary">Description</dt>
                <dd class="col-7">{w.description || <span class="text-body-tertiary">—</span>}</dd>
                <dt class="col-5 fw-normal text-body-secondary">Failures in a row</dt>
                <dd class="col-7" data-testid="webhook-failures">
                  {w.consecutive_failures}
                </dd>
                <dt class="col-5 fw-normal text-body-secondary">Created</dt>
                <dd class="col-7">
                  <Time iso={w.created_at} />
                </dd>
              </dl>
              {canWrite && (
                <div class="d-flex flex-wrap gap-2">
                  <button class="btn btn-sm btn-outline-primary" onClick={() => setEditing(true)} data-testid="webhook-edit">
                    Edit
                  </button>
                  {w.enabled ? (
                    <button class="btn btn-sm btn-outline-warning" onClick={() => setConfirm('disable')} data-testid="webhook-disable">
                      Disable
                    </button>
                  ) : (
                    <button class="btn btn-sm btn-outline-success" disabled={action.busy} onClick={() => void action.run(() => setEnabled(true))} data-testid="webhook-enable">
                      Enable
                    </button>
                  )}
                  <button
                    class="btn btn-sm btn-outline-secondary"
                    disabled={action.busy}
                    onClick={() =>
                      void action.run(async () => {
                        await post<Delivery>(hookPath(w.id, 'test'));
                        setNotice('A ping event was queued for this endpoint.');
                        await deliveries.reload();
                      })
                    }
                    data-testid="webhook-test"
                  >
                    <BusySpinner busy={action.busy} />
                    Send test
                  </button>
                  <button class="btn btn-sm btn-outline-secondary" onClick={() => setConfirm('rotate')} data-testid="webhook-rotate">
                    Rotate secret
                  </button>
                  <button class="btn btn-sm btn-outline-danger" onClick={() => setConfirm('delete')} data-testid="webhook-delete">
                    Delete
                  </button>
                </div>
              )}
            </div>
          </div>
        </div>
        <div class="col-lg-8">
          <div class="card shadow-sm" data-testid="deliveries">
            <div class="card-header bg-body d-flex flex-wrap align-items-center justify-content-between gap-2">
              <span>Delivery log</span>
              <div class="d-flex gap-2 align-items-center">
                <label for="delivery-status" class="small text-body-secondary fw-normal">
                  Status
                </label>
                <select id="delivery-status" class="form-select form-select-sm w-auto" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
                  <option value="">Any</option>
                  <option value="pending">pending</option>
                  <option value="succeeded">succeeded</option>
                  <option value="failed">failed</option>
                </select>
                <button class="btn btn-sm btn-outline-secondary" onClick={() => void deliveries.reload()}>
                  Refresh
                </button>
              </div>
            </div>
            <ProblemAlert error={deliveries.error} />
            <DataTable
              testid="deliveries-table"
              cols={6}
              head={
                <>
                  <th>Status</th>
                  <th>Event</th>
                  <th class="text-center">Attempts</th>
                  <th>Response</th>
                  <th>Error</th>
                  <th>Time</th>
                </>
              }
              items={deliveries.items}
              loading={deliveries.loading}
              empty="No deliveries yet. Send a test to try the endpoint."
              row={(d) => (
                <tr key={d.id} class="clickable-row" onClick={() => setOpenDelivery(d.id)} data-testid="delivery-row" data-status={d.status} data-event={d.event_type}>
                  <td>
                    <StatusBadge status={d.status} testid="delivery-status" />
                  </td>
                  <td>
                    <code class="small">{d.event_type}</code>
                  </td>
                  <td class="text-center">{d.attempts}</td>
                  <td class="small">
                    {d.response_status ?? <span class="text-body-tertiary">—</span>}
                    {d.duration_ms !== null && <span class="text-body-secondary"> · {d.duration_ms} ms</span>}
                  </td>
                  <td class="small text-danger-emphasis text-break">{d.error ?? ''}</td>
                  <td class="small">
                    <Time iso={d.last_attempt_at ?? d.created_at} />
                    {d.status === 'pending' && d.next_attempt_at && (
                      <div class="text-body-secondary">
                        next <Time iso={d.next_attempt_at} relative />
                      </div>
                    )}
                  </td>
                </tr>
              )}
            />
            <LoadMore next={deliveries.next} loading={deliveries.loadingMore} onMore={() => void deliveries.more()} testid="deliveries-load-more" />
          </div>
        </div>
      </div>
      {editing && (
        <WebhookDialog
          webhook={w}
          onClose={() => setEditing(false)}
          onSaved={(n) => {
            setEditing(false);
            hook.setData(n);
            setNotice('Webhook saved.');
          }}
        />
      )}
      {confirm === 'disable' && (
        <ConfirmDialog title="Disable webhook" confirmLabel="Disable" danger onClose={() => setConfirm(null)} onConfirm={() => setEnabled(false)}>
          No events are delivered to <code>{w.url}</code> while it is disabled.
        </ConfirmDialog>
      )}
      {confirm === 'rotate' && (
        <ConfirmDialog
          title="Rotate signing secret"
          confirmLabel="Rotate"
          onClose={() => setConfirm(null)}
          onConfirm={async () => setSecret((await post<{ secret: string }>(hookPath(w.id, 'rotate-secret'))).secret)}
        >
          The current secret stops working at once; the receiver must switch to the new one.
        </ConfirmDialog>
      )}
      {confirm === 'delete' && (
        <ConfirmDialog
          title="Delete webhook"
          confirmLabel="Delete"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await del(hookPath(w.id));
            navigate('webhooks');
          }}
        >
          Delete the webhook to <code>{w.url}</code> and its delivery log?
        </ConfirmDialog>
      )}
      {secret && <SecretDialog title="New signing secret" secret={secret} onClose={() => setSecret(null)} />}
      {openDelivery && (
        <DeliveryDialog
          id={openDelivery}
          canWrite={canWrite}
          onClose={() => setOpenDelivery(null)}
          onRetried={() => {
            void deliveries.reload();
          }}
        />
      )}
    </div>
  );
}


/** A body as pretty JSON when it is JSON, else as text. */
function Body(props: { text: string | null; testid: string }) {
  if (props.text === null || props.text === '') return <JsonBlock value={null} testid={props.testid} />;
  try {
    return <JsonBlock value={JSON.parse(props.text)} testid={props.testid} />;
  } catch {
    return <JsonBlock value={props.text} testid={props.testid} />;
  }
}

function headerList(h: DeliveryDetail['request_headers']): [string, string][] {
  if (!h) return [];
  return Array.isArray(h) ? h : Object.entries(h);
}

function DeliveryDialog(props: { id: string; canWrite: boolean; onClose: () => void; onRetried: () => void }) {
  const d = useLoader(() => get<DeliveryDetail>(deliveryPath(props.id)), [props.id]);
  const retry = useAction();
  const [retried, setRetried] = useState(false);
  const x = d.data;
  return (
    <Modal
      title="Delivery"
      size="xl"
      onClose={props.onClose}
      testid="delivery-dialog"
      footer={
        <>
          {props.canWrite && x && (
            <button
              class="btn btn-outline-primary"
              disabled={retry.busy}
              onClick={() =>
                void retry.run(async () => {
                  d.setData({ ...x, ...(await post<Delivery>(deliveryPath(x.id, 'retry'))) });
                  setRetried(true);
                  props.onRetried();
                })
              }
              data-testid="delivery-retry"
            >
              <BusySpinner busy={retry.busy} />
              Retry now
            </button>
          )}
          <button class="btn btn-secondary" onClick={props.onClose}>
            Close
          </button>
        </>
      }
    >
      <ProblemAlert error={d.error ?? retry.error} />
      {retried && (
        <div class="alert alert-success py-2" role="status" data-testid="delivery-retried">
          Queued again.
        </div>
      )}
      {!x ? (
        <Spinner />
      ) : (
        <>
          <div class="d-flex flex-wrap gap-3 align-items-center mb-3 small">
            <StatusBadge status={x.status} testid="delivery-detail-status" />
            <span>
              <code>{x.event_type}</code> · event <code>{x.event_id}</code>
            </span>
            <span>attempts {x.attempts}</span>
            <span>response {x.response_status ?? '—'}</span>
            {x.duration_ms !== null && <span>{x.duration_ms} ms</span>}
            <span>
              last attempt <Time iso={x.last_attempt_at} />
            </span>
            {x.next_attempt_at && (
              <span>
                next <Time iso={x.next_attempt_at} />
              </span>
            )}
          </div>
          {x.error && (
            <div class="alert alert-danger py-2 small" data-testid="delivery-error">
              {x.error}
            </div>
          )}
          <div class="row g-3">
            <div class="col-lg-6">
              <h3 class="h6">Request headers</h3>
              <table class="table table-sm small mb-3" data-testid="delivery-request-headers">
                <tbody>
                  {headerList(x.request_headers).map(([k, v]) => (
                    <tr key={k}>
                      <th class="fw-normal font-monospace text-nowrap">{k}</th>
                      <td class="font-monospace text-break">{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h3 class="h6">Request body</h3>
              <Body text={x.request_body} testid="delivery-request-body" />
            </div>
            <div class="col-lg-6">
              <h3 class="h6">Response body</h3>
              <Body text={x.response_body} testid="delivery-response-body" />
            </div>
          </div>
        </>
      )}
    </Modal>
  );
}
