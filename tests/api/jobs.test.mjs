// Background jobs through the API: progress, cancellation, kinds, schedules,
// and the job and HTTP metrics.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, sleep, startServer, waitFor } from './lib/harness.mjs';

let srv;

async function getJob(id) {
  const r = await srv.api('GET', `/v1/jobs/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function waitState(id, states, timeoutMs = 10000) {
  const want = [].concat(states);
  return waitFor(async () => {
    const j = await getJob(id);
    return want.includes(j.state) ? j : false;
  }, { timeoutMs, what: `job ${id} in state ${want.join('|')}` });
}

function assertJobShape(j) {
  for (const k of ['id', 'kind', 'state', 'payload', 'run_at', 'attempts', 'max_attempts', 'progress', 'last_error',
    'lease_owner', 'lease_expires_at', 'schedule', 'created_at', 'updated_at', 'finished_at']) {
    assert.ok(k in j, `Job has ${k}: ${JSON.stringify(j)}`);
  }
  assert.equal(typeof j.id, 'string');
  assert.ok(['queued', 'running', 'succeeded', 'failed', 'cancelled'].includes(j.state));
  assert.equal(typeof j.progress.done, 'number');
  assert.equal(typeof j.progress.total, 'number');
}

describe(`jobs (${DB_KIND})`, { timeout: 180000 }, () => {
  before(async () => {
    srv = await startServer({ env: { KONTOR_JOBS_POLL_MS: '50', KONTOR_JOBS_WORKERS: '2' } });
  });
  after(async () => {
    await srv?.close();
  });

  test('demo.progress: progress rises and the job succeeds', async () => {
    const r = await srv.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', payload: { steps: 10, step_ms: 100 } } });
    assert.equal(r.status, 201, r.text);
    assertJobShape(r.json);
    assert.equal(r.json.kind, 'demo.progress');
    assert.deepEqual(r.json.payload, { steps: 10, step_ms: 100 });
    assert.ok(['queued', 'running'].includes(r.json.state));
    assert.equal(r.json.finished_at, null);
    const id = r.json.id;

    const seen = [];
    let sawRunning = null;
    const deadline = Date.now() + 15000;
    let job;
    for (;;) {
      job = await getJob(id);
      seen.push(job.progress.done);
      if (job.state === 'running' && !sawRunning) sawRunning = job;
      if (['succeeded', 'failed', 'cancelled'].includes(job.state)) break;
      assert.ok(Date.now() < deadline, `job did not finish: ${JSON.stringify(job)}`);
      await sleep(40);
    }
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.deepEqual(job.progress, { done: 10, total: 10 });
    assert.equal(job.attempts, 1);
    assert.ok(job.finished_at, 'finished_at set');
    assert.equal(job.lease_owner, null, 'lease released');
    assert.equal(job.last_error, null);
    for (let i = 1; i < seen.length; ++i) assert.ok(seen[i] >= seen[i - 1], `progress never goes back: ${seen}`);
    assert.ok(seen.some((d) => d > 0 && d < 10), `intermediate progress was visible: ${seen}`);
    assert.ok(sawRunning, 'the job was seen running');
    assert.ok(sawRunning.lease_owner, 'a running job has a lease owner');
    assert.ok(sawRunning.lease_expires_at, 'a running job has a lease expiry');
    assert.ok(Date.parse(job.finished_at) - Date.parse(job.created_at) >= 900, 'ten 100 ms steps take ≥ 1 s');

    const list = await srv.api('GET', '/v1/jobs?state=succeeded&kind=demo.progress');
    assert.equal(list.status, 200);
    assert.ok(list.json.items.some((j) => j.id === id));
    assert.ok(list.json.items.every((j) => j.state === 'succeeded' && j.kind === 'demo.progress'));
  });

  test('bad job requests → 422 naming the field', async () => {
    let r = await srv.api('POST', '/v1/jobs', { body: { kind: 'no.such.kind' } });
    assert.equal(r.status, 422, r.text);
    assert.ok(r.json.errors.some((e) => e.field === 'kind'), r.text);
    r = await srv.api('POST', '/v1/jobs', { body: {} });
    assert.equal(r.status, 422);
    assert.ok(r.json.errors.some((e) => e.field === 'kind'), r.text);
    r = await srv.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', run_at: 'tomorrow' } });
    assert.equal(r.status, 422);
    assert.ok(r.json.errors.some((e) => e.field === 'run_at'), r.text);
    r = await srv.api('GET', '/v1/jobs?state=bogus');
    assert.equal(r.status, 400);
    assert.ok(r.json.errors.some((e) => e.field === 'state'), r.text);
    // No job was created by any of that.
    r = await srv.api('GET', '/v1/jobs?kind=no.such.kind');
    assert.deepEqual(r.json.items, []);
  });

  test('a payload the kind rejects is a 422 naming the payload field, and no job is made', async () => {
    const before = (await srv.api('GET', '/v1/jobs?kind=demo.progress&limit=500')).json.items.length;
    let r = await srv.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', payload: { steps: 0, bogus: 1 } } });
    assert.equal(r.status, 422, r.text);
    assert.ok(r.json.errors.some((e) => e.field === 'payload.steps'), r.text);
    assert.ok(r.json.errors.some((e) => e.field === 'payload.bogus'), r.text);
    r = await srv.api('POST', '/v1/jobs', { body: { kind: 'system.cleanup', payload: { x: 1 } } });
    assert.equal(r.status, 422, r.text);
    const after = (await srv.api('GET', '/v1/jobs?kind=demo.progress&limit=500')).json.items.length;
    assert.equal(after, before);
  });

  test('cancel a queued job', async () => {
    const runAt = new Date(Date.now() + 3600000).toISOString();
    let r = await srv.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', payload: { steps: 1 }, run_at: runAt } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.state, 'queued');
    assert.equal(Date.parse(r.json.run_at), Date.parse(runAt));
    const id = r.json.id;
    await sleep(200); // workers poll meanwhile; the job is not due
    assert.equal((await getJob(id)).state, 'queued');
    r = await srv.api('POST', `/v1/jobs/${id}/cancel`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'cancelled');
    assert.ok(r.json.finished_at);
    const j = await getJob(id);
    assert.equal(j.state, 'cancelled');
    assert.equal(j.attempts, 0, 'it never ran');
    r = await srv.api('POST', `/v1/jobs/${id}/cancel`);
    assert.equal(r.status, 409, 'cancelling a finished job is a conflict');
    assert.equal((await srv.api('POST', '/v1/jobs/987654/cancel')).status, 404);
  });

  test('cancel a running job', async () => {
    let r = await srv.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', payload: { steps: 200, step_ms: 50 } } });
    assert.equal(r.status, 201);
    const id = r.json.id;
    await waitFor(async () => {
      const j = await getJob(id);
      return j.state === 'running' && j.progress.done > 0;
    }, { what: 'the job running with progress' });
    const asked = Date.now();
    r = await srv.api('POST', `/v1/jobs/${id}/cancel`);
    assert.equal(r.status, 200, r.text);
    assert.ok(['running', 'cancelled'].includes(r.json.state));
    const j = await waitState(id, ['cancelled', 'succeeded', 'failed'], 5000);
    assert.equal(j.state, 'cancelled', JSON.stringify(j));
    assert.ok(Date.now() - asked < 3000, `cancelled soon after the request (${Date.now() - asked} ms)`);
    assert.ok(j.progress.done < 200, 'it stopped early');
    assert.ok(j.finished_at);
    assert.equal(j.lease_owner, null);
  });

  test('job kinds', async () => {
    const r = await srv.api('GET', '/v1/job-kinds');
    assert.equal(r.status, 200);
    const kinds = r.json.items.map((k) => k.kind);
    assert.ok(kinds.includes('demo.progress'), kinds);
    assert.ok(kinds.includes('system.cleanup'), kinds);
    for (const k of r.json.items) assert.equal(typeof k.description, 'string');
  });

  test('schedules list system.cleanup with a next run', async () => {
    const r = await srv.api('GET', '/v1/schedules');
    assert.equal(r.status, 200);
    const s = r.json.items.find((x) => x.kind === 'system.cleanup');
    assert.ok(s, JSON.stringify(r.json));
    for (const k of ['id', 'name', 'kind', 'cron', 'timezone', 'enabled', 'next_run_at', 'last_job_id']) assert.ok(k in s, `schedule has ${k}`);
    assert.equal(s.enabled, true);
    const next = Date.parse(s.next_run_at);
    assert.ok(!Number.isNaN(next), `next_run_at ${s.next_run_at}`);
    assert.ok(next > Date.now() - 5000 && next <= Date.now() + 3600000 + 5000, `next_run_at ${s.next_run_at} within the hour`);
  });

  test('job list paging', async () => {
    const ids = [];
    const runAt = new Date(Date.now() + 3600000).toISOString();
    for (let i = 0; i < 5; ++i) {
      const r = await srv.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', run_at: runAt } });
      ids.push(r.json.id);
    }
    const first = await srv.api('GET', '/v1/jobs?state=queued&kind=demo.progress&limit=3');
    assert.equal(first.json.items.length, 3);
    assert.ok(first.json.next_cursor);
    const second = await srv.api('GET', `/v1/jobs?state=queued&kind=demo.progress&limit=3&cursor=${first.json.next_cursor}`);
    const got = [...first.json.items, ...second.json.items].map((j) => j.id);
    assert.deepEqual(got.slice(0, 5), [...ids].reverse(), 'newest first, across pages');
    for (const id of ids) await srv.api('POST', `/v1/jobs/${id}/cancel`);
  });

  test('metrics: job gauges and HTTP series', async () => {
    // One queued job, so the gauge has something to count.
    const runAt = new Date(Date.now() + 3600000).toISOString();
    const q = await srv.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', run_at: runAt } });
    const m = await srv.metrics();
    const gauge = (state) => {
      const line = m.split('\n').find((l) => l.startsWith(`kontor_jobs{state="${state}"} `));
      assert.ok(line, `kontor_jobs{state="${state}"} line in:\n${m}`);
      return Number(line.split(' ')[1]);
    };
    assert.ok(gauge('queued') >= 1);
    assert.ok(gauge('succeeded') >= 1);
    assert.ok(gauge('cancelled') >= 1);
    gauge('running');
    gauge('failed');
    assert.match(m, /# TYPE kontor_jobs gauge/);
    assert.match(m, /# TYPE kontor_http_requests_total counter/);
    assert.match(m, /^kontor_http_requests_total\{method="POST",route="\/v1\/jobs",code="201"\} \d+$/m);
    assert.match(m, /^kontor_http_requests_total\{method="GET",route="\/v1\/jobs\/\{id\}",code="200"\} \d+$/m);
    assert.match(m, /# TYPE kontor_http_request_duration_seconds histogram/);
    assert.match(m, /^kontor_http_request_duration_seconds_bucket\{method="GET",route="\/v1\/jobs\/\{id\}",le="[^"]+"\} \d+$/m);
    assert.match(m, /^kontor_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} \d+$/m);
    assert.match(m, /^kontor_http_request_duration_seconds_count\{/m);
    // Buckets are cumulative.
    const buckets = m.split('\n').filter((l) => l.startsWith('kontor_http_request_duration_seconds_bucket{method="GET",route="/v1/jobs/{id}"'));
    const counts = buckets.map((l) => Number(l.split(' ').pop()));
    for (let i = 1; i < counts.length; ++i) assert.ok(counts[i] >= counts[i - 1], 'cumulative buckets');
    assert.ok(!/code="5\d\d"/.test(m), 'no 5xx');
    await srv.api('POST', `/v1/jobs/${q.json.id}/cancel`);
  });

  test('server exits cleanly on SIGTERM', async () => {
    const r = await srv.stop();
    assert.deepEqual(r, { code: 0, signal: null }, srv.log());
    assertCleanLog(srv);
  });
});
