// Browser tests of the messaging pages against the real server: a template with
// its live preview, SMS segment counting and save conflicts; a campaign to a
// small list through the capture provider, sent to the end, with its messages in
// the delivery log and the capture outbox.
//   npm run build && npm test
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, apiClient, launchBrowser, login, slug, startServer, waitForText, waitUntil } from './harness.mjs';

const TIMEOUT = 120_000;

const PEOPLE = [
  { id: 'm-1', first: 'Anna', language: 'en' },
  { id: 'm-2', first: 'Bruno', language: 'de' },
  { id: 'm-3', first: 'Chiara', language: 'en' },
];

describe('Kontor web app: messaging', () => {
  let server;
  let browser;
  let page;
  let api;
  let failed = false;
  let routes = new Set();

  before(async () => {
    server = await startServer();
    api = await apiClient(server.baseURL);
    for (const p of PEOPLE) {
      await api.call('PUT', `/v1/customers/${p.id}`, {
        type: 'individual',
        first_name: p.first,
        last_name: 'Tester',
        email: `${p.first.toLowerCase()}@example.com`,
        language: p.language,
        consent: { email: { status: 'granted', source: 'web-test' } },
      });
    }
    await api.call('PUT', '/v1/lists/offer-list', { name: 'Offer list', kind: 'static' });
    for (const p of PEOPLE) await api.call('PUT', `/v1/lists/offer-list/members/${p.id}`);
    routes = new Set(Object.keys((await api.call('GET', '/v1/openapi.json')).body.paths ?? {}));
    browser = await launchBrowser();
    const context = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await login(page, server.baseURL, ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  after(async () => {
    if (failed && server) console.error(`--- last lines of the server log (${server.logFile}) ---\n${server.logTail()}`);
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  const step = (name, fn, opts = {}) =>
    it(name, { timeout: TIMEOUT, ...opts }, async (t) => {
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

  const preview = () => page.getByTestId('template-preview');
  /** Waits until the preview shows the answer for the current inputs and its subject matches `re`. */
  const expectSubject = (re) => waitForText(preview().getByTestId('content-subject'), re);

  step('creates an email template in two languages and previews it live for a customer', async () => {
    await page.getByTestId('nav-messaging').click();
    await page.getByTestId('module-messaging').waitFor();
    await page.getByTestId('messaging-tab-templates').click();
    await page.getByTestId('templates-page').waitFor();
    await page.getByTestId('new-template').click();
    const editor = page.getByTestId('template-editor');
    await editor.waitFor();
    await page.getByTestId('preview-unsaved').waitFor();

    await page.getByLabel('Key').fill('welcome');
    await page.getByLabel('Name').fill('Welcome mail');
    await page.getByLabel('Channel').selectOption('email');
    await page.getByLabel('Subject').fill('Hello {{customer.first_name}}');
    // Neither html nor text: the server's 422 is shown at the html field.
    await page.getByTestId('template-save').click();
    await waitForText(page.getByTestId('field-error-template-html'), /html or text/);

    await page.getByLabel('HTML body').fill('<p>Hi {{customer.first_name}}, your code is <b>{{data.code}}</b>.</p>');
    await page.getByTestId('new-language').fill('de');
    await page.getByTestId('add-language').click();
    await page.locator('[data-testid="language-panel"][data-lang="de"]').waitFor();
    await page.getByLabel('Subject').fill('Hallo {{customer.first_name}}');
    await page.getByLabel('HTML body').fill('<p>Hallo {{customer.first_name}}, Ihr Code: <b>{{data.code}}</b>.</p>');
    await page.locator('[data-testid="language-tab"][data-lang="en"]').click();
    assert.equal(await page.getByLabel('Subject').inputValue(), 'Hello {{customer.first_name}}');
    await page.getByTestId('template-save').click();
    await waitForText(page.getByTestId('template-saved'), /welcome was created/);
    const saved = (await api.call('GET', '/v1/templates/welcome')).body;
    assert.equal(saved.default_language, 'en');
    assert.deepEqual(Object.keys(saved.languages).sort(), ['de', 'en']);
    assert.equal(saved.languages.de.subject, 'Hallo {{customer.first_name}}');

    // Live preview: without a customer the variables are listed as missing.
    await preview().waitFor();
    await waitUntil(async () => (await page.getByTestId('unknown-variable').count()) >= 2, { message: 'unknown variables listed' });
    const missing = await page.getByTestId('unknown-variable').allTextContents();
    assert.ok(missing.some((m) => m.includes('customer.first_name')), missing.join(', '));
    assert.ok(missing.some((m) => m.includes('data.code')), missing.join(', '));

    // A customer: rendered in their language (m-2 speaks German), the name filled in.
    await page.getByLabel('Customer (external id)').fill('m-2');
    await expectSubject(/^Hallo Bruno$/);
    assert.equal(await preview().getAttribute('data-language'), 'de');
    await page.getByLabel('Customer (external id)').fill('m-1');
    await expectSubject(/^Hello Anna$/);
    // data.code is still missing, shown inline (also at the editor's html field).
    await waitForText(page.getByTestId('preview-unknown'), /data\.code/);
    await waitForText(page.getByTestId('unknown-html'), /data\.code/);
    await page.getByLabel('Data variables (JSON)').fill('{"code": "X-42"}');
    await waitUntil(async () => (await page.getByTestId('preview-unknown').count()) === 0, { message: 'no unknown variables' });
    const html = await preview().getByTestId('content-html').getAttribute('srcdoc');
    assert.match(html, /Hi Anna, your code is <b>X-42<\/b>/);
    assert.equal(await preview().getByTestId('content-html').getAttribute('sandbox'), '');
    // A language chosen by hand wins over the customer's.
    await page.getByLabel('Language', { exact: true }).selectOption('de');
    await expectSubject(/^Hallo Anna$/);
    // An unknown customer is named at the customer field.
    await page.getByLabel('Customer (external id)').fill('nobody');
    await waitForText(page.getByTestId('field-error-preview-customer'), /no customer nobody/);

    // The list shows it.
    await page.getByTestId('messaging-tab-templates').click();
    await page.locator('[data-testid="template-row"][data-key="welcome"]').waitFor();
  });

  step('counts SMS segments live and shows a concurrent change as a conflict', async () => {
    await page.goto('/#/messaging/templates/new');
    await page.getByTestId('template-editor').waitFor();
    await page.getByLabel('Key').fill('code-sms');
    await page.getByLabel('Name').fill('Code SMS');
    await page.getByLabel('Channel').selectOption('sms');
    const count = page.getByTestId('sms-count');
    await page.getByLabel('Text').fill('Ihr Code: 1234 – gültig 10 Minuten'); // the en dash is not GSM-7
    await waitUntil(async () => (await count.getAttribute('data-encoding')) === 'UCS-2', { message: 'UCS-2' });
    await page.getByLabel('Text').fill(`Ihr Code: {{data.code}} gültig 10 Minuten. ${'x'.repeat(130)}`);
    await waitUntil(async () => (await count.getAttribute('data-encoding')) === 'GSM-7' && (await count.getAttribute('data-segments')) === '2', {
      message: 'GSM-7 in two segments',
    });
    await page.getByLabel('Text').fill('Ihr Code: {{data.code}}');
    await waitUntil(async () => (await count.getAttribute('data-segments')) === '1', { message: 'one segment' });
    await page.getByTestId('template-save').click();
    await waitForText(page.getByTestId('template-saved'), /code-sms was created/);
    await page.getByLabel('Data variables (JSON)').fill('{"code": "987654"}');
    await waitForText(preview().getByTestId('content-text'), /^Ihr Code: 987654$/);
    await waitForText(page.getByTestId('preview-sms-count'), /GSM-7, 16 characters, 1 segment/);

    // Someone else saves meanwhile: this save is refused (If-Match) and says so.
    const other = (await api.call('GET', '/v1/templates/code-sms')).body;
    await api.call('PUT', '/v1/templates/code-sms', {
      name: other.name,
      channel: 'sms',
      default_language: other.default_language,
      languages: { en: { text: 'Code {{data.code}}' } },
    });
    // The preview follows the unsaved edit.
    await page.getByLabel('Text').fill('Dein Code: {{data.code}}');
    await waitForText(page.getByTestId('preview-draft'), /unsaved edits/);
    await waitForText(preview().getByTestId('content-text'), /^Dein Code: 987654$/);
    await page.getByTestId('template-save').click();
    await waitForText(page.getByTestId('template-conflict'), /changed meanwhile.*version 2/);
    await page.getByTestId('template-reload').click();
    await waitUntil(async () => (await page.getByLabel('Text').inputValue()) === 'Code {{data.code}}', { message: 'the other version loaded' });
    await waitForText(page.getByTestId('template-version'), /Version 2/);
  });

  step('sends a campaign to a list through the capture provider and follows it to completed', async (t) => {
    if (!routes.has('/v1/campaigns')) {
      t.skip('this server has no POST /v1/campaigns yet');
      return;
    }
    // Campaigns name their audience by id (audience.list_id), so the form needs the lists' ids.
    if ((await api.call('GET', '/v1/lists/offer-list')).body.id === undefined) {
      t.skip('GET /v1/lists does not show list ids, which POST /v1/campaigns needs (audience.list_id)');
      return;
    }
    await api.call('PUT', '/v1/templates/offer', {
      name: 'Offer',
      channel: 'email',
      default_language: 'en',
      languages: { en: { subject: 'An offer for {{customer.first_name}}', html: '<p>{{campaign.offer}}, {{customer.first_name}}!</p>' } },
    });
    await page.goto('/#/messaging/campaigns');
    await page.getByTestId('campaigns-page').waitFor();
    await page.getByTestId('new-campaign').click();
    await page.getByTestId('campaign-editor').waitFor();
    await page.getByLabel('Name').fill('Spring offer');
    await page.getByLabel('Channel').selectOption('email');
    await page.getByLabel('Template', { exact: true }).selectOption('offer');
    await page.getByLabel('Audience kind').selectOption('list');
    await page.getByTestId('campaign-audience').selectOption({ label: 'Offer list (offer-list)' });
    await waitForText(page.getByTestId('audience-count'), /^3$/);
    await page.getByLabel('Variables (JSON, optional)').fill('{"offer": "20% off"}');
    await page.getByTestId('campaign-save').click();

    const detail = page.getByTestId('campaign-detail');
    await detail.waitFor();
    assert.equal(await detail.getAttribute('data-state'), 'draft');
    assert.equal(await page.getByTestId('campaign-pause').isDisabled(), true, 'a draft cannot be paused');
    assert.equal(await page.getByTestId('campaign-resume').isDisabled(), true);
    const id = /campaigns\/(\d+)/.exec(page.url())[1];

    // Send now, and watch it run to the end.
    await page.getByTestId('campaign-schedule').click();
    await waitUntil(async () => (await detail.getAttribute('data-state')) === 'completed', {
      timeout: 60_000,
      message: `campaign completed (state ${await detail.getAttribute('data-state')})`,
    });
    const bar = detail.getByTestId('campaign-progress');
    await waitUntil(async () => (await bar.getAttribute('data-done')) === '3' && (await bar.getAttribute('data-total')) === '3', {
      message: 'progress 3/3',
    });
    assert.equal(await page.getByTestId('campaign-schedule').isDisabled(), true, 'a completed campaign is not scheduled again');
    assert.equal(await page.getByTestId('campaign-cancel').isDisabled(), true);
    const c = (await api.call('GET', `/v1/campaigns/${id}`)).body;
    assert.equal(c.state, 'completed');
    assert.equal(c.counts.audience, 3);

    // Its messages in the delivery log...
    await page.getByTestId('campaign-messages').click();
    await page.getByTestId('delivery-page').waitFor();
    assert.equal(await page.getByLabel('Campaign id').inputValue(), id);
    await waitUntil(async () => (await page.locator(`[data-testid="message-row"][data-campaign="${id}"]`).count()) === 3, {
      message: 'three messages of the campaign',
    });
    assert.equal(await page.getByTestId('message-row').count(), 3, 'only the campaign’s messages');
    const recipients = (await page.getByTestId('message-recipient').allTextContents()).sort();
    assert.deepEqual(recipients, ['anna@example.com', 'bruno@example.com', 'chiara@example.com']);
    // ...one of them with its content and status timeline...
    await page.locator('[data-testid="message-row"]').filter({ hasText: 'anna@example.com' }).getByTestId('message-link').click();
    await page.getByTestId('message-detail').waitFor();
    await waitForText(page.getByTestId('message-content').getByTestId('content-subject'), /^An offer for Anna$/);
    await waitUntil(async () => (await page.getByTestId('message-event').count()) >= 1, { message: 'a timeline event' });

    // ...and in the capture outbox, rendered.
    await page.goto(`/#/messaging/campaigns/${id}`);
    await page.getByTestId('campaign-outbox').click();
    await page.getByTestId('outbox-page').waitFor();
    await waitUntil(async () => (await page.getByTestId('outbox-item').count()) === 3, { message: 'three captured messages' });
    const item = page.getByTestId('outbox-item').filter({ hasText: 'chiara@example.com' });
    await waitForText(item.getByTestId('content-subject'), /^An offer for Chiara$/);
    assert.match(await item.getByTestId('content-html').getAttribute('srcdoc'), /20% off, Chiara!/);
  });

  step('creates a trigger whose event sends a message, found in the delivery log by customer', async (t) => {
    if (!routes.has('/v1/triggers') || !routes.has('/v1/events')) {
      t.skip('this server has no /v1/triggers or /v1/events yet');
      return;
    }
    await page.goto('/#/messaging/triggers');
    await page.getByTestId('triggers-page').waitFor();
    await page.getByTestId('new-trigger').click();
    await page.getByTestId('trigger-editor').waitFor();
    await page.getByLabel('Key').fill('big-order');
    await page.getByLabel('Event type').fill('order.placed');
    await page.getByLabel('Template', { exact: true }).fill('welcome');
    // Email instead of the default push.
    await page.getByTestId('trigger-add-email').click();
    await page.getByLabel('Remove push').click();
    await page.getByLabel('Condition (JSON, optional)').fill('{"field": "data.total", "op": "bigger", "value": 100}');
    await page.getByTestId('trigger-save').click();
    // The server's 422 on the condition is shown at the condition.
    await waitForText(page.getByTestId('field-error-trigger-condition'), /\S/);
    await page.getByLabel('Condition (JSON, optional)').fill('{"field": "data.total", "op": "gt", "value": 100}');
    await page.getByTestId('trigger-save').click();
    await waitForText(page.getByTestId('trigger-saved'), /big-order was created/);
    const saved = (await api.call('GET', '/v1/triggers/big-order')).body;
    assert.deepEqual(saved.channels, ['email']);
    assert.deepEqual(saved.condition, { field: 'data.total', op: 'gt', value: 100 });
    assert.equal(saved.enabled, true);

    await api.call('POST', '/v1/events', { type: 'order.placed', customer: 'm-3', data: { total: 250, code: 'T-1' } });
    await page.goto('/#/messaging/messages');
    await page.getByTestId('delivery-page').waitFor();
    await page.getByLabel('Customer').fill('m-3');
    await page.getByLabel('Channel').selectOption('email');
    // The filters apply once typing pauses; then only m-3's email: the campaign's offer and the triggered welcome.
    await waitUntil(async () => /customer=m-3/.test(page.url()), { message: 'the customer filter applied' });
    await waitUntil(
      async () => {
        const rows = page.getByTestId('message-row');
        const recipients = await rows.getByTestId('message-recipient').allTextContents();
        return (
          (await rows.filter({ hasText: 'welcome' }).count()) === 1 &&
          recipients.length >= 1 &&
          recipients.every((r) => r === 'chiara@example.com')
        );
      },
      { timeout: 30_000, message: 'the triggered message in the delivery log, and only m-3 email' },
    );
  });
});
