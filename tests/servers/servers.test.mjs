// Tests of the protocol servers: correct clients pass, incorrect ones get the
// provider's documented error, every fault kind does what it says, and the
// statistics count what happened. The clients here are written from the
// providers' documents with Node's crypto, independently of the servers'
// own helpers, so a server bug is not mirrored by its test.
//
//   node --test tests/servers/servers.test.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { startApns } from './apns.mjs';
import { startFcm } from './fcm.mjs';
import { smsSegments, startSms } from './sms.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-servers-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------
// Client side: JWTs and HTTP

const b64url = (x) => Buffer.from(x).toString('base64url');

// RFC 7515 compact JWS. ES256 signatures are r||s (RFC 7518 3.4) unless der
// is set, which reproduces a common client bug.
function signJwt(header, claims, key, { der = false } = {}) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  let sig;
  if (header.alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(input), key);
  else if (header.alg === 'ES256') sig = crypto.sign('sha256', Buffer.from(input), der ? key : { key, dsaEncoding: 'ieee-p1363' });
  else if (header.alg === 'HS256') sig = crypto.createHmac('sha256', key).update(input).digest();
  else sig = Buffer.alloc(0);
  return `${input}.${b64url(sig)}`;
}

const now = () => Math.floor(Date.now() / 1000);

// HTTP/1.1 request; resolves { status, headers, text, json } or rejects on a
// transport error (reset, hang-up).
function h1(url, { method = 'POST', headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = http.request(url, { method, headers: { ...(data !== undefined ? { 'content-length': Buffer.byteLength(data) } : {}), ...headers }, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

// HTTP/2 with prior knowledge over plain TCP.
function h2connect(url) {
  const session = http2.connect(url);
  session.on('error', () => {});
  return session;
}

function h2(session, headers, body) {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    const chunks = [];
    let head;
    req.on('response', (h) => {
      head = h;
    });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json;
      try {
        json = JSON.parse(text);
      } catch {}
      resolve({ status: head?.[':status'], headers: head || {}, text, json });
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!head) reject(new Error(`stream closed without a response (code ${req.rstCode})`));
    });
    req.end(body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
  });
}

// Sends raw bytes, collects everything until the server closes or idleMs passes.
function raw(port, data, idleMs = 300) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    let timer;
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    s.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    });
    s.on('end', done);
    s.on('error', done);
    s.on('connect', () => {
      for (const piece of [].concat(data)) s.write(piece);
      timer = setTimeout(done, idleMs);
    });
  });
}

function assertGoogleError(r, code, status) {
  assert.equal(r.status, code, r.text);
  assert.ok(r.json && r.json.error, `Google error envelope expected: ${r.text}`);
  assert.equal(r.json.error.code, code);
  assert.equal(r.json.error.status, status);
  assert.equal(typeof r.json.error.message, 'string');
}

function fcmErrorCode(r) {
  const d = (r.json?.error?.details || []).find((x) => x['@type'] === 'type.googleapis.com/google.firebase.fcm.v1.FcmError');
  return d?.errorCode;
}

// ---------------------------------------------------------------------------
// FCM and OAuth

// The service-account flow as Google documents it: sign a claim set with the
// account's key, POST it to token_uri as a JWT-bearer grant.
function assertion(sa, overrides = {}, { key, header } = {}) {
  const t = now();
  const claims = { iss: sa.client_email, scope: FCM_SCOPE, aud: sa.token_uri, iat: t, exp: t + 3600, ...overrides };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  return signJwt(header || { alg: 'RS256', typ: 'JWT', kid: sa.private_key_id }, claims, key || crypto.createPrivateKey(sa.private_key));
}

function tokenRequest(sa, form) {
  return h1(sa.token_uri, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
}

async function accessToken(sa, overrides) {
  const r = await tokenRequest(sa, { grant_type: JWT_BEARER, assertion: assertion(sa, overrides) });
  assert.equal(r.status, 200, r.text);
  return r.json.access_token;
}

describe('FCM and its OAuth token endpoint', () => {
  let fcm;
  let sa;
  let token;
  const send = (message, { bearer = token, project = fcm.projectId, extra = {}, agent } = {}) =>
    h1(`${fcm.url}/v1/projects/${project}/messages:send`, {
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: { message, ...extra },
      agent,
    });

  before(async () => {
    fcm = await startFcm({ keepMessages: true, writeServiceAccount: path.join(tmp, 'sa.json') });
    sa = JSON.parse(fs.readFileSync(path.join(tmp, 'sa.json'), 'utf8'));
    token = await accessToken(sa);
  });
  after(() => fcm.close());

  it('writes a service-account file as the Cloud console does', () => {
    for (const k of ['type', 'project_id', 'private_key_id', 'private_key', 'client_email', 'token_uri']) assert.ok(sa[k], k);
    assert.equal(sa.type, 'service_account');
    assert.equal(sa.token_uri, fcm.tokenUri);
    assert.match(sa.private_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(crypto.createPrivateKey(sa.private_key).asymmetricKeyType, 'rsa');
    assert.equal((fs.statSync(path.join(tmp, 'sa.json')).mode & 0o777).toString(8), '600');
  });

  it('issues an access token for a correctly signed JWT and counts it', async () => {
    const before_ = fcm.stats.tokensIssued;
    const r = await tokenRequest(sa, { grant_type: JWT_BEARER, assertion: assertion(sa) });
    assert.equal(r.status, 200);
    assert.equal(r.json.token_type, 'Bearer');
    assert.ok(r.json.expires_in > 3000 && r.json.expires_in <= 3600);
    assert.match(r.json.access_token, /^ya29\./);
    assert.equal(fcm.stats.tokensIssued, before_ + 1);
  });

  it('refuses bad token requests the way Google does', async () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const t = now();
    const cases = [
      [{ grant_type: 'client_credentials', assertion: assertion(sa) }, 'unsupported_grant_type', /Invalid grant_type/],
      [{ grant_type: JWT_BEARER }, 'invalid_request', /assertion/],
      [{ grant_type: JWT_BEARER, assertion: 'not.a.jwt!' }, 'invalid_grant', /Invalid JWT/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, {}, { key: other }) }, 'invalid_grant', /^Invalid JWT Signature\.$/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, {}, { key: ec, header: { alg: 'ES256', kid: sa.private_key_id } }) }, 'invalid_grant', /Signature/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, {}, { key: 'secret', header: { alg: 'HS256', kid: sa.private_key_id } }) }, 'invalid_grant', /Signature/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, {}, { header: { alg: 'none' } }) }, 'invalid_grant', /Signature/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, {}, { header: { alg: 'RS256', kid: 'rotated-away' } }) }, 'invalid_grant', /Signature/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, { aud: 'https://oauth2.googleapis.com/token' }) }, 'invalid_grant', /audience/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, { iss: 'someone@else.iam.gserviceaccount.com' }) }, 'invalid_grant', /account not found/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, { exp: t + 7200 }) }, 'invalid_grant', /short-lived/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, { iat: t - 7200, exp: t - 3600 }) }, 'invalid_grant', /short-lived/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, { iat: undefined }) }, 'invalid_grant', /short-lived/],
      [{ grant_type: JWT_BEARER, assertion: assertion(sa, { scope: undefined }) }, 'invalid_scope', /scope/],
    ];
    for (const [form, error, description] of cases) {
      const r = await tokenRequest(sa, form);
      assert.equal(r.status, 400, JSON.stringify(form));
      assert.equal(r.json.error, error, r.text);
      assert.match(r.json.error_description, description);
    }
    // A JSON body is not a form: no grant_type.
    const j = await h1(sa.token_uri, { headers: { 'content-type': 'application/json' }, body: { grant_type: JWT_BEARER, assertion: assertion(sa) } });
    assert.equal(j.json.error, 'unsupported_grant_type');
    assert.ok(fcm.stats.tokenErrors.invalid_grant >= 10);
  });

  it('sends a message and answers with its name', async () => {
    const r = await send({ token: 'device-a', notification: { title: 'AAPL', body: 'crossed 200', image: 'https://example.com/a.png' }, data: { kind: 'alert' }, android: { priority: 'high', ttl: '3600s' }, apns: { headers: { 'apns-priority': '10' }, payload: { aps: { sound: 'default' } } } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.name, /^projects\/kontor-test\/messages\/\S+$/);
    assert.match(r.headers['content-type'], /^application\/json/);
    const s = fcm.stats;
    assert.equal(s.perTarget['device-a'], 1);
    const m = fcm.messages.at(-1);
    assert.equal(m.message.notification.title, 'AAPL');
    assert.equal(m.id, r.json.name.split('/').pop());
  });

  it('sends to topics and conditions, and accepts a dry run without delivering', async () => {
    assert.equal((await send({ topic: 'aapl-alerts', data: { a: 'b' } })).status, 200);
    assert.equal((await send({ condition: "'aapl' in topics && ('tech' in topics || 'us' in topics)", data: { a: 'b' } })).status, 200);
    const accepted = fcm.stats.accepted;
    const dry = await send({ token: 'device-dry', data: { a: 'b' } }, { extra: { validate_only: true } });
    assert.equal(dry.status, 200);
    assert.match(dry.json.name, /fake_message_id$/);
    assert.equal(fcm.stats.accepted, accepted);
    assert.equal(fcm.countFor('device-dry'), 0);
    assert.equal(fcm.countFor('topic:aapl-alerts'), 1);
  });

  it('refuses requests without a valid access token', async () => {
    const missing = await send({ token: 'x' }, { bearer: null });
    assertGoogleError(missing, 401, 'UNAUTHENTICATED');
    assert.match(missing.json.error.message, /missing required authentication credential/);
    assert.match(missing.headers['www-authenticate'], /Bearer/);
    const unknown = await send({ token: 'x' }, { bearer: 'ya29.made-up' });
    assertGoogleError(unknown, 401, 'UNAUTHENTICATED');
    assert.match(unknown.json.error.message, /invalid authentication credentials/);
    const basic = await h1(fcm.sendUrl, { headers: { authorization: `Basic ${token}` }, body: { message: { token: 'x' } } });
    assertGoogleError(basic, 401, 'UNAUTHENTICATED');
    assert.ok(fcm.stats.unauthenticated_missing >= 2);
    assert.ok(fcm.stats.unauthenticated_unknown >= 1);
  });

  it('refuses a token without the messaging scope and a project that is not the account\'s', async () => {
    const narrow = await accessToken(sa, { scope: 'https://www.googleapis.com/auth/userinfo.email' });
    const r = await send({ token: 'x', data: { a: 'b' } }, { bearer: narrow });
    assertGoogleError(r, 403, 'PERMISSION_DENIED');
    assert.match(r.json.error.message, /insufficient authentication scopes/);
    const broad = await accessToken(sa, { scope: `https://www.googleapis.com/auth/cloud-platform` });
    assert.equal((await send({ token: 'x', data: { a: 'b' } }, { bearer: broad })).status, 200);
    const other = await send({ token: 'x', data: { a: 'b' } }, { project: 'someone-elses-project' });
    assertGoogleError(other, 403, 'PERMISSION_DENIED');
  });

  it('expires access tokens (short expiry) and revokes them on demand', async () => {
    const short = await startFcm({ tokenTtl: 1 });
    try {
      const t = await accessToken(short.serviceAccount);
      const url = short.sendUrl;
      const ok = await h1(url, { headers: { authorization: `Bearer ${t}` }, body: { message: { token: 'd', data: { a: 'b' } } } });
      assert.equal(ok.status, 200);
      await sleep(1100);
      const expired = await h1(url, { headers: { authorization: `Bearer ${t}` }, body: { message: { token: 'd', data: { a: 'b' } } } });
      assertGoogleError(expired, 401, 'UNAUTHENTICATED');
      assert.equal(short.stats.unauthenticated_expired, 1);
      const t2 = await accessToken(short.serviceAccount);
      assert.equal(short.revokeTokens(), 2);
      const revoked = await h1(url, { headers: { authorization: `Bearer ${t2}` }, body: { message: { token: 'd', data: { a: 'b' } } } });
      assertGoogleError(revoked, 401, 'UNAUTHENTICATED');
      assert.equal(short.stats.tokensIssued, 2);
    } finally {
      await short.close();
    }
  });

  it('refuses malformed messages with INVALID_ARGUMENT and FCM\'s details', async () => {
    const cases = [
      [{ data: { a: 'b' } }, /Recipient of the message is not set/, 'fcm'],
      [{ token: 'a', topic: 'b' }, /oneof field 'target' is already set/, 'field'],
      [{ token: 'a', data: { n: 12 } }, /Invalid value at 'message\.data\[0\]\.value' \(TYPE_STRING\), 12/, 'field'],
      [{ token: 'a', data: { ok: 'x', nested: { a: 1 } } }, /message\.data\[1\]\.value/, 'field'],
      [{ token: 'a', data: ['x'] }, /message\.data/, 'field'],
      [{ token: 'a', data: { from: 'me' } }, /reserved/, 'fcm'],
      [{ token: 'a', data: { 'google.x': 'y' } }, /reserved/, 'fcm'],
      [{ token: 'a', colour: 'red' }, /Unknown name "colour" at 'message'/, 'field'],
      [{ token: 'a', notification: { title: 'x', subtitle: 'y' } }, /Unknown name "subtitle" at 'message\.notification'/, 'field'],
      [{ token: 'a', notification: { title: 5 } }, /message\.notification\.title/, 'field'],
      [{ token: 'a', data: { big: 'x'.repeat(4100) } }, /too big/, 'fcm'],
      [{ token: 'a', notification: { body: 'é'.repeat(2049) } }, /too big/, 'fcm'],
      [{ token: 'has space' }, /not a valid FCM registration token/, 'fcm'],
      [{ token: 'this-is-invalid' }, /not a valid FCM registration token/, 'fcm'],
      [{ token: 12345 }, /message\.token/, 'field'],
      [{ topic: '/topics/news' }, /topic/, 'fcm'],
      [{ condition: 'news' }, /condition/, 'fcm'],
      [{ token: 'a', android: { ttl: 3600 } }, /message\.android\.ttl/, 'field'],
      [{ token: 'a', android: { priority: 'urgent' } }, /message\.android\.priority/, 'field'],
      [{ token: 'a', apns: { headers: { 'apns-priority': 10 } } }, /message\.apns\.headers/, 'field'],
      [{ token: 'a', webpush: 'yes' }, /message\.webpush/, 'field'],
    ];
    for (const [message, pattern, detail] of cases) {
      const r = await send(message);
      assertGoogleError(r, 400, 'INVALID_ARGUMENT');
      assert.match(r.json.error.message, pattern, JSON.stringify(message));
      const types = r.json.error.details.map((d) => d['@type']);
      if (detail === 'fcm') assert.equal(fcmErrorCode(r), 'INVALID_ARGUMENT', r.text);
      else assert.ok(types.includes('type.googleapis.com/google.rpc.BadRequest'), r.text);
    }
    const top = await h1(fcm.sendUrl, { headers: { authorization: `Bearer ${token}` }, body: { message: { token: 'a' }, dry_run: true } });
    assertGoogleError(top, 400, 'INVALID_ARGUMENT');
    const notJson = await h1(fcm.sendUrl, { headers: { authorization: `Bearer ${token}` }, body: '{"message": ' });
    assertGoogleError(notJson, 400, 'INVALID_ARGUMENT');
    assert.ok(fcm.stats.rejectedBy.INVALID_ARGUMENT >= cases.length + 2);
    // 4096 bytes of keys and values is still fine.
    assert.equal((await send({ token: 'a', data: { k: 'x'.repeat(4095) } })).status, 200);
  });

  it('answers 404 UNREGISTERED for gone devices and 403 SENDER_ID_MISMATCH', async () => {
    const gone = await send({ token: 'device-unregistered-1', data: { a: 'b' } });
    assertGoogleError(gone, 404, 'NOT_FOUND');
    assert.equal(fcmErrorCode(gone), 'UNREGISTERED');
    fcm.unregister('device-later-gone');
    assert.equal(fcmErrorCode(await send({ token: 'device-later-gone', data: { a: 'b' } })), 'UNREGISTERED');
    await h1(`${fcm.controlUrl}/unregister`, { body: { tokens: ['device-gone-by-control'] } });
    assert.equal(fcmErrorCode(await send({ token: 'device-gone-by-control', data: { a: 'b' } })), 'UNREGISTERED');
    const mismatch = await send({ token: 'device-mismatch', data: { a: 'b' } });
    assertGoogleError(mismatch, 403, 'PERMISSION_DENIED');
    assert.equal(fcmErrorCode(mismatch), 'SENDER_ID_MISMATCH');
    assert.equal(fcm.stats.rejectedBy.UNREGISTERED, 3);
    assert.equal(fcm.countFor('device-unregistered-1'), 0);
  });

  it('injects every fault kind in FCM\'s words', async () => {
    const msg = { token: 'device-faults', data: { a: 'b' } };
    fcm.setFaults({ next: ['429'], retryAfter: 7 });
    const q = await send(msg);
    assertGoogleError(q, 429, 'RESOURCE_EXHAUSTED');
    assert.equal(fcmErrorCode(q), 'QUOTA_EXCEEDED');
    assert.equal(q.headers['retry-after'], '7');
    fcm.setFaults({ next: ['503'] });
    const u = await send(msg);
    assertGoogleError(u, 503, 'UNAVAILABLE');
    assert.equal(fcmErrorCode(u), 'UNAVAILABLE');
    assert.equal(u.headers['retry-after'], '7');
    fcm.setFaults({ next: ['500'] });
    const i = await send(msg);
    assertGoogleError(i, 500, 'INTERNAL');
    assert.equal(fcmErrorCode(i), 'INTERNAL');
    fcm.setFaults({ next: ['html502'] });
    const h = await send(msg);
    assert.equal(h.status, 502);
    assert.match(h.headers['content-type'], /text\/html/);
    assert.equal(h.json, undefined);
    fcm.setFaults({ next: ['auth'] });
    const a = await send(msg);
    assertGoogleError(a, 401, 'UNAUTHENTICATED');
    assert.equal(fcmErrorCode(a), 'THIRD_PARTY_AUTH_ERROR');
    fcm.setFaults({ next: ['unauthenticated'] });
    const un = await send(msg);
    assertGoogleError(un, 401, 'UNAUTHENTICATED');
    assert.equal(fcmErrorCode(un), undefined);
    fcm.setFaults({ next: ['goaway'] });
    const g = await send(msg);
    assertGoogleError(g, 503, 'UNAVAILABLE');
    assert.equal(g.headers.connection, 'close');
    fcm.setFaults({ next: ['reset'] });
    await assert.rejects(send(msg), /ECONNRESET|socket hang up/);
    assert.equal(fcm.countFor('device-faults'), 0);

    // A lost answer: accepted, but the client cannot know; its retry is a duplicate.
    fcm.setFaults({ next: ['lostResponse'] });
    await assert.rejects(send(msg), /ECONNRESET|socket hang up/);
    assert.equal(fcm.countFor('device-faults'), 1);
    assert.equal((await send(msg)).status, 200);
    assert.equal(fcm.countFor('device-faults'), 2);
    assert.ok(fcm.stats.duplicateTargets >= 1);

    const f = fcm.stats.faults;
    for (const k of ['429', '503', '500', 'html502', 'auth', 'unauthenticated', 'goaway', 'reset', 'lostResponse']) assert.equal(f[k], 1, k);
    assert.deepEqual(fcm.faults.next, []);
  });

  it('delays answers, errors included', async () => {
    fcm.setFaults({ delayMs: 150 });
    let t = Date.now();
    assert.equal((await send({ token: 'slow', data: { a: 'b' } })).status, 200);
    assert.ok(Date.now() - t >= 140);
    t = Date.now();
    assert.equal((await send({ data: { a: 'b' } })).status, 400);
    assert.ok(Date.now() - t >= 140);
    fcm.clearFaults();
    t = Date.now();
    await send({ token: 'fast', data: { a: 'b' } });
    assert.ok(Date.now() - t < 140);
  });

  it('injects faults at a rate, reproducibly with a seed, and per device', async () => {
    const statuses = async (n) => {
      const out = [];
      for (let k = 0; k < n; k++) out.push((await send({ token: `rate-${k}`, data: { a: 'b' } })).status);
      return out;
    };
    fcm.setFaults({ rate429: 0.2, rate503: 0.2, seed: 42 });
    const first = await statuses(100);
    fcm.setFaults({ seed: 42 });
    const second = await statuses(100);
    assert.deepEqual(first, second);
    const n429 = first.filter((s) => s === 429).length;
    const n503 = first.filter((s) => s === 503).length;
    assert.ok(n429 > 5 && n429 < 40, `${n429} 429s`);
    assert.ok(n503 > 5 && n503 < 40, `${n503} 503s`);
    fcm.setFaults({ rate429: 1 });
    assert.equal((await send({ token: 'always', data: { a: 'b' } })).status, 429);
    fcm.clearFaults();
    fcm.setFaults({ nextFor: { 'flaky-device': ['503', '503'] } });
    assert.equal((await send({ token: 'steady-device', data: { a: 'b' } })).status, 200);
    assert.equal((await send({ token: 'flaky-device', data: { a: 'b' } })).status, 503);
    assert.equal((await send({ token: 'flaky-device', data: { a: 'b' } })).status, 503);
    assert.equal((await send({ token: 'flaky-device', data: { a: 'b' } })).status, 200);
    assert.throws(() => fcm.setFaults({ rate418: 0.1 }), /unknown fault setting/);
    assert.throws(() => fcm.setFaults({ rate429: 2 }), /between 0 and 1/);
    assert.throws(() => fcm.setFaults({ next: ['teapot'] }), /unknown fault kind/);
  });

  it('is driven through the control endpoint from another process', async () => {
    const c = fcm.controlUrl;
    await h1(`${c}/reset`, { body: { faults: true } });
    assert.equal((await h1(`${c}/info`, { method: 'GET' })).json.tokenUri, fcm.tokenUri);
    let r = await h1(`${c}/faults`, { body: { next: ['503'], delayMs: 0 } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.next, ['503']);
    assert.equal((await send({ token: 'ctl', data: { a: 'b' } })).status, 503);
    r = await h1(`${c}/faults`, { body: { rate429: 'lots' } });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /rate429/);
    await h1(`${c}/faults`, { body: { rate500: 1 } });
    assert.equal((await send({ token: 'ctl', data: { a: 'b' } })).status, 500);
    await h1(`${c}/faults`, { method: 'DELETE' });
    assert.equal((await send({ token: 'ctl', data: { a: 'b' } })).status, 200);
    const stats = (await h1(`${c}/stats`, { method: 'GET' })).json;
    assert.equal(stats.perTarget.ctl, 1);
    assert.equal(stats.faults['503'], 1);
    assert.ok(Array.isArray(stats.messages));
    assert.equal((await h1(`${c}/stats?target=ctl`, { method: 'GET' })).json.accepted, 1);
    assert.equal((await h1(`${c}/stats?messages=0`, { method: 'GET' })).json.messages, undefined);
    assert.equal((await h1(`${c}/revoke-tokens`, { body: {} })).status, 200);
    assertGoogleError(await send({ token: 'ctl', data: { a: 'b' } }), 401, 'UNAUTHENTICATED');
    token = await accessToken(sa);
    await h1(`${c}/reset`, { body: {} });
    const zero = (await h1(`${c}/stats`, { method: 'GET' })).json;
    assert.equal(zero.accepted, 0);
    assert.equal(zero.tokensIssued, 0);
    assert.equal((await h1(`${c}/nothing`, { method: 'GET' })).status, 404);
  });

  it('keeps a bounded list of messages and counts duplicates by key', async () => {
    const small = await startFcm({ keepMessages: true, maxMessages: 3, dedupeKey: 'data.id' });
    try {
      const t = await accessToken(small.serviceAccount);
      for (const [dev, id] of [['d1', '1'], ['d1', '2'], ['d2', '3'], ['d1', '2'], ['d3', '4']]) {
        const r = await h1(small.sendUrl, { headers: { authorization: `Bearer ${t}` }, body: { message: { token: dev, data: { id } } } });
        assert.equal(r.status, 200);
      }
      const s = small.stats;
      assert.equal(s.accepted, 5);
      assert.equal(s.targets, 3);
      assert.equal(s.duplicates, 2);
      assert.equal(s.duplicateTargets, 1);
      assert.equal(s.keys, 4);
      assert.equal(s.duplicateKeys, 1);
      assert.deepEqual(s.messages.map((m) => m.message.data.id), ['3', '2', '4']);
      assert.equal(s.messagesDropped, 2);
    } finally {
      await small.close();
    }
  });

  it('speaks HTTP/2 with prior knowledge on the same port, and only it when asked', async () => {
    const session = h2connect(fcm.url);
    try {
      const results = await Promise.all(Array.from({ length: 50 }, (_, k) =>
        h2(session, { ':method': 'POST', ':path': `/v1/projects/${fcm.projectId}/messages:send`, authorization: `Bearer ${token}`, 'content-type': 'application/json' }, { message: { token: `h2-${k}`, data: { a: 'b' } } })));
      assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
      const bad = await h2(session, { ':method': 'POST', ':path': `/v1/projects/${fcm.projectId}/messages:send` }, { message: { token: 'h2' } });
      assert.equal(bad.status, 401);
      assert.equal(bad.json.error.status, 'UNAUTHENTICATED');
    } finally {
      session.close();
    }
    const only2 = await startFcm({ http2: true });
    const only1 = await startFcm({ http2: false });
    try {
      await assert.rejects(h1(only2.tokenUri, { body: 'x' }));
      const s = h2connect(only2.url);
      const tok = await h2(s, { ':method': 'POST', ':path': '/token', 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ grant_type: JWT_BEARER, assertion: assertion(only2.serviceAccount) }).toString());
      assert.equal(tok.status, 200);
      s.close();
      const r = await raw(only1.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      assert.match(r, /^HTTP\/1\.1 (400|505) /);
    } finally {
      await only2.close();
      await only1.close();
    }
  });

  it('does HTTP/1.1 properly: keep-alive, pipelining, chunked bodies, 100-continue, bad requests', async () => {
    const path_ = `/v1/projects/${fcm.projectId}/messages:send`;
    const body = JSON.stringify({ message: { token: 'pipe', data: { a: 'b' } } });
    const one = (extra = '') => `POST ${path_} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
    // Two requests in one packet, the second split across two writes.
    const both = one() + one();
    const piped = await raw(fcm.port, [both.slice(0, 1), both.slice(1, both.length - 10), both.slice(both.length - 10)]);
    assert.equal(piped.match(/HTTP\/1\.1 200 OK/g).length, 2);
    const chunked = `POST ${path_} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n${(10).toString(16)}\r\n${body.slice(0, 10)}\r\n${(body.length - 10).toString(16)};ext=1\r\n${body.slice(10)}\r\n0\r\n\r\n`;
    assert.match(await raw(fcm.port, chunked), /^HTTP\/1\.1 200 OK/);
    const expect = await raw(fcm.port, [one('Expect: 100-continue\r\n').split('\r\n\r\n')[0] + '\r\n\r\n']);
    assert.match(expect, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    const closing = await raw(fcm.port, one('Connection: close\r\n') + one(), 1000);
    assert.equal(closing.match(/HTTP\/1\.1 200/g).length, 1);
    assert.match(closing, /connection: close/i);
    assert.match(await raw(fcm.port, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await raw(fcm.port, 'POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await raw(fcm.port, 'GET / HTTP/2.5\r\n\r\n'), /^HTTP\/1\.1 505/);
    assert.match(await raw(fcm.port, 'POST / HTTP/1.1\r\nBad Header\r\n\r\n'), /^HTTP\/1\.1 400/);
    // node:http stands in when asked, with the same behaviour for a client.
    const nodeEngine = await startFcm({ http1Engine: 'node' });
    try {
      const t = await accessToken(nodeEngine.serviceAccount);
      const r = await h1(nodeEngine.sendUrl, { headers: { authorization: `Bearer ${t}` }, body: { message: { token: 'n', data: { a: 'b' } } } });
      assert.equal(r.status, 200);
    } finally {
      await nodeEngine.close();
    }
  });

  it('reuses a keep-alive connection across many requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set();
    for (let k = 0; k < 20; k++) {
      const r = await send({ token: `ka-${k}`, data: { a: 'b' } }, { agent });
      assert.equal(r.status, 200);
    }
    agent.on('free', (s) => ports.add(s.localPort));
    await send({ token: 'ka-last', data: { a: 'b' } }, { agent });
    assert.equal(ports.size, 1);
    agent.destroy();
  });
});

// ---------------------------------------------------------------------------
// APNs

describe('APNs', () => {
  let apns;
  let key;
  let providerToken;
  const device = (n) => crypto.createHash('sha256').update(String(n)).digest('hex');
  const topic = 'com.example.kontor';
  let session;

  // The provider token as Apple documents it: ES256, kid = key id, iss = team id, iat.
  const makeToken = (iat = now(), { kid = apns.keyId, iss = apns.teamId, alg = 'ES256', signKey = key, der = false } = {}) =>
    signJwt({ alg, kid }, { iss, iat }, signKey, { der });

  const push = (token, { headers = {}, payload = { aps: { alert: { title: 'AAPL', body: 'crossed 200' } } }, bearer = providerToken, s = session } = {}) =>
    h2(s, {
      ':method': 'POST',
      ':path': `/3/device/${token}`,
      ...(bearer === null ? {} : { authorization: `bearer ${bearer}` }),
      'apns-topic': topic,
      'apns-push-type': 'alert',
      'apns-priority': '10',
      ...headers,
    }, typeof payload === 'string' ? payload : JSON.stringify(payload));

  before(async () => {
    apns = await startApns({ topic, keepMessages: true, writeKey: path.join(tmp, 'AuthKey.p8') });
    key = crypto.createPrivateKey(fs.readFileSync(path.join(tmp, 'AuthKey.p8'), 'utf8'));
    providerToken = makeToken();
    session = h2connect(apns.url);
  });
  after(async () => {
    session.close();
    await apns.close();
  });

  it('writes the signing key as a PKCS#8 .p8 file, with 10-character team and key ids', () => {
    const pem = fs.readFileSync(path.join(tmp, 'AuthKey.p8'), 'utf8');
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails.namedCurve, 'prime256v1');
    assert.match(apns.teamId, /^[A-Z0-9]{10}$/);
    assert.match(apns.keyId, /^[A-Z0-9]{10}$/);
    assert.equal(apns.keyPath, path.join(tmp, 'AuthKey.p8'));
  });

  it('delivers a notification and answers 200 with the apns-id', async () => {
    const id = crypto.randomUUID();
    const r = await push(device(1), { headers: { 'apns-id': id, 'apns-expiration': '0', 'apns-collapse-id': 'aapl' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['apns-id'], id);
    assert.equal(r.text, '');
    const generated = await push(device(2));
    assert.match(generated.headers['apns-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(apns.countFor(device(1)), 1);
    const m = apns.messages.find((x) => x.token === device(1));
    assert.equal(m.headers['apns-collapse-id'], 'aapl');
    assert.equal(m.payload.aps.alert.title, 'AAPL');
    for (const [type, t, prio] of [['background', topic, '5'], ['voip', `${topic}.voip`, '10'], ['liveactivity', `${topic}.push-type.liveactivity`, '10']]) {
      const payload = type === 'background' ? { aps: { 'content-available': 1 } } : { aps: {} };
      const ok = await push(device(3), { headers: { 'apns-push-type': type, 'apns-topic': t, 'apns-priority': prio }, payload });
      assert.equal(ok.status, 200, `${type}: ${ok.text}`);
    }
  });

  it('refuses provider tokens that are missing, forged, mis-signed or stale', async () => {
    const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases = [
      [null, 'MissingProviderToken'],
      ['garbage', 'InvalidProviderToken'],
      [makeToken(now(), { signKey: other }), 'InvalidProviderToken'],
      [makeToken(now(), { kid: 'ABCDEFGHIJ' }), 'InvalidProviderToken'],
      [makeToken(now(), { iss: 'ABCDEFGHIJ' }), 'InvalidProviderToken'],
      [makeToken(now(), { alg: 'RS256', signKey: rsa }), 'InvalidProviderToken'],
      [makeToken(now(), { alg: 'HS256', signKey: 'secret' }), 'InvalidProviderToken'],
      [makeToken(now(), { der: true }), 'InvalidProviderToken'], // DER instead of r||s
      [makeToken(now() + 3600), 'InvalidProviderToken'],
      [makeToken(now() - 3601), 'ExpiredProviderToken'],
    ];
    for (const [bearer, reason] of cases) {
      const s = h2connect(apns.url);
      const r = await push(device(10), { bearer, s });
      s.close();
      assert.equal(r.status, 403, `${reason}: ${r.text}`);
      assert.equal(r.json.reason, reason);
      assert.ok(r.headers['apns-id']);
    }
    assert.equal(apns.stats.providerTokens.usedWhenOlderThan60Min, 1);
    const plain = await h2(session, { ':method': 'POST', ':path': `/3/device/${device(10)}`, authorization: `Basic ${providerToken}`, 'apns-topic': topic, 'apns-push-type': 'alert' }, '{"aps":{}}');
    assert.equal(plain.json.reason, 'InvalidProviderToken');
  });

  it('tracks provider-token refreshes: 20 to 60 minutes apart, one per connection', async () => {
    const fresh = await startApns({ topic });
    const k = crypto.createPrivateKey(fresh.privateKeyPem);
    const mk = (iat) => signJwt({ alg: 'ES256', kid: fresh.keyId }, { iss: fresh.teamId, iat }, k);
    const t0 = now() - 50 * 60;
    const s1 = h2connect(fresh.url);
    const s2 = h2connect(fresh.url);
    try {
      const a = mk(t0);
      const b = mk(t0 + 10 * 60); // only ten minutes later
      const c = mk(t0 + 35 * 60);
      for (let n = 0; n < 3; n++) assert.equal((await push(device(20), { bearer: a, s: s1 })).status, 200);
      // A new token on the same connection ten minutes later: Apple refuses it.
      const tooSoon = await push(device(20), { bearer: b, s: s1 });
      assert.equal(tooSoon.status, 429);
      assert.equal(tooSoon.json.reason, 'TooManyProviderTokenUpdates');
      // On another connection it goes through, but the refresh is flagged.
      assert.equal((await push(device(20), { bearer: b, s: s2 })).status, 200);
      // 35 minutes after the first: a proper refresh on the first connection.
      assert.equal((await push(device(20), { bearer: c, s: s1 })).status, 200);
      const pt = fresh.stats.providerTokens;
      assert.equal(pt.distinct, 3);
      assert.equal(pt.refreshedTooSoon, 1);
      assert.deepEqual(pt.issueTimes.map((x) => x.iat), [t0, t0 + 600, t0 + 2100]);
      assert.equal(pt.issueTimes[0].requests, 3);
      // Re-signing the same claims gives a different token (ECDSA is randomized): also a refresh.
      assert.equal((await push(device(20), { bearer: mk(t0 + 35 * 60), s: s2 })).status, 200);
      assert.equal(fresh.stats.providerTokens.refreshedTooSoon, 2);
    } finally {
      s1.close();
      s2.close();
      await fresh.close();
    }
  });

  it('checks the headers and the payload as Apple documents', async () => {
    const cases = [
      [{ headers: { 'apns-topic': '' } }, 400, 'MissingTopic'],
      [{ headers: { 'apns-topic': 'com.other.app' } }, 400, 'TopicDisallowed'],
      [{ headers: { 'apns-push-type': 'shout' } }, 400, 'InvalidPushType'],
      [{ headers: { 'apns-push-type': 'voip' } }, 400, 'DeviceTokenNotForTopic'],
      [{ headers: { 'apns-topic': `${topic}.voip` } }, 400, 'DeviceTokenNotForTopic'],
      [{ headers: { 'apns-priority': '7' } }, 400, 'BadPriority'],
      [{ headers: { 'apns-push-type': 'background', 'apns-priority': '10' }, payload: { aps: { 'content-available': 1 } } }, 400, 'BadPriority'],
      [{ headers: { 'apns-expiration': 'tomorrow' } }, 400, 'BadExpirationDate'],
      [{ headers: { 'apns-id': 'not-a-uuid' } }, 400, 'BadMessageId'],
      [{ headers: { 'apns-collapse-id': 'c'.repeat(65) } }, 400, 'BadCollapseId'],
      [{ payload: '' }, 400, 'PayloadEmpty'],
      [{ payload: { aps: { alert: 'x'.repeat(4100) } } }, 413, 'PayloadTooLarge'],
      [{ payload: '{"aps": ' }, 400, 'BadPayload'],
      [{ payload: { alert: 'no aps' } }, 400, 'BadPayload'],
      [{ payload: { aps: 'x' } }, 400, 'BadPayload'],
    ];
    for (const [o, status, reason] of cases) {
      const r = await push(device(30), o);
      assert.equal(r.status, status, `${reason}: ${r.text}`);
      assert.equal(r.json.reason, reason);
    }
    const bad = await push('not-hex-at-all');
    assert.equal(bad.json.reason, 'BadDeviceToken');
    assert.equal((await push('abcd')).json.reason, 'BadDeviceToken');
    assert.equal((await push('')).json.reason, 'MissingDeviceToken');
    const get = await h2(session, { ':method': 'GET', ':path': `/3/device/${device(30)}`, authorization: `bearer ${providerToken}` });
    assert.equal(get.status, 405);
    assert.equal(get.json.reason, 'MethodNotAllowed');
    const path_ = await h2(session, { ':method': 'POST', ':path': '/2/device/x', authorization: `bearer ${providerToken}` }, '{}');
    assert.equal(path_.status, 404);
    assert.equal(path_.json.reason, 'BadPath');
    // VoIP payloads may be up to 5 KB.
    const voip = await push(device(31), { headers: { 'apns-push-type': 'voip', 'apns-topic': `${topic}.voip` }, payload: { aps: {}, blob: 'x'.repeat(4900) } });
    assert.equal(voip.status, 200, voip.text);
    // The same header twice.
    const dup = await new Promise((resolve, reject) => {
      // An array value goes out as two header fields.
      const req = session.request({ ':method': 'POST', ':path': `/3/device/${device(32)}`, authorization: `bearer ${providerToken}`, 'apns-topic': topic, 'apns-push-type': 'alert', 'apns-priority': ['10', '5'] });
      let head;
      const chunks = [];
      req.on('response', (h) => (head = h));
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve({ status: head[':status'], json: JSON.parse(Buffer.concat(chunks).toString()) }));
      req.on('error', reject);
      req.end('{"aps":{}}');
    });
    assert.equal(dup.status, 400);
    assert.equal(dup.json.reason, 'DuplicateHeaders');
    assert.equal(apns.countFor(device(30)), 0);
  });

  it('answers 410 Unregistered with a timestamp in milliseconds', async () => {
    const gone = `deadbeef${device(40).slice(8)}`;
    const t = Date.now();
    const r = await push(gone);
    assert.equal(r.status, 410);
    assert.equal(r.json.reason, 'Unregistered');
    assert.ok(Number.isInteger(r.json.timestamp) && r.json.timestamp >= t - 1000 && r.json.timestamp <= Date.now() + 1000);
    apns.unregister(device(41));
    assert.equal((await push(device(41))).json.reason, 'Unregistered');
    assert.equal(apns.stats.rejectedBy.Unregistered, 2);
  });

  it('injects every fault kind in Apple\'s words', async () => {
    const d = device(50);
    const expect = [['429', 429, 'TooManyRequests'], ['500', 500, 'InternalServerError'], ['503', 503, 'ServiceUnavailable'], ['auth', 403, 'ExpiredProviderToken']];
    for (const [kind, status, reason] of expect) {
      apns.setFaults({ next: [kind] });
      const r = await push(d);
      assert.equal(r.status, status, kind);
      assert.equal(r.json.reason, reason);
    }
    apns.setFaults({ next: ['html502'] });
    const h = await push(d);
    assert.equal(h.status, 502);
    assert.match(h.headers['content-type'], /text\/html/);

    // GOAWAY: the answer arrives, then the connection closes; a new one works.
    const s = h2connect(apns.url);
    const closed = new Promise((resolve) => s.on('goaway', resolve));
    apns.setFaults({ next: ['goaway'] });
    const g = await push(d, { s });
    assert.equal(g.status, 503);
    assert.equal(g.json.reason, 'Shutdown');
    await closed;
    s.close();

    const s2 = h2connect(apns.url);
    apns.setFaults({ next: ['reset'] });
    await assert.rejects(push(d, { s: s2 }));
    apns.setFaults({ next: ['lostResponse'] });
    const s3 = h2connect(apns.url);
    await assert.rejects(push(d, { s: s3 }));
    assert.equal(apns.countFor(d), 1);
    const s4 = h2connect(apns.url);
    assert.equal((await push(d, { s: s4 })).status, 200);
    s4.close();
    assert.equal(apns.countFor(d), 2);
    const f = apns.stats.faults;
    for (const k of ['429', '500', '503', 'auth', 'html502', 'goaway', 'reset', 'lostResponse']) assert.equal(f[k], 1, k);
    assert.throws(() => apns.setFaults({ rateUnauthenticated: 0.1 }), /no fault kind/);

    apns.setFaults({ delayMs: 120 });
    const t = Date.now();
    assert.equal((await push(d)).status, 200);
    assert.ok(Date.now() - t >= 110);
    apns.clearFaults();
  });

  it('is driven through the control endpoint over HTTP/2', async () => {
    const ctl = (method, p, body) => h2(session, { ':method': method, ':path': `/__control${p}`, 'content-type': 'application/json' }, body === undefined ? undefined : JSON.stringify(body));
    assert.equal((await ctl('POST', '/faults', { next: ['500'] })).status, 200);
    assert.equal((await push(device(60))).status, 500);
    const s = (await ctl('GET', '/stats')).json;
    assert.equal(s.faults['500'], 2);
    assert.ok(s.providerTokens.distinct >= 1);
    await ctl('POST', '/unregister', { tokens: [device(61)] });
    assert.equal((await push(device(61))).status, 410);
    await ctl('POST', '/reset', { faults: true });
    const z = (await ctl('GET', '/stats')).json;
    assert.equal(z.accepted, 0);
    assert.equal(z.providerTokens.distinct, 0);
    assert.equal((await ctl('GET', '/info')).json.teamId, apns.teamId);
  });

  it('does not speak HTTP/1.1, as APNs does not', async () => {
    await assert.rejects(h1(`${apns.url}/3/device/${device(70)}`, { headers: { authorization: `bearer ${providerToken}` }, body: '{"aps":{}}' }));
  });
});

// ---------------------------------------------------------------------------
// SMS

describe('SMS segments', () => {
  it('counts GSM-7 and UCS-2 segments as carriers do', () => {
    const cases = [
      ['', 'GSM-7', 0],
      ['Hello', 'GSM-7', 1],
      ['a'.repeat(160), 'GSM-7', 1],
      ['a'.repeat(161), 'GSM-7', 2],
      ['a'.repeat(306), 'GSM-7', 2],
      ['a'.repeat(307), 'GSM-7', 3],
      ['€'.repeat(80), 'GSM-7', 1], // 160 septets
      ['€'.repeat(81), 'GSM-7', 2],
      [`${'a'.repeat(152)}€`, 'GSM-7', 1], // 154 septets still fit one message
      [`${'a'.repeat(159)}€`, 'GSM-7', 2], // 161 septets: 153 + 8
      [`${'a'.repeat(152)}€${'a'.repeat(7)}`, 'GSM-7', 2], // the escape pair moves whole to part two
      [`${'a'.repeat(152)}€${'a'.repeat(152)}`, 'GSM-7', 3],
      ['Zürich à Genève: 5€ {ok}', 'GSM-7', 1],
      ['ç', 'UCS-2', 1], // lower-case ç is not in GSM 03.38, only Ç is
      ['`', 'UCS-2', 1],
      ['ы'.repeat(70), 'UCS-2', 1],
      ['ы'.repeat(71), 'UCS-2', 2],
      ['ы'.repeat(134), 'UCS-2', 2],
      ['ы'.repeat(135), 'UCS-2', 3],
      [`${'ы'.repeat(68)}😀`, 'UCS-2', 1], // 70 units
      [`${'ы'.repeat(66)}😀${'ы'.repeat(66)}`, 'UCS-2', 3], // 134 units, but the pair is not split: 66 + 67 + 1
      ['😀'.repeat(35), 'UCS-2', 1],
    ];
    for (const [text, encoding, segments] of cases) {
      const r = smsSegments(text);
      assert.equal(r.encoding, encoding, JSON.stringify(text));
      assert.equal(r.segments, segments, `${JSON.stringify(text.slice(0, 20))}... (${text.length})`);
    }
  });
});

describe('SMS (Twilio and the generic gateway)', () => {
  let sms;
  let hook; // receives the delivery receipts
  let hookUrl;
  const received = [];
  const from = '+15005550006';
  const basic = () => `Basic ${Buffer.from(`${sms.accountSid}:${sms.authToken}`).toString('base64')}`;
  const create = (fields, { auth = basic(), url = sms.messagesUrl } = {}) =>
    h1(url, { headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) }, body: new URLSearchParams(fields).toString() });

  before(async () => {
    sms = await startSms({ keepMessages: true, callbackDelayMs: 10 });
    hook = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(req.url.includes('fail') ? 500 : 204);
        res.end();
      });
    });
    await new Promise((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${hook.address().port}`;
  });
  after(async () => {
    await sms.close();
    hook.close();
  });

  it('creates a message and answers 201 with Twilio\'s resource', async () => {
    const r = await create({ To: '+41791234567', From: from, Body: 'AAPL crossed 200' });
    assert.equal(r.status, 201, r.text);
    const m = r.json;
    assert.match(m.sid, /^SM[0-9a-f]{32}$/);
    assert.equal(m.status, 'queued');
    assert.equal(m.account_sid, sms.accountSid);
    assert.equal(m.to, '+41791234567');
    assert.equal(m.from, from);
    assert.equal(m.body, 'AAPL crossed 200');
    assert.equal(m.num_segments, '1');
    assert.equal(m.direction, 'outbound-api');
    assert.equal(m.api_version, '2010-04-01');
    assert.equal(m.uri, `/2010-04-01/Accounts/${sms.accountSid}/Messages/${m.sid}.json`);
    assert.match(m.date_created, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    const long = await create({ To: '+41791234567', From: from, Body: 'Прайс '.repeat(20) });
    assert.equal(long.json.num_segments, '2');
    const fetched = await h1(`${sms.url}${m.uri}`, { method: 'GET', headers: { authorization: basic() } });
    assert.equal(fetched.status, 200);
    assert.equal(fetched.json.sid, m.sid);
    const viaService = await create({ To: '+41791234567', MessagingServiceSid: `MG${'a'.repeat(32)}`, Body: 'hi' });
    assert.equal(viaService.status, 201);
    assert.equal(viaService.json.status, 'accepted');
    assert.equal(viaService.json.num_segments, '0');
    assert.equal(viaService.json.from, null);
    assert.equal(sms.countFor('+41791234567'), 3);
    assert.equal(sms.stats.segments, 1 + 2 + 1);
  });

  it('refuses bad credentials with Twilio\'s 20003 and a foreign account with 20404', async () => {
    const none = await create({ To: '+41791234567', From: from, Body: 'x' }, { auth: null });
    assert.equal(none.status, 401);
    assert.deepEqual(Object.keys(none.json).sort(), ['code', 'message', 'more_info', 'status']);
    assert.equal(none.json.code, 20003);
    assert.equal(none.json.status, 401);
    assert.equal(none.json.more_info, 'https://www.twilio.com/docs/errors/20003');
    assert.match(none.headers['www-authenticate'], /Basic/);
    const wrong = await create({ To: '+41791234567', From: from, Body: 'x' }, { auth: `Basic ${Buffer.from(`${sms.accountSid}:nope`).toString('base64')}` });
    assert.equal(wrong.json.code, 20003);
    const lower = await create({ To: '+41791234567', From: from, Body: 'x' }, { auth: basic().replace('Basic', 'basic') });
    assert.equal(lower.status, 201);
    const foreign = await create({ To: '+41791234567', From: from, Body: 'x' }, { url: sms.messagesUrl.replace(sms.accountSid, `AC${'0'.repeat(32)}`) });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.json.code, 20404);
  });

  it('validates the fields with Twilio\'s error codes, magic numbers included', async () => {
    const cases = [
      [{ From: from, Body: 'x' }, 21604, /'To' phone number is required/],
      [{ To: '0791234567', From: from, Body: 'x' }, 21211, /^The 'To' number 0791234567 is not a valid phone number\.$/],
      [{ To: '+15005550001', From: from, Body: 'x' }, 21211, /not a valid phone number/],
      [{ To: '+15005550002', From: from, Body: 'x' }, 21612, /not currently reachable/],
      [{ To: '+15005550003', From: from, Body: 'x' }, 21408, /Permission/],
      [{ To: '+15005550004', From: from, Body: 'x' }, 21610, /unsubscribed/],
      [{ To: '+15005550009', From: from, Body: 'x' }, 21614, /mobile/],
      [{ To: '+41791234567', Body: 'x' }, 21603, /'From' phone number is required/],
      [{ To: from, From: from, Body: 'x' }, 21211, /not a valid phone number/],
      [{ To: '+41791234567', From: '12', Body: 'x' }, 21212, /not a valid phone number, shortcode, or alphanumeric/],
      [{ To: '+41791234567', From: '+15005550007', Body: 'x' }, 21606, /not a valid, SMS-capable/],
      [{ To: '+41791234567', From: '+15005550008', Body: 'x' }, 21611, /queued messages/],
      [{ To: '+41791234567', MessagingServiceSid: 'MGnope', Body: 'x' }, 21701, /Messaging Service/],
      [{ To: '+41791234567', From: from }, 21602, /body is required/],
      [{ To: '+41791234567', From: from, Body: 'x'.repeat(1601) }, 21617, /1600 character limit/],
      [{ To: '+41791234567', From: from, Body: 'x', StatusCallback: 'not a url' }, 21609, /StatusCallback/],
    ];
    for (const [fields, code, pattern] of cases) {
      const r = await create(fields);
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.equal(r.json.code, code, r.text);
      assert.equal(r.json.status, 400);
      assert.equal(r.json.more_info, `https://www.twilio.com/docs/errors/${code}`);
      assert.match(r.json.message, pattern);
    }
    assert.equal((await create({ To: '+41791234567', From: 'Kontor', Body: 'alphanumeric sender' })).status, 201);
    assert.equal((await create({ To: '+41791234567', From: from, Body: 'x'.repeat(1600) })).status, 201);
    const owned = await startSms({ fromNumbers: ['+15550001111'] });
    try {
      const auth = `Basic ${Buffer.from(`${owned.accountSid}:${owned.authToken}`).toString('base64')}`;
      const r = await h1(owned.messagesUrl, { headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'To=%2B41791234567&From=%2B15550002222&Body=x' });
      assert.equal(r.json.code, 21606);
      const ok = await h1(owned.messagesUrl, { headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'To=%2B41791234567&From=%2B15550001111&Body=x' });
      assert.equal(ok.status, 201);
    } finally {
      await owned.close();
    }
  });

  it('posts signed delivery receipts to StatusCallback', async () => {
    received.length = 0;
    sms.setOutcome('+41790000002', 'undelivered');
    sms.setOutcome('+41790000003', 'failed:30007');
    const sids = {};
    for (const [to, p] of [['+41790000001', '/ok'], ['+41790000002', '/ok'], ['+41790000003', '/ok'], ['+41790000004', '/fail']]) {
      const r = await create({ To: to, From: from, Body: 'receipt please', StatusCallback: `${hookUrl}${p}?tag=${to.slice(-1)}` });
      assert.equal(r.status, 201);
      sids[r.json.sid] = to;
    }
    await sms.callbacksIdle();
    // Independent check of Twilio's signature: URL + sorted name/value pairs, HMAC-SHA1 keyed by the auth token.
    for (const cb of received) {
      const params = new URLSearchParams(cb.body);
      const url = `${hookUrl}${cb.url}`;
      const data = url + [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => k + v).join('');
      const expected = crypto.createHmac('sha1', sms.authToken).update(data).digest('base64');
      assert.equal(cb.headers['x-twilio-signature'], expected);
      assert.equal(cb.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.equal(params.get('AccountSid'), sms.accountSid);
      assert.equal(params.get('SmsSid'), params.get('MessageSid'));
      assert.equal(params.get('To'), sids[params.get('MessageSid')]);
    }
    const statusesOf = (to) => received.map((cb) => new URLSearchParams(cb.body)).filter((p) => p.get('To') === to).map((p) => [p.get('MessageStatus'), p.get('ErrorCode')]);
    assert.deepEqual(statusesOf('+41790000001'), [['sent', null], ['delivered', null]]);
    assert.deepEqual(statusesOf('+41790000002'), [['sent', null], ['undelivered', '30003']]);
    assert.deepEqual(statusesOf('+41790000003'), [['failed', '30007']]);
    assert.equal(sms.stats.callbacksFailed, 2); // the /fail hook answered 500 twice
    const sid = Object.keys(sids).find((s) => sids[s] === '+41790000002');
    const now_ = await h1(`${sms.url}/2010-04-01/Accounts/${sms.accountSid}/Messages/${sid}.json`, { method: 'GET', headers: { authorization: basic() } });
    assert.equal(now_.json.status, 'undelivered');
    assert.equal(now_.json.error_code, 30003);
    const log = (await h1(`${sms.controlUrl}/callbacks`, { method: 'GET' })).json;
    assert.equal(log.pending, 0);
    assert.equal(log.callbacks.length, received.length);
  });

  it('speaks the generic JSON gateway with a bearer token', async () => {
    received.length = 0;
    const send = (body, bearer = sms.gatewayToken) => h1(sms.gatewayUrl, { headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body });
    const r = await send({ to: '+41791110000', body: 'Hello', reference: 'ref-1', callback_url: `${hookUrl}/gw` });
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.id, /^msg_/);
    assert.equal(r.json.segments, 1);
    assert.equal((await send({ to: '+41791110000', body: 'x' }, 'wrong')).status, 401);
    const bad = await send({ to: '12', body: 'x' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_to');
    assert.equal((await send({ to: '+41791110000' })).json.error, 'invalid_body');
    assert.equal((await h1(sms.gatewayUrl, { headers: { authorization: `Bearer ${sms.gatewayToken}` }, body: '{' })).json.error, 'invalid_json');
    await sms.callbacksIdle();
    const cb = received.find((x) => x.url === '/gw');
    const receipt = JSON.parse(cb.body);
    assert.equal(receipt.id, r.json.id);
    assert.equal(receipt.reference, 'ref-1');
    assert.equal(receipt.status, 'delivered');
    assert.equal(cb.headers['x-signature'], `sha256=${crypto.createHmac('sha256', sms.gatewayToken).update(cb.body).digest('hex')}`);
  });

  it('injects every fault kind in Twilio\'s words', async () => {
    const fields = { To: '+41792220000', From: from, Body: 'fault' };
    sms.setFaults({ next: ['429'], retryAfter: 3 });
    const q = await create(fields);
    assert.equal(q.status, 429);
    assert.equal(q.json.code, 20429);
    assert.equal(q.headers['retry-after'], '3');
    for (const [kind, status, code] of [['500', 500, 20500], ['503', 503, 20503], ['auth', 401, 20003], ['goaway', 503, 20503]]) {
      sms.setFaults({ next: [kind] });
      const r = await create(fields);
      assert.equal(r.status, status, kind);
      assert.equal(r.json.code, code);
    }
    sms.setFaults({ next: ['html502'] });
    const h = await create(fields);
    assert.equal(h.status, 502);
    assert.equal(h.json, undefined);
    sms.setFaults({ next: ['reset'] });
    await assert.rejects(create(fields));
    assert.equal(sms.countFor('+41792220000'), 0);
    sms.setFaults({ next: ['lostResponse'] });
    await assert.rejects(create(fields));
    assert.equal(sms.countFor('+41792220000'), 1);
    // The gateway maps the same faults to its own answers.
    sms.setFaults({ next: ['429'] });
    const g = await h1(sms.gatewayUrl, { headers: { authorization: `Bearer ${sms.gatewayToken}` }, body: { to: '+41792220000', body: 'x' } });
    assert.equal(g.status, 429);
    assert.equal(g.json.error, 'rate_limited');
    assert.equal(g.headers['retry-after'], '3');
    const f = sms.stats.faults;
    for (const k of ['429', '500', '503', 'auth', 'goaway', 'html502', 'reset', 'lostResponse']) assert.ok(f[k] >= 1, k);
    sms.clearFaults();
    // Control endpoint.
    await h1(`${sms.controlUrl}/faults`, { body: { next: ['503'] } });
    assert.equal((await create(fields)).status, 503);
    await h1(`${sms.controlUrl}/outcomes`, { body: { '+41792220001': 'failed' } });
    assert.equal((await h1(`${sms.controlUrl}/outcomes`, { body: { '+41792220001': 'lost' } })).status, 400);
  });

  it('answers over HTTP/2 too', async () => {
    const s = h2connect(sms.url);
    try {
      const r = await h2(s, { ':method': 'POST', ':path': new URL(sms.messagesUrl).pathname, authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' }, 'To=%2B41793330000&From=%2B15005550006&Body=h2');
      assert.equal(r.status, 201);
      assert.equal(r.json.status, 'queued');
    } finally {
      s.close();
    }
  });
});

// ---------------------------------------------------------------------------
// The command line

function runCli(args) {
  const child = spawn(process.execPath, [path.join(HERE, 'cli.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out, err })));
  const firstLine = new Promise((resolve, reject) => {
    const check = () => {
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    };
    child.stdout.on('data', check);
    exited.then((r) => reject(new Error(`cli exited (${r.code}): ${r.err}`)));
  });
  firstLine.catch(() => {}); // tests of failing starts only look at `exited`
  return { child, firstLine, exited, lines: () => out.trim().split('\n') };
}

describe('cli.mjs', () => {
  it('runs FCM over h2c, writes the service account, prints stats at exit', async () => {
    const saPath = path.join(tmp, 'cli-sa.json');
    const run = runCli(['fcm', '--port', '0', '--http2', '--write-service-account', saPath, '--faults', '{"next":["503"]}', '--print-stats']);
    const info = await run.firstLine;
    assert.equal(info.protocol, 'h2c');
    assert.equal(info.serviceAccountPath, saPath);
    const sa = JSON.parse(fs.readFileSync(saPath, 'utf8'));
    assert.equal(sa.token_uri, info.tokenUri);
    const s = h2connect(info.url);
    const tok = await h2(s, { ':method': 'POST', ':path': '/token', 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ grant_type: JWT_BEARER, assertion: assertion(sa) }).toString());
    const msg = { ':method': 'POST', ':path': new URL(info.sendUrl).pathname, authorization: `Bearer ${tok.json.access_token}` };
    assert.equal((await h2(s, msg, { message: { token: 'cli', data: { a: 'b' } } })).status, 503);
    assert.equal((await h2(s, msg, { message: { token: 'cli', data: { a: 'b' } } })).status, 200);
    const stats = await h2(s, { ':method': 'GET', ':path': '/__control/stats' });
    assert.equal(stats.json.accepted, 1);
    s.close();
    run.child.kill('SIGTERM');
    const r = await run.exited;
    assert.equal(r.code, 0, r.err);
    const final = JSON.parse(run.lines()[1]);
    assert.equal(final.accepted, 1);
    assert.equal(final.faults['503'], 1);
  });

  it('runs APNs with a temporary key that is removed at exit, and SMS', async () => {
    const apns = runCli(['apns', '--topic', 'com.example.cli', '--no-require-push-type']);
    const info = await apns.firstLine;
    assert.ok(fs.existsSync(info.keyPath));
    const key = crypto.createPrivateKey(fs.readFileSync(info.keyPath, 'utf8'));
    const s = h2connect(info.url);
    const r = await h2(s, { ':method': 'POST', ':path': `/3/device/${'ab'.repeat(32)}`, authorization: `bearer ${signJwt({ alg: 'ES256', kid: info.keyId }, { iss: info.teamId, iat: now() }, key)}`, 'apns-topic': 'com.example.cli' }, '{"aps":{}}');
    assert.equal(r.status, 200, r.text);
    s.close();
    apns.child.kill('SIGTERM');
    assert.equal((await apns.exited).code, 0);
    assert.equal(fs.existsSync(info.keyPath), false);

    const sms = runCli(['sms', '--no-http2', '--account-sid', `AC${'1'.repeat(32)}`, '--auth-token', 'secret']);
    const si = await sms.firstLine;
    assert.equal(si.protocol, 'http1');
    const c = await h1(si.messagesUrl, { headers: { authorization: `Basic ${Buffer.from(`AC${'1'.repeat(32)}:secret`).toString('base64')}` }, body: 'To=%2B41790000000&From=%2B15005550006&Body=cli' });
    assert.equal(c.status, 201);
    sms.child.kill('SIGINT');
    assert.equal((await sms.exited).code, 0);
  });

  it('serves from several worker processes with shared tokens, faults and merged stats', async () => {
    const saPath = path.join(tmp, 'cluster-sa.json');
    const run = runCli(['fcm', '--workers', '2', '--http2', 'false', '--write-service-account', saPath]);
    const info = await run.firstLine;
    try {
      assert.equal(info.workers, 2);
      const sa = JSON.parse(fs.readFileSync(saPath, 'utf8'));
      assert.equal(sa.token_uri, info.tokenUri);
      const t = await accessToken(sa);
      // agent: false opens a connection per request; the cluster hands them to the workers in turn.
      const send = (token) => h1(info.sendUrl, { headers: { authorization: `Bearer ${t}` }, body: { message: { token, data: { a: 'b' } } }, agent: false });
      for (let k = 0; k < 10; k++) assert.equal((await send(`w-${k}`)).status, 200);
      assert.equal((await send('w-0')).status, 200); // a duplicate, on another worker than the first
      const stats = (await h1(`${info.controlUrl}/stats`, { method: 'GET' })).json;
      assert.equal(stats.accepted, 11);
      assert.equal(stats.targets, 10);
      assert.equal(stats.duplicateTargets, 1);
      assert.equal(stats.perTarget['w-0'], 2);
      assert.equal(stats.tokensIssued, 1);
      assert.equal((await h1(`${info.controlUrl}/stats?target=w-0`, { method: 'GET' })).json.accepted, 2);
      // Fault settings reach every worker.
      await h1(`${info.controlUrl}/faults`, { body: { rate503: 1 } });
      for (let k = 0; k < 4; k++) assert.equal((await send('w-x')).status, 503);
      await h1(`${info.controlUrl}/faults`, { method: 'DELETE' });
      assert.equal((await h1(`${info.controlUrl}/revoke-tokens`, { body: {} })).json.revoked, 1);
      for (let k = 0; k < 4; k++) assert.equal((await send('w-y')).status, 401);
      await h1(`${info.controlUrl}/reset`, { body: {} });
      assert.equal((await h1(`${info.controlUrl}/stats`, { method: 'GET' })).json.requests, 0);
    } finally {
      run.child.kill('SIGTERM');
      assert.equal((await run.exited).code, 0);
    }
  });

  it('refuses unknown servers and options', async () => {
    for (const args of [['pigeon'], ['sms', '--bogus'], ['fcm', '--port', 'x'], ['fcm', '--faults', '{']]) {
      const r = await runCli(args).exited;
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, /usage/);
    }
    const bad = await runCli(['fcm', '--faults', '{"rate429": 3}']).exited;
    assert.equal(bad.code, 1);
    assert.match(bad.err, /between 0 and 1/);
  });
});
