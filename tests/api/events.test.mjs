// Events and triggers end to end through the running binary: events are
// stored durably (a SIGKILL right after the 202 loses nothing), idempotent,
// refused (422, nothing stored) for unknown customers or devices; triggers
// turn them into messages through the capture provider and a real SMTP
// server: channel fallback push → sms, delay, dedupe window, conditions,
// preferences topic; GET /v1/events/{id} shows the messages an event caused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer, waitFor } from './lib/harness.mjs';
import { startSmtp } from './lib/smtp.mjs';

let srv, smtp;

async function putTemplate(key, body) {
  const r = await srv.api('PUT', `/v1/templates/${key}`, { body });
  assert.ok([200, 201].includes(r.status), r.text);
}

async function putTrigger(key, body) {
  const r = await srv.api('PUT', `/v1/triggers/${key}`, { body });
  assert.ok([200, 201].includes(r.status), r.text);
  return r.json;
}

async function postEvent(body, opts = {}) {
  return srv.api('POST', '/v1/events', { body, ...opts });
}

// The event once its triggers ran.
async function processed(id, timeoutMs = 20000) {
  return waitFor(async () => {
    const r = await srv.api('GET', `/v1/events/${id}`);
    assert.equal(r.status, 200, r.text);
    return r.json.processed_at ? r.json : null;
  }, { timeoutMs, what: `event ${id} processed` });
}

async function messageStatus(id, statuses, timeoutMs = 20000) {
  return waitFor(async () => {
    const r = await srv.api('GET', `/v1/messages/${id}`);
    return statuses.includes(r.json.status) ? r.json : null;
  }, { timeoutMs, what: `message ${id} ${statuses}` });
}

describe(`events and triggers (${DB_KIND})`, { timeout: 300000 }, () => {
  before(async () => {
    smtp = await startSmtp({});
    srv = await startServer({
      env: {
        KONTOR_MESSAGING_EMAIL_PROVIDER: 'smtp',
        KONTOR_MESSAGING_SMTP_URL: smtp.url,
        KONTOR_MESSAGING_SMTP_STARTTLS: 'off',
        KONTOR_MESSAGING_SMTP_FROM: 'Kontor <kontor@example.com>',
        KONTOR_MESSAGING_POLL_MS: '50',
      },
    });
    for (const [id, body] of [
      ['e-anna', { first_name: 'Anna', email: 'anna@example.com', phone: '+4930111', language: 'de' }],
      ['e-bob', { first_name: 'Bob', email: 'bob@example.com', phone: '+4930222', language: 'en' }],
      ['e-carl', { first_name: 'Carl', email: 'carl@example.com', language: 'en', consent: { push: { status: 'withdrawn' } } }],
    ]) {
      const r = await srv.api('PUT', `/v1/customers/${id}`, { body });
      assert.ok([200, 201].includes(r.status), r.text);
    }
    // Anna has a phone app; Bob and Carl have none / withdrew push.
    let r = await srv.api('PUT', '/v1/devices/inst-anna', { body: { platform: 'android', token: 'tok-anna-1', customer: 'e-anna' } });
    assert.ok([200, 201].includes(r.status), r.text);
    r = await srv.api('PUT', '/v1/devices/inst-carl', { body: { platform: 'android', token: 'tok-carl-1', customer: 'e-carl' } });
    assert.ok([200, 201].includes(r.status), r.text);
    await putTemplate('shipped.push', { name: 'Shipped (push)', channel: 'push', default_language: 'en', languages: { en: { title: 'Shipped', body: 'Order {{event.data.order}} for {{customer.first_name}}' } } });
    await putTemplate('shipped.sms', { name: 'Shipped (sms)', channel: 'sms', default_language: 'en', languages: { en: { text: 'Order {{data.order}} shipped' } } });
    await putTemplate('shipped.email', { name: 'Shipped (email)', channel: 'email', default_language: 'en', languages: { en: { subject: 'Order {{data.order}} shipped', text: 'Hello {{customer.first_name}}' } } });
  });
  after(async () => {
    if (srv) assertCleanLog(srv);
    await srv?.close();
    await smtp?.stop();
  });

  test('triggers are validated on save, naming the field', async () => {
    const base = { event_type: 'order.shipped', template_key: 'shipped', channels: ['push', 'sms'] };
    for (const [body, field] of [
      [{ ...base, condition: { field: 'order', op: 'eq', value: 1 } }, 'condition.field'],
      [{ ...base, condition: { all: [{ field: 'data.x', op: 'bogus', value: 1 }] } }, 'condition.all[0].op'],
      [{ ...base, condition: { field: 'data.x', op: 'in', value: 3 } }, 'condition.value'],
      [{ ...base, channels: ['push', 'fax'] }, 'channels[1]'],
      [{ ...base, template_key: 'nothing-saved' }, 'template_key'],
      [{ ...base, lane: 'bulk' }, 'lane'],
      [{ ...base, delay_seconds: -1 }, 'delay_seconds'],
      [{ ...base, bogus: true }, 'bogus'],
    ]) {
      const r = await srv.api('PUT', '/v1/triggers/bad', { body });
      assert.equal(r.status, 422, `${JSON.stringify(body)} → ${r.text}`);
      assert.ok(r.json.errors.some((e) => e.field === field), `${field} in ${r.text}`);
    }
    assert.equal((await srv.api('GET', '/v1/triggers/bad')).status, 404);
  });

  test('an event becomes a push; without a device or with push withdrawn the sms, else the email (fallback)', async () => {
    const t = await putTrigger('shipped', { event_type: 'order.shipped', template_key: 'shipped', channels: ['push', 'sms', 'email'] });
    assert.equal(t.version, 1);
    assert.deepEqual(t.channels, ['push', 'sms', 'email']);
    assert.equal(t.lane, 'transactional');

    let r = await postEvent({ type: 'order.shipped', customer: 'e-anna', data: { order: 'A-1' } });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.type, 'order.shipped');
    assert.equal(r.json.replayed, false);
    let ev = await processed(r.json.id);
    assert.equal(ev.messages.length, 1, JSON.stringify(ev));
    assert.equal(ev.messages[0].channel, 'push');
    assert.equal(ev.messages[0].recipient, 'tok-anna-1');
    assert.equal(ev.messages[0].content.body, 'Order A-1 for Anna');
    assert.equal(ev.outcomes[0].outcome, 'queued');
    await messageStatus(ev.messages[0].id, ['sent']);

    r = await postEvent({ type: 'order.shipped', customer: 'e-bob', data: { order: 'B-1' } });
    ev = await processed(r.json.id);
    assert.equal(ev.messages[0].channel, 'sms');
    assert.equal(ev.messages[0].recipient, '+4930222');
    assert.equal(ev.messages[0].content.text, 'Order B-1 shipped');

    // Carl withdrew push and has no phone: the email goes out over SMTP.
    r = await postEvent({ type: 'order.shipped', customer: 'e-carl', data: { order: 'C-1' } });
    ev = await processed(r.json.id);
    assert.equal(ev.messages[0].channel, 'email');
    const mails = await smtp.waitForCount(1);
    assert.deepEqual(mails[0].rcpt_tos, ['carl@example.com']);
    assert.equal(mails[0].headers.Subject, 'Order C-1 shipped');

    // The event list filters by type and customer.
    r = await srv.api('GET', '/v1/events?type=order.shipped&customer=e-bob');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.items.length, 1);
    assert.equal(r.json.items[0].customer, 'e-bob');
    assert.deepEqual(r.json.items[0].data, { order: 'B-1' });
  });

  test('conditions on the event data choose which events send', async () => {
    await putTrigger('big-order', {
      event_type: 'order.placed', template_key: 'shipped', channels: ['sms'], lane: 'alert',
      condition: { all: [{ field: 'data.total', op: 'gte', value: 100 }, { not: { field: 'data.country', op: 'in', value: ['US', 'CA'] } }, { field: 'data.order', op: 'exists' }] },
    });
    const cases = [
      [{ total: 150, country: 'DE', order: 'X1' }, true],
      [{ total: 99.5, country: 'DE', order: 'X2' }, false],
      [{ total: 150, country: 'US', order: 'X3' }, false],
      [{ total: '150', country: 'DE', order: 'X4' }, false], // a string is not a number
      [{ total: 150, order: 'X5' }, true],
      [{ total: 150, country: 'DE' }, false],
    ];
    for (const [data, sends] of cases) {
      const r = await postEvent({ type: 'order.placed', customer: 'e-bob', data });
      assert.equal(r.status, 202, r.text);
      const ev = await processed(r.json.id);
      assert.equal(ev.messages.length, sends ? 1 : 0, `${JSON.stringify(data)}: ${JSON.stringify(ev)}`);
      if (sends) assert.equal(ev.messages[0].lane, 'alert');
    }
  });

  test('delay_seconds queues the message for later', async () => {
    await putTrigger('later', { event_type: 'cart.abandoned', template_key: 'shipped', channels: ['sms'], delay_seconds: 3600 });
    const r = await postEvent({ type: 'cart.abandoned', customer: 'e-bob', data: { order: 'D-1' } });
    const ev = await processed(r.json.id);
    assert.equal(ev.messages.length, 1);
    const id = ev.messages[0].id;
    await new Promise((res) => setTimeout(res, 500));
    const m = await srv.api('GET', `/v1/messages/${id}`);
    assert.equal(m.json.status, 'queued');
    assert.equal(m.json.attempts, 0);
    const due = Date.parse(m.json.next_attempt_at ?? ev.received_at);
    if (m.json.next_attempt_at) assert.ok(due - Date.parse(ev.received_at) >= 3590000, m.text);
  });

  test('the dedupe window suppresses the same trigger for the same customer', async () => {
    await putTrigger('price-alert', { event_type: 'price.alert', template_key: 'shipped', channels: ['sms'], dedupe_window_seconds: 600, lane: 'alert' });
    const first = await postEvent({ type: 'price.alert', customer: 'e-anna', data: { order: 'P-1' } });
    const ev1 = await processed(first.json.id);
    assert.equal(ev1.outcomes[0].outcome, 'queued');
    const second = await postEvent({ type: 'price.alert', customer: 'e-anna', data: { order: 'P-2' } });
    const ev2 = await processed(second.json.id);
    assert.equal(ev2.outcomes[0].outcome, 'deduped', JSON.stringify(ev2));
    assert.equal(ev2.messages[0].status, 'suppressed');
    // Another customer is not affected.
    const other = await postEvent({ type: 'price.alert', customer: 'e-bob', data: { order: 'P-3' } });
    assert.equal((await processed(other.json.id)).outcomes[0].outcome, 'queued');
  });

  test('a topic opt-out moves the trigger to the next channel or suppresses it', async () => {
    await putTrigger('news', { event_type: 'news.published', template_key: 'shipped', channels: ['sms', 'email'], topic: 'news' });
    let r = await srv.api('PUT', '/v1/customers/e-bob/preferences', { body: { topics: { news: { sms: false } } } });
    assert.equal(r.status, 200, r.text);
    r = await postEvent({ type: 'news.published', customer: 'e-bob', data: { order: 'N-1' } });
    let ev = await processed(r.json.id);
    assert.equal(ev.messages.length, 1);
    assert.equal(ev.messages[0].channel, 'email');
    r = await srv.api('PUT', '/v1/customers/e-bob/preferences', { body: { topics: { news: { email: false } } } });
    assert.equal(r.status, 200, r.text);
    r = await postEvent({ type: 'news.published', customer: 'e-bob', data: { order: 'N-2' } });
    ev = await processed(r.json.id);
    assert.equal(ev.outcomes[0].outcome, 'suppressed', JSON.stringify(ev));
    assert.equal(ev.messages[0].status, 'suppressed');
    assert.equal(ev.messages[0].error_message, 'opted_out:news');
  });

  test('an event with no matching trigger is just recorded', async () => {
    const r = await postEvent({ type: 'login.succeeded', customer: 'e-anna', data: {} });
    assert.equal(r.status, 202, r.text);
    const ev = await processed(r.json.id);
    assert.deepEqual(ev.messages, []);
    assert.deepEqual(ev.outcomes, []);
  });

  test('idempotency: a repeat answers with the first event; another body with the key is 409', async () => {
    const body = { type: 'order.shipped', customer: 'e-anna', data: { order: 'I-1' }, idempotency_key: 'evt-once-1' };
    const a = await postEvent(body);
    assert.equal(a.status, 202, a.text);
    const b = await postEvent(body);
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.replayed, true);
    assert.equal(b.json.id, a.json.id);
    // The header works too, and concurrent repeats get one event.
    const h = { type: 'order.shipped', customer: 'e-anna', data: { order: 'I-2' } };
    const all = await Promise.all(Array.from({ length: 8 }, () => postEvent(h, { headers: { 'idempotency-key': 'evt-hdr-2' } })));
    const ids = new Set(all.map((r) => r.json.id));
    assert.equal(ids.size, 1, JSON.stringify(all.map((r) => r.json)));
    assert.equal(all.filter((r) => r.json.replayed === false).length, 1);
    const c = await postEvent({ ...body, data: { order: 'other' } });
    assert.equal(c.status, 409, c.text);
    // One message for the one event.
    const ev = await processed(a.json.id);
    assert.equal(ev.messages.length, 1);
  });

  test('bad events are refused naming the field, nothing stored', async () => {
    const before = (await srv.api('GET', '/v1/events?limit=500')).json.items.length;
    for (const [body, status, field] of [
      [{ type: 'x.y', customer: 'nobody-here', data: {} }, 422, 'customer'],
      [{ type: 'x.y', installation_id: 'no-such-inst' }, 422, 'installation_id'],
      [{ type: 'x.y', customer: 'e-anna', data: [1] }, 422, 'data'],
      [{ type: 'x.y', customer: 'e-anna', data: { big: 'x'.repeat(20000) } }, 422, 'data'],
      [{ type: 'x.y', customer: 'e-anna', occurred_at: 'yesterday' }, 422, 'occurred_at'],
      [{ type: 'x y', customer: 'e-anna' }, 422, 'type'],
      [{ customer: 'e-anna' }, 422, 'type'],
      [{ type: 'x.y' }, 422, 'customer'],
      [{ type: 'x.y', customer: 'e-anna', extra: 1 }, 422, 'extra'],
    ]) {
      const r = await postEvent(body);
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 100)} → ${r.text}`);
      assert.match(r.headers.get('content-type'), /problem\+json/);
      assert.ok(r.json.errors.some((e) => e.field === field), `${field} in ${r.text}`);
    }
    // A valid event in the same moment as invalid ones is stored alone.
    const mixed = await Promise.all([
      postEvent({ type: 'mix', customer: 'nobody-2' }),
      postEvent({ type: 'mix', customer: 'e-anna', occurred_at: '2026-01-02T03:04:05Z' }),
      postEvent({ type: 'mix', installation_id: 'inst-anna' }),
    ]);
    assert.deepEqual(mixed.map((r) => r.status), [422, 202, 202]);
    const after = (await srv.api('GET', '/v1/events?limit=500')).json.items;
    assert.equal(after.length, before + 2);
    const byInst = after.find((e) => e.id === mixed[2].json.id);
    assert.equal(byInst.installation_id, 'inst-anna');
    assert.equal(byInst.customer, 'e-anna');
    assert.equal(after.find((e) => e.id === mixed[1].json.id).occurred_at, '2026-01-02T03:04:05.000Z');
  });

  test('permissions: events need messaging:write', async () => {
    const viewer = await srv.makeUser('auditor');
    const r = await srv.api('POST', '/v1/events', { token: viewer, body: { type: 'x', customer: 'e-anna' } });
    assert.equal(r.status, 403, r.text);
    assert.equal((await srv.api('POST', '/v1/events', { token: null, noAuth: true, body: { type: 'x', customer: 'e-anna' } })).status, 401);
  });

  test('durable: an event answered 202 survives a SIGKILL right after', async () => {
    const ids = [];
    const posts = [];
    for (let i = 0; i < 50; i++) {
      posts.push(postEvent({ type: 'durable.check', customer: 'e-bob', data: { i } }).then((r) => {
        assert.equal(r.status, 202, r.text);
        ids.push(r.json.id);
      }));
    }
    await Promise.all(posts);
    await srv.kill9();
    await srv.restart();
    for (const id of ids) {
      const r = await srv.api('GET', `/v1/events/${id}`);
      assert.equal(r.status, 200, `event ${id} lost: ${r.text}`);
      assert.equal(r.json.type, 'durable.check');
    }
  });
});
