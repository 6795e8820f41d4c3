// Campaigns end to end through the running binary: drafts, edits with
// If-Match, scheduling, the audience snapshot and its expansion into outbox
// messages, completion, pause/resume/cancel against a live push campaign
// through the local FCM server, A/B split counts, recipients' local time,
// consent, and bad input answered 4xx naming the field with nothing queued.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, startServer, tempDir, waitFor } from './lib/harness.mjs';
import { startFcm } from '../servers/fcm.mjs';

let srv, fcm;
let listId, segmentId, pushListId;

async function ok(r, statuses = [200, 201]) {
  assert.ok(statuses.includes(r.status), `${r.status} ${r.text}`);
  return r.json;
}

async function waitState(id, state, timeoutMs = 60000) {
  return waitFor(async () => {
    const r = await srv.api('GET', `/v1/campaigns/${id}`);
    return r.json.state === state ? r.json : null;
  }, { timeoutMs, what: `campaign ${id} ${state}` });
}

async function campaignMessages(id) {
  const out = [];
  let cursor = null;
  for (;;) {
    const r = await srv.api('GET', `/v1/messages?campaign_id=${id}&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.items);
    cursor = r.json.next_cursor;
    if (!cursor) return out;
  }
}

async function template(key, channel, languages) {
  await ok(await srv.api('PUT', `/v1/templates/${key}`, {
    body: { name: key, channel, default_language: 'en', languages, sample: { customer: { first_name: 'X' }, campaign: { offer: 'x' } } },
  }));
}

describe(`campaigns (${DB_KIND})`, { timeout: 300000 }, () => {
  before(async () => {
    const sa = path.join(tempDir('kontor-fcm-'), 'service-account.json');
    fcm = await startFcm({ http2: false, writeServiceAccount: sa });
    srv = await startServer({
      env: {
        KONTOR_MESSAGING_PUSH_PROVIDER: 'fcm',
        KONTOR_MESSAGING_FCM_SERVICE_ACCOUNT_FILE: sa,
        KONTOR_MESSAGING_FCM_ENDPOINT: fcm.url,
        KONTOR_MESSAGING_POLL_MS: '50',
        KONTOR_MESSAGING_RETRY_BASE_MS: '100',
      },
    });
    // 200 customers: c-0..c-199, email consent for all but every tenth,
    // push consent for all; every fifth in Berlin, every seventh in New York.
    const items = [];
    for (let i = 0; i < 200; i++) {
      items.push({
        external_id: `c-${i}`, first_name: `N${i}`, email: `c${i}@example.com`, language: 'en',
        time_zone: i % 5 === 0 ? 'Europe/Berlin' : i % 7 === 0 ? 'America/New_York' : undefined,
        tags: ['camp'],
        consent: { ...(i % 10 === 9 ? {} : { email: { status: 'granted' } }), push: { status: 'granted' } },
      });
    }
    const b = await ok(await srv.api('POST', '/v1/customers/batch', { body: items }));
    assert.equal(b.failed, 0, JSON.stringify(b.items.filter((x) => x.status === 'error')));
    listId = (await ok(await srv.api('PUT', '/v1/lists/newsletter', { body: { name: 'Newsletter' } }))).id;
    for (let i = 0; i < 20; i++) await ok(await srv.api('PUT', `/v1/lists/newsletter/members/c-${i}`), [200, 201, 204]);
    segmentId = (await ok(await srv.api('PUT', '/v1/segments/camp', { body: { name: 'Camp', rule: { tag: 'camp' } } }))).id;
    pushListId = (await ok(await srv.api('PUT', '/v1/lists/push', { body: { name: 'Push' } }))).id;
    for (let i = 0; i < 40; i++) {
      await ok(await srv.api('PUT', `/v1/devices/inst-${i}`, { body: { platform: 'android', token: `tok-${i}`, customer: `c-${i}` } }));
      await ok(await srv.api('PUT', `/v1/lists/push/members/c-${i}`), [200, 201, 204]);
    }
    await template('spring', 'email', { en: { subject: 'Hi {{customer.first_name}}', text: '{{campaign.offer}}' } });
    await template('spring_b', 'email', { en: { subject: 'B {{customer.first_name}}', text: 'B: {{campaign.offer}}' } });
    await template('ping', 'push', { en: { title: 'Hi {{customer.first_name}}', body: '{{campaign.offer}}' } });
  });
  after(async () => {
    if (srv) assertCleanLog(srv);
    await srv?.close();
    await fcm?.close();
  });

  test('draft → edit → schedule → sending → completed, through the capture provider', async () => {
    let r = await srv.api('POST', '/v1/campaigns', {
      body: { name: 'Spring', channel: 'email', template_key: 'spring', topic: 'offers', audience: { list_id: listId }, data: { offer: '20% off' } },
    });
    assert.equal(r.status, 201, r.text);
    const c = r.json;
    assert.equal(c.state, 'draft');
    assert.equal(c.version, 1);
    assert.deepEqual(c.audience, { list_id: listId });
    assert.equal(c.send_at, null);
    assert.equal(c.local_time, false);
    assert.deepEqual(c.counts, { audience: 0, queued: 0, sent: 0, delivered: 0, failed: 0, suppressed: 0, cancelled: 0 });
    r = await srv.api('PATCH', `/v1/campaigns/${c.id}`, { body: { name: 'Spring 2' }, headers: { 'if-match': '"7"' } });
    assert.equal(r.status, 409, r.text);
    r = await srv.api('PATCH', `/v1/campaigns/${c.id}`, { body: { name: 'Spring 2' }, headers: { 'if-match': '"1"' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, 'Spring 2');
    assert.equal(r.json.version, 2);
    assert.equal(r.headers.get('etag'), '"2"');
    r = await srv.api('POST', `/v1/campaigns/${c.id}/resume`);
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.detail ?? r.text, /draft/);

    r = await srv.api('POST', `/v1/campaigns/${c.id}/schedule`);
    assert.equal(r.status, 200, r.text);
    assert.ok(['scheduled', 'sending', 'completed'].includes(r.json.state), r.text);
    const done = await waitState(c.id, 'completed');
    assert.equal(done.counts.audience, 20);
    assert.equal(done.counts.sent, 18);
    assert.equal(done.counts.suppressed, 2); // c-9 and c-19 have no email consent
    assert.ok(done.started_at && done.completed_at);
    const msgs = await campaignMessages(c.id);
    assert.equal(msgs.length, 20);
    for (const m of msgs) {
      assert.equal(m.campaign_id, String(c.id));
      assert.equal(m.lane, 'bulk');
      assert.equal(m.purpose, 'marketing');
      if (m.status === 'sent') assert.equal(m.content.text, '20% off');
      else assert.equal(m.error_message, 'no email consent for marketing');
    }
    assert.equal(new Set(msgs.map((m) => m.recipient)).size, 20);
    // Done campaigns cannot be edited, paused or deleted.
    for (const [method, p] of [['PATCH', ''], ['POST', '/pause'], ['DELETE', ''], ['POST', '/cancel']]) {
      r = await srv.api(method, `/v1/campaigns/${c.id}${p}`, { body: method === 'PATCH' ? { name: 'x' } : undefined });
      assert.equal(r.status, 409, `${method} ${p}: ${r.text}`);
      assert.match(r.text, /completed/);
    }
    // Listed, filtered by state, and audited.
    r = await srv.api('GET', '/v1/campaigns?state=completed');
    assert.ok(r.json.items.some((x) => x.id === c.id), r.text);
    r = await srv.api('GET', '/v1/campaigns?state=draft');
    assert.ok(!r.json.items.some((x) => x.id === c.id), r.text);
    r = await srv.api('GET', `/v1/audit?resource_type=campaign&resource_id=${c.id}&limit=50`);
    assert.equal(r.status, 200, r.text);
    const actions = r.json.items.map((e) => e.action).sort();
    assert.deepEqual(actions, ['campaign.complete', 'campaign.create', 'campaign.schedule', 'campaign.start', 'campaign.update']);
  });

  test('A/B variants split the audience by percent', async () => {
    const c = await ok(await srv.api('POST', '/v1/campaigns', {
      body: {
        name: 'AB', channel: 'email', audience: { segment_id: segmentId }, data: { offer: 'ab' },
        variants: [{ key: 'A', template_key: 'spring', percent: 50 }, { key: 'B', template_key: 'spring_b', percent: 50 }],
      },
    }));
    await ok(await srv.api('POST', `/v1/campaigns/${c.id}/schedule`));
    const done = await waitState(c.id, 'completed');
    assert.equal(done.counts.audience, 200);
    const msgs = await campaignMessages(c.id);
    const sent = msgs.filter((m) => m.status === 'sent');
    assert.equal(sent.length, 180);
    const a = sent.filter((m) => m.template === 'spring').length;
    const b = sent.filter((m) => m.template === 'spring_b').length;
    assert.equal(a + b, 180);
    assert.ok(a > 60 && b > 60, `split ${a}/${b}`);
    for (const m of sent) assert.equal(m.content.text, m.template === 'spring' ? 'ab' : 'B: ab');
  });

  test('local time: each recipient at send_at wall-clock time in their zone; cancel cancels what is queued', async () => {
    // Three hours ahead, on a whole minute: every zone's time is still ahead
    // or has just passed, and the campaign starts at once (UTC+14 first).
    const sendAt = new Date(Math.ceil((Date.now() + 3 * 3600e3) / 60000) * 60000);
    const c = await ok(await srv.api('POST', '/v1/campaigns', {
      body: { name: 'Local', channel: 'email', template_key: 'spring', audience: { list_id: listId }, data: { offer: 'l' }, send_at: sendAt.toISOString(), local_time: true },
    }));
    assert.equal(Date.parse(c.send_at), sendAt.getTime());
    await ok(await srv.api('POST', `/v1/campaigns/${c.id}/schedule`));
    await waitFor(async () => (await srv.api('GET', `/v1/campaigns/${c.id}`)).json.counts.queued === 18, { timeoutMs: 30000, what: 'expanded' });
    const msgs = await campaignMessages(c.id);
    const offsetOf = (zone) => {
      // The zone's UTC offset at sendAt, in ms.
      const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(sendAt);
      const get = (t) => Number(parts.find((p) => p.type === t).value);
      return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute')) - sendAt.getTime();
    };
    for (const m of msgs.filter((x) => x.status === 'queued')) {
      const i = Number(m.recipient.match(/^c(\d+)@/)[1]);
      const zone = i % 5 === 0 ? 'Europe/Berlin' : i % 7 === 0 ? 'America/New_York' : 'UTC';
      assert.equal(Date.parse(m.next_attempt_at), sendAt.getTime() - offsetOf(zone), `${m.recipient} ${zone} ${m.next_attempt_at}`);
    }
    const r = await srv.api('POST', `/v1/campaigns/${c.id}/cancel`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'cancelled');
    assert.equal(r.json.counts.cancelled, 18);
    assert.equal(r.json.counts.queued, 0);
    assert.equal((await srv.api('POST', `/v1/campaigns/${c.id}/resume`)).status, 409);
  });

  test('pause stops a push campaign through FCM, resume finishes it, one message per device', async () => {
    fcm.resetStats();
    const c = await ok(await srv.api('POST', '/v1/campaigns', {
      // 240 a minute: 40 devices take 10 seconds.
      body: { name: 'Push', channel: 'push', template_key: 'ping', audience: { list_id: pushListId }, data: { offer: 'now' }, rate_limit_per_minute: 240 },
    }));
    await ok(await srv.api('POST', `/v1/campaigns/${c.id}/schedule`));
    await waitFor(async () => fcm.stats.accepted >= 4, { timeoutMs: 30000, what: 'first pushes' });
    let r = await srv.api('POST', `/v1/campaigns/${c.id}/pause`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'paused');
    await new Promise((res) => setTimeout(res, 500)); // a batch in flight may finish
    const atPause = fcm.stats.accepted;
    await new Promise((res) => setTimeout(res, 3000));
    assert.equal(fcm.stats.accepted, atPause, 'nothing is sent while paused');
    assert.ok(atPause < 40, `paused after ${atPause}`);
    r = await srv.api('GET', `/v1/campaigns/${c.id}`);
    assert.equal(r.json.counts.queued, 40 - atPause);
    r = await srv.api('POST', `/v1/campaigns/${c.id}/resume`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'sending');
    const done = await waitState(c.id, 'completed');
    assert.equal(done.counts.sent, 40);
    assert.equal(fcm.stats.accepted, 40);
    for (let i = 0; i < 40; i++) assert.equal(fcm.countFor(`tok-${i}`), 1, `tok-${i}`);
    const msgs = await campaignMessages(c.id);
    assert.equal(msgs.length, 40);
    assert.ok(msgs.every((m) => m.provider === 'fcm' && m.content.body === 'now'));
  });

  test('bad input is a 4xx naming the field, and nothing is created or queued', async () => {
    const before = (await srv.api('GET', '/v1/campaigns?limit=200')).json.items.length;
    const good = { name: 'X', channel: 'email', template_key: 'spring', audience: { list_id: listId } };
    const cases = [
      [{ ...good, channel: 'fax' }, 'channel'],
      [{ ...good, template_key: 'nope' }, 'template_key'],
      [{ ...good, template_key: 'ping' }, 'template_key'],
      [{ ...good, audience: { list_id: 99999 } }, 'audience.list_id'],
      [{ ...good, audience: { list_id: listId, segment_id: segmentId } }, 'audience'],
      [{ ...good, audience: {} }, 'audience'],
      [{ ...good, send_at: 'tomorrow' }, 'send_at'],
      [{ ...good, send_at: '2030-01-01T10:00:30Z' }, 'send_at'],
      [{ ...good, local_time: true }, 'local_time'],
      [{ ...good, local_time: 'yes' }, 'local_time'],
      [{ ...good, rate_limit_per_minute: 0 }, 'rate_limit_per_minute'],
      [{ ...good, variants: [{ key: 'A', template_key: 'spring', percent: 70 }] }, 'variants'],
      [{ ...good, variants: [{ key: 'A', template_key: 'spring', percent: 150 }] }, 'variants[0].percent'],
      [{ ...good, data: 'x' }, 'data'],
      [{ ...good, colour: 'red' }, 'colour'],
      [{ channel: 'email', template_key: 'spring', audience: { list_id: listId } }, 'name'],
    ];
    for (const [body, field] of cases) {
      const r = await srv.api('POST', '/v1/campaigns', { body });
      assert.equal(r.status, 422, `${field}: ${r.text}`);
      assert.ok(r.json.errors.some((e) => e.field === field), `${field}: ${r.text}`);
    }
    let r = await srv.api('POST', '/v1/campaigns', { body: '{', raw: true, headers: { 'content-type': 'application/json' } });
    assert.ok(r.status >= 400 && r.status < 500, r.text);
    assert.equal((await srv.api('GET', '/v1/campaigns?limit=200')).json.items.length, before);
    assert.equal((await srv.api('GET', '/v1/campaigns/99999')).status, 404);
    assert.equal((await srv.api('GET', '/v1/campaigns?state=nope')).status, 400);
    // A draft: deleted; a bad PATCH changes nothing.
    const c = await ok(await srv.api('POST', '/v1/campaigns', { body: good }));
    r = await srv.api('PATCH', `/v1/campaigns/${c.id}`, { body: { channel: 'push' } });
    assert.equal(r.status, 422, r.text);
    assert.ok(r.json.errors.some((e) => e.field === 'template_key'), r.text);
    assert.equal((await srv.api('GET', `/v1/campaigns/${c.id}`)).json.channel, 'email');
    r = await srv.api('POST', `/v1/campaigns/${c.id}/schedule`, { body: { now: true } });
    assert.equal(r.status, 422, r.text);
    assert.equal((await srv.api('GET', `/v1/campaigns/${c.id}`)).json.state, 'draft');
    assert.equal((await srv.api('DELETE', `/v1/campaigns/${c.id}`)).status, 204);
    assert.equal((await srv.api('GET', `/v1/campaigns/${c.id}`)).status, 404);
    assert.equal((await campaignMessages(c.id)).length, 0);
  });
});
