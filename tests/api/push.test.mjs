// Push end to end through the running binary: FCM HTTP v1 with the OAuth2
// JWT-bearer flow against the local FCM server (tests/servers), HTTP/2
// (HTTP/1.1 here: Debian's libcurl 7.88 fails to reuse an h2c prior-knowledge
// connection for a second request; real FCM is https with ALPN); UNREGISTERED marks the device, faults are retried, a revoked
// token pauses and recovers. Also templates: saved, checked, previewed and
// rendered per customer and language.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer, tempDir, waitFor } from './lib/harness.mjs';
import { startFcm } from '../servers/fcm.mjs';

let srv, fcm;

async function waitStatus(id, statuses, timeoutMs = 30000) {
  return waitFor(async () => {
    const r = await srv.api('GET', `/v1/messages/${id}`);
    return statuses.includes(r.json.status) ? r.json : null;
  }, { timeoutMs, what: `message ${id} ${statuses}` });
}

async function device(id, token, customer) {
  const r = await srv.api('PUT', `/v1/devices/${id}`, { body: { platform: 'android', token, customer, locale: 'de-DE' } });
  assert.ok([200, 201].includes(r.status), r.text);
}

describe(`push and templates (${DB_KIND})`, { timeout: 300000 }, () => {
  before(async () => {
    const sa = path.join(tempDir('kontor-fcm-'), 'service-account.json');
    fcm = await startFcm({ http2: 'auto', writeServiceAccount: sa, keepMessages: true, unregisteredTokens: ['tok-gone'] });
    srv = await startServer({
      env: {
        KONTOR_MESSAGING_PUSH_PROVIDER: 'fcm',
        KONTOR_MESSAGING_FCM_SERVICE_ACCOUNT_FILE: sa,
        KONTOR_MESSAGING_FCM_ENDPOINT: fcm.url,
        KONTOR_MESSAGING_FCM_HTTP2_PRIOR_KNOWLEDGE: process.env.FCM_H2 ?? 'false',
        KONTOR_MESSAGING_POLL_MS: '50',
        KONTOR_MESSAGING_RETRY_BASE_MS: '100',
      },
    });
    let r = await srv.api('PUT', '/v1/customers/p-anna', { body: { first_name: 'Anna', language: 'de', attributes: { depot: 'D-17' } } });
    assert.ok([200, 201].includes(r.status), r.text);
    r = await srv.api('PUT', '/v1/customers/p-john', { body: { first_name: 'John', language: 'en-US' } });
    assert.ok([200, 201].includes(r.status), r.text);
    await device('inst-anna-1', 'tok-anna-1', 'p-anna');
    await device('inst-anna-2', 'tok-gone', 'p-anna');
    await device('inst-john', 'tok-john', 'p-john');
  });
  after(async () => {
    if (srv) assertCleanLog(srv);
    await srv?.close();
    await fcm?.close();
  });

  test('templates are checked on save, versioned, previewed and rendered per language', async () => {
    let r = await srv.api('PUT', '/v1/templates/price-alert', {
      body: {
        name: 'Price alert', channel: 'push', default_language: 'en',
        languages: {
          en: { title: '{{data.isin}} reached {{data.price}}', body: 'Hi {{customer.first_name}}', data: { isin: '{{data.isin}}' } },
          de: { title: '{{data.isin}} hat {{data.price}} erreicht', body: 'Hallo {{customer.first_name}}, Depot {{customer.attributes.depot}}', data: { isin: '{{data.isin}}' } },
        },
        sample: { data: { isin: 'DE0007100000', price: '42.50' }, customer: { first_name: 'X', attributes: { depot: 'D' } } },
      },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.version, 1);
    assert.ok(r.json.check.every((c) => c.push_payload_bytes > 0 && c.push_payload_bytes <= 4096), r.text);
    r = await srv.api('PUT', '/v1/templates/price-alert', { body: { name: 'x', channel: 'push', default_language: 'en', languages: { en: { title: '{{#open}}', body: 'b' } } } });
    assert.equal(r.status, 422, r.text);
    assert.ok(r.json.errors.some((e) => e.field.startsWith('languages.en.title')), r.text);
    r = await srv.api('PUT', '/v1/templates/price-alert', { body: { name: 'Price alert 2', channel: 'push', default_language: 'en', languages: { en: { title: 't', body: 'b' } } }, headers: { 'if-match': '"7"' } });
    assert.equal(r.status, 409, r.text);
    r = await srv.api('PUT', '/v1/templates/sms-long', { body: { name: 'Long', channel: 'sms', default_language: 'de', languages: { de: { text: '€'.repeat(900) } } } });
    assert.equal(r.status, 422, r.text);
    r = await srv.api('POST', '/v1/templates/price-alert/preview', { body: { customer: 'p-anna', data: { isin: 'DE0007100000' } } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.language, 'de');
    assert.equal(r.json.content.body, 'Hallo Anna, Depot D-17');
    assert.ok(r.json.unknown_variables.some((e) => /data\.price/.test(e.message)), r.text);
    // An unsaved edit is previewed as given, and checked like a save.
    const edit = { name: 'Price alert', channel: 'push', default_language: 'en', languages: { en: { title: 'Draft {{data.isin}}', body: 'Edited for {{customer.first_name}}' } } };
    r = await srv.api('POST', '/v1/templates/price-alert/preview', { body: { customer: 'p-anna', language: 'en', data: { isin: 'X1' }, definition: edit } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.content.title, 'Draft X1');
    assert.equal(r.json.content.body, 'Edited for Anna');
    r = await srv.api('POST', '/v1/templates/price-alert/preview', { body: { definition: { ...edit, languages: { en: { title: '{{#open}}', body: 'b' } } } } });
    assert.equal(r.status, 422, r.text);
    assert.ok(r.json.errors.some((e) => e.field === 'definition.languages.en.title'), r.text);
    r = await srv.api('POST', '/v1/templates/price-alert/preview', { body: { definition: 'x' } });
    assert.equal(r.status, 422, r.text);
    assert.ok(r.json.errors.some((e) => e.field === 'definition'), r.text);
    r = await srv.api('GET', '/v1/templates/price-alert');
    assert.equal(r.json.version, 1);
    r = await srv.api('GET', '/v1/templates');
    assert.deepEqual(r.json.items.map((t) => t.key), ['price-alert']);
  });

  test('a push to a customer goes to each active device through FCM; UNREGISTERED marks the device', async () => {
    const r = await srv.api('POST', '/v1/messages', {
      body: { channel: 'push', lane: 'alert', to: { customer: 'p-anna' }, template: 'price-alert', data: { isin: 'DE0007100000', price: '42,50 €' } },
    });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.messages.length, 2);
    const [ok, gone] = r.json.messages;
    const sent = await waitStatus(ok.id, ['sent', 'failed']);
    assert.equal(sent.status, 'sent', JSON.stringify(sent));
    assert.match(sent.provider_message_id, /^projects\/.+\/messages\//);
    assert.equal(sent.language, 'de');
    const failed = await waitStatus(gone.id, ['failed']);
    assert.equal(failed.error_code, 'UNREGISTERED');
    const d = await srv.api('GET', '/v1/devices/inst-anna-2');
    assert.equal(d.json.status, 'unregistered');
    const got = fcm.messages.find((m) => m.message?.token === 'tok-anna-1');
    assert.ok(got, JSON.stringify(fcm.messages).slice(0, 500));
    const msg = got.message;
    assert.equal(msg.notification.title, 'DE0007100000 hat 42,50 € erreicht');
    assert.equal(msg.notification.body, 'Hallo Anna, Depot D-17');
    assert.equal(msg.data.isin, 'DE0007100000');
    // Strict rendering: a variable the data lacks is a 422, nothing queued.
    const bad = await srv.api('POST', '/v1/messages', {
      body: { channel: 'push', to: { customer: 'p-john' }, template: 'price-alert', data: { isin: 'X' } },
    });
    assert.equal(bad.status, 422, bad.text);
    assert.ok(bad.json.errors.some((e) => e.field.startsWith('template.') && /data\.price/.test(e.message)), bad.text);
  });

  test('503s and resets are retried until delivered; a revoked OAuth token pauses, then recovers', async () => {
    fcm.setFaults({ next: ['503', '503'] });
    let r = await srv.api('POST', '/v1/messages', { body: { channel: 'push', to: { device: 'inst-john' }, content: { title: 'T', body: 'retry me' } } });
    assert.equal(r.status, 202, r.text);
    let m = await waitStatus(r.json.messages[0].id, ['sent', 'failed']);
    assert.equal(m.status, 'sent', JSON.stringify(m));
    assert.equal(m.attempts, 3);
    fcm.clearFaults();
    fcm.revokeTokens();
    r = await srv.api('POST', '/v1/messages', { body: { channel: 'push', to: { device: 'inst-john' }, content: { title: 'T', body: 'after revoke' } } });
    const id = r.json.messages[0].id;
    const paused = await waitFor(async () => {
      const x = await srv.api('GET', `/v1/messages/${id}`);
      return x.json.events.some((e) => e.status === 'paused') || x.json.status === 'sent' ? x.json : null;
    }, { timeoutMs: 20000, what: 'paused or sent' });
    assert.ok(paused.events.some((e) => e.status === 'paused'), JSON.stringify(paused));
    assert.equal(paused.attempts <= 1, true);
  });
});
