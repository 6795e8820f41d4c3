import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post } from '../api';
import {
  EmptyRow,
  Field,
  fieldError,
  fieldErrorsOf,
  inputClass,
  PageHeader,
  ProblemAlert,
  Spinner,
  StatusBadge,
  Time,
  useLoader,
} from '../components/ui';
import { useCan } from '../session';
import type { Job, JobKind, Page, Schedule } from '../types';

const DEFAULT_PAYLOADS: Record<string, string> = {
  'demo.progress': '{"steps":20,"step_ms":200}',
};
const STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export function JobsPage() {
  const canWrite = useCan('admin', 'write');
  const [stateFilter, setStateFilter] = useState('');
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(true);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const inFlight = useRef(false);
  const filterRef = useRef(stateFilter);
  filterRef.current = stateFilter;

  const poll = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    const wanted = filterRef.current;
    try {
      const page = await get<Page<Job>>('/v1/jobs', { state: wanted, limit: 50 });
      if (wanted === filterRef.current) {
        setJobs(page.items);
        setError(null);
        setUpdatedAt(new Date());
      }
    } catch (e) {
      setError(e);
    } finally {
      inFlight.current = false;
    }
  };

  // Refresh every second while the page is visible, for live progress.
  useEffect(() => {
    void poll();
    if (!live) return undefined;
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void poll();
    }, 1000);
    const onVisible = () => {
      if (document.visibilityState === 'visible') void poll();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [live, stateFilter]);

  return (
    <div data-testid="jobs-page">
      <PageHeader
        title="Jobs"
        subtitle="Background work: queued, running and finished jobs"
        actions={
          <div class="d-flex align-items-center gap-3">
            <small class="text-body-secondary" data-testid="jobs-updated">
              {updatedAt ? `Updated ${updatedAt.toLocaleTimeString()}` : ''}
            </small>
            <div class="form-check form-switch mb-0">
              <input
                class="form-check-input"
                type="checkbox"
                role="switch"
                id="jobs-live"
                checked={live}
                onChange={(e) => setLive(e.currentTarget.checked)}
              />
              <label class="form-check-label" for="jobs-live">
                Live
              </label>
            </div>
          </div>
        }
      />
      <div class="row g-3">
        {canWrite && (
          <div class="col-xl-4">
            <StartJobCard onStarted={() => void poll()} />
          </div>
        )}
        <div class={canWrite ? 'col-xl-8' : 'col-12'}>
          <div class="card shadow-sm">
            <div class="card-header bg-body d-flex justify-content-between align-items-center">
              <span>Jobs</span>
              <div class="d-flex align-items-center gap-2">
                <label for="jobs-state" class="small text-body-secondary mb-0">
                  State
                </label>
                <select
                  id="jobs-state"
                  class="form-select form-select-sm"
                  style={{ width: 'auto' }}
                  value={stateFilter}
                  onChange={(e) => {
                    setJobs(null);
                    setStateFilter(e.currentTarget.value);
                  }}
                >
                  <option value="">All</option>
                  {STATES.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
              </div>
            </div>
            <ProblemAlert error={error} />
            <JobsTable jobs={jobs} canWrite={canWrite} onChanged={() => void poll()} />
          </div>
        </div>
        <div class="col-12">
          <SchedulesCard />
        </div>
      </div>
    </div>
  );
}

function JobsTable(props: { jobs: Job[] | null; canWrite: boolean; onChanged: () => void }) {
  const [cancelError, setCancelError] = useState<unknown>(null);
  const [cancelling, setCancelling] = useState<string | null>(null);
  const cols = props.canWrite ? 8 : 7;
  const cancel = async (j: Job) => {
    setCancelling(j.id);
    setCancelError(null);
    try {
      await post<Job>(`/v1/jobs/${encodeURIComponent(j.id)}/cancel`);
      props.onChanged();
    } catch (e) {
      setCancelError(e);
    } finally {
      setCancelling(null);
    }
  };
  return (
    <>
      <ProblemAlert error={cancelError} onClose={() => setCancelError(null)} />
      <div class="table-responsive">
        <table class="table align-middle mb-0" data-testid="jobs-table">
          <thead class="table-light">
            <tr>
              <th>ID</th>
              <th>Kind</th>
              <th>State</th>
              <th style={{ minWidth: '10rem' }}>Progress</th>
              <th class="text-center">Attempts</th>
              <th>Run at</th>
              <th>Last error</th>
              {props.canWrite && <th />}
            </tr>
          </thead>
          <tbody>
            {props.jobs === null ? (
              <tr>
                <td colSpan={cols}>
                  <Spinner />
                </td>
              </tr>
            ) : props.jobs.length === 0 ? (
              <EmptyRow cols={cols}>No jobs.</EmptyRow>
            ) : (
              props.jobs.map((j) => (
                <tr key={j.id} data-testid="job-row" data-id={j.id} data-kind={j.kind} data-state={j.state}>
                  <td>
                    <code class="small" title={j.id}>
                      {j.id.length > 12 ? `${j.id.slice(0, 12)}…` : j.id}
                    </code>
                  </td>
                  <td>
                    <span class="font-monospace small">{j.kind}</span>
                    {j.schedule && <div class="small text-body-secondary">schedule {j.schedule}</div>}
                  </td>
                  <td>
                    <StatusBadge status={j.state} testid="job-state" />
                  </td>
                  <td>
                    <Progress job={j} />
                  </td>
                  <td class="text-center small">
                    {j.attempts}/{j.max_attempts}
                  </td>
                  <td class="small">
                    <Time iso={j.run_at} />
                  </td>
                  <td class="small text-danger-emphasis job-error" title={j.last_error ?? undefined}>
                    {j.last_error ?? ''}
                  </td>
                  {props.canWrite && (
                    <td class="text-end">
                      {(j.state === 'queued' || j.state === 'running') && (
                        <button
                          class="btn btn-sm btn-outline-danger"
                          disabled={cancelling === j.id}
                          onClick={() => void cancel(j)}
                          data-testid="job-cancel"
                        >
                          Cancel
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Progress(props: { job: Job }) {
  const p = props.job.progress;
  const total = p?.total ?? 0;
  const done = p?.done ?? 0;
  if (!p || total <= 0) {
    return <span class="text-body-tertiary small">—</span>;
  }
  const pct = Math.max(0, Math.min(100, Math.round((done / total) * 100)));
  const running = props.job.state === 'running';
  const color =
    props.job.state === 'failed' ? 'bg-danger' : props.job.state === 'cancelled' ? 'bg-warning' : props.job.state === 'succeeded' ? 'bg-success' : '';
  return (
    <div class="d-flex align-items-center gap-2">
      <div
        class="progress flex-grow-1"
        role="progressbar"
        aria-label={`${props.job.kind} progress`}
        aria-valuenow={done}
        aria-valuemin={0}
        aria-valuemax={total}
        style={{ height: '0.6rem' }}
        data-testid="job-progress"
        data-done={done}
        data-total={total}
      >
        <div
          class={`progress-bar ${color} ${running ? 'progress-bar-striped progress-bar-animated' : ''}`}
          style={{ width: `${pct}%` }}
        />
      </div>
      <small class="text-body-secondary text-nowrap" style={{ minWidth: '3.5rem' }}>
        {done}/{total}
      </small>
    </div>
  );
}

function StartJobCard(props: { onStarted: (j: Job) => void }) {
  const kinds = useLoader(async () => (await get<{ items: JobKind[] }>('/v1/job-kinds')).items, []);
  const [kind, setKind] = useState('');
  const [payload, setPayload] = useState('{}');
  const [runAt, setRunAt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [started, setStarted] = useState<Job | null>(null);
  const fe = fieldErrorsOf(error);

  const choose = (k: string) => {
    setKind(k);
    setPayload(DEFAULT_PAYLOADS[k] ?? '{}');
  };

  // Pick demo.progress (or the first kind) once the kinds have loaded.
  useEffect(() => {
    if (kind || !kinds.data || kinds.data.length === 0) return;
    const first = kinds.data.find((k) => k.kind === 'demo.progress') ?? kinds.data[0]!;
    choose(first.kind);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kinds.data]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setJsonError(null);
    let parsed: unknown;
    try {
      parsed = payload.trim() === '' ? {} : JSON.parse(payload);
    } catch (err) {
      setJsonError(`Not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      setJsonError('The payload must be a JSON object.');
      return;
    }
    const body: Record<string, unknown> = { kind, payload: parsed };
    if (runAt) body.run_at = new Date(runAt).toISOString();
    setBusy(true);
    try {
      const j = await post<Job>('/v1/jobs', body);
      setStarted(j);
      props.onStarted(j);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const description = kinds.data?.find((k) => k.kind === kind)?.description;
  const payloadError = jsonError ?? fieldError(fe, 'payload');

  return (
    <div class="card shadow-sm">
      <div class="card-header bg-body">Start a job</div>
      <div class="card-body">
        <ProblemAlert
          error={error}
          shownFields={['kind', 'payload', 'run_at']}
        />
        <ProblemAlert error={kinds.error} />
        {started && (
          <div class="alert alert-success py-2 small" data-testid="job-started">
            Started <code>{started.kind}</code> as job <code>{started.id}</code>.
          </div>
        )}
        <form onSubmit={submit} noValidate data-testid="start-job-form">
          <Field id="job-kind" label="Kind" error={fe.kind} help={description}>
            <select id="job-kind" class={inputClass(fe.kind, 'form-select')} value={kind} onChange={(e) => choose(e.currentTarget.value)}>
              {!kind && <option value="">{kinds.loading ? 'Loading…' : 'Choose a kind…'}</option>}
              {(kinds.data ?? []).map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.kind}
                </option>
              ))}
            </select>
          </Field>
          <Field id="job-payload" label="Payload (JSON)" error={payloadError}>
            <textarea
              id="job-payload"
              class={`${inputClass(payloadError)} font-monospace`}
              rows={4}
              spellcheck={false}
              value={payload}
              onInput={(e) => setPayload(e.currentTarget.value)}
            />
          </Field>
          <Field id="job-run-at" label="Run at (optional)" error={fe.run_at} help="Empty to run as soon as possible; your local time.">
            <input
              id="job-run-at"
              type="datetime-local"
              class={inputClass(fe.run_at)}
              value={runAt}
              onInput={(e) => setRunAt(e.currentTarget.value)}
            />
          </Field>
          <button type="submit" class="btn btn-primary" disabled={busy || !kind} data-testid="start-job">
            {busy && <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" />}
            Start job
          </button>
        </form>
      </div>
    </div>
  );
}

function SchedulesCard() {
  const schedules = useLoader(async () => (await get<{ items: Schedule[] }>('/v1/schedules')).items, []);
  return (
    <div class="card shadow-sm">
      <div class="card-header bg-body d-flex justify-content-between align-items-center">
        <span>Schedules</span>
        <button class="btn btn-sm btn-outline-secondary" onClick={() => void schedules.reload()}>
          Refresh
        </button>
      </div>
      <ProblemAlert error={schedules.error} />
      <div class="table-responsive">
        <table class="table align-middle mb-0" data-testid="schedules-table">
          <thead class="table-light">
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Cron</th>
              <th>Time zone</th>
              <th>Enabled</th>
              <th>Next run</th>
              <th>Last job</th>
            </tr>
          </thead>
          <tbody>
            {schedules.loading && !schedules.data ? (
              <tr>
                <td colSpan={7}>
                  <Spinner />
                </td>
              </tr>
            ) : (schedules.data ?? []).length === 0 ? (
              <EmptyRow cols={7}>No schedules.</EmptyRow>
            ) : (
              (schedules.data ?? []).map((s) => (
                <tr key={s.id} data-testid="schedule-row">
                  <td class="fw-medium">{s.name}</td>
                  <td class="font-monospace small">{s.kind}</td>
                  <td>
                    <code>{s.cron}</code>
                  </td>
                  <td class="small">{s.timezone}</td>
                  <td>
                    {s.enabled ? (
                      <span class="badge text-bg-success">enabled</span>
                    ) : (
                      <span class="badge text-bg-secondary">disabled</span>
                    )}
                  </td>
                  <td class="small">
                    <Time iso={s.next_run_at} />
                  </td>
                  <td>{s.last_job_id ? <code class="small">{s.last_job_id}</code> : <span class="text-body-tertiary">—</span>}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
