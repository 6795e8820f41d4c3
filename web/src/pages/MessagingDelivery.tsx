// The delivery log (every message with its status; also the staff's "sent SMS"),
// one message with its content and status timeline, and the capture outbox.
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { PageHeader, ProblemAlert, Spinner, Time } from '../components/ui';
import { useDebounced, useLoader, usePagedList, usePolling } from '../hooks';
import {
  CHANNEL_LABELS,
  CHANNELS,
  localInputToIso,
  type Message,
  type MessageDetail,
  messagePath,
  MESSAGE_STATUSES,
} from '../messaging';
import { href, navigate, parseHashQuery, replaceHashQuery } from '../router';
import type { Page } from '../types';
import { ChannelBadge, Facts, MessageContent, MessagingLayout, MsgBreadcrumb, StateBadge } from './MessagingCommon';

const PAGE_SIZE = 50;
const PENDING = new Set(['queued', 'sending']);

interface Filters {
  campaign: string;
  customer: string;
  channel: string;
  status: string;
  since: string;
  until: string;
}

const FILTER_KEYS: (keyof Filters)[] = ['campaign', 'customer', 'channel', 'status', 'since', 'until'];

function filtersFromHash(): Filters {
  const h = parseHashQuery(window.location.hash);
  const out = {} as Filters;
  for (const k of FILTER_KEYS) out[k] = h[k] ?? '';
  return out;
}

/** The filters as GET /v1/messages takes them (datetime-local values become RFC 3339). */
function query(f: Filters) {
  return {
    campaign: f.campaign.trim(),
    customer: f.customer.trim(),
    channel: f.channel,
    status: f.status,
    since: localInputToIso(f.since),
    until: localInputToIso(f.until),
  };
}

/** Keeps the filters in the address (so a link from a campaign opens them) and follows hash links to other filters. */
function useHashFilters() {
  const [draft, setDraft] = useState<Filters>(filtersFromHash);
  const typed = useDebounced({ campaign: draft.campaign, customer: draft.customer }, 300);
  const filters: Filters = { ...draft, ...typed };
  const key = JSON.stringify(filters);
  useEffect(() => replaceHashQuery({ ...filters }), [key]);
  useEffect(() => {
    const onHash = () => setDraft(filtersFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return { draft, setDraft, filters, key };
}

function FilterBar(props: { draft: Filters; setDraft: (f: Filters) => void; only?: (keyof Filters)[]; testid: string }) {
  const { draft, setDraft } = props;
  const show = (k: keyof Filters) => !props.only || props.only.includes(k);
  const set = (k: keyof Filters, v: string) => setDraft({ ...draft, [k]: v });
  const any = Object.values(draft).some((v) => v !== '');
  return (
    <form class="row g-2 align-items-end" role="search" onSubmit={(e) => e.preventDefault()} data-testid={props.testid}>
      {show('campaign') && (
        <div class="col-6 col-md-2">
          <label for="msg-campaign" class="form-label small mb-1">
            Campaign id
          </label>
          <input id="msg-campaign" class="form-control form-control-sm" inputMode="numeric" value={draft.campaign} onInput={(e) => set('campaign', e.currentTarget.value)} />
        </div>
      )}
      {show('customer') && (
        <div class="col-6 col-md-2">
          <label for="msg-customer" class="form-label small mb-1">
            Customer
          </label>
          <input
            id="msg-customer"
            class="form-control form-control-sm"
            placeholder="external id"
            value={draft.customer}
            onInput={(e) => set('customer', e.currentTarget.value)}
          />
        </div>
      )}
      {show('channel') && (
        <div class="col-6 col-md-2 col-lg-1">
          <label for="msg-channel" class="form-label small mb-1">
            Channel
          </label>
          <select id="msg-channel" class="form-select form-select-sm" value={draft.channel} onChange={(e) => set('channel', e.currentTarget.value)}>
            <option value="">Any</option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {CHANNEL_LABELS[c]}
              </option>
            ))}
          </select>
        </div>
      )}
      {show('status') && (
        <div class="col-6 col-md-2 col-lg-1">
          <label for="msg-status" class="form-label small mb-1">
            Status
          </label>
          <select id="msg-status" class="form-select form-select-sm" value={draft.status} onChange={(e) => set('status', e.currentTarget.value)}>
            <option value="">Any</option>
            {MESSAGE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      )}
      {show('since') && (
        <div class="col-6 col-md-2">
          <label for="msg-since" class="form-label small mb-1">
            From
          </label>
          <input id="msg-since" type="datetime-local" class="form-control form-control-sm" value={draft.since} onInput={(e) => set('since', e.currentTarget.value)} />
        </div>
      )}
      {show('until') && (
        <div class="col-6 col-md-2">
          <label for="msg-until" class="form-label small mb-1">
            Until
          </label>
          <input id="msg-until" type="datetime-local" class="form-control form-control-sm" value={draft.until} onInput={(e) => set('until', e.currentTarget.value)} />
        </div>
      )}
      <div class="col-auto">
        <button
          type="button"
          class="btn btn-sm btn-link"
          disabled={!any}
          onClick={() => setDraft({ campaign: '', customer: '', channel: '', status: '', since: '', until: '' })}
          data-testid="msg-filters-clear"
        >
          Clear filters
        </button>
      </div>
    </form>
  );
}

export function DeliveryLogPage() {
  const { draft, setDraft, filters, key } = useHashFilters();
  const messages = usePagedList((cursor) => get<Page<Message>>('/v1/messages', { ...query(filters), cursor, limit: PAGE_SIZE }), [key]);
  // While messages of the first page are still on their way, their status follows.
  const pending = (messages.items ?? []).slice(0, PAGE_SIZE).some((m) => PENDING.has(m.status));
  usePolling(() => void messages.reload(), 2000, pending && messages.next === null);

  return (
    <MessagingLayout active="messages">
      <div data-testid="delivery-page">
        <PageHeader title="Delivery log" subtitle="Every message sent or queued, newest first: campaigns, triggers and direct sends" />
        <div class="card shadow-sm">
          <div class="card-header bg-body">
            <FilterBar draft={draft} setDraft={setDraft} testid="delivery-filters" />
          </div>
          <ProblemAlert error={messages.error} />
          <DataTable
            testid="messages-table"
            cols={8}
            head={
              <>
                <th>Id</th>
                <th>Created</th>
                <th>Channel</th>
                <th>Recipient</th>
                <th>Status</th>
                <th>Provider</th>
                <th>Source</th>
                <th>Error</th>
              </>
            }
            items={messages.items}
            loading={messages.loading}
            empty="No messages match."
            row={(m) => (
              <tr
                key={m.id}
                class="clickable-row"
                onClick={(e) => {
                  if (!(e.target as HTMLElement).closest('a')) navigate('messaging', 'messages', m.id);
                }}
                data-testid="message-row"
                data-id={m.id}
                data-status={m.status}
                data-campaign={m.campaign_id ?? ''}
              >
                <td class="font-monospace small">
                  <a href={href('messaging', 'messages', m.id)} data-testid="message-link">
                    {m.id}
                  </a>
                </td>
                <td class="small">
                  <Time iso={m.created_at} />
                </td>
                <td>
                  <ChannelBadge channel={m.channel} />
                </td>
                <td class="small text-break" data-testid="message-recipient">
                  {m.recipient}
                </td>
                <td>
                  <StateBadge state={m.status} testid="message-status" />
                </td>
                <td class="small">{m.provider}</td>
                <td class="small">
                  <MessageSource m={m} />
                </td>
                <td class="small text-danger text-break" style={{ maxWidth: '16rem' }}>
                  {m.error_code && <code class="me-1">{m.error_code}</code>}
                  {m.error_message}
                </td>
              </tr>
            )}
          />
          <LoadMore next={messages.next} loading={messages.loadingMore} onMore={() => void messages.more()} testid="messages-more" />
        </div>
      </div>
    </MessagingLayout>
  );
}

function MessageSource(props: { m: Message }) {
  const { m } = props;
  return (
    <>
      {m.campaign_id && (
        <a href={href('messaging', 'campaigns', m.campaign_id)} class="me-1">
          campaign {m.campaign_id}
        </a>
      )}
      {m.template && <code class="me-1">{m.template}</code>}
      {!m.campaign_id && !m.template && <span class="text-body-tertiary">{m.lane}</span>}
    </>
  );
}

export function MessageDetailPage(props: { id: string }) {
  const loaded = useLoader(() => get<MessageDetail>(messagePath(props.id)), [props.id]);
  const m = loaded.data;
  usePolling(() => void loaded.reload(), 1500, m !== null && PENDING.has(m.status));
  if (!m) {
    return (
      <MessagingLayout active="messages">
        <MsgBreadcrumb section="messages" sectionLabel="Delivery log" label={`Message ${props.id}`} />
        {loaded.error ? <ProblemAlert error={loaded.error} /> : <Spinner />}
      </MessagingLayout>
    );
  }
  return (
    <MessagingLayout active="messages">
      <div data-testid="message-detail" data-status={m.status}>
        <MsgBreadcrumb section="messages" sectionLabel="Delivery log" label={`Message ${m.id}`} />
        <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
          <h1 class="h3 mb-0">Message {m.id}</h1>
          <StateBadge state={m.status} testid="message-status" />
          <ChannelBadge channel={m.channel} />
        </div>
        <div class="row g-3">
          <div class="col-lg-5">
            <div class="card shadow-sm mb-3">
              <div class="card-header bg-body">Delivery</div>
              <div class="card-body">
                <Facts
                  rows={[
                    ['Recipient', <span data-testid="message-recipient">{m.recipient}</span>],
                    ['Provider', m.provider],
                    ['Provider id', m.provider_message_id ? <code>{m.provider_message_id}</code> : null],
                    ['Lane / purpose', `${m.lane} / ${m.purpose}`],
                    ['Template', m.template ? <a href={href('messaging', 'templates', m.template)}>{m.template}</a> : null],
                    ['Language', m.language],
                    ['Campaign', m.campaign_id ? <a href={href('messaging', 'campaigns', m.campaign_id)}>{m.campaign_id}</a> : null],
                    ['Attempts', `${m.attempts} of ${m.max_attempts}`],
                    ['Created', <Time iso={m.created_at} />],
                    ['Sent', m.sent_at ? <Time iso={m.sent_at} /> : null],
                    ['Next attempt', m.next_attempt_at ? <Time iso={m.next_attempt_at} /> : null],
                    [
                      'Error',
                      m.error_code || m.error_message ? (
                        <span class="text-danger">
                          {m.error_code && <code class="me-1">{m.error_code}</code>}
                          {m.error_message}
                        </span>
                      ) : null,
                    ],
                    ['Idempotency key', m.idempotency_key ? <code>{m.idempotency_key}</code> : null],
                  ]}
                />
              </div>
            </div>
            <div class="card shadow-sm">
              <div class="card-header bg-body">Status timeline</div>
              <ul class="list-group list-group-flush" data-testid="message-timeline">
                {m.events.length === 0 && <li class="list-group-item text-body-secondary small">No events yet.</li>}
                {m.events.map((e, i) => (
                  <li key={i} class="list-group-item small d-flex gap-2" data-testid="message-event" data-status={e.status}>
                    <span class="text-nowrap">
                      <Time iso={e.at} />
                    </span>
                    <StateBadge state={e.status} />
                    {e.attempt !== null && <span class="text-body-secondary">attempt {e.attempt}</span>}
                    <span class="text-break">{e.detail}</span>
                  </li>
                ))}
              </ul>
            </div>
          </div>
          <div class="col-lg-7">
            <div class="card shadow-sm">
              <div class="card-header bg-body">Content</div>
              <div class="card-body">
                <MessageContent channel={m.channel} content={m.content} />
              </div>
            </div>
          </div>
        </div>
      </div>
    </MessagingLayout>
  );
}

// ---- capture outbox

/**
 * What the `capture` provider accepted instead of sending: every email, SMS and push as
 * its recipient would have seen it (for demos and development).
 */
export function OutboxPage() {
  const { draft, setDraft, filters, key } = useHashFilters();
  const messages = usePagedList(
    (cursor) => get<Page<Message>>('/v1/messages', { ...query(filters), provider: 'capture', cursor, limit: 20 }),
    [key],
  );
  const pending = (messages.items ?? []).some((m) => PENDING.has(m.status));
  usePolling(() => void messages.reload(), 2000, pending && messages.next === null);

  return (
    <MessagingLayout active="outbox">
      <div data-testid="outbox-page">
        <PageHeader
          title="Capture outbox"
          subtitle="Messages the capture provider kept instead of sending: what would have gone out"
        />
        <div class="card shadow-sm mb-3">
          <div class="card-body py-2">
            <FilterBar draft={draft} setDraft={setDraft} only={['campaign', 'customer', 'channel', 'status']} testid="outbox-filters" />
          </div>
        </div>
        <ProblemAlert error={messages.error} />
        {messages.items === null ? (
          <Spinner />
        ) : messages.items.length === 0 ? (
          <div class="card shadow-sm">
            <div class="card-body text-center text-body-secondary py-4" data-testid="outbox-empty">
              Nothing captured{filters.campaign || filters.customer || filters.channel || filters.status ? ' for these filters' : ''}. Messages
              go here when a channel's provider is <code>capture</code>.
            </div>
          </div>
        ) : (
          <div class="row g-3" data-testid="outbox-list">
            {messages.items.map((m) => (
              <div class="col-md-6 col-xl-4" key={m.id}>
                <div class="card shadow-sm h-100" data-testid="outbox-item" data-id={m.id} data-channel={m.channel} data-campaign={m.campaign_id ?? ''}>
                  <div class="card-header bg-body d-flex flex-wrap align-items-center gap-2 fw-normal">
                    <ChannelBadge channel={m.channel} />
                    <span class="small text-break flex-grow-1" data-testid="outbox-recipient">
                      {m.recipient}
                    </span>
                    <StateBadge state={m.status} />
                  </div>
                  <div class="card-body">
                    <MessageContent channel={m.channel} content={m.content} testid="outbox-content" />
                  </div>
                  <div class="card-footer bg-body small d-flex justify-content-between">
                    <span>
                      <Time iso={m.sent_at ?? m.created_at} />
                      {m.campaign_id && (
                        <>
                          {' · '}
                          <a href={href('messaging', 'campaigns', m.campaign_id)}>campaign {m.campaign_id}</a>
                        </>
                      )}
                    </span>
                    <a href={href('messaging', 'messages', m.id)} data-testid="outbox-open">
                      Details
                    </a>
                  </div>
                </div>
              </div>
            ))}
          </div>
        )}
        {messages.next && (
          <div class="text-center mt-3">
            <button class="btn btn-sm btn-outline-secondary" onClick={() => void messages.more()} disabled={messages.loadingMore} data-testid="outbox-more">
              {messages.loadingMore ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </div>
    </MessagingLayout>
  );
}

