// SMS end to end through the running binary: Twilio's Messages API (the
// local server in tests/servers/sms.mjs) with signed delivery receipts to
// POST /v1/sms/status, faults retried after Retry-After, invalid and
// unsubscribed numbers failed (21610 withdraws the number's SMS consent),
// incoming STOP/START at POST /v1/sms/inbound, and requests without a valid
// X-Twilio-Signature refused. A second server sends SMS through the generic
// JSON gateway and email through the webhook provider, signed like Kontor's
// webhooks.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, freePort, request, startServer, waitFor } from './lib/harness.mjs';
import { startSms } from '../servers/sms.mjs';

const FROM = '+15005550006';

function twilioSign(authToken, url, params) {
  let data = url;
  for (const k of Object.keys(params).sort()) data += k + params[k];
  return crypto.createHmac('sha1', authToken).update(data).digest('base64');
}

describe(`SMS (${DB_KIND})`, { timeout: 300000 }, () => {
  let srv, sms, publicUrl;

  async function waitStatus(s, id, statuses, timeoutMs = 30000) {
    return waitFor(async () => {
      const r = await s.api('GET', `/v1/messages/${id}`);
      return statuses.includes(r.json.status) ? r.json : null;
    }, { timeoutMs, what: `message ${id} ${statuses}` });
  }
  async function send(s, to, text = 'Kurs DE0007100000: 42,50') {
    const r = await s.api('POST', '/v1/messages', { body: { channel: 'sms', to, content: { text } } });
    assert.equal(r.status, 202, r.text);
    return r.json.messages[0];
  }
  async function customer(id, phone, consent = 'granted') {
    const r = await srv.api('PUT', `/v1/customers/${id}`, { body: { first_name: id, phone, consent: { sms: { status: consent, source: 'test' } } } });
    assert.ok([200, 201].includes(r.status), r.text);
  }
  async function inbound(params, { signature } = {}) {
    const body = new URLSearchParams(params).toString();
    const sig = signature ?? twilioSign(sms.authToken, `${publicUrl}/v1/sms/inbound`, params);
    return request(srv.url, 'POST', '/v1/sms/inbound', { raw: true, body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(sig ? { 'x-twilio-signature': sig } : {}) } });
  }

  before(async () => {
    sms = await startSms({ keepMessages: true, callbackDelayMs: 10 });
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    srv = await startServer({
      port,
      env: {
        KONTOR_MESSAGING_SMS_PROVIDER: 'twilio',
        KONTOR_MESSAGING_TWILIO_URL: sms.url,
        KONTOR_MESSAGING_TWILIO_ACCOUNT_SID: sms.accountSid,
        KONTOR_MESSAGING_TWILIO_AUTH_TOKEN: sms.authToken,
        KONTOR_MESSAGING_TWILIO_FROM: FROM,
        KONTOR_MESSAGING_TWILIO_PUBLIC_URL: publicUrl,
        KONTOR_MESSAGING_POLL_MS: '50',
        KONTOR_MESSAGING_RETRY_BASE_MS: '100',
      },
    });
    await customer('sms-anna', '+41791110001');
    await customer('sms-stop', '+15005550004');
  });
  after(async () => {
    if (srv) assertCleanLog(srv);
    await srv?.close();
    await sms?.close();
  });

  test('sent through Twilio; the signed delivery receipt marks it delivered with its segments', async () => {
    const m = await send(srv, { customer: 'sms-anna' });
    assert.equal(m.provider, 'twilio');
    const sent = await waitStatus(srv, m.id, ['sent', 'delivered', 'failed']);
    assert.notEqual(sent.status, 'failed', JSON.stringify(sent));
    assert.match(sent.provider_message_id, /^SM[0-9a-f]{32}$/);
    const got = sms.messages.find((x) => x.sid === sent.provider_message_id);
    assert.equal(got.to, '+41791110001');
    assert.equal(got.from, FROM);
    assert.equal(got.statusCallback, `${publicUrl}/v1/sms/status`);
    const done = await waitStatus(srv, m.id, ['delivered']);
    const ev = done.events.find((e) => e.status === 'delivered');
    assert.equal(ev.detail, '1 segment (GSM-7)');
    await sms.callbacksIdle();
    assert.ok(sms.callbacks.every((c) => c.httpStatus === 204), JSON.stringify(sms.callbacks));
  });

  test('an undelivered receipt fails the message with the carrier error', async () => {
    sms.setOutcome('+41791110002', 'undelivered:30005');
    const m = await send(srv, { phone: '+41791110002' }, 'Kurs € '.repeat(30));
    const failed = await waitStatus(srv, m.id, ['failed']);
    assert.equal(failed.error_code, '30005');
    assert.ok(failed.events.some((e) => e.status === 'failed' && /undelivered 30005, 2 segments \(GSM-7\)/.test(e.detail)), JSON.stringify(failed.events));
  });

  test('429 with Retry-After and 503 are retried; invalid numbers fail; 21610 withdraws consent', async () => {
    sms.setFaults({ retryAfter: 1, nextFor: { '+41791110003': ['429', '503'] } });
    const started = Date.now();
    const m = await send(srv, { phone: '+41791110003' });
    const sent = await waitStatus(srv, m.id, ['sent', 'delivered', 'failed']);
    assert.notEqual(sent.status, 'failed', JSON.stringify(sent));
    assert.equal(sent.attempts, 3);
    assert.deepEqual(sent.events.filter((e) => e.status === 'retry').map((e) => e.detail.split(':')[0]), ['20429', '20503']);
    assert.ok(Date.now() - started >= 2000, 'Retry-After: 1 s honoured twice');
    sms.clearFaults();

    const bad = await send(srv, { phone: '+15005550001' });
    let x = await waitStatus(srv, bad.id, ['failed', 'sent']);
    assert.equal(x.status, 'failed');
    assert.equal(x.error_code, '21211');
    const stop = await send(srv, { customer: 'sms-stop' });
    x = await waitStatus(srv, stop.id, ['failed', 'sent']);
    assert.equal(x.error_code, '21610');
    const c = await waitFor(async () => {
      const r = await srv.api('GET', '/v1/customers/sms-stop');
      return r.json.consent.sms.status === 'withdrawn' ? r.json : null;
    }, { what: 'consent withdrawn' });
    assert.equal(c.consent.sms.source, 'sms_stop');
  });

  test('incoming STOP withdraws SMS consent (change feed, audit), START grants it again; TwiML answer', async () => {
    let r = await inbound({ From: '+41791110001', To: FROM, Body: ' Stop ', MessageSid: 'SM1' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /xml/);
    assert.match(r.text, /<Response>/);
    r = await srv.api('GET', '/v1/customers/sms-anna');
    assert.equal(r.json.consent.sms.status, 'withdrawn');
    assert.equal(r.json.consent.sms.source, 'sms_stop');
    r = await srv.api('GET', '/v1/changes?since=0&limit=1000');
    assert.ok(r.json.items.some((ch) => ch.entity === 'customer' && ch.key === 'sms-anna' && ch.data?.consent?.sms?.status === 'withdrawn'), 'change feed');
    // A marketing SMS is now suppressed.
    r = await srv.api('POST', '/v1/messages', { body: { channel: 'sms', purpose: 'marketing', to: { customer: 'sms-anna' }, content: { text: 'offer' } } });
    assert.equal(r.json.messages[0].status, 'suppressed');
    // Not a keyword: nothing changes.
    r = await inbound({ From: '+41791110001', Body: 'please call me' });
    assert.equal(r.status, 200);
    r = await inbound({ From: '+41791110001', Body: 'START' });
    assert.equal(r.status, 200, r.text);
    r = await srv.api('GET', '/v1/customers/sms-anna');
    assert.equal(r.json.consent.sms.status, 'granted');
    assert.equal(r.json.consent.sms.source, 'sms_start');
  });

  test('requests without a valid X-Twilio-Signature are refused', async () => {
    let r = await inbound({ From: '+41791110001', Body: 'STOP' }, { signature: '' });
    assert.equal(r.status, 403, r.text);
    assert.match(r.headers.get('content-type'), /problem\+json/);
    r = await inbound({ From: '+41791110001', Body: 'STOP' }, { signature: twilioSign('wrong-token', `${publicUrl}/v1/sms/inbound`, { From: '+41791110001', Body: 'STOP' }) });
    assert.equal(r.status, 403, r.text);
    const params = { MessageSid: 'SMx', MessageStatus: 'delivered' };
    r = await request(srv.url, 'POST', '/v1/sms/status', { raw: true, body: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSign(sms.authToken, `${publicUrl}/v1/sms/inbound`, params) } });
    assert.equal(r.status, 403, r.text);
    r = await srv.api('GET', '/v1/customers/sms-anna');
    assert.equal(r.json.consent.sms.status, 'granted');
  });

  test('Twilio 20003 (bad credentials) pauses the provider, shown by /v1/messaging/providers', async () => {
    const other = await startServer({
      env: {
        KONTOR_MESSAGING_SMS_PROVIDER: 'twilio',
        KONTOR_MESSAGING_TWILIO_URL: sms.url,
        KONTOR_MESSAGING_TWILIO_ACCOUNT_SID: sms.accountSid,
        KONTOR_MESSAGING_TWILIO_AUTH_TOKEN: 'not-the-token',
        KONTOR_MESSAGING_TWILIO_FROM: FROM,
        KONTOR_MESSAGING_POLL_MS: '50',
      },
    });
    try {
      const m = await send(other, { phone: '+41791110010' });
      const x = await waitFor(async () => {
        const r = await other.api('GET', `/v1/messages/${m.id}`);
        return r.json.events.some((e) => e.status === 'paused') ? r.json : null;
      }, { timeoutMs: 20000, what: 'paused' });
      assert.equal(x.status, 'queued');
      assert.equal(x.error_code, '20003');
      const p = await waitFor(async () => {
        const r = await other.api('GET', '/v1/messaging/providers');
        const t = r.json.items.find((i) => i.name === 'twilio');
        return t.state === 'paused' ? t : null;
      }, { what: 'twilio paused' });
      assert.match(p.paused_reason, /^20003/);
      assert.equal(p.queued, 1);
      assertCleanLog(other);
    } finally {
      await other.close();
    }
  });

  test('a generic JSON gateway for SMS and the webhook provider for email', async () => {
    const received = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(received.length === 1 ? 503 : 200, { 'content-type': 'application/json' });
        res.end(received.length === 1 ? '{}' : JSON.stringify({ id: `hook-${received.length}` }));
      });
    });
    await new Promise((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const secret = 'whsec_provider_test_secret';
    const other = await startServer({
      env: {
        KONTOR_MESSAGING_SMS_PROVIDER: 'sms_http',
        KONTOR_MESSAGING_SMS_HTTP_URL: sms.gatewayUrl,
        KONTOR_MESSAGING_SMS_HTTP_HEADERS: `Authorization: Bearer ${sms.gatewayToken}\nX-Client: kontor`,
        KONTOR_MESSAGING_SMS_HTTP_BODY: '{"to":"{{to}}","from":"Kontor","body":"{{text}}","reference":"k-{{id}}"}',
        KONTOR_MESSAGING_EMAIL_PROVIDER: 'webhook',
        KONTOR_MESSAGING_WEBHOOK_URL: `http://127.0.0.1:${hook.address().port}/messages`,
        KONTOR_MESSAGING_WEBHOOK_SECRET: secret,
        KONTOR_MESSAGING_POLL_MS: '50',
        KONTOR_MESSAGING_RETRY_BASE_MS: '100',
      },
    });
    try {
      const s = await send(other, { phone: '+41791110009' }, 'Gateway "quoted"\ntext');
      const x = await waitStatus(other, s.id, ['sent', 'failed']);
      assert.equal(x.status, 'sent', JSON.stringify(x));
      assert.match(x.provider_message_id, /^msg_/);
      const got = sms.messages.find((m) => m.id === x.provider_message_id || m.to === '+41791110009');
      assert.ok(got, JSON.stringify(sms.messages.slice(-3)));
      let r = await other.api('POST', '/v1/messages', { body: { channel: 'email', to: { email: 'a@example.com' }, content: { subject: 'Hi', text: 'Hello' } } });
      assert.equal(r.status, 202, r.text);
      const e = await waitStatus(other, r.json.messages[0].id, ['sent', 'failed']);
      assert.equal(e.status, 'sent', JSON.stringify(e));
      assert.equal(e.attempts, 2); // the 503 was retried
      assert.equal(e.provider_message_id, 'hook-2');
      const last = received[1];
      const msg = JSON.parse(last.body);
      assert.equal(msg.id, e.id);
      assert.equal(msg.channel, 'email');
      assert.equal(msg.recipient, 'a@example.com');
      assert.equal(msg.content.subject, 'Hi');
      const ts = last.headers['kontor-timestamp'];
      const want = 'v1=' + crypto.createHmac('sha256', secret).update(`${ts}.${last.body}`).digest('hex');
      assert.equal(last.headers['kontor-signature'], want);
      r = await other.api('GET', '/v1/messaging/providers');
      assert.deepEqual(r.json.items.map((p) => `${p.name}/${p.channel}`), ['webhook/email', 'sms_http/sms', 'capture/push']);
      assertCleanLog(other);
    } finally {
      await other.close();
      hook.close();
    }
  });
});
