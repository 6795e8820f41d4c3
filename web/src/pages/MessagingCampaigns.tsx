// Campaigns: the list with live progress, the create/edit form and the detail
// page with its state buttons and live counts.
import { useState } from 'preact/hooks';
import { ApiError, del, get, patch, post, request } from '../api';
import { useLists, useSegments } from '../clients';
import { DataTable, LoadMore } from '../components/DataTable';
import { LazyCount } from '../components/hub';
import {
  BusySpinner,
  ConfirmDialog,
  Field,
  fieldError,
  inputClass,
  JsonBlock,
  Notice,
  PageHeader,
  ProblemAlert,
  ProgressBar,
  Spinner,
  Switch,
  Time,
} from '../components/ui';
import { useAction, useLoader, usePagedList, usePolling } from '../hooks';
import {
  type Audience,
  audienceOf,
  type Campaign,
  campaignActions,
  campaignDone,
  campaignPath,
  CAMPAIGN_STATES,
  CHANNEL_LABELS,
  CHANNELS,
  type Channel,
  localInputToIso,
  progressState,
  toLocalInput,
  useTemplates,
  type Variant,
  wallClockIso,
} from '../messaging';
import { href, hrefQuery, navigate, parseHashQuery, replaceHashQuery } from '../router';
import { useCan } from '../session';
import type { DistributionList, Page } from '../types';
import { ChannelBadge, Facts, MissingRoute, MessagingLayout, MsgBreadcrumb, routeMissing, StateBadge } from './MessagingCommon';

const LIVE_STATES = new Set(['scheduled', 'sending']);

/** A list or segment as the campaign's audience names it: by its id where the server shows one, else by key. */
type Keyed = { key: string; name: string; id?: string | number };
const refOf = (x: Keyed) => String(x.id ?? x.key);

function audienceBody(kind: 'list' | 'segment', item: Keyed): Audience {
  // The contract names the audience by id ({"list_id": 3}); lists and segments
  // that do not expose an id are named by their key.
  if (item.id !== undefined) return { [`${kind}_id`]: Number(item.id) };
  return { [kind]: item.key };
}

function AudienceLabel(props: { audience: Audience; lists: readonly Keyed[] | null; segments: readonly Keyed[] | null }) {
  const a = audienceOf(props.audience);
  if (!a) return <span class="text-body-tertiary">—</span>;
  const pool = a.kind === 'list' ? props.lists : props.segments;
  const hit = (pool ?? []).find((x) => refOf(x) === a.ref || x.key === a.ref);
  return (
    <span>
      <span class="text-body-secondary">{a.kind} </span>
      {hit ? <a href={href(a.kind === 'list' ? 'lists' : 'segments', hit.key)}>{hit.name}</a> : <code>{a.ref}</code>}
    </span>
  );
}

export function CampaignsPage() {
  const canWrite = useCan('messaging', 'write');
  const [state, setState] = useState(() => parseHashQuery(window.location.hash).state ?? '');
  const campaigns = usePagedList(
    (cursor) => get<Page<Campaign>>('/v1/campaigns', { state, cursor, limit: 50 }),
    [state],
    (c) => String(c.id),
  );
  const live = (campaigns.items ?? []).some((c) => LIVE_STATES.has(c.state));
  usePolling(() => void campaigns.reload(), 2000, live);

  return (
    <MessagingLayout active="campaigns">
      <div data-testid="campaigns-page">
        <PageHeader
          title="Campaigns"
          subtitle="One message to a list or a saved segment, now or at a set time"
          actions={
            canWrite && (
              <a class="btn btn-primary" href={href('messaging', 'campaigns', 'new')} data-testid="new-campaign">
                + New campaign
              </a>
            )
          }
        />
        {routeMissing(campaigns.error) ? (
          <MissingRoute what="campaigns (GET /v1/campaigns)" />
        ) : (
          <div class="card shadow-sm">
            <div class="card-header bg-body">
              <div class="row g-2 align-items-end">
                <div class="col-6 col-md-3 col-lg-2">
                  <label for="campaigns-state" class="form-label small mb-1">
                    State
                  </label>
                  <select
                    id="campaigns-state"
                    class="form-select form-select-sm"
                    value={state}
                    onChange={(e) => {
                      setState(e.currentTarget.value);
                      replaceHashQuery({ state: e.currentTarget.value });
                    }}
                  >
                    <option value="">Any</option>
                    {CAMPAIGN_STATES.map((s) => (
                      <option key={s} value={s}>
                        {s}
                      </option>
                    ))}
                  </select>
                </div>
              </div>
            </div>
            <ProblemAlert error={campaigns.error} />
            <DataTable
              testid="campaigns-table"
              cols={6}
              head={
                <>
                  <th>Name</th>
                  <th>Channel</th>
                  <th>State</th>
                  <th style={{ minWidth: '12rem' }}>Progress</th>
                  <th>Send at</th>
                  <th>Updated</th>
                </>
              }
              items={campaigns.items}
              loading={campaigns.loading}
              empty="No campaigns yet."
              row={(c) => (
                <tr key={c.id} data-testid="campaign-row" data-id={c.id} data-state={c.state}>
                  <td>
                    <a href={href('messaging', 'campaigns', String(c.id))} class="fw-medium" data-testid="campaign-link">
                      {c.name}
                    </a>
                  </td>
                  <td>
                    <ChannelBadge channel={c.channel} />
                  </td>
                  <td>
                    <StateBadge state={c.state} testid="campaign-state" />
                  </td>
                  <td>
                    <ProgressBar
                      done={campaignDone(c)}
                      total={c.counts?.audience ?? 0}
                      label={`Progress of ${c.name}`}
                      state={progressState(c.state)}
                      testid="campaign-progress"
                    />
                  </td>
                  <td class="small">
                    {c.send_at ? <Time iso={c.send_at} /> : <span class="text-body-secondary">when scheduled</span>}
                    {c.local_time && <span class="badge text-bg-light border ms-1">local time</span>}
                  </td>
                  <td class="small">
                    <Time iso={c.updated_at} />
                  </td>
                </tr>
              )}
            />
            <LoadMore next={campaigns.next} loading={campaigns.loadingMore} onMore={() => void campaigns.more()} testid="campaigns-more" />
          </div>
        )}
      </div>
    </MessagingLayout>
  );
}

// ---- detail

export function CampaignDetailPage(props: { id: string }) {
  const canWrite = useCan('messaging', 'write');
  const loaded = useLoader(() => get<Campaign>(campaignPath(props.id)), [props.id]);
  const lists = useLists();
  const segments = useSegments();
  const [confirm, setConfirm] = useState<'cancel' | 'delete' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  const c = loaded.data;
  // Every second while it sends (or waits to start), so the counts and the bar move.
  usePolling(() => void loaded.reload(), 1000, c !== null && LIVE_STATES.has(c.state));

  const transition = (verb: 'schedule' | 'pause' | 'resume', done: string) =>
    void action.run(async () => {
      loaded.setData(await post<Campaign>(campaignPath(props.id, verb)));
      setNotice(done);
    });

  if (!c) {
    return (
      <MessagingLayout active="campaigns">
        <MsgBreadcrumb section="campaigns" sectionLabel="Campaigns" label={props.id} />
        {loaded.error ? <ProblemAlert error={loaded.error} /> : <Spinner />}
      </MessagingLayout>
    );
  }
  const can = campaignActions(c.state);
  const counts = c.counts ?? {};
  const done = campaignDone(c);
  const audience = counts.audience ?? 0;
  const id = String(c.id);

  return (
    <MessagingLayout active="campaigns">
      <div data-testid="campaign-detail" data-state={c.state}>
        <MsgBreadcrumb section="campaigns" sectionLabel="Campaigns" label={c.name} />
        <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
          <h1 class="h3 mb-0 text-break">{c.name}</h1>
          <StateBadge state={c.state} testid="campaign-state" />
          <ChannelBadge channel={c.channel} />
          <div class="ms-auto d-flex flex-wrap gap-2">
            {canWrite && (
              <>
                {can.edit && (
                  <a class="btn btn-outline-secondary" href={href('messaging', 'campaigns', id, 'edit')} data-testid="campaign-edit">
                    Edit
                  </a>
                )}
                <button
                  type="button"
                  class="btn btn-primary"
                  disabled={!can.schedule || action.busy}
                  onClick={() => transition('schedule', c.send_at ? 'The campaign is scheduled.' : 'The campaign is scheduled to send now.')}
                  data-testid="campaign-schedule"
                >
                  <BusySpinner busy={action.busy} />
                  {c.send_at ? 'Schedule' : 'Send now'}
                </button>
                <button
                  type="button"
                  class="btn btn-outline-warning"
                  disabled={!can.pause || action.busy}
                  onClick={() => transition('pause', 'The campaign is paused: its queued messages wait.')}
                  data-testid="campaign-pause"
                >
                  Pause
                </button>
                <button
                  type="button"
                  class="btn btn-outline-success"
                  disabled={!can.resume || action.busy}
                  onClick={() => transition('resume', 'The campaign resumed.')}
                  data-testid="campaign-resume"
                >
                  Resume
                </button>
                <button
                  type="button"
                  class="btn btn-outline-danger"
                  disabled={!can.cancel || action.busy}
                  onClick={() => setConfirm('cancel')}
                  data-testid="campaign-cancel"
                >
                  Cancel campaign
                </button>
                {can.remove && (
                  <button type="button" class="btn btn-outline-danger" onClick={() => setConfirm('delete')} data-testid="campaign-delete">
                    Delete
                  </button>
                )}
              </>
            )}
          </div>
        </div>
        {notice && (
          <Notice testid="campaign-notice" onClose={() => setNotice(null)}>
            {notice}
          </Notice>
        )}
        <ProblemAlert error={action.error} testid="campaign-error" onClose={() => action.setError(null)} />
        {loaded.error && <ProblemAlert error={loaded.error} />}

        <div class="card shadow-sm mb-3">
          <div class="card-body">
            <div class="d-flex justify-content-between small text-body-secondary mb-1">
              <span>
                {done.toLocaleString()} of {audience.toLocaleString()} with an outcome
              </span>
              {c.state === 'sending' && <span class="spinner-border spinner-border-sm" role="status" aria-label="Sending" />}
            </div>
            <ProgressBar done={done} total={audience} label="Campaign progress" state={progressState(c.state)} testid="campaign-progress" height="1rem" />
            <div class="row g-2 mt-2" data-testid="campaign-counts">
              {(['audience', 'queued', 'sent', 'delivered', 'failed', 'suppressed', 'cancelled'] as const).map((k) => (
                <div class="col-6 col-md-3 col-xl" key={k}>
                  <div class="count-tile" data-testid={`count-${k}`} data-count={counts[k] ?? 0}>
                    <div class="small text-body-secondary">{k}</div>
                    <div class={`count-value ${k === 'failed' && (counts[k] ?? 0) > 0 ? 'text-danger' : ''}`}>{(counts[k] ?? 0).toLocaleString()}</div>
                  </div>
                </div>
              ))}
            </div>
            <div class="mt-3 d-flex flex-wrap gap-2">
              <a class="btn btn-sm btn-outline-secondary" href={hrefQuery(['messaging', 'messages'], { campaign: id })} data-testid="campaign-messages">
                Messages in the delivery log
              </a>
              <a class="btn btn-sm btn-outline-secondary" href={hrefQuery(['messaging', 'outbox'], { campaign: id })} data-testid="campaign-outbox">
                In the capture outbox
              </a>
            </div>
          </div>
        </div>

        <div class="row g-3">
          <div class="col-lg-6">
            <div class="card shadow-sm h-100">
              <div class="card-header bg-body">Campaign</div>
              <div class="card-body">
                <Facts
                  rows={[
                    ['Channel', CHANNEL_LABELS[c.channel] ?? c.channel],
                    ['Template', c.template_key ? <a href={href('messaging', 'templates', c.template_key)}>{c.template_key}</a> : null, 'campaign-template'],
                    ['Audience', <AudienceLabel audience={c.audience} lists={lists.data} segments={segments.data} />],
                    ['Topic', c.topic],
                    [
                      'Send',
                      c.send_at ? (
                        <>
                          <Time iso={c.send_at} />
                          {c.local_time && ' (that wall-clock time in each recipient’s zone)'}
                        </>
                      ) : (
                        'as soon as scheduled'
                      ),
                    ],
                    ['Rate limit', c.rate_limit_per_minute ? `${c.rate_limit_per_minute.toLocaleString()} per minute` : 'none'],
                    [
                      'A/B variants',
                      c.variants && c.variants.length > 0 ? (
                        <ul class="list-unstyled mb-0" data-testid="campaign-variants">
                          {c.variants.map((v) => (
                            <li key={v.key}>
                              <strong>{v.key}</strong> {v.percent}% → <a href={href('messaging', 'templates', v.template_key)}>{v.template_key}</a>
                            </li>
                          ))}
                        </ul>
                      ) : null,
                    ],
                  ]}
                />
              </div>
            </div>
          </div>
          <div class="col-lg-6">
            <div class="card shadow-sm h-100">
              <div class="card-header bg-body">History</div>
              <div class="card-body">
                <Facts
                  rows={[
                    ['Created', <><Time iso={c.created_at} />{c.created_by ? ` by ${c.created_by}` : ''}</>],
                    ['Updated', <Time iso={c.updated_at} />],
                    ['Started', c.started_at ? <Time iso={c.started_at} /> : null, 'campaign-started'],
                    ['Completed', c.completed_at ? <Time iso={c.completed_at} /> : null, 'campaign-completed'],
                    ['Version', String(c.version)],
                  ]}
                />
                {c.data && Object.keys(c.data).length > 0 && (
                  <>
                    <div class="small text-body-secondary mt-2 mb-1">Variables (campaign.*)</div>
                    <JsonBlock value={c.data} />
                  </>
                )}
              </div>
            </div>
          </div>
        </div>
      </div>
      {confirm === 'cancel' && (
        <ConfirmDialog
          title={`Cancel campaign ${c.name}?`}
          confirmLabel="Cancel campaign"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            loaded.setData(await post<Campaign>(campaignPath(id, 'cancel')));
            setNotice('The campaign is cancelled; its queued messages will not be sent.');
          }}
        >
          Messages not sent yet are cancelled. Messages already sent stay sent. This cannot be undone.
        </ConfirmDialog>
      )}
      {confirm === 'delete' && (
        <ConfirmDialog
          title={`Delete draft ${c.name}?`}
          confirmLabel="Delete"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await del(campaignPath(id));
            navigate('messaging', 'campaigns');
          }}
        >
          The draft is removed.
        </ConfirmDialog>
      )}
    </MessagingLayout>
  );
}

// ---- create / edit

export function CampaignEditPage(props: { id: string | null }) {
  const loaded = useLoader(async () => (props.id ? get<Campaign>(campaignPath(props.id)) : null), [props.id]);
  if (props.id && !loaded.data) {
    return (
      <MessagingLayout active="campaigns">
        <MsgBreadcrumb section="campaigns" sectionLabel="Campaigns" label={props.id} />
        {loaded.error ? <ProblemAlert error={loaded.error} /> : <Spinner />}
      </MessagingLayout>
    );
  }
  const c = loaded.data;
  if (c && !campaignActions(c.state).edit) {
    return (
      <MessagingLayout active="campaigns">
        <MsgBreadcrumb section="campaigns" sectionLabel="Campaigns" label={c.name} />
        <div class="alert alert-secondary" data-testid="campaign-not-editable">
          A {c.state} campaign cannot be changed any more. <a href={href('messaging', 'campaigns', String(c.id))}>Back to the campaign</a>
        </div>
      </MessagingLayout>
    );
  }
  return (
    <MessagingLayout active="campaigns">
      <CampaignForm initial={c ?? null} />
    </MessagingLayout>
  );
}

const listCount = async (key: string) => (await get<DistributionList>(`/v1/lists/${encodeURIComponent(key)}`)).members ?? 0;
const segmentCount = async (key: string) => (await get<{ count: number }>(`/v1/segments/${encodeURIComponent(key)}/count`)).count;

function CampaignForm(props: { initial: Campaign | null }) {
  const { initial } = props;
  const templates = useTemplates();
  const lists = useLists();
  const segments = useSegments();
  const initialAudience = audienceOf(initial?.audience);
  const [name, setName] = useState(initial?.name ?? '');
  const [channel, setChannel] = useState<Channel>(initial?.channel ?? 'email');
  const [template, setTemplate] = useState(initial?.template_key ?? '');
  const [topic, setTopic] = useState(initial?.topic ?? '');
  const [kind, setKind] = useState<'list' | 'segment'>(initialAudience?.kind ?? 'list');
  // The chosen list's or segment's reference (id or key, see refOf).
  const [ref, setRef] = useState(initialAudience?.ref ?? '');
  const [when, setWhen] = useState<'now' | 'at'>(initial?.send_at ? 'at' : 'now');
  const [localTime, setLocalTime] = useState(initial?.local_time ?? false);
  const [at, setAt] = useState(() =>
    initial?.send_at ? (initial.local_time ? initial.send_at.slice(0, 16) : toLocalInput(initial.send_at)) : '',
  );
  const [ab, setAb] = useState((initial?.variants?.length ?? 0) > 0);
  const [variants, setVariants] = useState<Variant[]>(
    initial?.variants?.length
      ? initial.variants
      : [
          { key: 'A', template_key: '', percent: 50 },
          { key: 'B', template_key: '', percent: 50 },
        ],
  );
  const [rate, setRate] = useState(initial?.rate_limit_per_minute ? String(initial.rate_limit_per_minute) : '');
  const [dataText, setDataText] = useState(initial?.data && Object.keys(initial.data).length ? JSON.stringify(initial.data, null, 2) : '');
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const save = useAction((e) =>
    e instanceof ApiError && (e.status === 409 || e.status === 412)
      ? new ApiError(e.status, { ...e.problem, detail: `${e.problem.detail ?? ''} Reload the campaign before saving again.`.trim() }, null)
      : e,
  );
  const fe = { ...save.fieldErrors, ...localErrors };

  const forChannel = (templates.data ?? []).filter((t) => t.channel === channel);
  const pool: readonly Keyed[] = (kind === 'list' ? lists.data : segments.data) ?? [];
  const chosen = pool.find((x) => refOf(x) === ref || x.key === ref) ?? null;
  const percentSum = variants.reduce((s, v) => s + (Number.isFinite(v.percent) ? v.percent : 0), 0);

  const submit = async () => {
    const errs: Record<string, string> = {};
    let data: Record<string, unknown> | undefined;
    if (dataText.trim()) {
      try {
        const v: unknown = JSON.parse(dataText);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) errs.data = 'must be a JSON object';
        else data = v as Record<string, unknown>;
      } catch (e) {
        errs.data = `not valid JSON: ${(e as Error).message}`;
      }
    }
    if (!chosen) errs.audience = `choose a ${kind}`;
    if (when === 'at' && !at) errs.send_at = 'choose a date and time';
    if (rate.trim() && !/^[1-9]\d*$/.test(rate.trim())) errs.rate_limit_per_minute = 'a whole number above 0, or empty for no limit';
    if (ab && percentSum !== 100) errs.variants = `the percentages add up to ${percentSum}, not 100`;
    setLocalErrors(errs);
    if (Object.keys(errs).length > 0) {
      throw new ApiError(422, { title: 'Check the campaign', errors: Object.entries(errs).map(([field, message]) => ({ field, message })) }, null);
    }
    const body: Record<string, unknown> = {
      name: name.trim(),
      channel,
      template_key: template,
      topic: topic.trim() || null,
      audience: audienceBody(kind, chosen!),
      send_at: when === 'at' ? (localTime ? wallClockIso(at) : localInputToIso(at)) : null,
      local_time: when === 'at' && localTime,
      rate_limit_per_minute: rate.trim() ? Number(rate.trim()) : null,
    };
    if (ab) body.variants = variants.map((v) => ({ key: v.key.trim(), template_key: v.template_key, percent: Number(v.percent) }));
    else if (initial?.variants?.length) body.variants = [];
    if (data) body.data = data;
    else if (initial?.data && Object.keys(initial.data).length) body.data = {};
    if (initial) {
      await patch<Campaign>(campaignPath(initial.id), body, { 'If-Match': `"${initial.version}"` });
      navigate('messaging', 'campaigns', String(initial.id));
    } else {
      const res = await request<Campaign>('/v1/campaigns', { method: 'POST', body });
      navigate('messaging', 'campaigns', String(res.data.id));
    }
  };

  const setVariant = (i: number, v: Partial<Variant>) => setVariants(variants.map((x, j) => (j === i ? { ...x, ...v } : x)));
  const templateOptions = (
    <>
      {forChannel.map((t) => (
        <option key={t.key} value={t.key}>
          {t.name} ({t.key})
        </option>
      ))}
    </>
  );

  return (
    <div data-testid="campaign-editor">
      <MsgBreadcrumb
        section="campaigns"
        sectionLabel="Campaigns"
        label={initial ? <a href={href('messaging', 'campaigns', String(initial.id))}>{initial.name}</a> : 'New campaign'}
      />
      <PageHeader title={initial ? `Edit ${initial.name}` : 'New campaign'} subtitle="Saved as a draft; schedule it on its page" />
      <form
        class="card shadow-sm"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save.run(submit);
        }}
        data-testid="campaign-form"
      >
        <div class="card-body">
          <ProblemAlert error={save.error} shownFields={Object.keys(fe)} />
          <ProblemAlert error={templates.error ?? lists.error ?? segments.error} testid="load-error" />
          <div class="row">
            <Field id="campaign-name" label="Name" class="col-md-6 mb-3" error={fe.name}>
              <input id="campaign-name" class={inputClass(fe.name)} value={name} onInput={(e) => setName(e.currentTarget.value)} autocomplete="off" />
            </Field>
            <Field id="campaign-channel" label="Channel" class="col-md-2 mb-3" error={fe.channel}>
              <select
                id="campaign-channel"
                class={inputClass(fe.channel, 'form-select')}
                value={channel}
                onChange={(e) => {
                  setChannel(e.currentTarget.value as Channel);
                  setTemplate('');
                }}
              >
                {CHANNELS.map((ch) => (
                  <option key={ch} value={ch}>
                    {CHANNEL_LABELS[ch]}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="campaign-template" label="Template" class="col-md-4 mb-3" error={fe.template_key}>
              <select id="campaign-template" class={inputClass(fe.template_key, 'form-select')} value={template} onChange={(e) => setTemplate(e.currentTarget.value)}>
                <option value="">{templates.loading ? 'Loading…' : forChannel.length ? 'Choose a template…' : `No ${CHANNEL_LABELS[channel]} templates`}</option>
                {templateOptions}
              </select>
            </Field>
          </div>

          <fieldset class="mb-3">
            <legend class="form-label fs-6 mb-1">Audience</legend>
            <div class="row g-2 align-items-start">
              <div class="col-md-3">
                <select
                  id="campaign-audience-kind"
                  aria-label="Audience kind"
                  class="form-select"
                  value={kind}
                  onChange={(e) => {
                    setKind(e.currentTarget.value as 'list' | 'segment');
                    setRef('');
                  }}
                >
                  <option value="list">A list</option>
                  <option value="segment">A saved segment</option>
                </select>
              </div>
              <div class="col-md-5">
                <select
                  id="campaign-audience"
                  aria-label={kind === 'list' ? 'List' : 'Segment'}
                  class={inputClass(fieldError(fe, 'audience'), 'form-select')}
                  value={chosen ? refOf(chosen) : ''}
                  onChange={(e) => setRef(e.currentTarget.value)}
                  data-testid="campaign-audience"
                >
                  <option value="">{kind === 'list' ? 'Choose a list…' : 'Choose a segment…'}</option>
                  {pool.map((x) => (
                    <option key={x.key} value={refOf(x)}>
                      {x.name} ({x.key})
                    </option>
                  ))}
                </select>
                {fieldError(fe, 'audience') && <div class="invalid-feedback d-block">{fieldError(fe, 'audience')}</div>}
                {chosen && chosen.id === undefined && (
                  <div class="form-text text-warning-emphasis" data-testid="audience-no-id">
                    This server does not show the {kind}'s id, which a campaign's audience needs ({kind}_id).
                  </div>
                )}
              </div>
              <div class="col-md-4 pt-2 small" data-testid="audience-count-box">
                {chosen && (
                  <>
                    <LazyCount
                      load={() => (kind === 'list' ? listCount(chosen.key) : segmentCount(chosen.key))}
                      deps={[kind, chosen.key]}
                      testid="audience-count"
                    />{' '}
                    customers now
                  </>
                )}
              </div>
            </div>
          </fieldset>

          <div class="row">
            <div class="col-md-6 mb-3">
              <div class="form-label">When</div>
              <div class="form-check">
                <input class="form-check-input" type="radio" id="campaign-when-now" checked={when === 'now'} onChange={() => setWhen('now')} />
                <label class="form-check-label" for="campaign-when-now">
                  As soon as it is scheduled
                </label>
              </div>
              <div class="form-check">
                <input class="form-check-input" type="radio" id="campaign-when-at" checked={when === 'at'} onChange={() => setWhen('at')} />
                <label class="form-check-label" for="campaign-when-at">
                  At a set minute
                </label>
              </div>
              {when === 'at' && (
                <div class="mt-2 ps-4">
                  <input
                    id="campaign-send-at"
                    type="datetime-local"
                    step={60}
                    aria-label="Send at"
                    class={inputClass(fe.send_at)}
                    value={at}
                    onInput={(e) => setAt(e.currentTarget.value)}
                  />
                  {fe.send_at && <div class="invalid-feedback d-block">{fe.send_at}</div>}
                  <div class="mt-2">
                    <Switch id="campaign-local-time" label="In each recipient's time zone" checked={localTime} onChange={setLocalTime} />
                  </div>
                  <div class="form-text">
                    {localTime ? 'The time as written, on each recipient’s own clock.' : 'In your browser’s time zone.'}
                  </div>
                </div>
              )}
            </div>
            <Field id="campaign-topic" label="Topic" class="col-md-3 mb-3" error={fe.topic} help="Preference topic customers can opt out of, e.g. offers">
              <input id="campaign-topic" class={inputClass(fe.topic)} value={topic} onInput={(e) => setTopic(e.currentTarget.value)} autocomplete="off" />
            </Field>
            <Field id="campaign-rate" label="Rate limit per minute" class="col-md-3 mb-3" error={fe.rate_limit_per_minute} help="Empty: as fast as the providers allow">
              <input
                id="campaign-rate"
                type="number"
                min={1}
                class={inputClass(fe.rate_limit_per_minute)}
                value={rate}
                onInput={(e) => setRate(e.currentTarget.value)}
              />
            </Field>
          </div>

          <div class="mb-3">
            <Switch id="campaign-ab" label="A/B test: split the audience between templates" checked={ab} onChange={setAb} />
            {ab && (
              <div class="mt-2" data-testid="campaign-variants-editor">
                <table class="table table-sm align-middle mb-1">
                  <thead class="table-light">
                    <tr>
                      <th style={{ width: '6rem' }}>Variant</th>
                      <th>Template</th>
                      <th style={{ width: '8rem' }}>Percent</th>
                      <th />
                    </tr>
                  </thead>
                  <tbody>
                    {variants.map((v, i) => (
                      <tr key={i} data-testid="variant-row">
                        <td>
                          <input
                            class={inputClass(fe[`variants[${i}].key`], 'form-control form-control-sm')}
                            aria-label={`Variant ${i + 1} key`}
                            value={v.key}
                            onInput={(e) => setVariant(i, { key: e.currentTarget.value })}
                          />
                        </td>
                        <td>
                          <select
                            class={inputClass(fe[`variants[${i}].template_key`], 'form-select form-select-sm')}
                            aria-label={`Variant ${i + 1} template`}
                            value={v.template_key}
                            onChange={(e) => setVariant(i, { template_key: e.currentTarget.value })}
                          >
                            <option value="">Choose…</option>
                            {templateOptions}
                          </select>
                          {fieldError(fe, `variants[${i}]`) && <div class="invalid-feedback d-block">{fieldError(fe, `variants[${i}]`)}</div>}
                        </td>
                        <td>
                          <div class="input-group input-group-sm">
                            <input
                              type="number"
                              min={0}
                              max={100}
                              class={inputClass(fe[`variants[${i}].percent`], 'form-control')}
                              aria-label={`Variant ${i + 1} percent`}
                              value={String(v.percent)}
                              onInput={(e) => setVariant(i, { percent: Number(e.currentTarget.value) })}
                            />
                            <span class="input-group-text">%</span>
                          </div>
                        </td>
                        <td class="text-end">
                          {variants.length > 2 && (
                            <button type="button" class="btn btn-sm btn-link text-danger" onClick={() => setVariants(variants.filter((_, j) => j !== i))}>
                              Remove
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <div class="d-flex align-items-center gap-3 small">
                  <button
                    type="button"
                    class="btn btn-sm btn-outline-secondary"
                    onClick={() => setVariants([...variants, { key: String.fromCharCode(65 + variants.length), template_key: '', percent: 0 }])}
                    disabled={variants.length >= 10}
                  >
                    + Variant
                  </button>
                  <span class={percentSum === 100 ? 'text-success' : 'text-danger'} data-testid="variants-sum">
                    Total {percentSum}%
                  </span>
                  {fe.variants && <span class="text-danger">{fe.variants}</span>}
                </div>
              </div>
            )}
          </div>

          <Field id="campaign-data" label="Variables (JSON, optional)" error={fe.data} help={'The templates\' {{campaign.*}} variables, e.g. {"offer": "20% off"}'}>
            <textarea
              id="campaign-data"
              class={`${inputClass(fe.data)} font-monospace small`}
              rows={3}
              spellcheck={false}
              value={dataText}
              onInput={(e) => setDataText(e.currentTarget.value)}
            />
          </Field>

          <div class="d-flex gap-2">
            <button type="submit" class="btn btn-primary" disabled={save.busy} data-testid="campaign-save">
              <BusySpinner busy={save.busy} />
              {initial ? 'Save campaign' : 'Create draft'}
            </button>
            <a class="btn btn-outline-secondary" href={initial ? href('messaging', 'campaigns', String(initial.id)) : href('messaging', 'campaigns')}>
              Cancel
            </a>
          </div>
        </div>
      </form>
    </div>
  );
}

