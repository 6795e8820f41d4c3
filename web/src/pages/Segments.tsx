import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type FieldError, get, post, request } from '../api';
import { keyProblem, useLists, useProducts, useSegments } from '../clients';
import { DataTable } from '../components/DataTable';
import { LazyCount } from '../components/hub';
import { SegmentBuilder } from '../components/SegmentBuilder';
import { BusySpinner, Field, inputClass, Notice, PageHeader, ProblemAlert, Spinner, Time, Breadcrumb } from '../components/ui';
import { useAction, useDebounced, useLoader } from '../hooks';
import { href, hrefQuery, navigate } from '../router';
import { asRootGroup, incomplete, placeErrors } from '../segmentRules';
import { useCan } from '../session';
import type { Rule, Segment, SegmentPreview } from '../types';

const segmentPath = (key: string) => `/v1/segments/${encodeURIComponent(key)}`;

export function SegmentsPage() {
  const canWrite = useCan('customers', 'write');
  const segments = useSegments();
  return (
    <div data-testid="segments-page">
      <PageHeader
        title="Segments"
        subtitle="Saved target groups: rules over customer fields, attributes, subscriptions, lists, tags and consent"
        actions={
          canWrite && (
            <a class="btn btn-primary" href={href('segments', 'new')} data-testid="new-segment">
              + New segment
            </a>
          )
        }
      />
      <div class="card shadow-sm">
        <ProblemAlert error={segments.error} />
        <DataTable
          testid="segments-table"
          cols={5}
          head={
            <>
              <th>Name</th>
              <th>Key</th>
              <th class="text-end">Customers now</th>
              <th>Updated</th>
              <th />
            </>
          }
          items={segments.data}
          loading={segments.loading}
          empty="No saved segments yet."
          row={(s) => (
            <tr key={s.key} data-testid="segment-row" data-key={s.key}>
              <td>
                <a href={href('segments', s.key)} class="fw-medium" data-testid="segment-link">
                  {s.name}
                </a>
              </td>
              <td class="font-monospace small">{s.key}</td>
              <td class="text-end">
                <LazyCount
                  load={async () => (await get<{ count: number }>(`${segmentPath(s.key)}/count`)).count}
                  deps={[s.key, s.version]}
                  testid="segment-count"
                />
              </td>
              <td class="small">
                <Time iso={s.updated_at} />
              </td>
              <td class="text-end text-nowrap">
                <a class="btn btn-sm btn-outline-secondary me-1" href={hrefQuery(['customers'], { segment: s.key })}>
                  Customers
                </a>
                <a class="btn btn-sm btn-outline-primary" href={href('segments', s.key)}>
                  {canWrite ? 'Edit' : 'View'}
                </a>
              </td>
            </tr>
          )}
        />
      </div>
    </div>
  );
}

type Live =
  | { state: 'idle' }
  | { state: 'incomplete' }
  | { state: 'loading'; last: SegmentPreview | null }
  | { state: 'ready'; preview: SegmentPreview }
  | { state: 'error'; error: unknown; last: SegmentPreview | null };

/** The builder page: #/segments/new or #/segments/<key>. */
export function SegmentEditPage(props: { segmentKey: string | null }) {
  const loaded = useLoader(async () => {
    if (!props.segmentKey) return null;
    const res = await request<Segment>(segmentPath(props.segmentKey));
    return res.data;
  }, [props.segmentKey]);
  if (props.segmentKey && !loaded.data) {
    return (
      <div data-testid="segment-editor">
        <Breadcrumb parent="segments" parentLabel="Segments" label={props.segmentKey} />
        {loaded.error ? <ProblemAlert error={loaded.error} /> : <Spinner />}
      </div>
    );
  }
  return <SegmentEditor key={props.segmentKey ?? 'new'} initial={loaded.data ?? null} />;
}


function SegmentEditor(props: { initial: Segment | null }) {
  const canWrite = useCan('customers', 'write');
  const initial = props.initial;
  const [rule, setRule] = useState<Rule>(() => (initial ? asRootGroup(initial.rule) : { all: [] }));
  const [key, setKey] = useState(initial?.key ?? '');
  const [name, setName] = useState(initial?.name ?? '');
  const [saved, setSaved] = useState<Segment | null>(initial);
  const [notice, setNotice] = useState<string | null>(null);
  const [view, setView] = useState<'builder' | 'json'>('builder');
  const [live, setLive] = useState<Live>({ state: 'idle' });
  // The rule text the live state belongs to: an edit makes the shown count stale at once.
  const [countedText, setCountedText] = useState('');
  const [keyError, setKeyError] = useState<string | null>(null);
  const products = useProducts();
  const lists = useLists();
  const segments = useSegments();
  const save = useAction((e) =>
    e instanceof ApiError && e.status === 409
      ? new ApiError(409, { ...e.problem, detail: `${e.problem.detail ?? ''} The segment was changed meanwhile; reload it before saving.`.trim() }, null)
      : e,
  );

  // The live count: the rule is sent once it has not changed for 400 ms.
  const ruleText = JSON.stringify(rule);
  const debounced = useDebounced(ruleText, 400);
  const seq = useRef(0);
  useEffect(() => {
    const r = JSON.parse(debounced) as Rule;
    setCountedText(debounced);
    if (incomplete(r)) {
      setLive({ state: 'incomplete' });
      return;
    }
    const mine = ++seq.current;
    setLive((l) => ({ state: 'loading', last: l.state === 'ready' ? l.preview : l.state === 'loading' || l.state === 'error' ? l.last : null }));
    post<SegmentPreview>('/v1/segments/preview', { rule: r, sample: 10 }).then(
      (p) => mine === seq.current && setLive({ state: 'ready', preview: p }),
      (e) =>
        mine === seq.current &&
        setLive((l) => ({ state: 'error', error: e, last: l.state === 'loading' ? l.last : null })),
    );
  }, [debounced]);

  // Errors from the count or the save, placed on the builder's controls by their path.
  const errorSource = save.error instanceof ApiError ? save.error : live.state === 'error' && live.error instanceof ApiError ? live.error : null;
  const ruleErrors: FieldError[] = (errorSource?.problem.errors ?? []).filter((e) => e.field === 'rule' || e.field.startsWith('rule.'));
  const { placed, rest } = placeErrors(rule, ruleErrors);
  const fe = save.fieldErrors;

  const doSave = async () => {
    const k = key.trim();
    const problem = keyProblem(k);
    setKeyError(problem);
    if (problem) throw new ApiError(422, { title: 'Check the key', errors: [{ field: 'key', message: problem }] }, null);
    const sameRecord = saved !== null && saved.key === k;
    const res = await request<Segment>(segmentPath(k), {
      method: 'PUT',
      body: { name: name.trim(), rule },
      headers: sameRecord ? { 'If-Match': `"${saved.version}"` } : undefined,
    });
    setSaved(res.data);
    setNotice(res.status === 201 ? `Segment ${k} was created.` : `Segment ${k} was saved.`);
    if (!initial || initial.key !== k) {
      // Now editing the saved segment: its own address.
      window.history.replaceState(null, '', href('segments', k));
    }
  };

  const lastCount = live.state === 'ready' ? live.preview : live.state === 'loading' || live.state === 'error' ? live.last : null;
  const shown: Live = countedText === ruleText || live.state === 'incomplete' || live.state === 'idle' ? live : { state: 'loading', last: lastCount };

  return (
    <div data-testid="segment-editor">
      <Breadcrumb parent="segments" parentLabel="Segments" label={initial ? initial.key : 'New segment'} />
      <PageHeader
        title={initial ? `Segment ${initial.name}` : 'New segment'}
        subtitle="Combine conditions; the count updates as you edit"
        actions={
          saved && (
            <a class="btn btn-outline-secondary" href={hrefQuery(['customers'], { segment: saved.key })} data-testid="segment-customers">
              Show customers
            </a>
          )
        }
      />
      {notice && (
        <Notice testid="segment-saved" onClose={() => setNotice(null)}>
          {notice}
        </Notice>
      )}
      <div class="row g-3">
        <div class="col-lg-8">
          <div class="card shadow-sm mb-3">
            <div class="card-header bg-body d-flex align-items-center justify-content-between">
              <span>
                Rule
                {/* On small screens the count card is below the builder: a summary here. */}
                {lastCount && (
                  <span class={`badge ms-2 d-lg-none ${shown.state === 'ready' ? 'text-bg-primary' : 'text-bg-secondary'}`}>
                    {lastCount.count.toLocaleString()} matching
                  </span>
                )}
              </span>
              <div class="btn-group btn-group-sm" role="tablist" aria-label="Rule view">
                <button
                  type="button"
                  role="tab"
                  aria-selected={view === 'builder'}
                  class={`btn ${view === 'builder' ? 'btn-primary' : 'btn-outline-primary'}`}
                  onClick={() => setView('builder')}
                  data-testid="view-builder"
                >
                  Builder
                </button>
                <button
                  type="button"
                  role="tab"
                  aria-selected={view === 'json'}
                  class={`btn ${view === 'json' ? 'btn-primary' : 'btn-outline-primary'}`}
                  onClick={() => setView('json')}
                  data-testid="view-json"
                >
                  JSON
                </button>
              </div>
            </div>
            <div class="card-body">
              <ProblemAlert error={products.error ?? lists.error ?? segments.error} />
              {rest.length > 0 && (
                <div class="alert alert-danger py-2 small" role="alert" data-testid="rule-errors">
                  {rest.map((e) => (
                    <div key={e.field + e.message}>
                      <code>{e.field}</code>: {e.message}
                    </div>
                  ))}
                </div>
              )}
              {view === 'builder' ? (
                <SegmentBuilder
                  rule={rule}
                  onChange={setRule}
                  context={{
                    errors: placed,
                    products: products.data ?? [],
                    lists: lists.data ?? [],
                    segments: segments.data ?? [],
                    selfKey: key.trim(),
                    readOnly: !canWrite,
                  }}
                />
              ) : (
                <JsonEditor rule={rule} onChange={(r) => setRule(r)} />
              )}
            </div>
          </div>
        </div>
        <div class="col-lg-4">
          <div class="segment-side">
            <LiveCount live={shown} last={lastCount} />
            {canWrite && (
              <form
                class="card shadow-sm mt-3"
                noValidate
                onSubmit={(e) => {
                  e.preventDefault();
                  void save.run(doSave);
                }}
                data-testid="segment-save-form"
              >
                <div class="card-header bg-body">Save</div>
                <div class="card-body">
                  <ProblemAlert error={save.error} shownFields={['key', 'name', 'rule']} />
                  <Field id="segment-key" label="Key" error={keyError ?? fe.key} help={initial ? 'Change it to save a copy under a new key.' : 'Stable id, e.g. gold-email-optin'}>
                    <input id="segment-key" class={inputClass(keyError ?? fe.key)} value={key} onInput={(e) => setKey(e.currentTarget.value)} autocomplete="off" />
                  </Field>
                  <Field id="segment-name" label="Name" error={fe.name}>
                    <input id="segment-name" class={inputClass(fe.name)} value={name} onInput={(e) => setName(e.currentTarget.value)} autocomplete="off" />
                  </Field>
                  <button type="submit" class="btn btn-primary w-100" disabled={save.busy} data-testid="segment-save">
                    <BusySpinner busy={save.busy} />
                    {saved && saved.key === key.trim() ? 'Save segment' : 'Save as new segment'}
                  </button>
                  {saved && (
                    <div class="small text-body-secondary mt-2">
                      Version {saved.version}, updated <Time iso={saved.updated_at} />
                    </div>
                  )}
                </div>
              </form>
            )}
            <div class="mt-3 text-end">
              <button type="button" class="btn btn-link btn-sm" onClick={() => navigate('segments')}>
                Back to segments
              </button>
            </div>
          </div>
        </div>
      </div>
    </div>
  );
}

function LiveCount(props: { live: Live; last: SegmentPreview | null }) {
  const { live, last } = props;
  const stale = live.state !== 'ready';
  return (
    <div class="card shadow-sm" aria-live="polite" data-testid="live-count-card">
      <div class="card-header bg-body d-flex justify-content-between align-items-center">
        <span>Matching customers</span>
        {live.state === 'loading' && <span class="spinner-border spinner-border-sm text-body-secondary" role="status" aria-label="Counting" />}
      </div>
      <div class="card-body">
        <div
          class={`display-6 fw-semibold ${stale ? 'text-body-tertiary' : ''}`}
          data-testid="live-count"
          data-state={live.state}
          data-count={last ? String(last.count) : ''}
        >
          {last ? last.count.toLocaleString() : '—'}
        </div>
        {live.state === 'incomplete' && <div class="small text-body-secondary">Finish the new condition to update the count.</div>}
        {live.state === 'error' && (
          <div class="small text-danger" role="alert" data-testid="live-count-error">
            {live.error instanceof ApiError && live.error.status === 422
              ? 'The rule has errors; they are shown next to the conditions.'
              : live.error instanceof ApiError
                ? live.error.message
                : String(live.error)}
          </div>
        )}
        {last && last.sample.length > 0 && (
          <div class="mt-2">
            <div class="small text-body-secondary mb-1">Sample</div>
            <ul class="list-unstyled mb-0 small" data-testid="live-sample">
              {last.sample.map((id) => (
                <li key={id}>
                  <a href={href('customers', id)} class="font-monospace">
                    {id}
                  </a>
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
    </div>
  );
}

/** The rule as JSON text; every edit that parses to an object becomes the rule. */
function JsonEditor(props: { rule: Rule; onChange: (r: Rule) => void }) {
  const [text, setText] = useState(() => JSON.stringify(props.rule, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <Field id="segment-json" label="Rule (JSON)" error={error ?? undefined} help="Edits apply as soon as the text is a valid JSON object.">
      <textarea
        id="segment-json"
        class={`${inputClass(error ?? undefined)} font-monospace small`}
        rows={18}
        spellcheck={false}
        value={text}
        onInput={(e) => {
          const t = e.currentTarget.value;
          setText(t);
          try {
            const v: unknown = JSON.parse(t);
            if (v === null || typeof v !== 'object' || Array.isArray(v)) {
              setError('The rule must be a JSON object.');
              return;
            }
            setError(null);
            props.onChange(v as Rule);
          } catch (err) {
            setError(`Not valid JSON: ${(err as Error).message}`);
          }
        }}
        data-testid="segment-json"
      />
    </Field>
  );
}
