// APNs end to end through the running binary: iOS devices route to the APNs
// provider (messaging.push.ios_provider), others to messaging.push.provider;
// HTTP/2 over TLS with ALPN to the local APNs server (tests/servers/apns.mjs)
// with a self-signed certificate made here with openssl and trusted through
// messaging.apns.ca_file; ES256 provider tokens; 410 and BadDeviceToken mark
// the device unregistered; 429 and 503 are retried; ExpiredProviderToken gets
// a new token at once; InvalidProviderToken pauses the provider, which
// GET /v1/messaging/providers and the audit log show.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer, tempDir, waitFor } from './lib/harness.mjs';
import { startApns } from '../servers/apns.mjs';

const TOPIC = 'com.example.kontor';
const tok = (c, n = 64) => c.repeat(n);

function selfSignedCert(dir) {
  const key = path.join(dir, 'tls-key.pem');
  const cert = path.join(dir, 'tls-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8'), certPath: cert };
}

function apnsEnv(apns, certPath, keyPath, extra = {}) {
  return {
    KONTOR_MESSAGING_PUSH_PROVIDER: 'capture',
    KONTOR_MESSAGING_PUSH_IOS_PROVIDER: 'apns',
    KONTOR_MESSAGING_APNS_ENDPOINT: apns.url,
    KONTOR_MESSAGING_APNS_CA_FILE: certPath,
    KONTOR_MESSAGING_APNS_KEY_FILE: keyPath,
    KONTOR_MESSAGING_APNS_KEY_ID: apns.keyId,
    KONTOR_MESSAGING_APNS_TEAM_ID: apns.teamId,
    KONTOR_MESSAGING_APNS_TOPIC: TOPIC,
    KONTOR_MESSAGING_POLL_MS: '50',
    KONTOR_MESSAGING_RETRY_BASE_MS: '100',
    ...extra,
  };
}

describe(`APNs (${DB_KIND})`, { timeout: 300000 }, () => {
  let srv, apns, tls, keyPath;

  async function waitStatus(s, id, statuses, timeoutMs = 30000) {
    return waitFor(async () => {
      const r = await s.api('GET', `/v1/messages/${id}`);
      return statuses.includes(r.json.status) ? r.json : null;
    }, { timeoutMs, what: `message ${id} ${statuses}` });
  }
  async function device(s, id, platform, token, customer) {
    const r = await s.api('PUT', `/v1/devices/${id}`, { body: { platform, token, customer } });
    assert.ok([200, 201].includes(r.status), r.text);
  }
  async function push(s, to, content = { title: 'Kurs', body: 'DE0007100000 hat 42,50 € erreicht' }) {
    const r = await s.api('POST', '/v1/messages', { body: { channel: 'push', to, content } });
    assert.equal(r.status, 202, r.text);
    return r.json.messages;
  }

  before(async () => {
    const dir = tempDir('kontor-apns-');
    tls = selfSignedCert(dir);
    keyPath = path.join(dir, 'AuthKey.p8');
    apns = await startApns({ tls: { key: tls.key, cert: tls.cert }, topic: TOPIC, writeKey: keyPath, keepMessages: true });
    assert.match(apns.url, /^https:/);
    srv = await startServer({ env: apnsEnv(apns, tls.certPath, keyPath) });
    const r = await srv.api('PUT', '/v1/customers/apns-anna', { body: { first_name: 'Anna' } });
    assert.ok([200, 201].includes(r.status), r.text);
    await device(srv, 'inst-anna-ios', 'ios', tok('a1'), 'apns-anna');
    await device(srv, 'inst-anna-android', 'android', 'fcm-token-anna', 'apns-anna');
  });
  after(async () => {
    if (srv) assertCleanLog(srv);
    await srv?.close();
    await apns?.close();
  });

  test('iOS devices go to APNs over TLS with a provider token, the others to the push provider', async () => {
    const [ios, android] = await push(srv, { customer: 'apns-anna' }, { title: 'Kurs', body: 'Hallo', data: { isin: 'DE1', collapse_id: 'kurs-DE1' } });
    assert.equal(ios.provider, 'apns');
    assert.equal(android.provider, 'capture');
    const sent = await waitStatus(srv, ios.id, ['sent', 'failed']);
    assert.equal(sent.status, 'sent', JSON.stringify(sent));
    const got = apns.messages.find((m) => m.token === tok('a1'));
    assert.ok(got, JSON.stringify(apns.messages).slice(0, 500));
    assert.equal(sent.provider_message_id, got.apnsId);
    assert.deepEqual(got.payload.aps.alert, { title: 'Kurs', body: 'Hallo' });
    assert.equal(got.payload.isin, 'DE1');
    assert.equal(got.headers['apns-topic'], TOPIC);
    assert.equal(got.headers['apns-push-type'], 'alert');
    assert.equal(got.headers['apns-priority'], '10');
    assert.equal(got.headers['apns-collapse-id'], 'kurs-DE1');
    assert.ok(Number(got.headers['apns-expiration']) > Date.now() / 1000, got.headers['apns-expiration']);
    assert.equal((await waitStatus(srv, android.id, ['sent'])).status, 'sent');

    // Data alone is a background push: push type background, priority 5, content-available.
    const [bgIos] = await push(srv, { customer: 'apns-anna' }, { data: { refresh: 'portfolio' } });
    assert.equal((await waitStatus(srv, bgIos.id, ['sent', 'failed'])).status, 'sent');
    const bg = apns.messages.find((m) => m.token === tok('a1') && m.payload.refresh === 'portfolio');
    assert.ok(bg, JSON.stringify(apns.messages).slice(0, 500));
    assert.equal(bg.headers['apns-push-type'], 'background');
    assert.equal(bg.headers['apns-priority'], '5');
    assert.deepEqual(bg.payload.aps, { 'content-available': 1 });

    // One provider token for all of it.
    assert.equal(apns.stats.providerTokens.distinct, 1);
    assert.equal(apns.stats.providerTokens.refreshedTooSoon, 0);
  });

  test('410 Unregistered and 400 BadDeviceToken mark the device unregistered', async () => {
    await device(srv, 'inst-gone', 'ios', 'deadbeef' + tok('0', 56));
    await device(srv, 'inst-bad', 'ios', 'abcd1234');
    const [gone] = await push(srv, { device: 'inst-gone' });
    const [bad] = await push(srv, { device: 'inst-bad' });
    let m = await waitStatus(srv, gone.id, ['failed', 'sent']);
    assert.equal(m.status, 'failed');
    assert.equal(m.error_code, 'Unregistered');
    m = await waitStatus(srv, bad.id, ['failed', 'sent']);
    assert.equal(m.status, 'failed');
    assert.equal(m.error_code, 'BadDeviceToken');
    for (const id of ['inst-gone', 'inst-bad']) {
      const d = await srv.api('GET', `/v1/devices/${id}`);
      assert.equal(d.json.status, 'unregistered', id);
    }
  });

  test('429 and 503 are retried; ExpiredProviderToken gets a new token and goes at once', async () => {
    await device(srv, 'inst-retry', 'ios', tok('b2'));
    apns.setFaults({ nextFor: { [tok('b2')]: ['429', '503'] } });
    const [r] = await push(srv, { device: 'inst-retry' });
    const m = await waitStatus(srv, r.id, ['sent', 'failed']);
    assert.equal(m.status, 'sent', JSON.stringify(m));
    assert.equal(m.attempts, 3);
    assert.deepEqual(m.events.filter((e) => e.status === 'retry').map((e) => e.detail.split(':')[0]), ['TooManyRequests', 'ServiceUnavailable']);

    const before = apns.stats.providerTokens.distinct;
    apns.setFaults({ nextFor: { [tok('b2')]: ['auth'] } });
    const [e] = await push(srv, { device: 'inst-retry' });
    const x = await waitStatus(srv, e.id, ['sent', 'failed']);
    assert.equal(x.status, 'sent', JSON.stringify(x));
    assert.equal(x.attempts, 1);
    assert.equal(apns.stats.providerTokens.distinct, before + 1);
    apns.clearFaults();
  });

  test('push tokens: one token one installation, unregister, stats per platform', async () => {
    // Registered anonymously, then the app logs in under a new installation with the same token.
    await device(srv, 'inst-anon', 'ios', tok('d4'));
    await device(srv, 'inst-login', 'ios', tok('d4'), 'apns-anna');
    let r = await srv.api('GET', '/v1/devices/inst-anon');
    assert.equal(r.json.status, 'unregistered');
    r = await srv.api('GET', '/v1/devices/inst-login');
    assert.equal(r.json.status, 'active');
    assert.equal(r.json.customer, 'apns-anna');
    // A push to the customer reaches that token once.
    const msgs = await push(srv, { customer: 'apns-anna' });
    assert.equal(msgs.filter((m) => m.recipient === tok('d4')).length, 1);
    r = await srv.api('POST', '/v1/devices/inst-login/unregister');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'unregistered');
    r = await srv.api('POST', '/v1/devices/nope/unregister');
    assert.equal(r.status, 404, r.text);
    r = await srv.api('GET', '/v1/audit?action=device.unregister');
    assert.equal(r.json.items.length, 1, r.text);
    r = await srv.api('GET', '/v1/devices/stats');
    assert.equal(r.status, 200, r.text);
    const ios = r.json.items.find((p) => p.platform === 'ios');
    const android = r.json.items.find((p) => p.platform === 'android');
    assert.deepEqual(android, { platform: 'android', active: 1, unregistered: 0, stale: 0 });
    assert.equal(ios.active, 2, JSON.stringify(ios)); // inst-anna-ios, inst-retry
    assert.equal(ios.unregistered, 4, JSON.stringify(ios)); // gone, bad, anon, login
    assert.equal(ios.stale, 0);
  });

  test('InvalidProviderToken pauses the provider: shown by /v1/messaging/providers and audited', async () => {
    let r = await srv.api('GET', '/v1/messaging/providers');
    assert.equal(r.status, 200, r.text);
    const ok = r.json.items.find((p) => p.name === 'apns');
    assert.equal(ok.channel, 'push');
    assert.equal(ok.state, 'ok');
    assert.ok(ok.sent_1h >= 3, JSON.stringify(ok));
    assert.ok(ok.failed_1h >= 2, JSON.stringify(ok));
    assert.ok(ok.last_error, JSON.stringify(ok));

    // The same APNs server, a key id it does not know.
    const other = await startServer({ env: apnsEnv(apns, tls.certPath, keyPath, { KONTOR_MESSAGING_APNS_KEY_ID: 'WRONGKEY00' }) });
    try {
      await device(other, 'inst-p', 'ios', tok('c3'));
      const [m] = await push(other, { device: 'inst-p' });
      const paused = await waitFor(async () => {
        const x = await other.api('GET', `/v1/messages/${m.id}`);
        return x.json.events.some((ev) => ev.status === 'paused') ? x.json : null;
      }, { timeoutMs: 20000, what: 'paused' });
      assert.equal(paused.status, 'queued');
      assert.equal(paused.error_code, 'InvalidProviderToken');
      r = await other.api('GET', '/v1/messaging/providers');
      const p = r.json.items.find((i) => i.name === 'apns');
      assert.equal(p.state, 'paused', JSON.stringify(p));
      assert.match(p.paused_reason, /InvalidProviderToken/);
      assert.ok(Date.parse(p.paused_until) > Date.now(), p.paused_until);
      assert.equal(p.queued, 1);
      assert.match(p.last_error, /InvalidProviderToken/);
      r = await other.api('GET', '/v1/audit?action=messaging.provider.paused');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.items.length, 1, r.text);
      assert.equal(r.json.items[0].resource.id, 'apns');
      assert.match(other.log(), /messaging provider paused/);
      r = await other.api('GET', '/v1/messaging/providers?x=1');
      assert.equal(r.status, 400, r.text);
      assertCleanLog(other);
    } finally {
      await other.close();
    }
  });
});
