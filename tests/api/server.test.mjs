// The HTTP server: probes, keep-alive, slow clients, graceful shutdown, the
// OpenAPI document and the web app.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, IS_PG, PG_URL, assertCleanLog, psql, rawRequest, startServer, tempDir, waitExit, waitFor } from './lib/harness.mjs';

// Every route of src/*/api.cpp and src/http/system_api.cpp, with its permission.
// Keep in step with the server: a route added or removed there must show up here.
const ROUTES = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'admin:read',
  'GET /v1/openapi.json': 'public',
  'POST /v1/auth/login': 'public',
  'POST /v1/auth/logout': 'authenticated',
  'GET /v1/me': 'authenticated',
  'PATCH /v1/me': 'authenticated',
  'GET /v1/users': 'admin:read',
  'POST /v1/users': 'admin:write',
  'GET /v1/users/{id}': 'admin:read',
  'PATCH /v1/users/{id}': 'admin:write',
  'GET /v1/roles': 'admin:read',
  'POST /v1/roles': 'admin:write',
  'GET /v1/roles/{name}': 'admin:read',
  'PUT /v1/roles/{name}': 'admin:write',
  'DELETE /v1/roles/{name}': 'admin:write',
  'GET /v1/tokens': 'admin:read',
  'POST /v1/tokens': 'admin:write',
  'DELETE /v1/tokens/{id}': 'admin:write',
  'GET /v1/audit': 'admin:read',
  'GET /v1/jobs': 'admin:read',
  'GET /v1/jobs/{id}': 'admin:read',
  'POST /v1/jobs': 'admin:write',
  'POST /v1/jobs/{id}/cancel': 'admin:write',
  'GET /v1/job-kinds': 'admin:read',
  'GET /v1/schedules': 'admin:read',
  'POST /v1/customers/batch': 'customers:write',
  'GET /v1/customers': 'customers:read',
  'PUT /v1/customers/{external_id}': 'customers:write',
  'GET /v1/customers/{external_id}': 'customers:read',
  'DELETE /v1/customers/{external_id}': 'customers:write',
  'GET /v1/changes': 'customers:read',
  'GET /v1/customers/{external_id}/subscriptions': 'customers:read',
  'GET /v1/customers/{external_id}/timeline': 'customers:read',
  'GET /v1/customers/{external_id}/lists': 'customers:read',
  'GET /v1/products': 'customers:read',
  'PUT /v1/products/{code}': 'customers:write',
  'GET /v1/products/{code}': 'customers:read',
  'PUT /v1/subscriptions/{external_id}': 'customers:write',
  'GET /v1/subscriptions/{external_id}': 'customers:read',
  'PUT /v1/devices/{installation_id}': 'customers:write',
  'GET /v1/devices/{installation_id}': 'customers:read',
  'GET /v1/devices/stats': 'customers:read',
  'POST /v1/devices/{installation_id}/unregister': 'customers:write',
  'GET /v1/customers/{external_id}/devices': 'customers:read',
  'POST /v1/segments/preview': 'customers:read',
  'GET /v1/segments': 'customers:read',
  'PUT /v1/segments/{key}': 'customers:write',
  'GET /v1/segments/{key}': 'customers:read',
  'GET /v1/segments/{key}/count': 'customers:read',
  'GET /v1/lists': 'customers:read',
  'PUT /v1/lists/{key}': 'customers:write',
  'GET /v1/lists/{key}': 'customers:read',
  'PUT /v1/lists/{key}/members/{external_id}': 'customers:write',
  'DELETE /v1/lists/{key}/members/{external_id}': 'customers:write',
  'GET /v1/customers/export.csv': 'customers:read',
  'POST /v1/imports': 'customers:write',
  'GET /v1/imports': 'customers:write',
  'GET /v1/imports/{id}': 'customers:write',
  'POST /v1/imports/{id}/start': 'customers:write',
  'POST /v1/imports/{id}/cancel': 'customers:write',
  'GET /v1/imports/{id}/errors.csv': 'customers:write',
  'GET /v1/webhooks/events': 'admin:read',
  'GET /v1/webhooks/deliveries/{id}': 'admin:read',
  'POST /v1/webhooks/deliveries/{id}/retry': 'admin:write',
  'GET /v1/webhooks': 'admin:read',
  'POST /v1/webhooks': 'admin:write',
  'GET /v1/webhooks/{id}': 'admin:read',
  'PATCH /v1/webhooks/{id}': 'admin:write',
  'DELETE /v1/webhooks/{id}': 'admin:write',
  'POST /v1/webhooks/{id}/rotate-secret': 'admin:write',
  'POST /v1/webhooks/{id}/test': 'admin:write',
  'GET /v1/webhooks/{id}/deliveries': 'admin:read',
  'GET /v1/originators': 'payments:read',
  'POST /v1/originators': 'payments:write',
  'GET /v1/originators/{id}': 'payments:read',
  'PATCH /v1/originators/{id}': 'payments:write',
  'GET /v1/counterparties': 'payments:read',
  'POST /v1/counterparties': 'payments:write',
  'GET /v1/counterparties/{id}': 'payments:read',
  'PATCH /v1/counterparties/{id}': 'payments:write',
  'GET /v1/payment-templates': 'payments:read',
  'POST /v1/payment-templates': 'payments:write',
  'GET /v1/payment-templates/{id}': 'payments:read',
  'PATCH /v1/payment-templates/{id}': 'payments:write',
  'DELETE /v1/payment-templates/{id}': 'payments:write',
  'POST /v1/payment-templates/{id}/payments': 'payments:write',
  'GET /v1/payments': 'payments:read',
  'POST /v1/payments': 'payments:write',
  'GET /v1/payments/{id}': 'payments:read',
  'POST /v1/payments/{id}/cancel': 'payments:write',
  'POST /v1/payment-uploads': 'payments:write',
  'GET /v1/payment-uploads': 'payments:read',
  'GET /v1/payment-uploads/{id}': 'payments:read',
  'GET /v1/payment-uploads/{id}/errors.csv': 'payments:read',
  'POST /v1/payment-uploads/{id}/submit': 'payments:write',
  'POST /v1/payment-uploads/{id}/discard': 'payments:write',
  'GET /v1/ach-files': 'payments:read',
  'POST /v1/ach-files': 'payments:write',
  'GET /v1/ach-files/{id}': 'payments:read',
  'GET /v1/ach-files/{id}/content': 'payments:read',
  'GET /v1/ach-files/{id}/parsed': 'payments:read',
  'POST /v1/ach-files/{id}/redeliver': 'payments:write',
  'GET /v1/payment-returns': 'payments:read',
  'POST /v1/payment-returns': 'payments:write',
  'GET /v1/messages': 'messaging:read',
  'POST /v1/messages': 'messaging:write',
  'GET /v1/messaging/providers': 'messaging:read',
  'POST /v1/sms/status': 'public',
  'POST /v1/sms/inbound': 'public',
  'GET /v1/messages/{id}': 'messaging:read',
  'GET /v1/templates': 'messaging:read',
  'GET /v1/templates/{key}': 'messaging:read',
  'PUT /v1/templates/{key}': 'messaging:write',
  'DELETE /v1/templates/{key}': 'messaging:write',
  'POST /v1/templates/{key}/preview': 'messaging:read',
  'POST /v1/events': 'messaging:write',
  'GET /v1/events': 'messaging:read',
  'GET /v1/events/{id}': 'messaging:read',
  'GET /v1/triggers': 'messaging:read',
  'GET /v1/triggers/{key}': 'messaging:read',
  'PUT /v1/triggers/{key}': 'messaging:write',
  'DELETE /v1/triggers/{key}': 'messaging:write',
  'GET /v1/customers/{external_id}/preferences': 'customers:read',
  'PUT /v1/customers/{external_id}/preferences': 'customers:write',
  'GET /v1/suppressions': 'messaging:read',
  'POST /v1/suppressions': 'messaging:write',
  'DELETE /v1/suppressions/{id}': 'messaging:write',
  'GET /v1/preferences/{token}': 'public',
  'POST /v1/preferences/{token}': 'public',
  'POST /v1/unsubscribe/{token}': 'public',
  'GET /v1/campaigns': 'messaging:read',
  'POST /v1/campaigns': 'messaging:write',
  'GET /v1/campaigns/{id}': 'messaging:read',
  'PATCH /v1/campaigns/{id}': 'messaging:write',
  'DELETE /v1/campaigns/{id}': 'messaging:write',
  'POST /v1/campaigns/{id}/schedule': 'messaging:write',
  'POST /v1/campaigns/{id}/pause': 'messaging:write',
  'POST /v1/campaigns/{id}/resume': 'messaging:write',
  'POST /v1/campaigns/{id}/cancel': 'messaging:write',
  'GET /v1/banking-calendar': 'payments:read',
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let srv;
let webRoot;

// A raw keep-alive request for /healthz.
const HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

describe(`server (${DB_KIND})`, { timeout: 180000 }, () => {
  before(async () => {
    webRoot = tempDir('kontor-web-');
    fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><html><head><title>Kontor test app</title></head><body>kontor-web-marker</body></html>');
    fs.mkdirSync(path.join(webRoot, 'assets'));
    fs.writeFileSync(path.join(webRoot, 'assets', 'app-1234abcd.js'), 'console.log("kontor");');
    srv = await startServer({
      env: { KONTOR_HTTP_HEADER_TIMEOUT_S: '1', KONTOR_HTTP_IDLE_TIMEOUT_S: '4', KONTOR_HTTP_WEB_ROOT: webRoot },
    });
  });
  after(async () => {
    await srv?.close();
  });

  test('/healthz and /readyz need no credentials', async () => {
    let r = await srv.api('GET', '/healthz', { noAuth: true });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
    assert.match(r.headers.get('content-type'), /^application\/json/);
    r = await srv.api('GET', '/readyz', { noAuth: true });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ready' });
    r = await srv.api('HEAD', '/healthz', { noAuth: true });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
  });

  test('keep-alive: several requests on one connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = [];
    const reused = [];
    try {
      for (let i = 0; i < 5; ++i) {
        const res = await new Promise((resolve, reject) => {
          const req = http.request(`${srv.url}/v1/me`, { agent, headers: { authorization: `Bearer ${srv.adminToken}` } }, (res) => {
            const port = res.socket.localPort;
            reused.push(req.reusedSocket);
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode, body, port }));
          });
          req.on('error', reject);
          req.end();
        });
        assert.equal(res.status, 200);
        ports.push(res.port);
      }
    } finally {
      agent.destroy();
    }
    assert.equal(new Set(ports).size, 1, `one connection: local ports ${ports}`);
    assert.deepEqual(reused, [false, true, true, true, true]);

    // Pipelined on a raw socket: two answers, in order.
    const both = HEALTHZ + 'GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const r = await rawRequest(srv.port, [both], { waitClose: true, timeoutMs: 5000 });
    const statuses = [...r.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200'], r.text.slice(0, 300));
    assert.ok(r.closed, 'Connection: close is honoured');
  });

  test('a slow client sending half a request head is cut off after the header timeout', async () => {
    const r = await rawRequest(srv.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n'], { waitClose: true, timeoutMs: 6000 });
    assert.ok(r.closed, `the server closed the connection (after ${r.ms} ms)`);
    assert.ok(r.ms >= 800, `not before the 1 s timeout (${r.ms} ms)`);
    assert.ok(r.ms <= 3000, `soon after the 1 s timeout (${r.ms} ms)`);
    assert.ok(r.status === null || r.status === 408, `no answer or 408: ${r.text}`);
    // A silent connection is cut off too.
    const silent = await rawRequest(srv.port, [], { waitClose: true, timeoutMs: 6000 });
    assert.ok(silent.closed && silent.ms <= 3000, `silent connection closed after ${silent.ms} ms`);
  });

  test('…also on a kept-alive connection (half a head after a first request)', async () => {
    let sentAt = 0;
    const r = await rawRequest(
      srv.port,
      [
        HEALTHZ,
        { delay: 200 },
        (sock) => {
          sentAt = Date.now();
          sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
        },
      ],
      { waitClose: true, timeoutMs: 7000 },
    );
    assert.match(r.text, /^HTTP\/1\.1 200/, 'the first request was answered');
    assert.ok(r.closed, 'the server closed the connection');
    const waited = Date.now() - sentAt;
    assert.ok(waited <= 3000, `cut off ${waited} ms after the partial head (header timeout 1 s; idle timeout 4 s)`);
  });

  test('/v1/openapi.json is OpenAPI 3.1 and lists every route with x-permission', async () => {
    const r = await srv.api('GET', '/v1/openapi.json', { noAuth: true });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const doc = r.json;
    assert.match(doc.openapi, /^3\.1\./);
    assert.equal(typeof doc.info?.title, 'string');
    assert.equal(typeof doc.info?.version, 'string');
    const listed = {};
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(item)) {
        if (!HTTP_METHODS.includes(m)) continue;
        listed[`${m.toUpperCase()} ${p}`] = op;
      }
    }
    const missing = Object.keys(ROUTES).filter((k) => !(k in listed));
    const extra = Object.keys(listed).filter((k) => !(k in ROUTES));
    assert.deepEqual(missing, [], 'routes the server has that the document lacks');
    assert.deepEqual(extra, [], 'routes in the document this test does not know (update ROUTES)');
    for (const [key, op] of Object.entries(listed)) {
      assert.equal(typeof op['x-permission'], 'string', `${key} has x-permission`);
      assert.equal(op['x-permission'], ROUTES[key], `${key} x-permission`);
      assert.ok(op.responses && Object.keys(op.responses).length > 0, `${key} has responses`);
      if (ROUTES[key] === 'public') assert.deepEqual(op.security, [], `${key} needs no credentials`);
      for (const seg of key.split(' ')[1].split('/')) {
        if (seg.startsWith('{')) {
          const name = seg.slice(1, -1);
          assert.ok((op.parameters || []).some((p) => p.in === 'path' && p.name === name && p.required), `${key} declares path parameter ${name}`);
        }
      }
    }
    // The document and the router agree: each listed route answers (not 404/405 for the route itself).
    for (const key of Object.keys(ROUTES)) {
      const [method, p] = key.split(' ');
      if (method !== 'GET' || p.includes('{')) continue;
      const res = await srv.api('GET', p);
      assert.ok(res.status !== 404 && res.status !== 405, `${key} → ${res.status}`);
    }
  });

  test('the web app is served at / from KONTOR_HTTP_WEB_ROOT', async () => {
    let r = await srv.api('GET', '/', { noAuth: true });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.match(r.text, /kontor-web-marker/);
    r = await srv.api('GET', '/assets/app-1234abcd.js', { noAuth: true });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /javascript/);
    assert.equal(r.text, 'console.log("kontor");');
    // Nothing outside the web root.
    for (const p of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets/../../../etc/hostname']) {
      const res = await rawRequest(srv.port, [`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], { waitClose: true });
      assert.ok(!/root:.*:0:0:/.test(res.text), `${p} must not leak /etc/passwd`);
      assert.ok([200, 400, 404].includes(res.status), `${p} → ${res.status}`);
      if (res.status === 200) assert.match(res.body, /kontor-web-marker/, `${p} serves the app, not a file outside the root`);
    }
    // The API keeps its own 404s.
    r = await srv.api('GET', '/v1/not-a-route');
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /problem\+json/);
  });

  test('main server exits cleanly on SIGTERM', async () => {
    const r = await srv.stop();
    assert.deepEqual(r, { code: 0, signal: null }, srv.log());
    assertCleanLog(srv);
  });
});

describe(`graceful shutdown (${DB_KIND})`, { timeout: 180000 }, () => {
  test('a request in flight during SIGTERM completes normally; the process exits 0', async () => {
    const s = await startServer({ env: { KONTOR_HTTP_SHUTDOWN_GRACE_S: '10' } });
    try {
      const name = 'graceful-role';
      const body = JSON.stringify({ name, description: 'x'.repeat(450), permissions: { customers: 'read' } });
      const half = Math.floor(body.length / 2);
      const head =
        `POST /v1/roles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.adminToken}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      let refused = null;
      let termAt = 0;
      const r = await rawRequest(
        s.port,
        [
          head + body.slice(0, half),
          { delay: 300 },
          () => {
            termAt = Date.now();
            s.proc.kill('SIGTERM');
          },
          { delay: 300 },
          async () => {
            // New connections are no longer accepted.
            refused = await new Promise((resolve) => {
              const c = net.connect(s.port, '127.0.0.1');
              c.on('connect', () => {
                c.destroy();
                resolve(false);
              });
              c.on('error', (e) => resolve(e.code));
            });
          },
          body.slice(half),
        ],
        { timeoutMs: 8000 },
      );
      assert.ok(r.status >= 200 && r.status < 500, `a normal answer, not a dropped connection: ${JSON.stringify(r.text.slice(0, 300))} (${r.error})`);
      assert.equal(r.status, 201, r.text.slice(0, 300));
      assert.equal(refused, 'ECONNREFUSED', 'the listener is closed during the drain');
      const exit = await waitExit(s.proc, 10000);
      assert.deepEqual(exit, { code: 0, signal: null }, s.log());
      assert.ok(Date.now() - termAt < 5000, `exited soon after the drain (${Date.now() - termAt} ms)`);
      assert.equal(s.db.query(`SELECT name FROM roles WHERE name = '${name}'`).length, 1, 'the write landed');
      assertCleanLog(s);
    } finally {
      await s.close();
    }
  });

  test('idle keep-alive connections are closed on SIGTERM without waiting for the idle timeout', async () => {
    const s = await startServer({ env: { KONTOR_HTTP_IDLE_TIMEOUT_S: '60', KONTOR_HTTP_SHUTDOWN_GRACE_S: '20' } });
    try {
      let termAt = 0;
      const r = await rawRequest(
        s.port,
        [
          HEALTHZ,
          { delay: 300 },
          () => {
            termAt = Date.now();
            s.proc.kill('SIGTERM');
          },
        ],
        { waitClose: true, timeoutMs: 8000 },
      );
      assert.match(r.text, /^HTTP\/1\.1 200/);
      assert.ok(r.closed, 'the idle connection was closed');
      const closedAfter = Date.now() - termAt;
      assert.ok(closedAfter < 2000, `closed ${closedAfter} ms after SIGTERM`);
      const exit = await waitExit(s.proc, 5000);
      assert.deepEqual(exit, { code: 0, signal: null }, `exit soon after SIGTERM: ${s.log()}`);
      assertCleanLog(s);
    } finally {
      await s.close();
    }
  });
});

describe('readiness when the database goes away (PostgreSQL)', { skip: IS_PG ? false : 'PostgreSQL only: an open SQLite file cannot be taken away', timeout: 60000 }, () => {
  test('/readyz → 503 problem, /healthz still 200, and the server neither crashes nor hangs', async () => {
    const s = await startServer();
    try {
      assert.equal((await s.api('GET', '/readyz')).status, 200);
      // FORCE ends the server's connections.
      const dropped = psql(PG_URL, `DROP DATABASE ${s.db.name} WITH (FORCE)`);
      assert.equal(dropped.code, 0, dropped.stderr);
      const r = await waitFor(async () => {
        const res = await s.api('GET', '/readyz', { retries: 1 });
        return res.status === 503 ? res : false;
      }, { timeoutMs: 10000, what: '/readyz → 503' });
      assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
      assert.equal(r.json.status, 503);
      assert.equal((await s.api('GET', '/healthz')).status, 200);
      assert.ok(s.running, 'still running');
      const exit = await s.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, s.log());
      assertCleanLog(s);
    } finally {
      await s.close();
    }
  });
});
