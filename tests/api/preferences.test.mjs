// Preferences and the suppression list through the running binary: a topic
// opt-out is enforced when a message is queued, suppressed recipients are
// never sent to, marketing email carries a signed List-Unsubscribe link
// (RFC 8058) whose one-click POST withdraws email consent, and the signed
// preference links refuse tampered (403) and expired (410) tokens.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer } from './lib/harness.mjs';
import { startSmtp } from './lib/smtp.mjs';

const SECRET = 'test-preferences-secret';
let srv, smtp;

// A token as the server makes them: customer id, expiry (s), HMAC-SHA256.
function makeToken(customerId, expiresSeconds, secret = SECRET) {
  const payload = Buffer.alloc(16);
  payload.writeBigUInt64BE(BigInt(customerId), 0);
  payload.writeBigUInt64BE(BigInt(expiresSeconds), 8);
  const mac = crypto.createHmac('sha256', secret).update(Buffer.concat([Buffer.from('kontor-preferences:'), payload])).digest();
  return Buffer.concat([payload, mac]).toString('base64url');
}

async function send(body) {
  const r = await srv.api('POST', '/v1/messages', { body });
  assert.equal(r.status, 202, r.text);
  return r.json.messages;
}

describe(`preferences and suppressions (${DB_KIND})`, { timeout: 300000 }, () => {
  before(async () => {
    smtp = await startSmtp({});
    srv = await startServer({
      env: {
        KONTOR_MESSAGING_EMAIL_PROVIDER: 'smtp',
        KONTOR_MESSAGING_SMTP_URL: smtp.url,
        KONTOR_MESSAGING_SMTP_STARTTLS: 'off',
        KONTOR_MESSAGING_SMTP_FROM: 'Kontor <kontor@example.com>',
        KONTOR_MESSAGING_POLL_MS: '50',
        KONTOR_MESSAGING_PUBLIC_URL: 'https://kontor.example',
        KONTOR_MESSAGING_PREFERENCES_SECRET: SECRET,
      },
    });
    for (const [id, body] of [
      ['p-anna', { first_name: 'Anna', email: 'anna@example.com', phone: '+4930111', consent: { email: { status: 'granted' }, sms: { status: 'granted' } } }],
      ['p-bob', { first_name: 'Bob', email: 'Bob@Example.com', phone: '+4930222' }],
    ]) {
      const r = await srv.api('PUT', `/v1/customers/${id}`, { body });
      assert.ok([200, 201].includes(r.status), r.text);
    }
  });
  after(async () => {
    if (srv) assertCleanLog(srv);
    await srv?.close();
    await smtp?.stop();
  });

  test('preferences are stored per topic and channel, validated and audited', async () => {
    let r = await srv.api('GET', '/v1/customers/p-anna/preferences');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { topics: {} });
    r = await srv.api('PUT', '/v1/customers/p-anna/preferences', { body: { topics: { offers: { sms: false, email: true } } } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { topics: { offers: { email: true, sms: false } } });
    r = await srv.api('PUT', '/v1/customers/p-anna/preferences', { body: { topics: { news: { push: false } } } });
    assert.deepEqual(r.json.topics, { news: { push: false }, offers: { email: true, sms: false } });
    for (const [body, field] of [
      [{ topics: { offers: { fax: false } } }, 'topics.offers.fax'],
      [{ topics: { offers: { sms: 'no' } } }, 'topics.offers.sms'],
      [{ topics: { 'Bad Topic': {} } }, 'topics.Bad Topic'],
      [{}, 'topics'],
    ]) {
      r = await srv.api('PUT', '/v1/customers/p-anna/preferences', { body });
      assert.equal(r.status, 422, r.text);
      assert.ok(r.json.errors.some((e) => e.field === field), `${field}: ${r.text}`);
    }
    assert.equal((await srv.api('GET', '/v1/customers/nobody/preferences')).status, 404);
    r = await srv.api('GET', '/v1/audit?action=customer.preferences');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.items.length, 2);
  });

  test('an opt-out of the topic is enforced at send: the message is logged as suppressed', async () => {
    const [sms] = await send({ channel: 'sms', to: { customer: 'p-anna' }, topic: 'offers', purpose: 'marketing', content: { text: 'Offer!' } });
    assert.equal(sms.status, 'suppressed');
    assert.equal(sms.error_message, 'opted_out:offers');
    // Another topic, or the email channel, still goes out.
    const [other] = await send({ channel: 'sms', to: { customer: 'p-anna' }, topic: 'news', content: { text: 'News' } });
    assert.notEqual(other.status, 'suppressed');
  });

  test('the suppression list: managed by API, enforced for every send, case-insensitive for email', async () => {
    let r = await srv.api('POST', '/v1/suppressions', { body: { channel: 'email', recipient: 'BOB@example.com', reason: 'hard bounce' } });
    assert.equal(r.status, 201, r.text);
    const id = r.json.id;
    assert.equal(r.json.recipient, 'bob@example.com');
    assert.equal(r.json.reason, 'hard bounce');
    assert.ok(r.json.created_by);
    r = await srv.api('POST', '/v1/suppressions', { body: { channel: 'email', recipient: 'bob@example.com' } });
    assert.equal(r.status, 409, r.text);
    for (const [body, field] of [
      [{ channel: 'email', recipient: 'not-an-address' }, 'recipient'],
      [{ channel: 'fax', recipient: 'x' }, 'channel'],
      [{ channel: 'sms', recipient: '0301234' }, 'recipient'],
      [{ channel: 'sms', recipient: '+4930999', extra: 1 }, 'extra'],
    ]) {
      r = await srv.api('POST', '/v1/suppressions', { body });
      assert.equal(r.status, 422, r.text);
      assert.ok(r.json.errors.some((e) => e.field === field), `${field}: ${r.text}`);
    }
    r = await srv.api('GET', '/v1/suppressions?channel=email&q=bob');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.items.length, 1);
    assert.equal((await srv.api('GET', '/v1/suppressions?channel=sms')).json.items.length, 0);

    const [m1] = await send({ channel: 'email', to: { customer: 'p-bob' }, content: { subject: 'Order', text: 'shipped' } });
    assert.equal(m1.status, 'suppressed');
    assert.equal(m1.error_message, 'suppressed');
    const [m2] = await send({ channel: 'email', to: { email: 'Bob@example.COM' }, content: { subject: 'x', text: 'y' } });
    assert.equal(m2.status, 'suppressed');

    r = await srv.api('DELETE', `/v1/suppressions/${id}`);
    assert.equal(r.status, 204, r.text);
    const [m3] = await send({ channel: 'email', to: { customer: 'p-bob' }, content: { subject: 'Order 2', text: 'shipped' } });
    assert.notEqual(m3.status, 'suppressed');
    r = await srv.api('GET', '/v1/audit?action=suppression.*');
    assert.equal(r.json.items.length, 2);
    const viewer = await srv.makeUser('auditor');
    r = await srv.api('POST', '/v1/suppressions', { token: viewer, body: { channel: 'email', recipient: 'a@b.c' } });
    assert.equal(r.status, 403);
  });

  test('marketing email carries a signed one-click unsubscribe link that withdraws email consent', async () => {
    const before = smtp.messages().length;
    await send({ channel: 'email', to: { customer: 'p-anna' }, purpose: 'marketing', content: { subject: 'Spring offers', text: 'Buy' } });
    const mails = await smtp.waitForCount(before + 1);
    const mail = mails.find((m) => m.headers.Subject === 'Spring offers');
    assert.ok(mail, JSON.stringify(mails.map((m) => m.headers.Subject)));
    const lu = mail.headers['List-Unsubscribe'];
    assert.match(lu, /^<https:\/\/kontor\.example\/v1\/unsubscribe\/[A-Za-z0-9_-]+>$/);
    assert.equal(mail.headers['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click');
    const token = lu.slice(lu.lastIndexOf('/') + 1, -1);
    const customerId = Number(Buffer.from(token, 'base64url').readBigUInt64BE(0));

    // The preference page through the same token.
    let r = await srv.api('GET', `/v1/preferences/${token}`, { noAuth: true, token: null });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.topics.offers, { email: true, sms: false, push: true });
    r = await srv.api('POST', `/v1/preferences/${token}`, { noAuth: true, token: null, body: { topics: { offers: { push: false } } } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.topics.offers.push, false);
    r = await srv.api('POST', `/v1/preferences/${token}`, { noAuth: true, token: null, body: { topics: { offers: { fax: true } } } });
    assert.equal(r.status, 422, r.text);

    // RFC 8058: the body must be exactly the one-click field.
    r = await srv.api('POST', `/v1/unsubscribe/${token}`, { noAuth: true, token: null, raw: true, body: 'x=y', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 422, r.text);
    r = await srv.api('POST', `/v1/unsubscribe/${token}`, { noAuth: true, token: null, raw: true, body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 200, r.text);
    const cu = await srv.api('GET', '/v1/customers/p-anna');
    assert.equal(cu.json.consent.email.status, 'withdrawn', cu.text);
    // Marketing email is now suppressed for lack of consent; the change is in the feed.
    const [m] = await send({ channel: 'email', to: { customer: 'p-anna' }, purpose: 'marketing', content: { subject: 'More offers', text: 'Buy' } });
    assert.equal(m.status, 'suppressed');
    const feed = await srv.api('GET', '/v1/customers/p-anna/timeline');
    assert.equal(feed.status, 200, feed.text);
    assert.ok(JSON.stringify(feed.json.items[0]).includes('withdrawn'), feed.text);

    // Tampered and expired tokens are refused; a token under another secret too.
    const tampered = (token[5] === 'A' ? 'B' : 'A');
    const bad = token.slice(0, 5) + tampered + token.slice(6);
    r = await srv.api('GET', `/v1/preferences/${bad}`, { noAuth: true, token: null });
    assert.equal(r.status, 403, r.text);
    assert.match(r.headers.get('content-type'), /problem\+json/);
    r = await srv.api('POST', `/v1/unsubscribe/${makeToken(customerId, Math.floor(Date.now() / 1000) + 3600, 'other')}`, { noAuth: true, token: null, raw: true, body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 403, r.text);
    const expired = makeToken(customerId, Math.floor(Date.now() / 1000) - 10);
    r = await srv.api('GET', `/v1/preferences/${expired}`, { noAuth: true, token: null });
    assert.equal(r.status, 410, r.text);
    assert.match(r.headers.get('content-type'), /problem\+json/);
    // A token made here with the configured secret is valid: the format is as documented.
    r = await srv.api('GET', `/v1/preferences/${makeToken(customerId, Math.floor(Date.now() / 1000) + 60)}`, { noAuth: true, token: null });
    assert.equal(r.status, 200, r.text);
  });
});
