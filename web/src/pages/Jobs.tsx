import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post } from '../api';
import { DataTable } from '../components/DataTable';
import { TextField } from '../components/forms';
import { BusySpinner, Field, fieldError, inputClass, PageHeader, ProblemAlert, ProgressBar, StatusBadge, Switch, Time } from '../components/ui';
import { useAction, useLoader } from '../hooks';
import { useCan } from '../session';
import type { Job, JobKind, Page, Schedule } from '../types';

const DEFAULT_PAYLOADS: Record<string, string> = {
  'demo.progress': '{ "steps": 20, "step_ms": 200 }',
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
            <Switch id="jobs-live" label="Live" checked={live} onChange={setLive} />
          </div>
        }
      />
      <div class="row g-3">
        {canWrite && (
          <div class="col-xl-3">
            <StartJobCard onStarted={() => void poll()} />
          </div>
        )}
        <div class={canWrite ? 'col-xl-9' : 'col-12'}>
          <div class="card shadow-sm">
            <div class="card-header bg-body d-flex justify-content-between align-items-center">
              <span>Jobs</span>
              <div class="d-flex align-items-center gap-2">
                <label for="jobs-state" class="small text-body-secondary fw-normal mb-0">
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
  const cancelAction = useAction();
  const [cancelling, setCancelling] = useState<string | null>(null);
  const cols = props.canWrite ? 7 : 6;
  const cancel = async (j: Job) => {
    setCancelling(j.id);
    await cancelAction.run(async () => {
      await post<Job>(`/v1/jobs/${encodeURIComponent(j.id)}/cancel`);
      props.onChanged();
    });
    setCancelling(null);
  };
  return (
    <>
      <ProblemAlert error={cancelAction.error} onClose={() => cancelAction.setError(null)} />
      <DataTable
        testid="jobs-table"
        class="jobs-table"
        hover={false}
        cols={cols}
        head={
          <>
            <th>ID</th>
            <th>Kind</th>
            <th>State</th>
            <th style={{ minWidth: '10rem' }}>Progress</th>
            <th class="text-center">Attempts</th>
            <th>Run at</th>
            {props.canWrite && <th />}
          </>
        }
        items={props.jobs}
        empty="No jobs."
        row={(j) => (
          <Fragment key={j.id}>
            <tr data-testid="job-row" data-id={j.id} data-kind={j.kind} data-state={j.state} class={j.last_error ? 'has-error' : undefined}>
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
            {j.last_error && (
              <tr class="job-error-row" data-testid="job-error-row">
                <td />
                <td colSpan={cols - 1} class="small text-danger-emphasis">
                  <div class="job-error" title={j.last_error} data-testid="job-error">
                    <span class="fw-semibold">Last error:</span> {j.last_error}
                  </div>
                </td>
              </tr>
            )}
          </Fragment>
        )}
      />
    </>
  );
}

function Progress(props: { job: Job }) {
  const p = props.job.progress;
  return (
    <ProgressBar
      done={p?.done ?? 0}
      total={p?.total ?? 0}
      label={`${props.job.kind} progress`}
      state={props.job.state}
      testid="job-progress"
    />
  );
}

function StartJobCard(props: { onStarted: (j: Job) => void }) {
  const kinds = useLoader(async () => (await get<{ items: JobKind[] }>('/v1/job-kinds')).items, []);
  const [kind, setKind] = useState('');
  const [payload, setPayload] = useState('{}');
  const [runAt, setRunAt] = useState('');
  const action = useAction();
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [started, setStarted] = useState<Job | null>(null);
  const fe = action.fieldErrors;

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
    action.setError(null);
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
    await action.run(async () => {
      const j = await post<Job>('/v1/jobs', body);
      setStarted(j);
      props.onStarted(j);
    });
  };

  const description = kinds.data?.find((k) => k.kind === kind)?.description;
  const payloadError = jsonError ?? fieldError(fe, 'payload');

  return (
    <div class="card shadow-sm">
      <div class="card-header bg-body">Start a job</div>
      <div class="card-body">
        <ProblemAlert error={action.error} shownFields={['kind', 'payload', 'run_at']} />
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
          <TextField
            id="job-run-at"
            label="Run at (optional)"
            type="datetime-local"
            value={runAt}
            onValue={setRunAt}
            error={fe.run_at}
            help="Empty to run as soon as possible; your local time."
          />
          <button type="submit" class="btn btn-primary" disabled={action.busy || !kind} data-testid="start-job">
            <BusySpinner busy={action.busy} />
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
      <DataTable
        testid="schedules-table"
        hover={false}
        cols={7}
        head={
          <>
            <th>Name</th>
            <th>Kind</th>
            <th>Cron</th>
            <th>Time zone</th>
            <th>Enabled</th>
            <th>Next run</th>
            <th>Last job</th>
          </>
        }
        items={schedules.data}
        loading={schedules.loading}
        empty="No schedules."
        row={(s) => (
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
        )}
      />
    </div>
  );
}
