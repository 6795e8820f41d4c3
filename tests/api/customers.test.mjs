// The client hub's sync API through the running binary: create-or-update by
// external id, If-Match, validation, batch (JSON and NDJSON), the change feed,
// erasure and permissions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer } from './lib/harness.mjs';

let srv;

const ANNA = {
  type: 'individual', salutation: 'Frau', first_name: 'Anna', last_name: 'Berg',
  email: 'anna@example.com', phone: '+4930123456', language: 'de', country: 'DE',
  time_zone: 'Europe/Berlin', attributes: { risk: 3, segment: 'gold' }, tags: ['vip'],
  consent: { email: { status: 'granted', source: 'signup' } },
};

describe(`customers (${DB_KIND})`, { timeout: 180000 }, () => {
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.close();
  });

  test('PUT creates (201), repeats without a change (200, same version), updates with If-Match', async () => {
    let r = await srv.api('PUT', '/v1/customers/crm-1', { body: ANNA });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.version, 1);
    assert.equal(r.headers.get('etag'), '"1"');
    assert.deepEqual(r.json.tags, ['vip']);
    assert.equal(r.json.consent.email.status, 'granted');

    r = await srv.api('PUT', '/v1/customers/crm-1', { body: ANNA });
    assert.equal(r.status, 200);
    assert.equal(r.json.version, 1, 'an identical PUT changes nothing');

    r = await srv.api('PUT', '/v1/customers/crm-1', { body: { ...ANNA, last_name: 'Berg-Ost' }, headers: { 'if-match': '"1"' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 2);
    r = await srv.api('PUT', '/v1/customers/crm-1', { body: { ...ANNA, last_name: 'X' }, headers: { 'if-match': '"1"' } });
    assert.equal(r.status, 409, 'a stale If-Match is a conflict');

    r = await srv.api('GET', '/v1/customers/crm-1');
    assert.equal(r.status, 200);
    assert.equal(r.json.last_name, 'Berg-Ost');
    assert.equal((await srv.api('GET', '/v1/customers/nobody')).status, 404);
  });

  test('invalid email, phone, enum, zone and unknown fields → 422 naming each, nothing written', async () => {
    const r = await srv.api('PUT', '/v1/customers/crm-bad', {
      body: { email: 'no-at', phone: '030 123', type: 'robot', time_zone: 'Mars/Olympus', country: 'Germany', shoe_size: 44 },
    });
    assert.equal(r.status, 422, r.text);
    const fields = r.json.errors.map((e) => e.field).sort();
    assert.deepEqual(fields, ['country', 'email', 'phone', 'shoe_size', 'time_zone', 'type']);
    assert.equal((await srv.api('GET', '/v1/customers/crm-bad')).status, 404);
    assert.equal((await srv.api('PUT', '/v1/customers/has%20space', { body: {} })).status, 404);
  });

  test('batch: good items applied, bad ones reported per item (JSON array and NDJSON)', async () => {
    let r = await srv.api('POST', '/v1/customers/batch', {
      body: [
        { external_id: 'b-1', email: 'b1@example.com' },
        { external_id: 'b-2', email: 'not-an-email' },
        { external_id: 'b-3', first_name: 'Drei', tags: ['x'] },
        'not an object',
      ],
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.created, 2);
    assert.equal(r.json.failed, 2);
    assert.equal(r.json.items[1].status, 'error');
    assert.equal(r.json.items[1].errors[0].field, 'items[1].email');
    assert.equal((await srv.api('GET', '/v1/customers/b-2')).status, 404);
    assert.equal((await srv.api('GET', '/v1/customers/b-3')).status, 200);

    const ndjson = '{"external_id":"b-1","email":"b1@example.com"}\n{"external_id":"b-4"}\n{broken\n';
    r = await srv.api('POST', '/v1/customers/batch', { body: ndjson, raw: true, headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.items.map((i) => i.status), ['unchanged', 'created', 'error']);
    assert.match(r.json.items[2].errors[0].message, /line 3/);

    r = await srv.api('POST', '/v1/customers/batch', { body: { not: 'an array' } });
    assert.equal(r.status, 422);
    const tooMany = Array.from({ length: 10001 }, (_, i) => ({ external_id: `t-${i}` }));
    r = await srv.api('POST', '/v1/customers/batch', { body: tooMany });
    assert.equal(r.status, 422, 'more than 10,000 items are refused whole');
  });

  test('the change feed lists creates, updates and deletes in order and resumes from a cursor', async () => {
    let r = await srv.api('GET', '/v1/changes?since=0&limit=1000');
    assert.equal(r.status, 200);
    const all = r.json.items;
    assert.ok(all.length >= 5);
    const seqs = all.map((c) => Number(c.seq));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.ok(all.some((c) => c.key === 'crm-1' && c.op === 'update' && c.version === 2));

    const cursor = r.json.next_cursor;
    r = await srv.api('GET', `/v1/changes?since=${cursor}`);
    assert.deepEqual(r.json.items, []);
    assert.equal(r.json.next_cursor, cursor);

    assert.equal((await srv.api('DELETE', '/v1/customers/b-3')).status, 204);
    r = await srv.api('GET', `/v1/changes?since=${cursor}`);
    assert.equal(r.json.items.length, 1);
    assert.equal(r.json.items[0].op, 'delete');
    assert.equal(r.json.items[0].key, 'b-3');
    assert.equal((await srv.api('GET', '/v1/changes?since=abc')).status, 400);
  });

  test('erasure anonymizes, keeps the record and the audit trail', async () => {
    let r = await srv.api('DELETE', '/v1/customers/crm-1');
    assert.equal(r.status, 204);
    r = await srv.api('GET', '/v1/customers/crm-1');
    assert.equal(r.json.status, 'erased');
    for (const k of ['first_name', 'last_name', 'email', 'phone']) assert.equal(r.json[k], null, k);
    assert.deepEqual(r.json.tags, []);
    r = await srv.api('GET', '/v1/audit?resource_type=customer&resource_id=crm-1');
    assert.deepEqual(r.json.items.map((e) => e.action), ['customer.erase', 'customer.update', 'customer.create']);
    assert.ok(!JSON.stringify(r.json.items[0]).includes('anna@example.com'), 'the erasure entry holds no personal data');
    r = await srv.api('PUT', '/v1/customers/crm-1', { body: ANNA });
    assert.equal(r.status, 409, 'an erased customer is not brought back');
  });

  test('search, tag filter and paging', async () => {
    for (let i = 0; i < 5; ++i) {
      await srv.api('PUT', `/v1/customers/p-${i}`, { body: { last_name: `Pager${i}`, tags: i % 2 ? ['odd'] : [] } });
    }
    let r = await srv.api('GET', '/v1/customers?q=pager&limit=2');
    assert.equal(r.json.items.length, 2);
    const names = r.json.items.map((c) => c.last_name);
    r = await srv.api('GET', `/v1/customers?q=pager&limit=2&cursor=${r.json.next_cursor}`);
    names.push(...r.json.items.map((c) => c.last_name));
    r = await srv.api('GET', `/v1/customers?q=pager&limit=2&cursor=${r.json.next_cursor}`);
    names.push(...r.json.items.map((c) => c.last_name));
    assert.deepEqual(names, ['Pager0', 'Pager1', 'Pager2', 'Pager3', 'Pager4']);
    assert.equal(r.json.next_cursor, null);
    r = await srv.api('GET', '/v1/customers?tag=odd&q=pager');
    assert.deepEqual(r.json.items.map((c) => c.external_id), ['p-1', 'p-3']);
  });

  test('permissions: editor reads customers but cannot write them; payments-operator cannot write', async () => {
    const editor = await srv.makeUser('editor');
    assert.equal((await srv.api('GET', '/v1/customers', { token: editor })).status, 200);
    assert.equal((await srv.api('PUT', '/v1/customers/e-1', { token: editor, body: {} })).status, 403);
    const marketing = await srv.makeUser('marketing');
    assert.equal((await srv.api('PUT', '/v1/customers/m-1', { token: marketing, body: {} })).status, 201);
    assert.equal((await srv.api('GET', '/v1/customers', { noAuth: true })).status, 401);
  });

  test('products and subscriptions: create-or-update, validation, per-customer list, change feed', async () => {
    let r = await srv.api('PUT', '/v1/products/BRIEF', { body: { name: 'Börsenbrief', kind: 'subscription' } });
    assert.equal(r.status, 201, r.text);
    r = await srv.api('PUT', '/v1/products/BRIEF', { body: { name: 'Börsenbrief', kind: 'subscription' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.version, 1);
    r = await srv.api('PUT', '/v1/products/SPECIAL', { body: { name: 'Sonderreport', kind: 'single' } });
    assert.equal(r.status, 201);
    r = await srv.api('PUT', '/v1/products/X', { body: { name: 'X', kind: 'rental' } });
    assert.equal(r.status, 422);
    assert.equal(r.json.errors[0].field, 'kind');

    await srv.api('PUT', '/v1/customers/sub-c', { body: { first_name: 'Sub' } });
    const since = (await srv.api('GET', '/v1/changes?since=0&limit=1000')).json.next_cursor;
    r = await srv.api('PUT', '/v1/subscriptions/s-1', {
      body: { customer: 'sub-c', product: 'BRIEF', status: 'active', starts_at: '2026-01-01T00:00:00Z', source: 'abo-system' },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.product_kind, 'subscription');
    r = await srv.api('PUT', '/v1/subscriptions/s-2', { body: { customer: 'sub-c', product: 'SPECIAL' } });
    assert.equal(r.status, 201);
    r = await srv.api('PUT', '/v1/subscriptions/s-1', { body: { customer: 'sub-c', product: 'BRIEF', status: 'paused' }, headers: { 'if-match': '"1"' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 2);
    r = await srv.api('PUT', '/v1/subscriptions/s-3', { body: { customer: 'nobody', product: 'NOPE', ends_at: 'soon' } });
    assert.equal(r.status, 422);
    assert.deepEqual(r.json.errors.map((e) => e.field).sort(), ['ends_at']);
    r = await srv.api('PUT', '/v1/subscriptions/s-3', { body: { customer: 'nobody', product: 'NOPE' } });
    assert.deepEqual(r.json.errors.map((e) => e.field).sort(), ['customer', 'product']);

    r = await srv.api('GET', '/v1/customers/sub-c/subscriptions');
    assert.deepEqual(r.json.items.map((x) => [x.external_id, x.status, x.product_kind]),
      [['s-1', 'paused', 'subscription'], ['s-2', 'active', 'single']]);
    r = await srv.api('GET', `/v1/changes?since=${since}`);
    assert.deepEqual(r.json.items.map((c) => [c.entity, c.key, c.op]),
      [['subscription', 's-1', 'create'], ['subscription', 's-2', 'create'], ['subscription', 's-1', 'update']]);
  });

  test('devices: anonymous registration, attach on login, refresh without a new version, detach', async () => {
    let r = await srv.api('PUT', '/v1/devices/inst-1', { body: { platform: 'ios', token: 'apns-token-1', app_version: '3.2', locale: 'de-DE' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.customer, null);
    assert.equal(r.json.status, 'active');
    await srv.api('PUT', '/v1/customers/dev-c', { body: { first_name: 'Dev' } });
    r = await srv.api('PUT', '/v1/devices/inst-1', { body: { platform: 'ios', customer: 'dev-c' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.customer, 'dev-c');
    assert.equal(r.json.token, 'apns-token-1', 'a refresh without a token keeps it');
    const v = r.json.version;
    r = await srv.api('PUT', '/v1/devices/inst-1', { body: { platform: 'ios' } });
    assert.equal(r.json.version, v, 'a plain refresh only moves last_seen_at');
    r = await srv.api('GET', '/v1/customers/dev-c/devices');
    assert.deepEqual(r.json.items.map((d) => d.installation_id), ['inst-1']);
    r = await srv.api('PUT', '/v1/devices/inst-1', { body: { platform: 'ios', customer: null } });
    assert.equal(r.json.customer, null);
    r = await srv.api('PUT', '/v1/devices/inst-2', { body: { platform: 'blackberry', customer: 'nobody' } });
    assert.equal(r.status, 422);
    r = await srv.api('PUT', '/v1/devices/inst-2', { body: { platform: 'web', customer: 'nobody' } });
    assert.equal(r.status, 422);
    assert.equal(r.json.errors[0].field, 'customer');
    r = await srv.api('GET', '/v1/changes?since=0&limit=1000');
    const dev = r.json.items.filter((c) => c.entity === 'device');
    assert.ok(dev.length >= 3);
    assert.ok(dev.every((c) => c.data.token === 'set' || c.data.token === null), 'the feed never carries push tokens');
    r = await srv.api('GET', '/v1/schedules');
    assert.ok(r.json.items.some((s) => s.name === 'clients.devices.stale'));
  });

  test('lists: static membership (idempotent), products lists evaluated now, counts and member queries', async () => {
    for (const id of ['l-a', 'l-b', 'l-c']) await srv.api('PUT', `/v1/customers/${id}`, { body: { first_name: id } });
    await srv.api('PUT', '/v1/products/LISTPROD', { body: { name: 'Brief', kind: 'subscription' } });
    let r = await srv.api('PUT', '/v1/lists/newsletter', { body: { name: 'Newsletter' } });
    assert.equal(r.status, 201, r.text);
    for (const id of ['l-a', 'l-b', 'l-a']) {
      assert.equal((await srv.api('PUT', `/v1/lists/newsletter/members/${id}`)).status, 204);
    }
    r = await srv.api('GET', '/v1/lists/newsletter');
    assert.equal(r.json.members, 2);
    assert.equal((await srv.api('DELETE', '/v1/lists/newsletter/members/l-b')).status, 204);
    assert.equal((await srv.api('DELETE', '/v1/lists/newsletter/members/l-b')).status, 204);
    r = await srv.api('GET', '/v1/customers?list=newsletter');
    assert.deepEqual(r.json.items.map((c) => c.external_id), ['l-a']);
    assert.equal((await srv.api('PUT', '/v1/lists/newsletter/members/nobody')).status, 404);

    r = await srv.api('PUT', '/v1/lists/subscribers', { body: { name: 'Subscribers', kind: 'products', product_codes: ['LISTPROD'] } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await srv.api('GET', '/v1/lists/subscribers')).json.members, 0);
    await srv.api('PUT', '/v1/subscriptions/ls-1', { body: { customer: 'l-c', product: 'LISTPROD' } });
    assert.equal((await srv.api('GET', '/v1/lists/subscribers')).json.members, 1, 'a dynamic list follows its rule at once');
    r = await srv.api('GET', '/v1/customers?list=subscribers');
    assert.deepEqual(r.json.items.map((c) => c.external_id), ['l-c']);
    assert.equal((await srv.api('PUT', '/v1/lists/subscribers/members/l-a')).status, 409, 'dynamic lists have no manual members');
    r = await srv.api('PUT', '/v1/lists/bad', { body: { name: 'Bad', kind: 'products' } });
    assert.equal(r.status, 422);
    assert.equal(r.json.errors[0].field, 'product_codes');
    assert.equal((await srv.api('GET', '/v1/customers?list=no-such-list')).status, 400);
  });

  test('customer detail: the lists a customer is in now, and its timeline newest first', async () => {
    await srv.api('PUT', '/v1/customers/tl-1', { body: { first_name: 'Tia', email: 'tia@example.com' } });
    await srv.api('PUT', '/v1/products/TLPROD', { body: { name: 'Letter', kind: 'subscription' } });
    await srv.api('PUT', '/v1/lists/tl-static', { body: { name: 'Static' } });
    await srv.api('PUT', '/v1/lists/tl-dynamic', { body: { name: 'Readers', kind: 'products', product_codes: ['TLPROD'] } });
    assert.equal((await srv.api('PUT', '/v1/lists/tl-static/members/tl-1')).status, 204);
    assert.equal((await srv.api('PUT', '/v1/subscriptions/tl-s1', { body: { customer: 'tl-1', product: 'TLPROD' } })).status, 201);
    await srv.api('PUT', '/v1/devices/tl-dev', { body: { platform: 'ios', token: 'tok-secret', customer: 'tl-1' } });
    await srv.api('PUT', '/v1/customers/tl-1', { body: { first_name: 'Tiana', email: 'tia@example.com' } });

    let r = await srv.api('GET', '/v1/customers/tl-1/lists');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.items.map((l) => l.key).sort(), ['tl-dynamic', 'tl-static']);
    assert.equal((await srv.api('GET', '/v1/customers/nobody/lists')).status, 404);

    r = await srv.api('GET', '/v1/customers/tl-1/timeline?limit=3');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.items.map((i) => `${i.entity}:${i.op}`), ['customer:update', 'device:create', 'subscription:create']);
    assert.ok(r.json.next_cursor);
    assert.ok(!JSON.stringify(r.json).includes('tok-secret'), 'push tokens never appear');
    const rest = await srv.api('GET', `/v1/customers/tl-1/timeline?cursor=${r.json.next_cursor}`);
    assert.deepEqual(rest.json.items.map((i) => `${i.entity}:${i.op}`), ['list_membership:create', 'customer:create']);
    assert.equal(rest.json.next_cursor, null);
    assert.equal((await srv.api('GET', '/v1/customers/nobody/timeline')).status, 404);
    assert.equal((await srv.api('GET', '/v1/customers/tl-1/timeline?limit=0')).status, 400);

    // Erasure keeps the timeline's shape and drops the personal data in it.
    assert.equal((await srv.api('DELETE', '/v1/customers/tl-1')).status, 204);
    r = await srv.api('GET', '/v1/customers/tl-1/timeline');
    assert.equal(r.json.items[0].op, 'delete');
    assert.ok(!JSON.stringify(r.json).includes('tia@example.com'));
    assert.deepEqual((await srv.api('GET', '/v1/customers/tl-1/lists')).json.items, []);
  });

  test('segments: preview with count and sample, save (compiled first), count, filter customers', async () => {
    await srv.api('PUT', '/v1/products/SEGPROD', { body: { name: 'Brief', kind: 'subscription' } });
    for (const [id, risk, consent] of [['g-1', 5, 'granted'], ['g-2', 2, 'granted'], ['g-3', 7, 'withdrawn'], ['g-4', 9, 'granted']]) {
      await srv.api('PUT', `/v1/customers/${id}`, { body: { attributes: { risk, group: 'seg' }, consent: { email: { status: consent } } } });
      await srv.api('PUT', `/v1/subscriptions/gs-${id}`, { body: { customer: id, product: 'SEGPROD', status: id === 'g-4' ? 'cancelled' : 'active' } });
    }
    const rule = { all: [
      { attribute: 'group', op: 'eq', value: 'seg' },
      { attribute: 'risk', op: 'gte', value: 3 },
      { has_subscription: { products: ['SEGPROD'] } },
      { consent: 'email' },
    ] };
    let r = await srv.api('POST', '/v1/segments/preview', { body: { rule } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.count, 1);
    assert.deepEqual(r.json.sample, ['g-1']);
    r = await srv.api('POST', '/v1/segments/preview', { body: { rule: { all: [{ field: 'shoe_size', op: 'eq', value: 1 }] } } });
    assert.equal(r.status, 422);
    assert.match(r.json.errors[0].field, /^rule\.all\[0\]/);

    r = await srv.api('PUT', '/v1/segments/risky', { body: { name: 'Risky readers', rule } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await srv.api('GET', '/v1/segments/risky/count')).json.count, 1);
    r = await srv.api('GET', '/v1/customers?segment=risky');
    assert.deepEqual(r.json.items.map((c) => c.external_id), ['g-1']);
    r = await srv.api('PUT', '/v1/segments/loop', { body: { name: 'Loop', rule: { segment: 'loop' } } });
    assert.equal(r.status, 422, 'a segment cannot use itself');
    r = await srv.api('PUT', '/v1/lists/risky-list', { body: { name: 'Risky list', kind: 'segment', segment: 'risky' } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await srv.api('GET', '/v1/lists/risky-list')).json.members, 1);
  });

  test('server exits cleanly on SIGTERM', async () => {
    const r = await srv.stop();
    assert.deepEqual(r, { code: 0, signal: null }, srv.log());
    assertCleanLog(srv);
  });
});
