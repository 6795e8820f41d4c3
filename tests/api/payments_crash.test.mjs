// File building and delivery survive SIGKILL: the server is killed again and
// again while it builds files for 200 originators and uploads them in
// parallel to a real SFTP server; after restarts every acknowledged payment is
// in exactly one file, and every file reached the bank once, under its final
// name, decrypting to exactly the file as built.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, sleep, startServer, waitFor } from './lib/harness.mjs';
import { bankKeys, startSftp } from './lib/sftp.mjs';

const ORIGINATORS = Number(process.env.KONTOR_PAYMENTS_CRASH_ORIGINATORS || 200);
const ROUNDS = 4;
const FUTURE = () => new Date(Date.now() + 30 * 86400000).toISOString();

let srv, sftp, bank;

async function all(items, n, fn) {
  let i = 0;
  const out = [];
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  }));
  return out;
}

describe(`payments under SIGKILL (${DB_KIND})`, { timeout: 600000 }, () => {
  before(async () => {
    sftp = await startSftp();
    bank = bankKeys();
    srv = await startServer({
      env: {
        KONTOR_PAYMENTS_DELIVERY_POLL_MS: '50',
        KONTOR_PAYMENTS_DELIVERY_PARALLEL: '200',
        KONTOR_PAYMENTS_DELIVERY_BACKOFF_BASE_MS: '200',
        KONTOR_PAYMENTS_DELIVERY_MAX_ATTEMPTS: '50',
        KONTOR_PAYMENTS_DELIVERY_LEASE_MS: '2000',  // a killed node's uploads are taken over quickly
      },
    });
  });
  after(async () => {
    await srv?.close();
    sftp?.stop();
    bank?.stop();
  });

  test(`SIGKILL while building and uploading for ${ORIGINATORS} originators: nothing lost, nothing twice`, async () => {
    const cp = await srv.api('POST', '/v1/counterparties', { body: { name: 'Payee', routing_number: '021000021', account_number: '4444' } });
    assert.equal(cp.status, 201, cp.text);
    const originators = await all(Array.from({ length: ORIGINATORS }, (_, i) => i), 16, async (i) => {
      const r = await srv.api('POST', '/v1/originators', {
        body: {
          name: `Merchant ${i}`, company_id: String(1000000000 + i), entry_description: 'SALES',
          odfi_routing: '091000019', immediate_destination: '091000019', immediate_destination_name: 'Partner Bank',
          immediate_origin: String(1000000000 + i), immediate_origin_name: `Merchant ${i}`,
          sftp: { host: '127.0.0.1', port: sftp.port, username: sftp.username, private_key: sftp.privateKey,
            host_key_sha256: sftp.fingerprint, upload_dir: sftp.upload },
          pgp_public_key: bank.publicKey,
        },
      });
      assert.equal(r.status, 201, r.text);
      return r.json.id;
    });

    const acked = [];
    for (let round = 0; round < ROUNDS; ++round) {
      // One payment per originator and round, acknowledged before the kill.
      await all(originators, 16, async (o, i) => {
        const r = await srv.api('POST', '/v1/payments', {
          body: { originator_id: o, counterparty_id: cp.json.id, direction: 'credit', sec_code: 'PPD', amount_cents: 100 + i, idempotency_key: `r${round}-${i}` },
        });
        assert.equal(r.status, 201, r.text);
        acked.push(r.json.id);
      });
      // Build (and so start uploading) in the background, then kill mid-way.
      srv.api('POST', '/v1/ach-files', { body: { through: FUTURE() } }).catch(() => {});
      await sleep(100 + Math.floor(Math.random() * 900));
      const killed = await srv.kill9();
      assert.equal(killed.signal, 'SIGKILL');
      await srv.restart();
    }
    // After the last restart: build what is left, let the uploaders finish.
    let r = await srv.api('POST', '/v1/ach-files', { body: { through: FUTURE() } });
    assert.equal(r.status, 200, r.text);
    const files = async () => {
      const out = [];
      let cursor = null;
      do {
        const p = await srv.api('GET', `/v1/ach-files?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
        out.push(...p.json.items);
        cursor = p.json.next_cursor;
      } while (cursor);
      return out;
    };
    try {
      await waitFor(async () => (await files()).every((f) => f.status === 'delivered'), { timeoutMs: 120000, intervalMs: 500, what: 'every file delivered' });
    } catch (e) {
      const stuck = (await files()).filter((f) => f.status !== 'delivered');
      throw new Error(`${e.message}: ${JSON.stringify(stuck.slice(0, 5).map((f) => [f.name, f.status, f.delivery_attempts, f.last_error, f.next_attempt_at]))}`);
    }

    // Every acknowledged payment is in exactly one delivered file.
    const fs_ = await files();
    const entries = fs_.reduce((s, f) => s + f.entry_count, 0);
    assert.equal(entries, acked.length, 'the files hold each payment once');
    const statuses = await all(acked, 16, async (id) => (await srv.api('GET', `/v1/payments/${id}`)).json);
    assert.deepEqual(statuses.filter((p) => p.status !== 'submitted' || !p.file_id).map((p) => `${p.id}:${p.status}`), []);

    // The bank has each file once, under its final name, and nothing half-written.
    const remote = fs.readdirSync(sftp.upload).sort();
    assert.deepEqual(remote, fs_.map((f) => f.remote_name).sort());
    // Each is the file as built, for the bank's key. The uploader never
    // replaces a file already in place, so one there is the first upload.
    for (const f of fs_) {
      const built = (await srv.api('GET', `/v1/ach-files/${f.id}/content`)).text;
      assert.equal(bank.decrypt(fs.readFileSync(path.join(sftp.upload, f.remote_name), 'utf8')), built);
    }
  });
});
