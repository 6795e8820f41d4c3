// Payments end to end through the running binary: originators with a real
// SFTP server (OpenSSH) and the bank's PGP key, counterparties, payments by
// API, template and CSV upload with the per-SEC rules, idempotency,
// splitting and the same-day limit, file building at cutoff, encrypted
// delivery (decrypted here with gpg), returns and NOCs coming back, and
// 10,000 concurrent submissions accepted exactly once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, DB_KIND, assertCleanLog, startServer, waitFor } from './lib/harness.mjs';
import { bankKeys, startSftp } from './lib/sftp.mjs';

const CONFORMANCE = path.join(path.dirname(new URL(import.meta.url).pathname), '../conformance/ach/valid');
const LOAD_N = Number(process.env.KONTOR_PAYMENTS_LOAD_N || 10000);
const FUTURE = () => new Date(Date.now() + 30 * 86400000).toISOString();

let srv, sftp, bank, hooks;
const received = [];

const ORIGINATOR = {
  name: 'Acme Payroll', company_id: '1234567890', entry_description: 'PAYROLL',
  odfi_routing: '091000019', immediate_destination: '091000019',
  immediate_destination_name: 'Partner Bank', immediate_origin: '1234567890',
  immediate_origin_name: 'Acme Payroll', time_zone: 'America/New_York',
  same_day_cutoff: '14:00', next_day_cutoff: '20:00',
};

// The next Thanksgiving (fourth Thursday of November) at least a week away.
function nextThanksgiving() {
  const soon = new Date(Date.now() + 7 * 86400000);
  for (let y = soon.getUTCFullYear(); ; ++y) {
    const nov1 = new Date(Date.UTC(y, 10, 1));
    const first = 1 + ((4 - nov1.getUTCDay() + 7) % 7);
    const t = new Date(Date.UTC(y, 10, first + 21));
    if (t >= soon) {
      const f = new Date(t.getTime() + 86400000);
      return { thanksgiving: t.toISOString().slice(0, 10), friday: f.toISOString().slice(0, 10) };
    }
  }
}

async function post(p, body, opts = {}) {
  return srv.api('POST', p, { body, ...opts });
}

describe(`payments (${DB_KIND})`, { timeout: 600000 }, () => {
  let orig, alice, bob;
  before(async () => {
    sftp = await startSftp();
    bank = bankKeys();
    srv = await startServer({
      env: {
        KONTOR_PAYMENTS_ENTRY_MAX_CENTS: '500000', KONTOR_PAYMENTS_DELIVERY_POLL_MS: '100',
        KONTOR_WEBHOOKS_POLL_MS: '50', KONTOR_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      },
    });
    // A webhook endpoint for payment events.
    hooks = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { received.push(JSON.parse(body)); res.end('ok'); });
    });
    await new Promise((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    const w = await srv.api('POST', '/v1/webhooks', { body: { url: `http://127.0.0.1:${hooks.address().port}/`, events: ['payment.status_changed'] } });
    assert.equal(w.status, 201, w.text);
  });
  after(async () => {
    if (srv) assertCleanLog(srv);
    await srv?.close();
    sftp?.stop();
    bank?.stop();
    hooks?.close();
  });

  test('originators and counterparties: validation names the field; secrets never come back', async () => {
    let r = await post('/v1/originators', { ...ORIGINATOR, odfi_routing: '091000018', company_id: '123', time_zone: 'Mars/Base', bogus: 1 });
    assert.equal(r.status, 422, r.text);
    const fields = r.json.errors.map((e) => e.field);
    for (const f of ['odfi_routing', 'company_id', 'bogus']) assert.ok(fields.includes(f), `names ${f}: ${r.text}`);
    r = await post('/v1/originators', { ...ORIGINATOR, pgp_public_key: 'not a key' });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json.errors[0].field, 'pgp_public_key');
    r = await post('/v1/originators', {
      ...ORIGINATOR,
      sftp: { host: '127.0.0.1', port: sftp.port, username: sftp.username, private_key: sftp.privateKey,
        host_key_sha256: sftp.fingerprint, upload_dir: sftp.upload, inbox_dir: sftp.inbox },
      pgp_public_key: bank.publicKey,
    });
    assert.equal(r.status, 201, r.text);
    orig = r.json;
    assert.equal(orig.sftp.has_private_key, true);
    assert.equal(orig.sftp.private_key, undefined);
    assert.match(orig.pgp_fingerprint, /^[0-9A-F]{40}$/);
    assert.ok(!r.text.includes('PRIVATE KEY'));

    r = await post('/v1/counterparties', { name: 'Alice', routing_number: '091000018', account_number: '00' });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json.errors.map((e) => e.field).sort(), ['account_number', 'routing_number']);
    r = await post('/v1/counterparties', { name: 'Alice Smith', receiver_id: 'EMP-1', routing_number: '021000021', account_number: '123456789', account_type: 'checking' });
    assert.equal(r.status, 201, r.text);
    alice = r.json;
    assert.equal(alice.account_number, '••••6789');
    r = await post('/v1/counterparties', { name: 'Bob Corp', kind: 'company', routing_number: '011000015', account_number: '555000111', account_type: 'savings' });
    assert.equal(r.status, 201, r.text);
    bob = r.json;
    r = await srv.api('PATCH', `/v1/counterparties/${bob.id}`, { body: { name: 'Bob Corporation' }, headers: { 'if-match': '"7"' } });
    assert.equal(r.status, 409, r.text);
  });

  test('payments: rules per SEC code with rule ids, idempotency, holidays, splitting, same-day limit', async () => {
    const base = { originator_id: orig.id, counterparty_id: alice.id, direction: 'credit', sec_code: 'PPD', amount_cents: 12345 };
    // CCD to a consumer, a reserved description, a past date: three rules at once.
    let r = await post('/v1/payments', { ...base, sec_code: 'CCD', entry_description: 'REVERSAL', effective_date: '2020-01-02', idempotency_key: 'bad-1' });
    assert.equal(r.status, 422, r.text);
    assert.ok(r.json.errors.length >= 2, r.text);
    for (const e of r.json.errors) assert.match(e.message, /\[(ALL|CCD)-\d+\]$/, e.message);
    r = await post('/v1/payments', { ...base, amount_cents: '12' , idempotency_key: 'bad-2' });
    assert.equal(r.status, 422);
    assert.equal(r.json.errors[0].field, 'amount_cents');
    r = await post('/v1/payments', { ...base });
    assert.equal(r.status, 422, 'an idempotency key is required');
    assert.equal(r.json.errors[0].field, 'idempotency_key');

    r = await post('/v1/payments', { ...base, individual_id: 'INV-2026-0042' }, { headers: { 'idempotency-key': 'pay-0' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.receiver_id, 'INV-2026-0042', 'a payment may carry its own individual id');
    r = await post('/v1/payments', base, { headers: { 'idempotency-key': 'pay-1' } });
    assert.equal(r.status, 201, r.text);
    const p1 = r.json;
    assert.equal(p1.receiver_id, 'EMP-1');
    assert.equal(p1.status, 'scheduled');
    assert.equal(p1.window, 'next_day');
    assert.equal(p1.entries.length, 1);
    r = await post('/v1/payments', base, { headers: { 'idempotency-key': 'pay-1' } });
    assert.equal(r.status, 200, 'a repeat is a replay');
    assert.equal(r.json.id, p1.id);
    assert.equal(r.headers.get('idempotent-replayed'), 'true');
    r = await post('/v1/payments', { ...base, amount_cents: 999 }, { headers: { 'idempotency-key': 'pay-1' } });
    assert.equal(r.status, 409, 'the same key for other content is a conflict');

    // Thanksgiving (a Thursday) is a Fed holiday: the date moves to the Friday.
    const { thanksgiving, friday } = nextThanksgiving();
    r = await post('/v1/payments', { ...base, effective_date: thanksgiving, idempotency_key: 'thanks' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.effective_date, friday);
    assert.match(r.json.schedule_note, /Thanksgiving Day, a Federal Reserve holiday/);

    // Above the entry maximum ($5,000 here): split into linked entries that add up.
    r = await post('/v1/payments', { ...base, amount_cents: 1234567, idempotency_key: 'split' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.entries.length, 3);
    assert.equal(r.json.entries.reduce((s, e) => s + e.amount_cents, 0), 1234567);
    assert.ok(r.json.entries.every((e) => e.amount_cents <= 500000));

    // Same-day above the originator's limit: next-day, not split.
    r = await srv.api('PATCH', `/v1/originators/${orig.id}`, { body: { same_day_limit_cents: 100000 } });
    assert.equal(r.status, 200, r.text);
    r = await post('/v1/payments', { ...base, amount_cents: 250000, same_day: true, idempotency_key: 'sd-big' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.same_day, false);
    assert.equal(r.json.window, 'next_day');
    assert.match(r.json.schedule_note, /same-day limit/);
    r = await post('/v1/payments', { ...base, amount_cents: 5000, same_day: true, idempotency_key: 'sd-small' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.same_day, true);

    // Cancel before it is in a file.
    r = await post('/v1/payments', { ...base, amount_cents: 777, idempotency_key: 'to-cancel' });
    r = await post(`/v1/payments/${r.json.id}/cancel`, { reason: 'duplicate' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'cancelled');
  });

  test('templates and CSV upload: row/column report, nothing queued until only_valid, same file twice queues once', async () => {
    let r = await post('/v1/payment-templates', { name: 'Bob monthly', originator_id: orig.id, counterparty_id: bob.id, direction: 'debit', sec_code: 'CCD', amount_cents: 4200 });
    assert.equal(r.status, 201, r.text);
    r = await post(`/v1/payment-templates/${r.json.id}/payments`, { idempotency_key: 'tpl-1', bogus: true });
    assert.equal(r.status, 422);
    r = await srv.api('GET', `/v1/payment-templates?limit=10`);
    const tpl = r.json.items[0];
    r = await post(`/v1/payment-templates/${tpl.id}/payments`, { idempotency_key: 'tpl-1' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.template_id, tpl.id);
    assert.equal(r.json.amount_cents, 4200);

    const csv = [
      'counterparty_id;direction;amount;sec_code;entry_description',
      `${alice.id};credit;100.50;PPD;BONUS`,
      `${alice.id};credit;12,00x;PPD;BONUS`,
      `${bob.id};debit;99.99;CCD;INVOICE`,
      `999999;credit;1.00;PPD;BONUS`,
      `${alice.id};credit;0.01;PPD;BONUS`,
    ].join('\n');
    const up = (body) => srv.api('POST', `/v1/payment-uploads?originator_id=${orig.id}&filename=batch.csv`, { body, raw: true, headers: { 'content-type': 'text/csv' } });
    r = await up(csv);
    assert.equal(r.status, 201, r.text);
    const u = r.json;
    assert.equal(u.total_rows, 5);
    assert.equal(u.valid_rows, 3);
    assert.equal(u.error_rows, 2);
    assert.deepEqual(u.errors.map((e) => [e.row, e.column]), [[3, "amount"], [5, "counterparty_id"]], "rows as a spreadsheet numbers them");
    r = await srv.api('GET', `/v1/payment-uploads/${u.id}/errors.csv`);
    assert.equal(r.status, 200);
    assert.match(r.text, /^row,column,message\r\n3,amount,/);
    r = await post(`/v1/payment-uploads/${u.id}/submit`, {});
    assert.equal(r.status, 409, 'a file with errors is not queued by default');
    r = await srv.api('GET', `/v1/payments?upload_id=${u.id}`);
    assert.equal(r.json.items.length, 0);
    r = await post(`/v1/payment-uploads/${u.id}/submit`, { only_valid: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.submitted_rows, 3);
    r = await srv.api('GET', `/v1/payments?upload_id=${u.id}`);
    assert.equal(r.json.items.length, 3);
    // The same file again: its rows' idempotency keys are the file's, nothing new.
    r = await up(csv);
    r = await post(`/v1/payment-uploads/${r.json.id}/submit`, { only_valid: true });
    assert.equal(r.status, 200, r.text);
    r = await srv.api('GET', `/v1/payments?upload_id=${u.id}`);
    assert.equal(r.json.items.length, 3);
    r = await up('name,amount\nx,1\n');
    assert.equal(r.status, 422);
    assert.equal(r.json.errors[0].field, 'file');
  });

  let file, traces;
  test('build at cutoff: a valid NACHA file, encrypted and delivered by SFTP exactly once', async () => {
    let r = await post('/v1/ach-files', { originator_id: orig.id, through: FUTURE() });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.items.length, 1);
    file = r.json.items[0];
    assert.match(file.name, /^1234567890_\d{6}_A\.ach$/);
    r = await post('/v1/ach-files', { originator_id: orig.id, through: FUTURE() });
    assert.equal(r.json.items.length, 0, 'nothing is in two files');

    r = await srv.api('GET', `/v1/ach-files/${file.id}/content`);
    assert.equal(r.status, 200);
    const nacha = r.text;
    const tmp = path.join(sftp.dir, 'built.ach');
    fs.writeFileSync(tmp, nacha);
    const v = spawnSync(BIN, ['ach', 'validate', tmp], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.ok(nacha.split('\n').some((l) => l.startsWith('5') && l.includes('SD1400')), 'same-day batch marked');

    r = await srv.api('GET', `/v1/payments?file_id=${file.id}&limit=100`);
    assert.ok(r.json.items.length >= 8, r.text);
    assert.ok(r.json.items.every((p) => p.status === 'in_file' || p.status === 'submitted'));
    r = await post(`/v1/payments/${r.json.items[0].id}/cancel`, {});
    assert.equal(r.status, 409, 'no cancel once in a file');

    // The uploader runs in the background: wait for the file on the bank's server.
    await waitFor(async () => (await srv.api('GET', `/v1/ach-files/${file.id}`)).json.status === 'delivered', { timeoutMs: 30000, what: 'delivery' });
    r = await srv.api('GET', `/v1/ach-files/${file.id}`);
    assert.equal(r.json.remote_name, `${file.name}.pgp`);
    const names = fs.readdirSync(sftp.upload);
    assert.deepEqual(names, [`${file.name}.pgp`], 'only the final name, no temporary file left');
    const armored = fs.readFileSync(path.join(sftp.upload, names[0]), 'utf8');
    assert.match(armored, /^-----BEGIN PGP MESSAGE-----/);
    assert.equal(bank.decrypt(armored), nacha, 'the bank decrypts exactly the built file');
    r = await srv.api('GET', `/v1/payments?file_id=${file.id}&limit=100`);
    assert.ok(r.json.items.every((p) => p.status === 'submitted'), 'payments follow their file');
    const one = (await srv.api('GET', `/v1/payments/${r.json.items[0].id}`)).json;
    assert.deepEqual(one.events.map((e) => e.status), ['scheduled', 'in_file', 'submitted']);
    traces = {};
    for (const p of r.json.items) {
      const d = (await srv.api('GET', `/v1/payments/${p.id}`)).json;
      for (const e of d.entries) traces[e.trace_number] = d;
    }
    // Every status change reached the webhook, in order.
    const pid = r.json.items[0].id;
    await waitFor(() => received.filter((e) => e.data.id === pid).length >= 3, { what: 'payment webhooks' });
    const seen = received.filter((e) => e.data.id === pid);
    assert.ok(seen.every((e) => e.type === 'payment.status_changed'));
    assert.deepEqual(seen.map((e) => e.data.status), ['scheduled', 'in_file', 'submitted']);
    assert.equal(seen[2].data.previous_status, 'in_file');
    assert.match(seen[0].data.account_number, /^••••/, 'account numbers stay masked');
    // Redelivery of a delivered file is refused: never twice.
    r = await post(`/v1/ach-files/${file.id}/redeliver`, {});
    assert.equal(r.status, 409);
    const audit = await srv.api('GET', `/v1/audit?resource_type=ach_file&resource_id=${file.id}`);
    assert.deepEqual(audit.json.items.map((a) => a.action).sort(), ['ach_file.build', 'ach_file.deliver']);
  });

  test('returns and NOCs from the bank inbox set the status and correct the account', async () => {
    const [trace, payment] = Object.entries(traces).find(([, p]) => p.counterparty_id === alice.id && p.entries.length === 1);
    const lines = fs.readFileSync(path.join(CONFORMANCE, 'return-WEB.ach'), 'utf8').split(/\r?\n/);
    // The bank's return names our trace number in its 99 addenda (columns 7-21).
    lines[3] = lines[3].slice(0, 6) + trace + lines[3].slice(21);
    fs.writeFileSync(path.join(sftp.inbox, 'RET0001.ach'), lines.join('\n'));
    const [bobTrace, bobPayment] = Object.entries(traces).find(([, p]) => p.counterparty_id === bob.id);
    const cor = fs.readFileSync(path.join(CONFORMANCE, 'cor-read.ach'), 'utf8').split(/\r?\n/);
    cor[3] = cor[3].slice(0, 6) + bobTrace + cor[3].slice(21);
    let r = await post(`/v1/payment-returns?originator_id=${orig.id}&filename=NOC1.ach`, cor.join('\n'), { raw: true, headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.matched, 1);
    r = await srv.api('GET', `/v1/counterparties/${bob.id}`);
    assert.equal(r.json.account_number, '••••1614', 'C01 corrected the account number');

    // The fetch job reads the inbox over SFTP.
    r = await post('/v1/jobs', { kind: 'payments.fetch_returns', payload: {} });
    assert.equal(r.status, 201, r.text);
    await waitFor(async () => (await srv.api('GET', `/v1/payments/${payment.id}`)).json.status === 'returned', { timeoutMs: 20000, what: 'return applied' });
    r = await srv.api('GET', `/v1/payments/${payment.id}`);
    assert.equal(r.json.return_code, 'R01');
    assert.match(r.json.status_reason, /^R01 /);
    r = await srv.api('GET', `/v1/payment-returns?payment_id=${payment.id}`);
    assert.equal(r.json.items.length, 1);
    assert.equal(r.json.items[0].kind, 'return');
    await waitFor(() => fs.existsSync(path.join(sftp.inbox, 'processed', 'RET0001.ach')), { what: 'the return file moved to processed/' });
    // The same file arriving again changes nothing.
    fs.copyFileSync(path.join(sftp.inbox, 'processed', 'RET0001.ach'), path.join(sftp.inbox, 'RET0001.ach'));
    r = await post('/v1/jobs', { kind: 'payments.fetch_returns', payload: {} });
    await new Promise((res) => setTimeout(res, 1500));
    r = await srv.api('GET', `/v1/payment-returns?payment_id=${payment.id}`);
    assert.equal(r.json.items.length, 1);
    r = await srv.api('GET', `/v1/payment-returns?payment_id=${bobPayment.id}`);
    assert.equal(r.json.items[0].kind, 'noc');
    assert.equal(r.json.items[0].code, 'C01');
  });

  test('a wrong pinned host key is refused and the file fails with the reason', async () => {
    let r = await post('/v1/originators', {
      ...ORIGINATOR, company_id: '9999999999', name: 'Pinned Wrong',
      sftp: { host: '127.0.0.1', port: sftp.port, username: sftp.username, private_key: sftp.privateKey,
        host_key_sha256: 'SHA256:' + 'A'.repeat(43), upload_dir: sftp.upload },
    });
    assert.equal(r.status, 201, r.text);
    const o2 = r.json;
    r = await post('/v1/payments', { originator_id: o2.id, counterparty_id: alice.id, direction: 'credit', sec_code: 'PPD', amount_cents: 100, idempotency_key: 'pin-1' });
    assert.equal(r.status, 201, r.text);
    r = await post('/v1/ach-files', { originator_id: o2.id, through: FUTURE() });
    const f = r.json.items[0];
    await waitFor(async () => (await srv.api('GET', `/v1/ach-files/${f.id}`)).json.status === 'failed', { timeoutMs: 20000, what: 'failed delivery' });
    r = await srv.api('GET', `/v1/ach-files/${f.id}`);
    assert.match(r.json.last_error, /host key/i);
    assert.ok(!fs.readdirSync(sftp.upload).some((n) => n.startsWith('9999999999')), 'nothing uploaded');
  });

  test(`${LOAD_N} concurrent submissions, each sent twice: every payment exactly once`, async () => {
    const ids = new Map();
    let next = 0;
    const worker = async () => {
      while (next < LOAD_N) {
        const i = next++;
        const key = `load-${i}`;
        const body = { originator_id: orig.id, counterparty_id: alice.id, direction: 'credit', sec_code: 'PPD', amount_cents: 100 + i };
        const [a, b] = await Promise.all([
          post('/v1/payments', body, { headers: { 'idempotency-key': key }, retries: 3 }),
          post('/v1/payments', body, { headers: { 'idempotency-key': key }, retries: 3 }),
        ]);
        assert.ok([200, 201].includes(a.status) && [200, 201].includes(b.status), `${a.status} ${b.status} ${a.text} ${b.text}`);
        assert.equal(a.json.id, b.json.id);
        assert.ok(a.status !== b.status, 'one created, one replayed');
        ids.set(key, a.json.id);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    assert.equal(new Set(ids.values()).size, LOAD_N);
    let count = 0, cursor = null;
    do {
      const r = await srv.api('GET', `/v1/payments?originator_id=${orig.id}&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      count += r.json.items.filter((p) => p.idempotency_key.startsWith('load-')).length;
      cursor = r.json.next_cursor;
    } while (cursor);
    assert.equal(count, LOAD_N);
  });
});
