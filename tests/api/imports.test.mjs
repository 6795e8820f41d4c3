// CSV imports and exports through the running binary: upload (delimiter, mapping suggestion,
// preview, bad files), start, the job to its end, row errors with row and column, errors.csv,
// re-import without changes, subscriptions, export of a list and a segment, permissions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer, waitFor } from './lib/harness.mjs';

let srv;

// A small RFC 4180 reader for checking answers (quotes, doubled quotes, CRLF).
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; ++i) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        ++i;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') ++i;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function upload(csv, { kind = 'customers', filename = 'test.csv', token } = {}) {
  const opts = { body: csv, raw: true, headers: { 'content-type': 'text/csv' } };
  if (token) opts.token = token;
  return srv.api('POST', `/v1/imports?kind=${kind}&filename=${encodeURIComponent(filename)}`, opts);
}

async function runImport(id, mapping) {
  const r = await srv.api('POST', `/v1/imports/${id}/start`, mapping ? { body: { mapping } } : {});
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.state, 'queued');
  assert.match(r.json.job_id, /^\d+$/);
  return waitFor(
    async () => {
      const g = await srv.api('GET', `/v1/imports/${id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(g.json.state) ? g.json : null;
    },
    { timeoutMs: 30000, what: `import ${id} to finish` },
  );
}

async function changeCount() {
  let since = '0';
  let n = 0;
  for (;;) {
    const r = await srv.api('GET', `/v1/changes?since=${since}&limit=1000`);
    n += r.json.items.length;
    if (r.json.items.length < 1000) return n;
    since = r.json.next_cursor;
  }
}

// German Excel style: ';', quoted fields with the delimiter and doubled quotes inside, and
// bad rows: an email, a phone number, a ragged row, an unbalanced quote (at the end).
const CUSTOMERS_CSV =
  '\uFEFFKundennummer;Anrede;Vorname;Nachname;E-Mail;Mobile;Tags;Newsletter;attributes.risk\r\n' +
  'imp-1;Frau;Anna;"Berg; von";anna@example.com;+4930123456;vip|news;granted;3\r\n' +
  'imp-2;Herr;"Bernd ""B.""";Bauer;bernd@example.com;;;withdrawn;1\r\n' +
  'imp-3;;Clara;Kurz;not-an-email;+4930999;;;\r\n' +
  'imp-4;;Dora;Lang;dora@example.com;0301234;;;\r\n' +
  'imp-5;;Emil\r\n' +
  'imp-6;;Frieda;Feld;frieda@example.com;;;granted;2\r\n' +
  'imp-7;;"Gerd;Groß;gerd@example.com;;;;\r\n';

describe(`imports (${DB_KIND})`, { timeout: 240000 }, () => {
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.close();
  });

  let firstImport;

  test('a ; CSV uploads with a suggested mapping and a preview, runs, and reports row errors', async () => {
    let r = await upload(CUSTOMERS_CSV, { filename: 'kunden.csv' });
    assert.equal(r.status, 201, r.text);
    const imp = r.json;
    assert.equal(imp.state, 'uploaded');
    assert.equal(imp.kind, 'customers');
    assert.equal(imp.filename, 'kunden.csv');
    assert.equal(imp.delimiter, ';');
    assert.equal(imp.columns[0], 'Kundennummer', 'the BOM is stripped');
    assert.equal(imp.size_bytes, Buffer.byteLength(CUSTOMERS_CSV));
    assert.match(imp.sha256, /^[0-9a-f]{64}$/);
    assert.equal(imp.previous_import_id, null);
    assert.deepEqual(imp.suggested_mapping, {
      Kundennummer: 'external_id', Anrede: 'salutation', Vorname: 'first_name', Nachname: 'last_name',
      'E-Mail': 'email', Mobile: 'phone', Tags: 'tags', Newsletter: 'consent_email', 'attributes.risk': 'attributes.risk',
    });
    assert.equal(imp.preview.length, 5);
    assert.deepEqual(imp.preview[0].slice(0, 4), ['imp-1', 'Frau', 'Anna', 'Berg; von']);
    assert.equal(imp.preview[1][2], 'Bernd "B."');
    assert.ok(imp.fields.some((f) => f.name === 'external_id' && f.required));
    assert.deepEqual(imp.progress, { done: 0, total: 7 });

    const changesBefore = await changeCount();
    const done = await runImport(imp.id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.deepEqual(done.counts, { rows: 7, created: 3, updated: 0, unchanged: 0, failed: 4 });
    assert.deepEqual(done.progress, { done: 7, total: 7 });
    assert.ok(done.started_at && done.finished_at);
    const errs = done.errors.map((e) => [e.row, e.column, e.field]);
    assert.deepEqual(errs, [
      [4, 'E-Mail', 'email'],
      [5, 'Mobile', 'phone'],
      [6, '', ''],
      [8, 'Vorname', 'first_name'],
    ]);
    for (const e of done.errors) assert.ok(e.message.length > 0);
    assert.match(done.errors[2].message, /fields/);
    assert.match(done.errors[3].message, /quote/);
    assert.equal(await changeCount(), changesBefore + 3);

    r = await srv.api('GET', '/v1/customers/imp-1');
    assert.equal(r.json.last_name, 'Berg; von');
    assert.deepEqual(r.json.tags, ['news', 'vip']);
    assert.equal(r.json.consent.email.status, 'granted');
    assert.equal(r.json.attributes.risk, '3');
    assert.equal((await srv.api('GET', '/v1/customers/imp-2')).json.first_name, 'Bernd "B."');
    assert.equal((await srv.api('GET', '/v1/customers/imp-3')).status, 404, 'a failing row changes nothing');

    r = await srv.api('GET', `/v1/imports/${imp.id}/errors.csv`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    const rows = parseCsv(r.text);
    assert.deepEqual(rows[0], ['row', 'column', 'field', 'message']);
    assert.deepEqual(rows.slice(1).map((x) => x.slice(0, 3)), errs.map((e) => e.map(String)));

    r = await srv.api('GET', '/v1/imports');
    assert.equal(r.status, 200);
    assert.equal(r.json.items[0].id, imp.id);

    r = await srv.api('GET', `/v1/audit?action=import.*`);
    const actions = r.json.items.map((e) => e.action).sort();
    assert.deepEqual(actions, ['import.create', 'import.start']);
    firstImport = done;
  });

  test('the same file again changes nothing: every good row is unchanged, no change-feed entries', async () => {
    const changesBefore = await changeCount();
    const r = await upload(CUSTOMERS_CSV, { filename: 'kunden.csv' });
    assert.equal(r.status, 201);
    assert.equal(r.json.previous_import_id, firstImport.id);
    const done = await runImport(r.json.id);
    assert.deepEqual(done.counts, { rows: 7, created: 0, updated: 0, unchanged: 3, failed: 4 });
    assert.equal(await changeCount(), changesBefore);
    assert.equal((await srv.api('GET', '/v1/customers/imp-1')).json.version, 1);
  });

  test('an explicit mapping writes only the mapped columns; other fields and consent stay', async () => {
    const csv = 'id,mail,ignored\nimp-1,anna.neu@example.com,whatever\n';
    let r = await upload(csv);
    const done = await runImport(r.json.id, { id: 'external_id', mail: 'email', ignored: null });
    assert.deepEqual(done.mapping, { id: 'external_id', mail: 'email', ignored: null });
    assert.equal(done.counts.updated, 1);
    r = await srv.api('GET', '/v1/customers/imp-1');
    assert.equal(r.json.email, 'anna.neu@example.com');
    assert.equal(r.json.first_name, 'Anna');
    assert.deepEqual(r.json.tags, ['news', 'vip']);
    assert.equal(r.json.consent.email.status, 'granted');
  });

  test('subscriptions import; unknown customer or product is a row error naming the column', async () => {
    assert.equal((await srv.api('PUT', '/v1/products/IMPDAX', { body: { name: 'DAX Brief', kind: 'subscription' } })).status, 201);
    const csv =
      'Abo-ID,Kunde,Produkt,Status,Start\n' +
      'isub-1,imp-1,IMPDAX,active,2026-01-01\n' +
      'isub-2,nobody,IMPDAX,active,\n' +
      'isub-3,imp-2,NOPE,active,\n' +
      'isub-4,imp-2,IMPDAX,sleeping,\n';
    const r = await upload(csv, { kind: 'subscriptions' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.suggested_mapping.Kunde, 'customer');
    const done = await runImport(r.json.id);
    assert.deepEqual(done.counts, { rows: 4, created: 1, updated: 0, unchanged: 0, failed: 3 });
    assert.deepEqual(done.errors.map((e) => [e.row, e.column, e.field]), [
      [3, 'Kunde', 'customer'],
      [4, 'Produkt', 'product'],
      [5, 'Status', 'status'],
    ]);
    const s = await srv.api('GET', '/v1/subscriptions/isub-1');
    assert.equal(s.json.starts_at, '2026-01-01T00:00:00.000Z');
    const again = await runImport((await upload(csv, { kind: 'subscriptions' })).json.id);
    assert.equal(again.counts.unchanged, 1);
  });

  test('export of a list and of a segment as CSV, parsed back; re-importing it changes nothing', async () => {
    assert.equal((await srv.api('PUT', '/v1/lists/imp-static', { body: { name: 'Static' } })).status, 201);
    for (const id of ['imp-1', 'imp-6']) {
      assert.equal((await srv.api('PUT', `/v1/lists/imp-static/members/${id}`)).status, 204);
    }
    let r = await srv.api('GET', '/v1/customers/export.csv?list=imp-static');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    let rows = parseCsv(r.text);
    const header = rows[0];
    assert.deepEqual(header.slice(0, 16), [
      'external_id', 'type', 'salutation', 'first_name', 'last_name', 'company_name', 'email', 'phone',
      'language', 'country', 'time_zone', 'status', 'tags', 'consent_email', 'consent_sms', 'consent_push',
    ]);
    assert.deepEqual(header.slice(16), ['attributes.risk']);
    const col = (name) => header.indexOf(name);
    assert.deepEqual(rows.slice(1).map((x) => x[0]), ['imp-1', 'imp-6']);
    assert.equal(rows[1][col('last_name')], 'Berg; von');
    assert.equal(rows[1][col('phone')], "'+4930123456", 'formula guard for spreadsheets');
    assert.equal(rows[1][col('tags')], 'news|vip');
    assert.equal(rows[1][col('consent_email')], 'granted');
    // The same customers as GET /v1/customers with that filter.
    const listed = await srv.api('GET', '/v1/customers?list=imp-static');
    assert.deepEqual(listed.json.items.map((c) => c.external_id), ['imp-1', 'imp-6']);

    r = await srv.api('PUT', '/v1/segments/imp-risky', { body: { name: 'Risky', rule: { any: [{ tag: 'vip' }, { consent: 'email' }] } } });
    assert.ok([200, 201].includes(r.status), r.text);
    r = await srv.api('GET', '/v1/customers/export.csv?segment=imp-risky');
    assert.equal(r.status, 200, r.text);
    rows = parseCsv(r.text);
    const segListed = await srv.api('GET', '/v1/customers?segment=imp-risky');
    assert.deepEqual(rows.slice(1).map((x) => x[0]), segListed.json.items.map((c) => c.external_id));
    assert.deepEqual(rows.slice(1).map((x) => x[0]), ['imp-1', 'imp-6'], 'email consent granted');

    r = await srv.api('GET', '/v1/audit?action=customers.export');
    assert.equal(r.json.items.length, 2);
    assert.equal(JSON.parse(JSON.stringify(r.json.items[0].after)).rows, rows.length - 1);

    // Export → import: the same data, nothing changes.
    const all = await srv.api('GET', '/v1/customers/export.csv');
    const changesBefore = await changeCount();
    const up = await upload(all.text, { filename: 'export.csv' });
    assert.equal(up.status, 201, up.text);
    assert.equal(up.json.delimiter, ',');
    const done = await runImport(up.json.id);
    assert.equal(done.counts.failed, 0, JSON.stringify(done.errors));
    assert.equal(done.counts.unchanged, parseCsv(all.text).length - 1);
    assert.equal(await changeCount(), changesBefore);

    r = await srv.api('GET', '/v1/customers/export.csv?list=no-such-list');
    assert.equal(r.status, 400);
    r = await srv.api('GET', '/v1/customers/export.csv?bogus=1');
    assert.equal(r.status, 400);
  });

  test('a large export is sent from a spool file in chunks, whole; HEAD gives its length', async () => {
    // About 3 MB of CSV: more than the server's 256 KiB chunks and 1 MiB spool buffer.
    const items = [];
    for (let i = 0; i < 6000; i++) {
      items.push({ external_id: `big-${String(i).padStart(5, '0')}`, first_name: `N${i}`,
        tags: ['big'], attributes: { note: 'x'.repeat(400), n: i } });
    }
    const b = await srv.api('POST', '/v1/customers/batch', { body: items });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.failed, 0);
    const r = await srv.api('GET', '/v1/customers/export.csv?tag=big');
    assert.equal(r.status, 200);
    assert.ok(r.text.length > 2_500_000, `${r.text.length} bytes`);
    assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(r.text));
    const rows = parseCsv(r.text);
    const col = rows[0].indexOf('attributes.n');
    assert.equal(rows.length, 6001);
    assert.deepEqual(rows.slice(1).map((x) => Number(x[col])), items.map((_, i) => i));
    const head = await srv.api('HEAD', '/v1/customers/export.csv?tag=big');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), r.headers.get('content-length'));
    assert.equal(head.text, '');
  });

  test('bad uploads and mappings are 4xx naming the field', async () => {
    const cases = [
      [Buffer.from('\uFEFFid,name\n1,x\n', 'utf16le'), 'file'],
      [Buffer.from('id,name\n1,M\xfcller\n', 'latin1'), 'file'],
      ['id,id\n1,2\n', 'file'],
      ['\n\n', 'file'],
    ];
    for (const [body, field] of cases) {
      const r = await upload(body);
      assert.equal(r.status, 422, r.text);
      assert.ok(r.json.errors.some((e) => e.field === field), r.text);
    }
    let r = await srv.api('POST', '/v1/imports?kind=orders', { body: 'id\n1\n', raw: true, headers: { 'content-type': 'text/csv' } });
    assert.equal(r.status, 400);
    assert.ok(r.json.errors.some((e) => e.field === 'kind'), r.text);

    // One bad row in a UTF-8 file is a row error, not a rejected file.
    r = await upload(Buffer.concat([Buffer.from('id,first_name\nimp-u1,J\u00fcrgen\nimp-u2,'), Buffer.from('M\xfcller\n', 'latin1')]));
    assert.equal(r.status, 201, r.text);
    let done = await runImport(r.json.id);
    assert.deepEqual(done.errors.map((e) => [e.row, e.column]), [[3, 'first_name']]);
    assert.match(done.errors[0].message, /UTF-8/);
    // A huge field is a row error too.
    r = await upload(`id,first_name\nimp-h1,${'x'.repeat(70000)}\nimp-h2,ok\n`);
    done = await runImport(r.json.id);
    assert.equal(done.counts.failed, 1);
    assert.deepEqual(done.errors.map((e) => [e.row, e.column]), [[2, 'first_name']]);

    r = await upload('name,mail\nA,a@example.com\n');
    const id = r.json.id;
    r = await srv.api('POST', `/v1/imports/${id}/start`);
    assert.equal(r.status, 422, 'no external_id suggested');
    assert.ok(r.json.errors.some((e) => e.field === 'mapping'), r.text);
    r = await srv.api('POST', `/v1/imports/${id}/start`, { body: { mapping: { name: 'external_id', mail: 'external_id' } } });
    assert.equal(r.status, 422);
    assert.ok(r.json.errors.some((e) => e.field === 'mapping.mail'), r.text);
    r = await srv.api('POST', `/v1/imports/${id}/start`, { body: { mapping: { name: 'external_id', nope: 'email' } } });
    assert.equal(r.status, 422);
    assert.ok(r.json.errors.some((e) => e.field === 'mapping.nope'), r.text);
    r = await srv.api('POST', `/v1/imports/${id}/start`, { body: { mapping: { name: 'external_id', mail: 'e-mail' } } });
    assert.equal(r.status, 422);
    assert.ok(r.json.errors.some((e) => e.field === 'mapping.mail'), r.text);
    assert.equal((await srv.api('GET', `/v1/imports/${id}`)).json.state, 'uploaded', 'nothing half-applied');
    r = await srv.api('POST', `/v1/imports/${id}/start`, { body: { mapping: { name: 'external_id', mail: 'email' } } });
    assert.equal(r.status, 202);
    r = await srv.api('POST', `/v1/imports/${id}/start`);
    assert.equal(r.status, 409, 'an import starts once');
    assert.equal((await srv.api('GET', '/v1/imports/999999')).status, 404);
    assert.equal((await srv.api('GET', '/v1/imports/999999/errors.csv')).status, 404);
  });

  test('401 without credentials, 403 without customers:write (export needs customers:read)', async () => {
    let r = await srv.api('POST', '/v1/imports?kind=customers', { noAuth: true, body: 'id\n1\n', raw: true, headers: { 'content-type': 'text/csv' } });
    assert.equal(r.status, 401);
    assert.equal((await srv.api('GET', '/v1/imports', { noAuth: true })).status, 401);
    assert.equal((await srv.api('GET', '/v1/customers/export.csv', { noAuth: true })).status, 401);
    const editor = await srv.makeUser('editor');  // customers:read
    r = await upload('id\n1\n', { token: editor });
    assert.equal(r.status, 403);
    assert.equal((await srv.api('GET', '/v1/imports', { token: editor })).status, 403);
    assert.equal((await srv.api('GET', '/v1/customers/export.csv', { token: editor })).status, 200);
    const marketing = await srv.makeUser('marketing');  // customers:write
    r = await upload('id,first_name\nimp-m1,M\n', { token: marketing });
    assert.equal(r.status, 201);
    const analystless = await srv.makeUser('payments-operator');
    assert.equal((await srv.api('GET', `/v1/imports/${r.json.id}`, { token: analystless })).status, 403);
  });

  test('clean shutdown', async () => {
    const r = await srv.stop();
    assert.deepEqual(r, { code: 0, signal: null });
    assertCleanLog(srv);
  });
});
