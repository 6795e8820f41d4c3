// Direct messages end to end through the running binary: email to a real SMTP
// server (python3-aiosmtpd, parsed with Python's MIME parser), SMS and push
// through the capture provider, recipients by address or customer, consent
// for marketing, idempotency, the delivery log and its filters, and bad
// input answered 422 with nothing queued.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer, waitFor } from './lib/harness.mjs';
import { startSmtp } from './lib/smtp.mjs';

let srv, smtp;

async function waitStatus(id, statuses, timeoutMs = 20000) {
  return waitFor(async () => {
    const r = await srv.api('GET', `/v1/messages/${id}`);
    return statuses.includes(r.json.status) ? r.json : null;
  }, { timeoutMs, what: `message ${id} ${statuses}` });
}

async function messageCount() {
  let n = 0;
  let cursor = null;
  for (;;) {
    const r = await srv.api('GET', `/v1/messages?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    n += r.json.items.length;
    cursor = r.json.next_cursor;
    if (!cursor) return n;
  }
}

describe(`messages (${DB_KIND})`, { timeout: 300000 }, () => {
  before(async () => {
    smtp = await startSmtp({ failRcpt: ['nobody@:550'] });
    srv = await startServer({
      env: {
        KONTOR_MESSAGING_EMAIL_PROVIDER: 'smtp',
        KONTOR_MESSAGING_SMTP_URL: smtp.url,
        KONTOR_MESSAGING_SMTP_STARTTLS: 'off',
        KONTOR_MESSAGING_SMTP_FROM: 'Börse Brief <brief@kontor.example>',
        KONTOR_MESSAGING_POLL_MS: '50',
        KONTOR_MESSAGING_RETRY_BASE_MS: '200',
      },
    });
    for (const [id, body] of [
      ['m-anna', { first_name: 'Anna', email: 'anna@example.com', phone: '+4930111', language: 'de', consent: { email: { status: 'granted' } } }],
      ['m-bob', { first_name: 'Bob', email: 'bob@example.com', language: 'en' }],
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

  test('an email goes out over SMTP as multipart/alternative with attachment and unsubscribe headers', async () => {
    const pdf = Buffer.from('%PDF-1.4 fake edition\n');
    const r = await srv.api('POST', '/v1/messages', {
      body: {
        channel: 'email', to: { email: 'reader@example.com' }, purpose: 'marketing',
        content: {
          subject: 'Kaufempfehlung: Müller AG — Ausgabe 12/2026',
          html: '<p>Hallo <b>Leser</b>, die Ausgabe ist da.</p>',
          text: 'Hallo Leser, die Ausgabe ist da.',
          attachments: [{ filename: 'ausgabe.pdf', content_type: 'application/pdf', data: pdf.toString('base64') }],
          list_unsubscribe: { url: 'https://kontor.example/u/abc', mailto: 'unsubscribe@kontor.example' },
        },
      },
    });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.messages.length, 1);
    const id = r.json.messages[0].id;
    assert.ok(['queued', 'sending', 'sent'].includes(r.json.messages[0].status), r.text);
    const [mail] = await smtp.waitForCount(1);
    assert.equal(mail.mail_from, 'brief@kontor.example');
    assert.deepEqual(mail.rcpt_tos, ['reader@example.com']);
    assert.equal(mail.headers.Subject, 'Kaufempfehlung: Müller AG — Ausgabe 12/2026');
    assert.equal(mail.headers.From, 'Börse Brief <brief@kontor.example>');
    assert.equal(mail.headers['List-Unsubscribe'], '<https://kontor.example/u/abc>, <mailto:unsubscribe@kontor.example>');
    assert.equal(mail.headers['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click');
    assert.ok(mail.headers.Date, 'has a Date');
    assert.equal(mail.content_type, 'multipart/mixed');
    assert.match(mail.raw, /multipart\/alternative/);
    assert.equal(mail.text.trim(), 'Hallo Leser, die Ausgabe ist da.');
    assert.equal(mail.html.trim(), '<p>Hallo <b>Leser</b>, die Ausgabe ist da.</p>');
    assert.equal(mail.attachments.length, 1);
    assert.equal(mail.attachments[0].filename, 'ausgabe.pdf');
    assert.equal(mail.attachments[0].content_type, 'application/pdf');
    assert.equal(Buffer.from(mail.attachments[0].data, 'base64').toString(), pdf.toString());

    const m = await waitStatus(id, ['sent']);
    assert.equal(m.provider, 'smtp');
    assert.equal(m.attempts, 1);
    assert.equal(m.provider_message_id, mail.headers['Message-ID']);
    const d = await srv.api('GET', `/v1/messages/${id}`);
    assert.deepEqual(d.json.events.map((e) => e.status), ['queued', 'sent']);
  });

  test('a rejected mailbox fails at once with the server\'s code; it is not retried', async () => {
    const r = await srv.api('POST', '/v1/messages', {
      body: { channel: 'email', to: { email: 'nobody@example.com' }, content: { subject: 'Hi', text: 'x' } },
    });
    assert.equal(r.status, 202, r.text);
    const m = await waitStatus(r.json.messages[0].id, ['failed']);
    assert.equal(m.error_code, '550');
    assert.equal(m.attempts, 1);
  });

  test('customers as recipients: their address, consent for marketing, suppression logged', async () => {
    let r = await srv.api('POST', '/v1/messages', {
      body: { channel: 'email', to: { customer: 'm-anna' }, purpose: 'marketing', content: { subject: 'News', text: 'for Anna' } },
    });
    assert.equal(r.status, 202, r.text);
    const anna = await waitStatus(r.json.messages[0].id, ['sent']);
    assert.equal(anna.recipient, 'anna@example.com');
    assert.equal(anna.language, 'de');
    r = await srv.api('POST', '/v1/messages', {
      body: { channel: 'email', to: { customer: 'm-bob' }, purpose: 'marketing', content: { subject: 'News', text: 'for Bob' } },
    });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.messages[0].status, 'suppressed');
    assert.match(r.json.messages[0].error_message, /consent/);
    // Transactional mail needs no marketing consent.
    r = await srv.api('POST', '/v1/messages', {
      body: { channel: 'email', to: { customer: 'm-bob' }, content: { subject: 'Your order', text: 'shipped' } },
    });
    await waitStatus(r.json.messages[0].id, ['sent']);
    // SMS to a customer's phone through the capture provider, in the alert lane.
    r = await srv.api('POST', '/v1/messages', {
      body: { channel: 'sms', lane: 'alert', to: { customer: 'm-anna' }, content: { text: 'KAUFEN: Müller AG bis 42,50' } },
    });
    assert.equal(r.status, 202, r.text);
    const sms = await waitStatus(r.json.messages[0].id, ['sent']);
    assert.equal(sms.recipient, '+4930111');
    assert.equal(sms.provider, 'capture');
    assert.equal(sms.lane, 'alert');
    r = await srv.api('POST', '/v1/messages', {
      body: { channel: 'sms', to: { customer: 'm-bob' }, content: { text: 'x' } },
    });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json.errors[0].field, 'to.customer');
  });

  test('idempotency: a repeat answers 200 with the first message; the same key for other content is 409', async () => {
    const body = { channel: 'sms', to: { phone: '+4917012345' }, content: { text: 'once' } };
    const a = await srv.api('POST', '/v1/messages', { body, headers: { 'idempotency-key': 'sms-once-1' } });
    assert.equal(a.status, 202, a.text);
    const b = await srv.api('POST', '/v1/messages', { body, headers: { 'idempotency-key': 'sms-once-1' } });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(b.json.messages[0].id, a.json.messages[0].id);
    const c = await srv.api('POST', '/v1/messages', {
      body: { ...body, content: { text: 'twice' } }, headers: { 'idempotency-key': 'sms-once-1' },
    });
    assert.equal(c.status, 409, c.text);
    // Concurrent repeats: one message.
    const key = 'sms-race-1';
    const rs = await Promise.all(Array.from({ length: 20 }, () =>
      srv.api('POST', '/v1/messages', { body: { ...body, idempotency_key: key } })));
    for (const r of rs) assert.ok([200, 202].includes(r.status), r.text);
    assert.equal(new Set(rs.map((r) => r.json.messages[0].id)).size, 1);
    assert.equal(rs.filter((r) => r.status === 202).length, 1);
  });

  test('bad input is 422 naming the field, and nothing is queued', async () => {
    const before = await messageCount();
    const cases = [
      [{ to: { email: 'a@example.com' }, content: { subject: 's', text: 't' } }, 'channel'],
      [{ channel: 'email', to: { email: 'not-an-address' }, content: { subject: 's', text: 't' } }, 'to.email'],
      [{ channel: 'email', to: { email: 'a@example.com' }, content: { text: 't' } }, 'content.subject'],
      [{ channel: 'email', to: { email: 'a@example.com' }, content: { subject: 's', text: 't', bogus: 1 } }, 'content.bogus'],
      [{ channel: 'email', to: { email: 'a@example.com' }, content: { subject: 's', text: 't', attachments: [{ filename: 'x', data: '!!' }] } }, 'content.attachments[0].data'],
      [{ channel: 'sms', to: { email: 'a@example.com' }, content: { text: 't' } }, 'to.email'],
      [{ channel: 'sms', to: { phone: '030 1234' }, content: { text: 't' } }, 'to.phone'],
      [{ channel: 'sms', to: { phone: '+4930123' }, content: { text: 'x'.repeat(1601) } }, 'content.text'],
      [{ channel: 'push', to: { token: 'tok' }, content: { title: 't', body: 'x'.repeat(3900), data: { a: 'y'.repeat(400) } } }, 'content'],
      [{ channel: 'push', to: { token: 'tok' }, content: { title: 't', data: { n: 1 } } }, 'content.data.n'],
      [{ channel: 'sms', to: { customer: 'no-such' }, content: { text: 't' } }, 'to.customer'],
      [{ channel: 'sms', to: { phone: '+4930123', email: 'a@example.com' }, content: { text: 't' } }, 'to.phone'],
      [{ channel: 'sms', to: { phone: '+4930123' }, content: { text: 't' }, lane: 'bulk' }, 'lane'],
      [{ channel: 'sms', to: { phone: '+4930123' }, content: { text: 't' }, extra: true }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const r = await srv.api('POST', '/v1/messages', { body });
      assert.equal(r.status, 422, `${JSON.stringify(body).slice(0, 100)}: ${r.text}`);
      assert.match(r.headers.get('content-type'), /problem\+json/);
      assert.ok(r.json.errors.some((e) => e.field === field), `${field}: ${r.text}`);
    }
    let r = await srv.api('POST', '/v1/messages', { body: '{"channel":', raw: true, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, r.text);
    r = await srv.api('POST', '/v1/messages', { body: { channel: 'sms' }, noAuth: true });
    assert.equal(r.status, 401);
    const reader = await srv.makeUser('auditor');
    r = await srv.api('POST', '/v1/messages', { body: { channel: 'sms', to: { phone: '+4930123' }, content: { text: 't' } }, token: reader });
    assert.equal(r.status, 403, r.text);
    assert.equal(await messageCount(), before);
  });

  test('the delivery log filters by channel, status, lane and customer, and pages', async () => {
    let r = await srv.api('GET', '/v1/messages?channel=sms&lane=alert');
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.items.length >= 1);
    assert.ok(r.json.items.every((m) => m.channel === 'sms' && m.lane === 'alert'));
    r = await srv.api('GET', '/v1/messages?customer=m-bob');
    assert.deepEqual(r.json.items.map((m) => m.status).sort(), ['sent', 'suppressed']);
    r = await srv.api('GET', '/v1/messages?status=failed&channel=email');
    assert.ok(r.json.items.every((m) => m.status === 'failed'));
    const all = [];
    let cursor = null;
    do {
      r = await srv.api('GET', `/v1/messages?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...r.json.items);
      cursor = r.json.next_cursor;
    } while (cursor);
    const ids = all.map((m) => Number(m.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
    assert.equal(new Set(ids).size, ids.length);
    r = await srv.api('GET', `/v1/messages?since=${encodeURIComponent(new Date(Date.now() + 3600000).toISOString())}`);
    assert.equal(r.json.items.length, 0);
    for (const bad of ['status=lost', 'channel=fax', 'since=yesterday', 'bogus=1', 'cursor=x']) {
      r = await srv.api('GET', `/v1/messages?${bad}`);
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
    }
    r = await srv.api('GET', '/v1/messages/999999999');
    assert.equal(r.status, 404);
  });
});
