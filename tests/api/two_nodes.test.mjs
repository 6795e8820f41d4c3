// Two `kontor serve` processes on one PostgreSQL database: jobs run exactly
// once across nodes, and a crashed node's job is taken over after its lease.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { IS_PG, assertCleanLog, createDatabase, setupDatabase, startServer, waitFor } from './lib/harness.mjs';

const NODE_ENV = {
  KONTOR_JOBS_LEASE_SECONDS: '3',
  KONTOR_JOBS_POLL_MS: '50',
  KONTOR_JOBS_WORKERS: '2',
  KONTOR_AUTH_TOKEN_CACHE_SECONDS: '1',
};

describe('two nodes on one PostgreSQL database', { skip: IS_PG ? false : 'PostgreSQL only', timeout: 180000 }, () => {
  let db;
  let token;
  let a;
  let b;

  before(async () => {
    db = createDatabase();
    token = await setupDatabase(db);
    a = await startServer({ db, adminToken: token, env: { ...NODE_ENV, KONTOR_NODE_ID: 'a' } });
    b = await startServer({ db, adminToken: token, env: { ...NODE_ENV, KONTOR_NODE_ID: 'b' } });
  });

  after(async () => {
    try {
      await a?.close();
      await b?.close();
    } finally {
      db?.drop();
    }
  });

  test('40 short jobs: each runs exactly once, on both nodes', async () => {
    const posts = [];
    for (let i = 0; i < 40; ++i) {
      const node = i % 2 ? b : a;
      posts.push(node.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', payload: { steps: 2, step_ms: 40 } } }));
    }
    const created = await Promise.all(posts);
    for (const r of created) assert.equal(r.status, 201, r.text);
    const ids = created.map((r) => r.json.id);

    await waitFor(async () => {
      const r = await a.api('GET', '/v1/jobs?kind=demo.progress&limit=500');
      const mine = r.json.items.filter((j) => ids.includes(j.id));
      return mine.length === 40 && mine.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.state));
    }, { timeoutMs: 30000, what: 'all 40 jobs finished' });

    const jobs = (await b.api('GET', '/v1/jobs?kind=demo.progress&limit=500')).json.items.filter((j) => ids.includes(j.id));
    for (const j of jobs) {
      assert.equal(j.state, 'succeeded', JSON.stringify(j));
      assert.equal(j.attempts, 1, `job ${j.id} attempts`);
      assert.deepEqual(j.progress, { done: 2, total: 2 });
    }

    const list = ids.join(',');
    const runs = db.query(`SELECT job_id, COUNT(*) FROM job_runs WHERE job_id IN (${list}) GROUP BY job_id ORDER BY job_id`);
    assert.equal(runs.length, 40, 'every job has runs');
    const twice = runs.filter(([, n]) => Number(n) !== 1);
    assert.deepEqual(twice, [], 'every job ran exactly once');
    const all = db.query('SELECT job_id, COUNT(*) FROM job_runs GROUP BY job_id HAVING COUNT(*) <> 1');
    assert.deepEqual(all, [], 'no job in the database ran twice');
    const byNode = Object.fromEntries(db.query(`SELECT node, COUNT(*) FROM job_runs WHERE job_id IN (${list}) GROUP BY node`).map(([n, c]) => [n, Number(c)]));
    assert.ok(byNode.a > 0 && byNode.b > 0, `both nodes ran jobs: ${JSON.stringify(byNode)}`);
    assert.equal((byNode.a ?? 0) + (byNode.b ?? 0), 40, JSON.stringify(byNode));
    const outcomes = db.query(`SELECT DISTINCT outcome FROM job_runs WHERE job_id IN (${list})`).map((r) => r[0]);
    assert.deepEqual(outcomes, ['succeeded']);
  });

  test('a revoked token fails on the other node within the cache time', async () => {
    const t = await a.api('POST', '/v1/tokens', { body: { name: 'cross-node' } });
    assert.equal(t.status, 201);
    assert.equal((await b.api('GET', '/v1/me', { token: t.json.token })).status, 200);
    assert.equal((await a.api('DELETE', `/v1/tokens/${t.json.id}`)).status, 204);
    assert.equal((await a.api('GET', '/v1/me', { token: t.json.token })).status, 401, 'at once on the revoking node');
    await waitFor(async () => (await b.api('GET', '/v1/me', { token: t.json.token })).status === 401, {
      timeoutMs: 3000,
      what: 'the other node to refuse the revoked token (KONTOR_AUTH_TOKEN_CACHE_SECONDS=1)',
    });
  });

  test('SIGKILL of the node running a job: the other node takes it over after the lease', async () => {
    // Only node a may claim the job: stop b while a claims it.
    const stopped = await b.stop();
    assert.deepEqual(stopped, { code: 0, signal: null }, b.log());
    const r = await a.api('POST', '/v1/jobs', { body: { kind: 'demo.progress', payload: { steps: 25, step_ms: 200 } } });
    assert.equal(r.status, 201);
    const id = r.json.id;
    await waitFor(async () => {
      const j = (await a.api('GET', `/v1/jobs/${id}`)).json;
      return j.state === 'running' && j.lease_owner === 'a' && j.progress.done >= 2;
    }, { timeoutMs: 10000, what: 'node a running the job' });
    await b.start();

    const killedAt = Date.now();
    const killed = await a.kill9();
    assert.equal(killed.signal, 'SIGKILL');

    const job = await waitFor(async () => {
      const j = (await b.api('GET', `/v1/jobs/${id}`)).json;
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : false;
    }, { timeoutMs: 30000, what: 'the job to finish on node b' });
    assert.equal(job.state, 'succeeded', `taken over and finished: ${JSON.stringify(job)}`);
    assert.equal(job.attempts, 2);
    assert.deepEqual(job.progress, { done: 25, total: 25 });

    const runs = db.query(`SELECT attempt, node, outcome, started_at FROM job_runs WHERE job_id = ${id} ORDER BY id`);
    assert.deepEqual(runs.map(([attempt, node, outcome]) => [Number(attempt), node, outcome]), [
      [1, 'a', 'lease_expired'],
      [2, 'b', 'succeeded'],
    ]);
    const takeover = Number(runs[1][3]);
    assert.ok(takeover >= killedAt - 1000, 'node b started after node a died');
    assert.ok(takeover <= killedAt + 3000 + 2000, `taken over within the 3 s lease (+ slack): ${takeover - killedAt} ms`);
  });

  test('the surviving node exits cleanly', async () => {
    const r = await b.stop();
    assert.deepEqual(r, { code: 0, signal: null }, b.log());
    assertCleanLog(b);
  });
});
