// A push campaign to 100,000 devices through the local FCM server, with Kontor
// SIGKILLed halfway and restarted: every device gets its message, duplicates
// are at most what was in flight (bulk batch size × bulk workers), and the
// campaign completes. Then a campaign against an FCM server that fails 20% of
// requests: every message ends sent, or failed with its reason.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer, tempDir, waitFor } from './lib/harness.mjs';
import { startFcm } from '../servers/fcm.mjs';

const N = Number(process.env.CAMPAIGN_CRASH_N ?? 100000);
const BATCH = 500; // DispatcherOptions.batch["bulk"]
const WORKERS = 2; // KONTOR_MESSAGING_WORKERS_BULK below

let srv, fcm;
const accepted = () => fcm.snapshot({ perTarget: false, messages: false }).accepted;

async function ok(r, statuses = [200, 201]) {
  assert.ok(statuses.includes(r.status), `${r.status} ${r.text}`);
  return r.json;
}

// Customers through the batch API (10,000 a call), then their devices in one
// statement: the device API takes one at a time, and 100,000 PUTs would be
// the test's whole runtime.
async function seed(prefix, n, tag, tokenOf) {
  for (let start = 0; start < n; start += 10000) {
    const items = [];
    for (let i = start; i < Math.min(n, start + 10000); i++)
      items.push({ external_id: `${prefix}${i}`, tags: [tag], consent: { push: { status: 'granted' } } });
    const r = await ok(await srv.api('POST', '/v1/customers/batch', { body: items }));
    assert.equal(r.failed, 0);
  }
  const token = tokenOf("c.external_id");
  const res = srv.db.exec(
    `INSERT INTO devices (installation_id, customer_id, platform, token, status, last_seen_at, created_at, updated_at) ` +
      `SELECT 'inst-' || c.external_id, c.id, 'android', ${token}, 'active', 0, 0, 0 FROM customers c WHERE c.external_id LIKE '${prefix}%'`,
  );
  assert.equal(res.code, 0, res.stderr);
  return (await ok(await srv.api('PUT', `/v1/segments/${tag}`, { body: { name: tag, rule: { tag } } }))).id;
}

async function campaign(segmentId, name) {
  const c = await ok(await srv.api('POST', '/v1/campaigns', {
    body: { name, channel: 'push', template_key: 'flash', audience: { segment_id: segmentId }, data: { offer: name } },
  }));
  await ok(await srv.api('POST', `/v1/campaigns/${c.id}/schedule`));
  return c;
}

async function waitCompleted(id, timeoutMs) {
  return waitFor(async () => {
    const r = await srv.api('GET', `/v1/campaigns/${id}`);
    return r.status === 200 && r.json.state === 'completed' ? r.json : null;
  }, { timeoutMs, intervalMs: 500, what: `campaign ${id} completed` });
}

describe(`campaign crash and faults (${DB_KIND})`, { timeout: 1800000 }, () => {
  before(async () => {
    const sa = path.join(tempDir('kontor-fcm-'), 'service-account.json');
    fcm = await startFcm({ http2: false, writeServiceAccount: sa, maxConcurrentStreams: 1000 });
    srv = await startServer({
      env: {
        KONTOR_MESSAGING_PUSH_PROVIDER: 'fcm',
        KONTOR_MESSAGING_FCM_SERVICE_ACCOUNT_FILE: sa,
        KONTOR_MESSAGING_FCM_ENDPOINT: fcm.url,
        KONTOR_MESSAGING_POLL_MS: '50',
        KONTOR_MESSAGING_RETRY_BASE_MS: '100',
        KONTOR_MESSAGING_RETRY_MAX_MS: '1000',
        KONTOR_MESSAGING_WORKERS_BULK: String(WORKERS),
        // A killed worker's batch and the campaign's job come back soon.
        KONTOR_MESSAGING_LEASE_MS: '5000',
        KONTOR_JOBS_LEASE_SECONDS: '5',
      },
    });
    await ok(await srv.api('PUT', '/v1/templates/flash', {
      body: { name: 'Flash', channel: 'push', default_language: 'en', languages: { en: { title: 'Flash', body: '{{campaign.offer}}' } }, sample: { campaign: { offer: 'x' } } },
    }));
  });
  after(async () => {
    await srv?.close();
    await fcm?.close();
  });

  test(`${N} devices, Kontor SIGKILLed halfway: everyone gets it, duplicates ≤ in flight`, async () => {
    const seg = await seed('k', N, 'crash', (ext) => `'tok-' || ${ext}`);
    fcm.resetStats();
    const t0 = Date.now();
    const c = await campaign(seg, 'crash');
    await waitFor(async () => accepted() >= N / 2, { timeoutMs: 600000, intervalMs: 100, what: 'half sent' });
    const killed = await srv.kill9();
    assert.equal(killed.signal, 'SIGKILL');
    const atKill = accepted();
    await srv.restart();
    const done = await waitCompleted(c.id, 900000);
    const stats = fcm.snapshot({ perTarget: false });
    console.log(`# ${N} pushes in ${((Date.now() - t0) / 1000).toFixed(1)} s; killed at ${atKill}; duplicates ${stats.duplicates}`);
    assert.equal(stats.targets, N, 'every device got the message');
    assert.ok(stats.duplicates <= BATCH * WORKERS, `${stats.duplicates} duplicates`);
    assert.equal(done.counts.audience, N);
    assert.equal(done.counts.sent, N);
    assert.equal(done.counts.queued, 0);
    assert.equal(done.counts.failed, 0);
  });

  test('FCM failing 20% of requests: every message ends sent, or failed with its reason', async () => {
    const n = 3000;
    // Every 100th token is one FCM refuses for good.
    const seg = await seed('f', n, 'faults', (ext) => `CASE WHEN CAST(SUBSTR(${ext}, 2) AS INTEGER) % 100 = 7 THEN 'invalid-' ELSE 'tok-' END || ${ext}`);
    fcm.resetStats();
    fcm.setFaults({ rates: { 500: 0.1, 503: 0.1 } });
    const c = await campaign(seg, 'faults');
    const done = await waitCompleted(c.id, 600000);
    fcm.clearFaults();
    const faults = fcm.snapshot({ perTarget: false, messages: false }).faults;
    assert.ok(Object.values(faults).reduce((a, b) => a + b, 0) > n / 20, JSON.stringify(faults));
    assert.equal(done.counts.sent, n - n / 100);
    assert.equal(done.counts.failed, n / 100);
    assert.equal(done.counts.queued, 0);
    const failed = [];
    let cursor = null;
    for (;;) {
      const r = await srv.api('GET', `/v1/messages?campaign_id=${c.id}&status=failed&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      failed.push(...r.json.items);
      cursor = r.json.next_cursor;
      if (!cursor) break;
    }
    assert.equal(failed.length, n / 100);
    for (const m of failed) {
      assert.match(m.recipient, /^invalid-/);
      assert.ok(m.error_code && m.error_message, JSON.stringify(m));
    }
    assertCleanLog(srv);
  });
});
