// The messaging section's layout (sub-navigation, breadcrumbs), badges and the
// rendering of a message's content (email, SMS, push) shared by its pages.
import type { ComponentChildren } from 'preact';
import { Fragment } from 'preact';
import { ApiError } from '../api';
import { JsonBlock } from '../components/ui';
import type { Channel, TemplateContent } from '../messaging';
import { CHANNEL_LABELS } from '../messaging';
import { href } from '../router';

interface Tab {
  key: string;
  label: string;
}

const TABS: Tab[] = [
  { key: 'campaigns', label: 'Campaigns' },
  { key: 'templates', label: 'Templates' },
  { key: 'triggers', label: 'Triggers' },
  { key: 'messages', label: 'Delivery log' },
  { key: 'outbox', label: 'Capture outbox' },
  { key: 'providers', label: 'Providers' },
];

/** The messaging section: its sub-navigation above the page. */
export function MessagingLayout(props: { active: string; children: ComponentChildren }) {
  return (
    <div data-testid="module-messaging">
      <ul class="nav nav-tabs mb-3 flex-nowrap overflow-x-auto text-nowrap" data-testid="messaging-nav" aria-label="Messaging">
        {TABS.map((t) => (
          <li class="nav-item" key={t.key}>
            <a
              class={`nav-link ${props.active === t.key ? 'active' : ''}`}
              aria-current={props.active === t.key ? 'page' : undefined}
              href={href('messaging', t.key)}
              data-testid={`messaging-tab-${t.key}`}
            >
              {t.label}
            </a>
          </li>
        ))}
      </ul>
      {props.children}
    </div>
  );
}

/** "Templates / this template": the trail at the top of a messaging detail page. */
export function MsgBreadcrumb(props: { section: string; sectionLabel: string; label: ComponentChildren }) {
  return (
    <nav aria-label="breadcrumb">
      <ol class="breadcrumb small mb-2">
        <li class="breadcrumb-item">
          <a href={href('messaging', props.section)}>{props.sectionLabel}</a>
        </li>
        <li class="breadcrumb-item active text-truncate" aria-current="page" style={{ maxWidth: '30rem' }}>
          {props.label}
        </li>
      </ol>
    </nav>
  );
}

/** True for the answer of a server that lacks the route (not for a missing record). */
export function routeMissing(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  if (error.status === 405) return true;
  const d = error.problem.detail ?? '';
  return error.status === 404 && (d.startsWith('no route') || d.startsWith('no such page'));
}

/** Shown instead of a page whose server routes this Kontor does not have (yet). */
export function MissingRoute(props: { what: string }) {
  return (
    <div class="alert alert-secondary" data-testid="route-missing">
      <strong>Not available.</strong> This server does not offer {props.what} yet.
    </div>
  );
}

const STATE_STYLE: Record<string, string> = {
  // campaigns
  draft: 'text-bg-light border',
  scheduled: 'text-bg-info',
  sending: 'text-bg-primary',
  paused: 'text-bg-warning',
  completed: 'text-bg-success',
  cancelled: 'text-bg-secondary',
  // messages
  queued: 'text-bg-light border',
  sent: 'text-bg-success',
  delivered: 'text-bg-success',
  failed: 'text-bg-danger',
  suppressed: 'text-bg-warning',
  // providers
  ok: 'text-bg-success',
  // triggers
  enabled: 'text-bg-success',
  disabled: 'text-bg-secondary',
};

export function StateBadge(props: { state: string; testid?: string; title?: string }) {
  return (
    <span class={`badge ${STATE_STYLE[props.state] ?? 'text-bg-light border'}`} data-testid={props.testid} data-state={props.state} title={props.title}>
      {props.state}
    </span>
  );
}

export function ChannelBadge(props: { channel: string }) {
  return <span class="badge rounded-pill text-bg-light border fw-normal">{CHANNEL_LABELS[props.channel as Channel] ?? props.channel}</span>;
}

/** A label/value list in a card body. */
export function Facts(props: { rows: [ComponentChildren, ComponentChildren, string?][]; labelCol?: number }) {
  const l = props.labelCol ?? 4;
  return (
    <dl class="row mb-0 small">
      {props.rows.map(([k, v, testid], i) => (
        <Fragment key={i}>
          <dt class={`col-${l} fw-normal text-body-secondary`}>{k}</dt>
          <dd class={`col-${12 - l} text-break`} data-testid={testid}>
            {v === null || v === undefined || v === '' ? <span class="text-body-tertiary">—</span> : v}
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

/**
 * A message's rendered content as the recipient would see it: an email's subject, its
 * HTML in a sandboxed frame (no scripts, no same-origin access) and its text; an SMS's
 * text; a push notification's title, body, image, link and data.
 */
export function MessageContent(props: { channel: string; content: TemplateContent | null | undefined; testid?: string }) {
  const c = props.content ?? {};
  const testid = props.testid ?? 'message-content';
  if (props.channel === 'email') {
    return (
      <div data-testid={testid} data-channel="email">
        <div class="mb-2">
          <span class="small text-body-secondary me-2">Subject</span>
          <strong data-testid="content-subject">{c.subject ?? <span class="text-body-tertiary">(none)</span>}</strong>
        </div>
        {c.html ? (
          <iframe
            title="Email HTML"
            class="email-frame"
            sandbox=""
            referrerpolicy="no-referrer"
            srcdoc={c.html}
            data-testid="content-html"
          />
        ) : null}
        {c.text ? (
          <details class="mt-2" open={!c.html}>
            <summary class="small text-body-secondary">Plain text</summary>
            <pre class="json-block mb-0 content-text" data-testid="content-text">
              {c.text}
            </pre>
          </details>
        ) : null}
      </div>
    );
  }
  if (props.channel === 'sms') {
    return (
      <div data-testid={testid} data-channel="sms">
        <div class="sms-bubble" data-testid="content-text">
          {c.text ?? ''}
        </div>
      </div>
    );
  }
  return (
    <div data-testid={testid} data-channel="push">
      <div class="push-card">
        {c.image && <img src={c.image} alt="" class="push-image" referrerpolicy="no-referrer" />}
        <div class="fw-semibold" data-testid="content-title">
          {c.title ?? ''}
        </div>
        <div class="small" data-testid="content-body">
          {c.body ?? ''}
        </div>
        {c.link && (
          <div class="small text-body-secondary text-break mt-1">
            opens <code>{c.link}</code>
          </div>
        )}
      </div>
      {c.data && Object.keys(c.data).length > 0 && (
        <div class="mt-2">
          <div class="small text-body-secondary">Data</div>
          <JsonBlock value={c.data} testid="content-data" />
        </div>
      )}
    </div>
  );
}
