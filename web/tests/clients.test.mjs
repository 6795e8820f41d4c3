// Browser tests of the client hub pages against the real server: the segment
// builder, customer search and detail, CSV import and webhooks.
//   npm run build && npm test
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, apiClient, launchBrowser, login, slug, startServer, waitForText, waitUntil } from './harness.mjs';

const TIMEOUT = 120_000;

const GRANTED = { status: 'granted', source: 'web-test' };
const WITHDRAWN = { status: 'withdrawn', source: 'web-test' };

// Six customers; only t-1 has tier gold, an active GOLD subscription and email consent.
const PEOPLE = [
  { id: 't-1', first: 'Anna', last: 'Aalto', tier: 'gold', sub: ['GOLD', 'active'], email: GRANTED },
  { id: 't-2', first: 'Berta', last: 'Brandt', tier: 'gold', sub: ['GOLD', 'active'], email: WITHDRAWN },
  { id: 't-3', first: 'Carl', last: 'Conte', tier: 'gold', sub: null, email: GRANTED },
  { id: 't-4', first: 'Dora', last: 'Dahl', tier: 'silver', sub: ['GOLD', 'active'], email: GRANTED },
  { id: 't-5', first: 'Emil', last: 'Engel', tier: 'gold', sub: ['GOLD', 'cancelled'], email: GRANTED },
  { id: 't-6', first: 'Frida', last: 'Fox', tier: 'gold', sub: ['SILVER', 'active'], email: GRANTED },
];

describe('Kontor web app: client hub', () => {
  let server;
  let browser;
  let page;
  let api;
  let failed = false;

  before(async () => {
    server = await startServer();
    api = await apiClient(server.baseURL);
    await api.call('PUT', '/v1/products/GOLD', { name: 'Gold research', kind: 'subscription' });
    await api.call('PUT', '/v1/products/SILVER', { name: 'Silver research', kind: 'subscription' });
    for (const p of PEOPLE) {
      await api.call('PUT', `/v1/customers/${p.id}`, {
        type: 'individual',
        first_name: p.first,
        last_name: p.last,
        email: `${p.first.toLowerCase()}@example.com`,
        attributes: { tier: p.tier },
        tags: p.tier === 'gold' ? ['vip'] : [],
        consent: { email: p.email },
      });
      if (p.sub) {
        await api.call('PUT', `/v1/subscriptions/sub-${p.id}`, { customer: p.id, product: p.sub[0], status: p.sub[1] });
      }
    }
    browser = await launchBrowser();
    const context = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await login(page, server.baseURL, ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  after(async () => {
    if (failed && server) console.error(`--- last lines of the server log (${server.logFile}) ---\n${server.logTail()}`);
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  const step = (name, fn) =>
    it(name, { timeout: TIMEOUT }, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        failed = true;
        const file = `/tmp/kontor-web-${slug(name)}.png`;
        await page?.screenshot({ path: file, fullPage: true }).catch(() => {});
        console.error(`screenshot: ${file}`);
        throw e;
      }
    });

  const liveCount = () => page.getByTestId('live-count');
  /** Waits until the live count shows `n` for the current rule and returns that rule. */
  const expectCount = async (n) => {
    await waitUntil(
      async () => (await liveCount().getAttribute('data-state')) === 'ready' && (await liveCount().getAttribute('data-count')) === String(n),
      { message: `live count ${n} (now ${await liveCount().getAttribute('data-count')}, ${await liveCount().getAttribute('data-state')})` },
    );
  };
  const node = (path) => page.locator(`[data-testid="rule-node"][data-path="${path}"]`);
  const addCondition = async (kind) => {
    const root = node('rule');
    await root.getByTestId('add-condition-kind').last().selectOption(kind);
    await root.getByTestId('add-condition').last().click();
  };
  /** The rule as the JSON view shows it. */
  const ruleFromJsonView = async () => {
    await page.getByTestId('view-json').click();
    const rule = JSON.parse(await page.getByTestId('segment-json').inputValue());
    await page.getByTestId('view-builder').click();
    return rule;
  };
  const serverCount = async (rule) => (await api.call('POST', '/v1/segments/preview', { rule })).body.count;

  step('builds a segment of three conditions with a live count, saves it and filters customers by it', async () => {
    await page.getByTestId('nav-customers').click();
    await page.getByTestId('nav-segments').click();
    await page.getByTestId('segments-page').waitFor();
    await page.getByTestId('new-segment').click();
    await page.getByTestId('segment-builder').waitFor();
    await expectCount(6); // an empty "all" group matches everyone

    // 1: attribute tier = gold
    await addCondition('attribute');
    await waitForText(liveCount().locator('xpath=..'), /Finish the new condition/);
    await node('rule.all[0]').getByTestId('attribute-name').fill('tier');
    await node('rule.all[0]').getByTestId('rule-value').fill('gold');
    await expectCount(5);
    assert.equal(await serverCount(await ruleFromJsonView()), 5);

    // 2: has an active subscription to GOLD
    await addCondition('has_subscription');
    await node('rule.all[1]').getByLabel('GOLD').check();
    await expectCount(2);
    assert.equal(await serverCount(await ruleFromJsonView()), 2);

    // 3: email consent granted
    await addCondition('consent');
    await node('rule.all[2]').getByTestId('consent-channel').selectOption('email');
    await expectCount(1);
    const rule = await ruleFromJsonView();
    assert.deepEqual(rule, {
      all: [
        { attribute: 'tier', op: 'eq', value: 'gold' },
        { has_subscription: { status: 'active', products: ['GOLD'] } },
        { consent: 'email' },
      ],
    });
    assert.equal(await serverCount(rule), 1);
    assert.deepEqual(await page.getByTestId('live-sample').locator('a').allTextContents(), ['t-1']);

    // NOT on the consent condition: the complement within the first two.
    await node('rule.all[2]').getByTestId('rule-not').click();
    await expectCount(1);
    assert.equal(await node('rule.all[2].not').count(), 1, 'the condition is wrapped in not');
    assert.deepEqual(await page.getByTestId('live-sample').locator('a').allTextContents(), ['t-2']);
    await node('rule.all[2].not').getByTestId('rule-not').click();
    await expectCount(1);

    // A bad value gets the server's 422 next to the control the path names.
    await addCondition('field');
    await node('rule.all[3]').getByTestId('field-name').selectOption('created_at');
    await node('rule.all[3]').getByTestId('duration-amount').fill('');
    const err = page.locator('[data-testid="rule-error"][data-path="rule.all[3].value"]');
    await err.waitFor();
    assert.match(await err.textContent(), /duration/);
    assert.equal(await liveCount().getAttribute('data-state'), 'error');
    await node('rule.all[3]').getByTestId('duration-amount').fill('7');
    await expectCount(1); // every customer was created within the last 7 days
    await node('rule.all[3]').getByTestId('rule-remove').click();
    await expectCount(1);

    // Save, then the segment is a customers filter.
    await page.getByLabel('Key').fill('gold-email');
    await page.getByLabel('Name', { exact: true }).fill('Gold with email consent');
    await page.getByTestId('segment-save').click();
    await page.getByTestId('segment-saved').waitFor();
    const saved = (await api.call('GET', '/v1/segments/gold-email')).body;
    assert.equal(saved.name, 'Gold with email consent');
    assert.deepEqual(saved.rule, rule);

    await page.getByTestId('nav-customers').click();
    await page.getByTestId('nav-customer-list').click();
    await page.getByTestId('customers-page').waitFor();
    await page.locator('[data-testid="customer-row"]').first().waitFor();
    await page.getByLabel('Segment').selectOption('gold-email');
    await waitUntil(async () => {
      const ids = await page.getByTestId('customer-row').evaluateAll((rows) => rows.map((r) => r.dataset.externalId));
      return ids.length === 1 && ids[0] === 't-1';
    }, { message: 'only t-1 in the segment' });
    await waitForText(page.getByTestId('segment-count'), /^1$/);
    assert.match(page.url(), /segment=gold-email/);

    // Export of the filtered customers: the segment's one customer.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('customers-export').click()]);
    const exported = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
    assert.match(exported[0], /^external_id,/);
    assert.equal(exported.length, 2, exported.join('\n'));
    assert.match(exported[1], /^t-1,/);

    // The saved segment lists its count and opens in the builder again.
    await page.goto('/#/segments');
    await waitForText(page.locator('[data-testid="segment-row"][data-key="gold-email"]').getByTestId('segment-count'), /^1$/);
    await page.locator('[data-testid="segment-row"][data-key="gold-email"]').getByTestId('segment-link').click();
    await expectCount(1);
    assert.equal(await node('rule.all[1]').getByLabel('GOLD').isChecked(), true);
  });

  step('searches customers and shows a customer with subscriptions, consent, lists and timeline', async () => {
    await api.call('PUT', '/v1/lists/vip-static', { name: 'VIP', kind: 'static' });
    await api.call('PUT', '/v1/lists/vip-static/members/t-2');
    // A later update, so the timeline shows a change with a diff.
    await api.call('PUT', '/v1/customers/t-2', {
      type: 'individual',
      first_name: 'Berta',
      last_name: 'Brandt',
      email: 'berta.brandt@example.com',
      attributes: { tier: 'gold' },
      tags: ['vip'],
    });
    await api.call('PUT', '/v1/subscriptions/sub-t-2', { customer: 't-2', product: 'GOLD', status: 'paused' });

    await page.goto('/#/customers');
    await page.getByTestId('customers-page').waitFor();
    await page.getByLabel('Search').fill('Brandt');
    await waitUntil(async () => {
      const ids = await page.getByTestId('customer-row').evaluateAll((rows) => rows.map((r) => r.dataset.externalId));
      return ids.length === 1 && ids[0] === 't-2';
    }, { message: 'the search to find t-2 only' });
    await page.locator('[data-testid="customer-row"][data-external-id="t-2"]').getByTestId('customer-link').click();
    await page.getByTestId('customer-detail').waitFor();
    await waitForText(page.getByTestId('customer-name'), /Berta Brandt/);
    await waitForText(page.getByTestId('customer-email'), /berta\.brandt@example\.com/);

    const sub = page.locator('[data-testid="subscription-row"][data-product="GOLD"]');
    await sub.waitFor();
    assert.equal(await sub.getAttribute('data-status'), 'paused');
    assert.equal(await page.locator('[data-testid="consent-row"][data-channel="email"]').getAttribute('data-status'), 'withdrawn');
    assert.equal(await page.locator('[data-testid="consent-row"][data-channel="sms"]').getAttribute('data-status'), 'none');
    await page.locator('[data-testid="customer-list"][data-key="vip-static"]').waitFor();
    await page.locator('[data-testid="attribute-row"][data-name="tier"]').waitFor();

    // Timeline, newest first: the subscription pause, the profile update, the list membership, ...
    const summaries = page.getByTestId('timeline-summary');
    await summaries.first().waitFor();
    const texts = await summaries.allTextContents();
    assert.match(texts[0], /Subscription to GOLD: active → paused/);
    assert.match(texts[1], /Customer updated: .*email/);
    assert.ok(texts.some((t) => /Added to list vip-static/.test(t)), texts.join(' | '));
    assert.match(texts[texts.length - 1], /Customer created/);
    await page.getByTestId('timeline-row').nth(1).click();
    const diff = page.getByTestId('timeline-diff');
    await waitForText(diff, /berta@example\.com/);
    await waitForText(diff, /berta\.brandt@example\.com/);

    // Erasure through the confirm dialog (the button waits for the typed id).
    await page.goto('/#/customers/t-6');
    await waitForText(page.getByTestId('customer-name'), /Frida Fox/);
    await page.getByTestId('customer-erase').click();
    assert.equal(await page.getByTestId('confirm-ok').isDisabled(), true);
    await page.getByTestId('erase-confirm-input').fill('t-6');
    await page.getByTestId('confirm-ok').click();
    await waitForText(page.getByTestId('customer-status'), /erased/);
    await page.getByTestId('customer-erased').waitFor();
    assert.equal((await api.call('GET', '/v1/customers/t-6')).body.status, 'erased');
  });

  step('imports a CSV with bad rows: mapping, progress, counts, row errors and the error report', async () => {
    const csv = [
      'Kunden-Nr;Vorname;Nachname;E-Mail;Segment',
      'imp-1;Ida;Imker;ida@example.com;gold',
      'imp-2;Jan;Jung;not-an-email;silver',
      'imp-3;Kai;Kurz;kai@example.com;gold',
      ';Lea;Lang;lea@example.com;gold',
      'imp-5;Mia;Moos;mia@example.com;bronze',
    ].join('\n');
    await page.goto('/#/imports');
    await page.getByTestId('imports-page').waitFor();
    await page.getByLabel('What the file holds').selectOption('customers');
    await page.getByTestId('import-file').setInputFiles({ name: 'kunden.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('import-upload').click();
    await page.getByTestId('import-mapping').waitFor();

    const row = (col) => page.locator(`[data-testid="mapping-row"][data-column="${col}"]`).getByTestId('mapping-select');
    await row('Kunden-Nr').selectOption('external_id');
    await row('Vorname').selectOption('first_name');
    await row('Nachname').selectOption('last_name');
    await row('E-Mail').selectOption('email');
    await row('Segment').selectOption('__attribute');
    await page.getByLabel('Attribute name for column Segment').fill('tier');
    assert.equal(await page.getByTestId('import-missing').count(), 0);
    await page.getByTestId('preview-table').waitFor();
    await page.getByTestId('import-start').click();

    await waitUntil(async () => /succeeded|failed/.test((await page.getByTestId('import-state').textContent()) ?? ''), {
      timeout: 60_000,
      message: 'the import to finish',
    });
    await waitForText(page.getByTestId('import-state'), /succeeded/);
    const bar = page.getByTestId('import-progress');
    assert.equal(await bar.getAttribute('data-done'), await bar.getAttribute('data-total'));
    await waitForText(page.getByTestId('import-count-created'), /^3$/);
    await waitForText(page.getByTestId('import-count-failed'), /^2$/);
    const errRows = page.getByTestId('import-error-row');
    await errRows.first().waitFor();
    const errs = await errRows.evaluateAll((rows) => rows.map((r) => ({ row: r.dataset.row, column: r.dataset.column })));
    assert.ok(errs.some((e) => e.row === '3' && e.column === 'E-Mail'), JSON.stringify(errs));
    assert.ok(errs.some((e) => e.row === '5' && e.column === 'Kunden-Nr'), JSON.stringify(errs));

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('import-errors-csv').click()]);
    const path = await download.path();
    const report = readFileSync(path, 'utf8');
    assert.match(report.split('\n')[0], /^row,column,field,message/);
    assert.match(report, /^3,E-Mail,/m);

    assert.equal((await api.call('GET', '/v1/customers/imp-1')).body.attributes.tier, 'gold');

    // The same file again: flagged as a repeat, and it changes nothing.
    await page.goto('/#/imports');
    await page.getByTestId('import-file').setInputFiles({ name: 'kunden.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('import-upload').click();
    await page.getByTestId('import-duplicate').waitFor();
  });

  step('creates a webhook, shows its secret once, sends a test and shows the delivery log', async () => {
    const received = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${receiver.address().port}/kontor-hook`;
    try {
      await page.getByTestId('nav-admin').click();
      await page.getByTestId('nav-webhooks').click();
      await page.getByTestId('webhooks-page').waitFor();
      await page.getByTestId('new-webhook').click();
      const dialog = page.getByTestId('webhook-dialog');
      await dialog.getByLabel('Endpoint URL').fill(url);
      await dialog.getByLabel('Description').fill('Browser test receiver');
      await dialog.locator('#event-customer\\.created').check();
      await dialog.locator('#event-customer\\.updated').check();
      await page.getByTestId('webhook-submit').click();
      const secret = await page.getByTestId('webhook-secret').inputValue();
      assert.match(secret, /^whsec_/);
      await page.getByTestId('webhook-secret-done').click();

      await page.getByTestId('webhook-detail').waitFor();
      await waitForText(page.getByTestId('webhook-url'), new RegExp(url.replace(/[.]/g, '\\.')));
      await page.getByTestId('webhook-test').click();
      await page.getByTestId('webhook-notice').waitFor();
      const ping = page.locator('[data-testid="delivery-row"][data-event="ping"]');
      await ping.waitFor();
      await waitUntil(async () => (await ping.getAttribute('data-status')) === 'succeeded', {
        timeout: 30_000,
        message: 'the ping to be delivered',
      });
      assert.ok(received.some((r) => r.headers['kontor-event-type'] === 'ping'), 'the receiver got the ping');

      await ping.click();
      const d = page.getByTestId('delivery-dialog');
      await waitForText(d.getByTestId('delivery-request-body'), /"type": "ping"/);
      await waitForText(d.getByTestId('delivery-response-body'), /"ok": true/);
      await waitForText(d.getByTestId('delivery-request-headers'), /Kontor-Signature/i);
      await d.getByTestId('delivery-retry').click();
      await d.getByTestId('delivery-retried').waitFor();
      await d.getByRole('button', { name: 'Close' }).last().click();

      // Disable and enable again.
      await page.getByTestId('webhook-disable').click();
      await page.getByTestId('confirm-ok').click();
      await waitForText(page.getByTestId('webhook-enabled'), /disabled/);
      await page.getByTestId('webhook-enable').click();
      await waitForText(page.getByTestId('webhook-enabled'), /enabled/);
    } finally {
      receiver.close();
    }
  });
});
