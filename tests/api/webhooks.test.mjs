// Outbound webhooks through the running binary: a real HTTP receiver in this
// process gets client-hub events, checks their signatures exactly as a
// customer's endpoint would, fails on purpose to see retries and the
// automatic disable, and the delivery log, retry, test, rotation, validation
// and permissions are checked through the API.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer, tempDir, waitFor } from './lib/harness.mjs';

// Tiny intervals so retries and the disable happen within seconds.
const ENV = {
  KONTOR_WEBHOOKS_POLL_MS: '50',
  KONTOR_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true', // the receivers run on loopback
  KONTOR_WEBHOOKS_BACKOFF_BASE_MS: '150',
  KONTOR_WEBHOOKS_BACKOFF_MAX_MS: '300',
  KONTOR_WEBHOOKS_MAX_ATTEMPTS: '3',
  KONTOR_WEBHOOKS_DISABLE_AFTER_FAILURES: '5',
  KONTOR_WEBHOOKS_TIMEOUT_MS: '3000',
};

// A webhook endpoint: answers `status` and records every request.
async function receiver() {
  const rx = { status: 200, requests: [] };
  rx.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      rx.requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.writeHead(rx.status, { 'content-type': 'text/plain' });
      res.end(rx.status < 300 ? 'ok' : 'receiver says no');
    });
  });
  await new Promise((resolve) => rx.server.listen(0, '127.0.0.1', resolve));
  rx.url = (p = '/hook') => `http://127.0.0.1:${rx.server.address().port}${p}`;
  rx.ofType = (type) => rx.requests.filter((r) => r.headers['kontor-event-type'] === type);
  rx.close = () => new Promise((resolve) => rx.server.close(resolve));
  return rx;
}

// What a receiver does: recompute the HMAC over "<timestamp>.<raw body>"
// with the secret, compare in constant time, and reject stale timestamps.
function verifySignature(secret, headers, body) {
  const ts = headers['kontor-timestamp'];
  const sig = headers['kontor-signature'] || '';
  if (!/^\d+$/.test(ts ?? '') || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = 'v1=' + crypto.createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
  return sig.length === expected.length && crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
}

let srv;

describe(`webhooks (${DB_KIND})`, { timeout: 180000 }, () => {
  before(async () => {
    srv = await startServer({ env: ENV });
  });
  after(async () => {
    if (srv) assertCleanLog(srv);
    await srv?.close();
  });

  test('GET /v1/webhooks/events lists every event type', async () => {
    const r = await srv.api('GET', '/v1/webhooks/events');
    assert.equal(r.status, 200, r.text);
    const types = r.json.items.map((e) => e.type);
    for (const t of ['customer.created', 'customer.updated', 'customer.deleted', 'subscription.changed',
      'list.membership_changed', 'device.changed', 'product.changed', 'list.changed', 'ping']) {
      assert.ok(types.includes(t), `lists ${t}`);
    }
    assert.ok(r.json.items.every((e) => typeof e.description === 'string' && e.description.length > 0));
  });

  test('a signed delivery per subscribed event; the log shows request and response', async () => {
    const rx = await receiver();
    try {
      await srv.api('PUT', '/v1/customers/wh-early', { body: { first_name: 'Early' } });  // before the webhook: not sent
      let r = await srv.api('POST', '/v1/webhooks', {
        body: { url: rx.url('/in?src=kontor'), events: ['customer.created', 'customer.deleted'], description: 'CRM mirror' },
      });
      assert.equal(r.status, 201, r.text);
      const hook = r.json;
      assert.match(hook.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
      assert.equal(hook.enabled, true);
      assert.equal(hook.disabled_reason, null);
      assert.equal(hook.disabled_at, null);
      assert.equal(hook.consecutive_failures, 0);
      assert.deepEqual(hook.events, ['customer.created', 'customer.deleted']);
      assert.equal(hook.description, 'CRM mirror');
      const secret = hook.secret;

      r = await srv.api('GET', `/v1/webhooks/${hook.id}`);
      assert.equal(r.status, 200);
      assert.equal(r.json.secret, undefined, 'GET never shows the secret');
      assert.ok(!r.text.includes(secret));
      r = await srv.api('GET', '/v1/webhooks');
      assert.equal(r.status, 200);
      assert.ok(r.json.items.some((w) => w.id === hook.id));
      assert.ok(!r.text.includes(secret));
      assert.equal(r.json.next_cursor, null);

      assert.equal((await srv.api('PUT', '/v1/customers/wh-1', { body: { first_name: 'Anna', email: 'anna@example.com' } })).status, 201);
      await waitFor(() => rx.ofType('customer.created').length >= 1, { what: 'customer.created delivery' });
      const got = rx.ofType('customer.created')[0];
      assert.equal(got.method, 'POST');
      assert.equal(got.url, '/in?src=kontor');
      assert.equal(got.headers['content-type'], 'application/json');
      assert.equal(got.headers['user-agent'], 'Kontor-Webhooks/1');
      assert.ok(verifySignature(secret, got.headers, got.body), 'the signature verifies with the secret');
      assert.ok(!verifySignature(secret, got.headers, got.body + ' '), 'and not for another body');
      const body = JSON.parse(got.body);
      assert.deepEqual(Object.keys(body), ['id', 'type', 'created_at', 'data']);
      assert.equal(body.type, 'customer.created');
      assert.equal(body.id, got.headers['kontor-event-id']);
      assert.match(body.id, /^evt_\d+$/);
      assert.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(body.data.external_id, 'wh-1');
      assert.equal(body.data.email, 'anna@example.com');

      // An update is not subscribed; the erasure is, and names only the customer.
      assert.equal((await srv.api('PUT', '/v1/customers/wh-1', { body: { first_name: 'Anne', email: 'anna@example.com' } })).status, 200);
      assert.equal((await srv.api('DELETE', '/v1/customers/wh-1')).status, 204);
      await waitFor(() => rx.ofType('customer.deleted').length >= 1, { what: 'customer.deleted delivery' });
      const del = rx.ofType('customer.deleted')[0];
      assert.ok(verifySignature(secret, del.headers, del.body));
      assert.deepEqual(JSON.parse(del.body).data, { status: 'erased', external_id: 'wh-1' });
      assert.ok(!del.body.includes('anna@example.com'));
      assert.equal(rx.ofType('customer.updated').length, 0, 'customer.updated was not subscribed');
      assert.equal(rx.requests.filter((q) => q.body.includes('wh-early')).length, 0, 'changes before the webhook are not sent');
      assert.equal(rx.requests.length, 2);

      r = await srv.api('GET', `/v1/webhooks/${hook.id}/deliveries`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.items.length, 2);
      assert.equal(r.json.next_cursor, null);
      const [newest, oldest] = r.json.items;
      assert.equal(newest.event_type, 'customer.deleted', 'newest first');
      assert.equal(oldest.event_type, 'customer.created');
      assert.equal(oldest.event_id, body.id);
      assert.equal(oldest.status, 'succeeded');
      assert.equal(oldest.attempts, 1);
      assert.equal(oldest.response_status, 200);
      assert.equal(oldest.error, null);
      assert.equal(oldest.next_attempt_at, null);
      assert.equal(typeof oldest.duration_ms, 'number');
      assert.equal(oldest.webhook_id, hook.id);
      assert.equal(got.headers['kontor-delivery-id'], oldest.id);
      assert.equal(oldest.request_body, undefined, 'the list leaves bodies out');

      r = await srv.api('GET', `/v1/webhooks/${hook.id}/deliveries?limit=1`);
      assert.equal(r.json.items.length, 1);
      assert.ok(r.json.next_cursor);
      r = await srv.api('GET', `/v1/webhooks/${hook.id}/deliveries?limit=1&cursor=${r.json.next_cursor}`);
      assert.equal(r.json.items[0].id, oldest.id);
      r = await srv.api('GET', `/v1/webhooks/${hook.id}/deliveries?status=failed`);
      assert.equal(r.json.items.length, 0);

      r = await srv.api('GET', `/v1/webhooks/deliveries/${oldest.id}`);
      assert.equal(r.status, 200, r.text);
      // The customer was erased since: the log keeps the event, not the personal data.
      const logged = JSON.parse(r.json.request_body);
      assert.equal(logged.id, body.id);
      assert.equal(logged.type, 'customer.created');
      assert.deepEqual(logged.data, { external_id: 'wh-1' });
      assert.ok(!r.text.includes('anna@example.com'), 'no personal data of an erased customer in the log');
      assert.equal(r.json.response_body, null);
      assert.equal(r.json.request_headers['Kontor-Event-Id'], body.id);
      assert.equal(r.json.request_headers['Kontor-Signature'], got.headers['kontor-signature']);
      assert.equal(r.json.attempt_log.length, 1);
      assert.equal(r.json.attempt_log[0].response_status, 200);
      r = await srv.api('GET', `/v1/webhooks/deliveries/${newest.id}`);
      assert.equal(r.json.request_body, del.body, 'the log keeps the exact body that was signed');
      assert.equal(r.json.response_body, 'ok');

      // Audited, and the secret appears in no audit entry and no log line.
      r = await srv.api('GET', `/v1/audit?resource_type=webhook&resource_id=${hook.id}`);
      assert.equal(r.status, 200);
      assert.ok(r.json.items.some((e) => e.action === 'webhook.create'));
      assert.ok(!r.text.includes(secret), 'no secret in the audit log');
      assert.ok(!srv.log().includes(secret), 'no secret in the server log');

      assert.equal((await srv.api('DELETE', `/v1/webhooks/${hook.id}`)).status, 204);
      assert.equal((await srv.api('GET', `/v1/webhooks/${hook.id}`)).status, 404);
      assert.equal((await srv.api('GET', `/v1/webhooks/${hook.id}/deliveries`)).status, 404);
      assert.equal((await srv.api('GET', `/v1/webhooks/deliveries/${oldest.id}`)).status, 404);
      r = await srv.api('GET', `/v1/audit?action=webhook.delete&resource_id=${hook.id}`);
      assert.equal(r.json.items.length, 1);
    } finally {
      await rx.close();
    }
  });

  test('test pings and secret rotation', async () => {
    const rx = await receiver();
    try {
      let r = await srv.api('POST', '/v1/webhooks', { body: { url: rx.url(), events: ['product.changed'] } });
      assert.equal(r.status, 201, r.text);
      const hook = r.json;
      r = await srv.api('POST', `/v1/webhooks/${hook.id}/test`);
      assert.equal(r.status, 202, r.text);
      assert.equal(r.json.event_type, 'ping');
      assert.equal(r.json.status, 'pending');
      const pingId = r.json.id;
      await waitFor(() => rx.ofType('ping').length === 1, { what: 'ping' });
      const ping = rx.ofType('ping')[0];
      assert.ok(verifySignature(hook.secret, ping.headers, ping.body));
      assert.equal(JSON.parse(ping.body).data.webhook_id, hook.id);
      await waitFor(async () => (await srv.api('GET', `/v1/webhooks/deliveries/${pingId}`)).json.status === 'succeeded', { what: 'ping succeeded' });
      r = await srv.api('GET', `/v1/webhooks/deliveries/${pingId}`);
      assert.equal(r.json.request_body, ping.body);
      assert.equal(r.json.response_body, 'ok');

      r = await srv.api('POST', `/v1/webhooks/${hook.id}/rotate-secret`);
      assert.equal(r.status, 200, r.text);
      const rotated = r.json.secret;
      assert.match(rotated, /^whsec_/);
      assert.notEqual(rotated, hook.secret);
      assert.equal((await srv.api('PUT', '/v1/products/wh-prod', { body: { name: 'Briefing', kind: 'subscription' } })).status, 201);
      await waitFor(() => rx.ofType('product.changed').length === 1, { what: 'product.changed' });
      const p = rx.ofType('product.changed')[0];
      assert.ok(verifySignature(rotated, p.headers, p.body), 'signed with the new secret');
      assert.ok(!verifySignature(hook.secret, p.headers, p.body), 'not with the old one');
      assert.equal(JSON.parse(p.body).data.code, 'wh-prod');

      r = await srv.api('GET', `/v1/audit?resource_type=webhook&resource_id=${hook.id}`);
      const actions = r.json.items.map((e) => e.action);
      assert.ok(actions.includes('webhook.test') && actions.includes('webhook.rotate_secret'), actions.join());
      assert.ok(!r.text.includes(rotated) && !r.text.includes(hook.secret));
      assert.equal((await srv.api('DELETE', `/v1/webhooks/${hook.id}`)).status, 204);
    } finally {
      await rx.close();
    }
  });

  test('a failing endpoint is retried with backoff, then disabled with the reason; re-enable and retry', async () => {
    const rx = await receiver();
    rx.status = 500;
    try {
      let r = await srv.api('POST', '/v1/webhooks', { body: { url: rx.url('/failing'), events: ['*'] } });
      assert.equal(r.status, 201, r.text);
      const hook = r.json;
      for (const id of ['wh-f1', 'wh-f2']) {
        assert.equal((await srv.api('PUT', `/v1/customers/${id}`, { body: { first_name: 'F' } })).status, 201);
      }
      const disabled = await waitFor(async () => {
        const w = (await srv.api('GET', `/v1/webhooks/${hook.id}`)).json;
        return w.enabled === false ? w : null;
      }, { what: 'the webhook to be disabled', timeoutMs: 20000 });
      assert.match(disabled.disabled_reason, /^disabled after 5 consecutive failed deliveries; last: HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/failing$/);
      assert.ok(disabled.disabled_at);
      assert.ok(disabled.consecutive_failures >= 5);

      // Each delivery was retried, not faster than the backoff allows.
      const byEvent = {};
      for (const q of rx.requests) (byEvent[q.headers['kontor-event-id']] ??= []).push(q.at);
      assert.equal(Object.keys(byEvent).length, 2);
      assert.ok(rx.requests.length >= 5 && rx.requests.length <= 6, `${rx.requests.length} attempts`);
      for (const times of Object.values(byEvent)) {
        for (let i = 1; i < times.length; ++i) assert.ok(times[i] - times[i - 1] >= 100, `backoff between attempts: ${times}`);
      }

      await waitFor(async () => {
        const items = (await srv.api('GET', `/v1/webhooks/${hook.id}/deliveries`)).json.items;
        return items.length === 2 && items.every((d) => d.status === 'failed');
      }, { what: 'every delivery failed' });
      r = await srv.api('GET', `/v1/webhooks/${hook.id}/deliveries?status=failed`);
      const failed = r.json.items;
      assert.equal(failed.length, 2);
      for (const d of failed) {
        assert.ok(d.error === 'HTTP 500' || d.error === disabled.disabled_reason, d.error);
        assert.equal(d.next_attempt_at, null);
      }
      const detail = (await srv.api('GET', `/v1/webhooks/deliveries/${failed[0].id}`)).json;
      assert.equal(detail.attempt_log.length, detail.attempts);
      assert.ok(detail.attempt_log.every((a) => a.response_status === 500 && a.error === 'HTTP 500'));

      r = await srv.api('GET', `/v1/audit?action=webhook.disabled&resource_id=${hook.id}`);
      assert.equal(r.json.items.length, 1);
      assert.equal(r.json.items[0].actor.type, 'system');
      assert.equal(r.json.items[0].after.disabled_reason, disabled.disabled_reason);

      // Disabled: new changes are not queued for it, retries are refused.
      assert.equal((await srv.api('PUT', '/v1/customers/wh-f3', { body: { first_name: 'F' } })).status, 201);
      r = await srv.api('POST', `/v1/webhooks/deliveries/${failed[0].id}/retry`);
      assert.equal(r.status, 409, r.text);

      // Back up: re-enabling re-arms it, and a retry delivers the same event again.
      rx.status = 200;
      r = await srv.api('PATCH', `/v1/webhooks/${hook.id}`, { body: { enabled: true } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.enabled, true);
      assert.equal(r.json.disabled_reason, null);
      assert.equal(r.json.disabled_at, null);
      assert.equal(r.json.consecutive_failures, 0);
      const before = rx.requests.length;
      r = await srv.api('POST', `/v1/webhooks/deliveries/${failed[0].id}/retry`);
      assert.equal(r.status, 202, r.text);
      assert.equal(r.json.status, 'pending');
      await waitFor(async () => (await srv.api('GET', `/v1/webhooks/deliveries/${failed[0].id}`)).json.status === 'succeeded', { what: 'the retried delivery' });
      const again = rx.requests.slice(before);
      assert.equal(again.length, 1);
      assert.equal(again[0].headers['kontor-event-id'], failed[0].event_id);
      assert.ok(verifySignature(hook.secret, again[0].headers, again[0].body));
      assert.equal(rx.requests.filter((q) => q.body.includes('wh-f3')).length, 0, 'nothing queued while disabled');
      r = await srv.api('GET', `/v1/audit?resource_type=webhook&resource_id=${hook.id}`);
      const actions = r.json.items.map((e) => e.action);
      assert.ok(actions.includes('webhook.retry') && actions.includes('webhook.update'), actions.join());

      // PATCH changes the subscription; the audit shows before and after.
      r = await srv.api('PATCH', `/v1/webhooks/${hook.id}`, { body: { events: ['list.changed'], description: 'only lists', url: rx.url('/lists') } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.events, ['list.changed']);
      assert.equal(r.json.url, rx.url('/lists'));
      assert.equal((await srv.api('DELETE', `/v1/webhooks/${hook.id}`)).status, 204);
    } finally {
      await rx.close();
    }
  });

  test('https endpoints: the peer is verified against the CA file, with the host name checked', async () => {
    const dir = tempDir('kontor-wh-tls-');
    const cert = (name) => {
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`), '-days', '2', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return { key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.crt`)) };
    };
    const trusted = cert('trusted');
    const stranger = cert('stranger');
    const seen = [];
    const serve = (creds) => new Promise((resolve) => {
      const s = https.createServer(creds, (req, res) => {
        req.resume();
        req.on('end', () => {
          seen.push({ servername: req.socket.servername, type: req.headers['kontor-event-type'] });
          res.end('ok');
        });
      });
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    const good = await serve(trusted);
    const bad = await serve(stranger);
    const tls = await startServer({ env: { ...ENV, KONTOR_WEBHOOKS_CA_FILE: path.join(dir, 'trusted.crt') } });
    try {
      const ping = async (url) => {
        let r = await tls.api('POST', '/v1/webhooks', { body: { url, events: ['*'] } });
        assert.equal(r.status, 201, r.text);
        r = await tls.api('POST', `/v1/webhooks/${r.json.id}/test`);
        assert.equal(r.status, 202, r.text);
        const id = r.json.id;
        return waitFor(async () => {
          const d = (await tls.api('GET', `/v1/webhooks/deliveries/${id}`)).json;
          return d.status !== 'pending' ? d : null;
        }, { what: `ping to ${url}` });
      };
      let d = await ping(`https://localhost:${good.address().port}/hook`);
      assert.equal(d.status, 'succeeded', d.error);
      assert.equal(d.response_status, 200);
      assert.deepEqual(seen, [{ servername: 'localhost', type: 'ping' }], 'SNI names the host');

      d = await ping(`https://localhost:${bad.address().port}/hook`);
      assert.equal(d.status, 'failed');
      assert.equal(d.response_status, null);
      assert.match(d.error, /certificate verify failed/);

      // The trusted certificate names localhost, not 127.0.0.1.
      d = await ping(`https://127.0.0.1:${good.address().port}/hook`);
      assert.equal(d.status, 'failed');
      assert.match(d.error, /certificate verify failed/);
      assert.equal(seen.length, 1, 'no request reached an endpoint that failed verification');
      assertCleanLog(tls);
    } finally {
      await tls.close();
      good.close();
      bad.close();
    }
  });

  test('bad input: 422 naming the fields, 404 for unknown ids, nothing written', async () => {
    let r = await srv.api('POST', '/v1/webhooks', { body: { url: 'ftp://example.com/x', events: ['customer.created', 'customer.exploded'], colour: 'red' } });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json.errors.map((e) => e.field).sort(), ['colour', 'events[1]', 'url']);
    r = await srv.api('POST', '/v1/webhooks', { body: {} });
    assert.equal(r.status, 422);
    assert.deepEqual(r.json.errors.map((e) => e.field).sort(), ['events', 'url']);
    for (const url of ['not a url', '/relative', 'https://', 'https://user:pw@example.com/', 'https://example.com/' + 'a'.repeat(2048)]) {
      r = await srv.api('POST', '/v1/webhooks', { body: { url, events: ['*'] } });
      assert.equal(r.status, 422, `${url.slice(0, 40)}: ${r.text}`);
      assert.deepEqual(r.json.errors.map((e) => e.field), ['url']);
    }
    r = await srv.api('POST', '/v1/webhooks', { body: { url: 'https://example.com/', events: [], enabled: 'yes', description: 7 } });
    assert.deepEqual(r.json.errors.map((e) => e.field).sort(), ['description', 'enabled', 'events']);
    r = await srv.api('POST', '/v1/webhooks', { body: '{"url":', raw: true, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal((await srv.api('GET', '/v1/webhooks')).json.items.length, 0, 'nothing was created');

    r = await srv.api('POST', '/v1/webhooks', { body: { url: 'https://example.com/hook', events: ['*'], enabled: false } });
    assert.equal(r.status, 201);
    const id = r.json.id;
    assert.equal(r.json.enabled, false);
    r = await srv.api('PATCH', `/v1/webhooks/${id}`, { body: { url: 'mailto:x@example.com', secret: 'mine' } });
    assert.equal(r.status, 422);
    assert.deepEqual(r.json.errors.map((e) => e.field).sort(), ['secret', 'url']);
    assert.equal((await srv.api('GET', `/v1/webhooks/${id}`)).json.url, 'https://example.com/hook');
    assert.equal((await srv.api('GET', `/v1/webhooks/${id}/deliveries?status=lost`)).status, 400);

    for (const [method, path] of [['GET', '/v1/webhooks/999999'], ['PATCH', '/v1/webhooks/999999'], ['DELETE', '/v1/webhooks/abc'],
      ['POST', '/v1/webhooks/999999/test'], ['POST', '/v1/webhooks/999999/rotate-secret'], ['GET', '/v1/webhooks/999999/deliveries'],
      ['GET', '/v1/webhooks/deliveries/999999'], ['POST', '/v1/webhooks/deliveries/999999/retry']]) {
      r = await srv.api(method, path, method === 'PATCH' ? { body: { enabled: true } } : {});
      assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
    }
    assert.equal((await srv.api('DELETE', `/v1/webhooks/${id}`)).status, 204);
  });

  test('permissions: admin read to view, admin write to change', async () => {
    assert.equal((await srv.api('GET', '/v1/webhooks', { noAuth: true })).status, 401);
    assert.equal((await srv.api('POST', '/v1/webhooks', { noAuth: true, body: { url: 'https://example.com', events: ['*'] } })).status, 401);
    const auditor = await srv.makeUser('auditor');
    assert.equal((await srv.api('GET', '/v1/webhooks', { token: auditor })).status, 200);
    assert.equal((await srv.api('GET', '/v1/webhooks/events', { token: auditor })).status, 200);
    assert.equal((await srv.api('POST', '/v1/webhooks', { token: auditor, body: { url: 'https://example.com', events: ['*'] } })).status, 403);
    const editor = await srv.makeUser('editor');
    assert.equal((await srv.api('GET', '/v1/webhooks', { token: editor })).status, 403);
    assert.equal((await srv.api('GET', '/v1/webhooks/deliveries/1', { token: editor })).status, 403);
  });
});
