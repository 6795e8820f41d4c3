// Acknowledged writes survive a crash: SIGKILL the server in the middle of a
// stream of parallel writes, restart it on the same database, and every write
// that was answered 201 is there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, sleep, startServer } from './lib/harness.mjs';

let srv;

describe(`durability (${DB_KIND})`, { timeout: 180000 }, () => {
  before(async () => {
    srv = await startServer({ env: { KONTOR_HTTP_THREADS: '4', KONTOR_DATABASE_POOL_SIZE: '4' } });
  });
  after(async () => {
    await srv?.close();
  });

  test('every role acknowledged with 201 before a SIGKILL exists after the restart', async () => {
    const acked = [];
    const failed = [];
    const other = [];
    let stop = false;
    let seq = 0;
    const writer = async (w) => {
      while (!stop) {
        const name = `dur-${w}-${seq++}`;
        try {
          const r = await srv.api('POST', '/v1/roles', { body: { name, description: `writer ${w}`, permissions: { customers: 'read' } }, retries: 1 });
          if (r.status === 201) acked.push(name);
          else other.push(`${name}: ${r.status}`);
        } catch {
          failed.push(name); // in flight when the server died
          return;
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    // Let the stream run, then kill the server in the middle of it.
    const deadline = Date.now() + 10000;
    while (acked.length < 150 && Date.now() < deadline) await sleep(10);
    const killed = await srv.kill9();
    assert.equal(killed.signal, 'SIGKILL');
    stop = true;
    await Promise.all(writers);
    assert.deepEqual(other, [], 'no answers other than 201 before the kill');
    assert.ok(acked.length >= 20, `enough writes were acknowledged (${acked.length})`);

    await srv.restart();
    const missing = [];
    for (let i = 0; i < acked.length; i += 16) {
      const batch = acked.slice(i, i + 16);
      const res = await Promise.all(batch.map((n) => srv.api('GET', `/v1/roles/${n}`)));
      res.forEach((r, k) => {
        if (r.status !== 200) missing.push(`${batch[k]}: ${r.status}`);
        else assert.equal(r.json.permissions.customers, 'read');
      });
    }
    assert.deepEqual(missing, [], `all ${acked.length} acknowledged roles survive the crash`);

    // The audit log recorded each acknowledged write too (same transaction).
    const audit = await srv.api('GET', '/v1/audit?action=role.create&limit=500');
    const audited = new Set(audit.json.items.map((e) => e.resource.id));
    const unaudited = acked.filter((n) => !audited.has(n));
    assert.deepEqual(unaudited.slice(0, 10), [], 'every acknowledged role has its audit entry');

    // The restarted server takes writes again.
    const r = await srv.api('POST', '/v1/roles', { body: { name: 'dur-after-restart', permissions: {} } });
    assert.equal(r.status, 201, r.text);
  });

  test('server exits cleanly on SIGTERM', async () => {
    const r = await srv.stop();
    assert.deepEqual(r, { code: 0, signal: null }, srv.log());
    assertCleanLog(srv);
  });
});
