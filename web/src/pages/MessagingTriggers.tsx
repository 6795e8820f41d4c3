// Triggers: messages sent when an event arrives (order shipped, price alert), the list and the editor.
import { useState } from 'preact/hooks';
import { ApiError, del, get, request } from '../api';
import { DataTable } from '../components/DataTable';
import { BusySpinner, ConfirmDialog, Field, fieldError, inputClass, Notice, PageHeader, ProblemAlert, Spinner, Switch, Time } from '../components/ui';
import { useAction, useLoader } from '../hooks';
import { CHANNEL_LABELS, CHANNELS, type Channel, type Lane, type Trigger, triggerPath, useTemplates } from '../messaging';
import { href, navigate } from '../router';
import { useCan } from '../session';
import { ChannelBadge, MissingRoute, MessagingLayout, MsgBreadcrumb, routeMissing, StateBadge } from './MessagingCommon';

const useTriggers = () => useLoader(async () => (await get<{ items: Trigger[] }>('/v1/triggers')).items, []);

function fmtSeconds(s: number): string {
  if (!s) return '—';
  if (s % 86400 === 0) return `${s / 86400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

export function TriggersPage() {
  const canWrite = useCan('messaging', 'write');
  const triggers = useTriggers();
  return (
    <MessagingLayout active="triggers">
      <div data-testid="triggers-page">
        <PageHeader
          title="Triggers"
          subtitle="Messages sent when an event arrives for a customer: order shipped, price alert, …"
          actions={
            canWrite && (
              <a class="btn btn-primary" href={href('messaging', 'triggers', 'new')} data-testid="new-trigger">
                + New trigger
              </a>
            )
          }
        />
        {routeMissing(triggers.error) ? (
          <MissingRoute what="triggers (GET /v1/triggers)" />
        ) : (
          <div class="card shadow-sm">
            <ProblemAlert error={triggers.error} />
            <DataTable
              testid="triggers-table"
              cols={7}
              head={
                <>
                  <th>Key</th>
                  <th>Event</th>
                  <th>Template</th>
                  <th>Channels</th>
                  <th>Delay</th>
                  <th>State</th>
                  <th>Updated</th>
                </>
              }
              items={triggers.data}
              loading={triggers.loading}
              empty="No triggers yet."
              row={(t) => (
                <tr key={t.key} data-testid="trigger-row" data-key={t.key}>
                  <td>
                    <a href={href('messaging', 'triggers', t.key)} class="fw-medium font-monospace" data-testid="trigger-link">
                      {t.key}
                    </a>
                  </td>
                  <td>
                    <code>{t.event_type}</code>
                    {t.condition != null && <span class="badge text-bg-light border ms-1">condition</span>}
                  </td>
                  <td class="small">
                    <a href={href('messaging', 'templates', t.template_key)}>{t.template_key}</a>
                  </td>
                  <td>
                    {t.channels.map((c, i) => (
                      <span key={c}>
                        {i > 0 && <span class="text-body-tertiary mx-1">→</span>}
                        <ChannelBadge channel={c} />
                      </span>
                    ))}
                  </td>
                  <td class="small">{fmtSeconds(t.delay_seconds)}</td>
                  <td>
                    <StateBadge state={t.enabled ? 'enabled' : 'disabled'} testid="trigger-state" />
                    {t.lane === 'alert' && <span class="badge text-bg-danger ms-1">alert</span>}
                  </td>
                  <td class="small">
                    <Time iso={t.updated_at} />
                  </td>
                </tr>
              )}
            />
          </div>
        )}
      </div>
    </MessagingLayout>
  );
}

export function TriggerEditPage(props: { triggerKey: string | null }) {
  const loaded = useLoader(async () => (props.triggerKey ? get<Trigger>(triggerPath(props.triggerKey)) : null), [props.triggerKey]);
  if (props.triggerKey && !loaded.data) {
    return (
      <MessagingLayout active="triggers">
        <MsgBreadcrumb section="triggers" sectionLabel="Triggers" label={props.triggerKey} />
        {loaded.error ? <ProblemAlert error={loaded.error} /> : <Spinner />}
      </MessagingLayout>
    );
  }
  return (
    <MessagingLayout active="triggers">
      <TriggerEditor key={`${props.triggerKey ?? 'new'}:${loaded.data?.version ?? 0}`} initial={loaded.data ?? null} />
    </MessagingLayout>
  );
}

function TriggerEditor(props: { initial: Trigger | null }) {
  const canWrite = useCan('messaging', 'write');
  const { initial } = props;
  const templates = useTemplates();
  const [saved, setSaved] = useState<Trigger | null>(initial);
  const [key, setKey] = useState(initial?.key ?? '');
  const [eventType, setEventType] = useState(initial?.event_type ?? '');
  const [condition, setCondition] = useState(initial?.condition != null ? JSON.stringify(initial.condition, null, 2) : '');
  const [template, setTemplate] = useState(initial?.template_key ?? '');
  const [channels, setChannels] = useState<Channel[]>(initial?.channels ?? ['push']);
  const [delay, setDelay] = useState(String(initial?.delay_seconds ?? 0));
  const [dedupe, setDedupe] = useState(String(initial?.dedupe_window_seconds ?? 0));
  const [topic, setTopic] = useState(initial?.topic ?? '');
  const [lane, setLane] = useState<Lane>(initial?.lane ?? 'transactional');
  const [enabled, setEnabled] = useState(initial?.enabled ?? true);
  const [local, setLocal] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  const save = useAction();
  const fe = { ...save.fieldErrors, ...local };
  const conflict = save.error instanceof ApiError && (save.error.status === 409 || save.error.status === 412) && !fe.key;

  // After a conflict: the version on the server replaces the edits.
  const reloadSaved = async () => {
    if (!saved) return;
    await save.run(async () => {
      const t = await get<Trigger>(triggerPath(saved.key));
      setSaved(t);
      setEventType(t.event_type);
      setCondition(t.condition != null ? JSON.stringify(t.condition, null, 2) : '');
      setTemplate(t.template_key);
      setChannels(t.channels);
      setDelay(String(t.delay_seconds));
      setDedupe(String(t.dedupe_window_seconds));
      setTopic(t.topic ?? '');
      setLane(t.lane);
      setEnabled(t.enabled);
    });
  };

  const move = (i: number, d: -1 | 1) => {
    const j = i + d;
    if (j < 0 || j >= channels.length) return;
    const next = [...channels];
    [next[i], next[j]] = [next[j]!, next[i]!];
    setChannels(next);
  };

  const submit = async () => {
    const errs: Record<string, string> = {};
    const k = key.trim();
    if (!/^[A-Za-z0-9._:@-]{1,100}$/.test(k)) errs.key = 'letters, digits and . _ : @ - only (1 to 100)';
    let cond: unknown = null;
    if (condition.trim()) {
      try {
        cond = JSON.parse(condition);
        if (cond === null || typeof cond !== 'object' || Array.isArray(cond)) errs.condition = 'must be a JSON object (or empty for none)';
      } catch (e) {
        errs.condition = `not valid JSON: ${(e as Error).message}`;
      }
    }
    if (channels.length === 0) errs.channels = 'choose at least one channel';
    for (const [f, v] of [
      ['delay_seconds', delay],
      ['dedupe_window_seconds', dedupe],
    ] as const) {
      if (!/^\d+$/.test(v.trim())) errs[f] = 'a whole number of seconds';
    }
    setLocal(errs);
    if (Object.keys(errs).length) {
      throw new ApiError(422, { title: 'Check the trigger', errors: Object.entries(errs).map(([field, message]) => ({ field, message })) }, null);
    }
    const sameRecord = saved !== null && saved.key === k;
    if (!sameRecord) {
      const exists = await get<Trigger>(triggerPath(k)).then(
        () => true,
        (e) => {
          if (e instanceof ApiError && e.status === 404) return false;
          throw e;
        },
      );
      if (exists) throw new ApiError(409, { title: 'Key taken', errors: [{ field: 'key', message: `a trigger ${k} exists already` }] }, null);
    }
    const res = await request<Trigger>(triggerPath(k), {
      method: 'PUT',
      body: {
        event_type: eventType.trim(),
        condition: cond,
        template_key: template.trim(),
        channels,
        delay_seconds: Number(delay),
        dedupe_window_seconds: Number(dedupe),
        topic: topic.trim() || null,
        lane,
        enabled,
      },
      headers: sameRecord ? { 'If-Match': `"${saved.version}"` } : undefined,
    });
    setSaved(res.data);
    setNotice(res.status === 201 ? `Trigger ${k} was created.` : `Trigger ${k} was saved.`);
    if (!initial || initial.key !== k) window.history.replaceState(null, '', href('messaging', 'triggers', k));
  };

  return (
    <div data-testid="trigger-editor">
      <MsgBreadcrumb section="triggers" sectionLabel="Triggers" label={initial ? initial.key : 'New trigger'} />
      <PageHeader
        title={initial ? `Trigger ${initial.key}` : 'New trigger'}
        subtitle="When an event of this type arrives for a customer, send the template on the first channel that reaches them"
        actions={
          canWrite &&
          saved && (
            <button type="button" class="btn btn-outline-danger" onClick={() => setDeleting(true)} data-testid="trigger-delete">
              Delete
            </button>
          )
        }
      />
      {notice && (
        <Notice testid="trigger-saved" onClose={() => setNotice(null)}>
          {notice}
        </Notice>
      )}
      <form
        class="card shadow-sm"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save.run(submit);
        }}
        data-testid="trigger-form"
      >
        <div class="card-body">
          <ProblemAlert error={conflict ? null : save.error} shownFields={Object.keys(fe)} />
          <ProblemAlert error={templates.error} testid="load-error" />
          <div class="row">
            <Field id="trigger-key" label="Key" class="col-md-4 mb-3" error={fe.key}>
              <input id="trigger-key" class={inputClass(fe.key)} value={key} onInput={(e) => setKey(e.currentTarget.value)} disabled={initial !== null} autocomplete="off" />
            </Field>
            <Field id="trigger-event" label="Event type" class="col-md-4 mb-3" error={fe.event_type} help="e.g. order.shipped">
              <input id="trigger-event" class={inputClass(fe.event_type)} value={eventType} onInput={(e) => setEventType(e.currentTarget.value)} autocomplete="off" />
            </Field>
            <Field
              id="trigger-template"
              label="Template"
              class="col-md-4 mb-3"
              error={fe.template_key}
              help={
                template.trim() ? (
                  <>
                    Per channel: <code>{template.trim()}.&lt;channel&gt;</code> if saved, else <code>{template.trim()}</code>
                  </>
                ) : (
                  'A template key, or a base key with one template per channel (key.email, key.sms, key.push)'
                )
              }
            >
              <input
                id="trigger-template"
                class={inputClass(fe.template_key)}
                list="trigger-templates"
                value={template}
                onInput={(e) => setTemplate(e.currentTarget.value)}
                autocomplete="off"
              />
              <datalist id="trigger-templates">
                {(templates.data ?? []).map((t) => (
                  <option key={t.key} value={t.key}>
                    {t.name} ({CHANNEL_LABELS[t.channel] ?? t.channel})
                  </option>
                ))}
              </datalist>
            </Field>
          </div>
          <div class="row">
            <div class="col-md-4 mb-3">
              <div class="form-label">Channels, in fallback order</div>
              <ul class="list-group" data-testid="trigger-channels">
                {channels.map((c, i) => (
                  <li class="list-group-item d-flex align-items-center gap-2 py-1" key={c} data-channel={c}>
                    <span class="text-body-secondary small">{i + 1}.</span>
                    <span class="flex-grow-1">{CHANNEL_LABELS[c]}</span>
                    <button type="button" class="btn btn-sm btn-link px-1" aria-label={`Move ${c} up`} disabled={i === 0} onClick={() => move(i, -1)}>
                      ↑
                    </button>
                    <button
                      type="button"
                      class="btn btn-sm btn-link px-1"
                      aria-label={`Move ${c} down`}
                      disabled={i === channels.length - 1}
                      onClick={() => move(i, 1)}
                    >
                      ↓
                    </button>
                    <button type="button" class="btn btn-sm btn-link text-danger px-1" aria-label={`Remove ${c}`} onClick={() => setChannels(channels.filter((x) => x !== c))}>
                      ×
                    </button>
                  </li>
                ))}
              </ul>
              <div class="mt-1 d-flex gap-1">
                {CHANNELS.filter((c) => !channels.includes(c)).map((c) => (
                  <button type="button" key={c} class="btn btn-sm btn-outline-secondary" onClick={() => setChannels([...channels, c])} data-testid={`trigger-add-${c}`}>
                    + {CHANNEL_LABELS[c]}
                  </button>
                ))}
              </div>
              {fieldError(fe, 'channels') && <div class="invalid-feedback d-block">{fieldError(fe, 'channels')}</div>}
            </div>
            <Field id="trigger-delay" label="Delay (seconds)" class="col-md-2 mb-3" error={fe.delay_seconds} help="0: at once">
              <input id="trigger-delay" type="number" min={0} class={inputClass(fe.delay_seconds)} value={delay} onInput={(e) => setDelay(e.currentTarget.value)} />
            </Field>
            <Field id="trigger-dedupe" label="Dedupe window (seconds)" class="col-md-2 mb-3" error={fe.dedupe_window_seconds} help="One message per customer within it">
              <input id="trigger-dedupe" type="number" min={0} class={inputClass(fe.dedupe_window_seconds)} value={dedupe} onInput={(e) => setDedupe(e.currentTarget.value)} />
            </Field>
            <Field id="trigger-topic" label="Topic" class="col-md-2 mb-3" error={fe.topic} help="Preference topic (optional)">
              <input id="trigger-topic" class={inputClass(fe.topic)} value={topic} onInput={(e) => setTopic(e.currentTarget.value)} autocomplete="off" />
            </Field>
            <Field id="trigger-lane" label="Lane" class="col-md-2 mb-3" error={fe.lane} help="alert: never waits behind anything">
              <select id="trigger-lane" class={inputClass(fe.lane, 'form-select')} value={lane} onChange={(e) => setLane(e.currentTarget.value as Lane)}>
                <option value="transactional">transactional</option>
                <option value="alert">alert</option>
              </select>
            </Field>
          </div>
          <Field
            id="trigger-condition"
            label="Condition (JSON, optional)"
            error={fieldError(fe, 'condition')}
            help={
              <>
                Empty: every event of the type. Rules: <code>{'{"all": [...]}'}</code>, <code>{'{"any": [...]}'}</code>, <code>{'{"not": rule}'}</code>,{' '}
                <code>{'{"field": "data.total", "op": "gt", "value": 100}'}</code> with ops eq ne lt lte gt gte in exists
              </>
            }
          >
            <textarea
              id="trigger-condition"
              class={`${inputClass(fieldError(fe, 'condition'))} font-monospace small`}
              rows={5}
              spellcheck={false}
              value={condition}
              onInput={(e) => setCondition(e.currentTarget.value)}
            />
          </Field>
          <div class="mb-3">
            <Switch id="trigger-enabled" label="Enabled" checked={enabled} onChange={setEnabled} />
          </div>
          {canWrite && (
            <div class="d-flex align-items-center gap-2">
              <button type="submit" class="btn btn-primary" disabled={save.busy} data-testid="trigger-save">
                <BusySpinner busy={save.busy} />
                {saved ? 'Save trigger' : 'Create trigger'}
              </button>
              {saved && <span class="small text-body-secondary">Version {saved.version}</span>}
            </div>
          )}
          {conflict && (
            <div class="alert alert-warning mt-3 mb-0 d-flex flex-wrap align-items-center gap-2" role="alert" data-testid="trigger-conflict">
              <div class="flex-grow-1">
                <strong>Not saved: the trigger was changed meanwhile.</strong> {(save.error as ApiError).problem.detail}
              </div>
              <button type="button" class="btn btn-sm btn-outline-secondary" onClick={() => void reloadSaved()}>
                Reload
              </button>
            </div>
          )}
        </div>
      </form>
      {deleting && saved && (
        <ConfirmDialog
          title={`Delete trigger ${saved.key}?`}
          confirmLabel="Delete trigger"
          danger
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await del(triggerPath(saved.key));
            navigate('messaging', 'triggers');
          }}
        >
          Events of type <code>{saved.event_type}</code> no longer send this message.
        </ConfirmDialog>
      )}
    </div>
  );
}
