// Browser tests of the payments pages against the real server: originator and
// counterparty forms, a CSV upload with bad rows, the payment form, templates,
// building an ACH file and following a payment into it, and read-only access.
//   npm run build && node --test tests/payments.test.mjs
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSftp } from '../../tests/api/lib/sftp.mjs';
import { ADMIN_EMAIL, ADMIN_PASSWORD, apiClient, launchBrowser, login, slug, startServer, waitForText, waitUntil } from './harness.mjs';

const TIMEOUT = 120_000;
const AUDITOR = { email: 'paula.auditor@example.com', name: 'Paula Auditor', password: 'Auditor-Passw0rd-2026!' };


const pad = (n) => String(n).padStart(2, '0');
const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
/** The first Saturday at least three days ahead: never a banking day, never "in the past" in any time zone. */
function nextSaturday() {
  const d = new Date();
  d.setDate(d.getDate() + 3);
  while (d.getDay() !== 6) d.setDate(d.getDate() + 1);
  return isoDate(d);
}

describe('Kontor web app: payments', () => {
  let server;
  let browser;
  let page;
  let api;
  let failed = false;
  let originatorId;
  let counterpartyId;
  let uploadId;
  let formPaymentId;
  let fileId;
  let sftp;

  before(async () => {
    server = await startServer();
    api = await apiClient(server.baseURL);
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
    sftp?.stop();
  });

  const step = (name, fn, getPage = () => page) =>
    it(name, { timeout: TIMEOUT }, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        failed = true;
        const file = `/tmp/kontor-web-${slug(name)}.png`;
        await getPage()
          ?.screenshot({ path: file, fullPage: true })
          .catch(() => {});
        console.error(`screenshot: ${file}`);
        throw e;
      }
    });

  const tab = async (key, pageTestid) => {
    await page.getByTestId(`payments-tab-${key}`).click();
    await page.getByTestId(pageTestid).waitFor();
  };
  const idFromUrl = () => decodeURIComponent(new URL(page.url()).hash.split('?')[0].split('/').pop());

  step('creates an originator (no SFTP) and a counterparty through the forms', async () => {
    await page.getByTestId('nav-payments').click();
    await page.getByTestId('module-payments').waitFor();
    await page.getByTestId('payments-page').waitFor();
    await tab('originators', 'originators-page');
    await page.getByTestId('new-originator').click();
    const form = page.getByTestId('originator-form');
    await form.waitFor();
    const fill = (label, value) => form.getByLabel(label, { exact: true }).fill(value);
    await fill('Company name', 'Acme Payroll');
    await fill('Company ID', '12345'); // too short: the server's 422 names the field
    await fill('Default entry description', 'PAYROLL');
    await fill('ODFI routing number', '021000021');
    await fill('Immediate destination', '021000021');
    await fill('Immediate destination name', 'JPMORGAN CHASE');
    await fill('Immediate origin', '1234567890');
    await fill('Immediate origin name', 'ACME INC');
    assert.equal(await page.getByTestId('originator-sftp-fields').count(), 0, 'no SFTP profile unless switched on');
    await page.getByTestId('originator-submit').click();
    await waitForText(page.getByTestId('field-error-originator-company-id'), /10/);
    await fill('Company ID', '1234567890');
    await page.getByTestId('originator-submit').click();
    await waitForText(page.getByTestId('originator-title'), /Acme Payroll/);
    await waitUntil(() => /#\/payments\/originators\/\d+$/.test(page.url()), { message: 'the new originator page' });
    originatorId = idFromUrl();
    const o = (await api.call('GET', `/v1/originators/${originatorId}`)).body;
    assert.equal(o.company_id, '1234567890');
    assert.equal(o.immediate_destination_name, 'JPMORGAN CHASE');
    assert.equal(o.sftp, null);
    assert.equal(o.same_day_cutoff, '14:00');

    await tab('counterparties', 'counterparties-page');
    await page.getByTestId('new-counterparty').click();
    const dialog = page.getByTestId('counterparty-dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('Anna Berg');
    await dialog.getByLabel('Kind').selectOption('individual');
    await dialog.getByLabel('Routing number').fill('021000022'); // bad check digit
    await dialog.getByLabel('Account number').fill('123456789');
    await dialog.getByLabel('Account type').selectOption('checking');
    await page.getByTestId('counterparty-submit').click();
    await waitForText(dialog.getByTestId('field-error-counterparty-routing'), /check digit/);
    await dialog.getByLabel('Routing number').fill('021000021');
    await page.getByTestId('counterparty-submit').click();
    await page.getByTestId('counterparty-notice').waitFor();
    const row = page.locator('[data-testid="counterparty-row"][data-name="Anna Berg"]');
    await row.waitFor();
    counterpartyId = await row.getAttribute('data-id');
    assert.match(await row.textContent(), /••••6789/, 'the account number is masked');
    const cp = (await api.call('GET', `/v1/counterparties/${counterpartyId}`)).body;
    assert.equal(cp.routing_number, '021000021');
    assert.equal(cp.prenote_status, 'none');
  });

  step('uploads a CSV with two bad rows: report by row and column, plain submit refused, valid rows queued', async () => {
    const csv = [
      'counterparty_id,direction,amount,sec_code,entry_description',
      `${counterpartyId},credit,100.00,PPD,SALARY`,
      `${counterpartyId},credit,250.50,PPD,SALARY`,
      '999999,credit,10.00,PPD,SALARY',
      `${counterpartyId},credit,12.345,PPD,SALARY`,
      `${counterpartyId},debit,3.01,PPD,`,
    ].join('\n');
    await tab('uploads', 'payment-uploads-page');
    await page.getByLabel('Originator').selectOption(originatorId);
    await page.getByTestId('payment-upload-file').setInputFiles({ name: 'december.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('payment-upload-submit').click();
    await page.getByTestId('payment-upload-detail').waitFor();
    uploadId = idFromUrl();
    await waitForText(page.getByTestId('payment-upload-count-total_rows'), /^5$/);
    await waitForText(page.getByTestId('payment-upload-count-valid_rows'), /^3$/);
    await waitForText(page.getByTestId('payment-upload-count-error_rows'), /^2$/);

    const errs = await page
      .getByTestId('payment-upload-error-row')
      .evaluateAll((rows) => rows.map((r) => ({ row: r.dataset.row, column: r.dataset.column, text: r.textContent })));
    assert.equal(errs.length, 2, JSON.stringify(errs));
    // Rows are numbered as a spreadsheet shows them: the header is row 1.
    assert.ok(errs.some((e) => e.row === '4' && e.column === 'counterparty_id' && /999999/.test(e.text)), JSON.stringify(errs));
    assert.ok(errs.some((e) => e.row === '5' && e.column === 'amount' && /dollars/.test(e.text)), JSON.stringify(errs));

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('payment-upload-errors-csv').click()]);
    const report = readFileSync(await download.path(), 'utf8');
    assert.match(report.split('\n')[0], /^row,column,message/);
    assert.match(report, /^4,counterparty_id,/m);
    assert.match(report, /^5,amount,/m);

    // Submitting the whole upload is refused while it has bad rows; nothing is queued.
    await page.getByTestId('payment-upload-submit-all').click();
    await waitForText(page.getByTestId('payment-upload-refused'), /2 row\(s\) with errors/);
    await waitForText(page.getByTestId('payment-upload-status'), /validated/);
    assert.equal((await api.call('GET', `/v1/payments?upload_id=${uploadId}`)).body.items.length, 0);

    const valid = page.getByTestId('payment-upload-submit-valid');
    assert.match(await valid.textContent(), /Submit the 3 valid rows only/);
    await valid.click();
    await waitForText(page.getByTestId('payment-upload-status'), /submitted/);
    await waitForText(page.getByTestId('payment-upload-count-submitted_rows'), /^3$/);
    assert.equal(await page.getByTestId('payment-upload-actions').count(), 0, 'no submit buttons once submitted');

    await page.getByTestId('payment-upload-payments-link').first().click();
    await page.getByTestId('payments-page').waitFor();
    assert.match(page.url(), new RegExp(`upload_id=${uploadId}`));
    const rows = page.getByTestId('payment-row');
    await waitUntil(async () => (await rows.count()) === 3, { message: 'three payments of the upload' });
    const amounts = (await rows.evaluateAll((rs) => rs.map((r) => Number(r.dataset.amountCents)))).sort((a, b) => a - b);
    assert.deepEqual(amounts, [301, 10000, 25050]);
    assert.deepEqual(
      (await page.getByTestId('payment-amount').allTextContents()).sort(),
      ['$100.00', '$250.50', '$3.01'].sort(),
    );
    for (const s of await page.getByTestId('payment-status').allTextContents()) assert.equal(s, 'scheduled');
  });

  step('makes a payment with the form: amounts in exact cents, server field errors next to the fields', async () => {
    await tab('new', 'new-payment-page');
    // The only originator is chosen; the counterparty is picked from the search list.
    await waitUntil(async () => (await page.getByTestId('payment-originator').inputValue()) === originatorId, { message: 'the originator chosen' });
    await page.getByTestId('counterparty-select').selectOption(counterpartyId);

    // Not an amount: caught before anything is sent.
    await page.getByTestId('payment-amount').fill('12.345');
    await page.getByTestId('payment-submit').click();
    await waitForText(page.getByTestId('field-error-payment-amount'), /dollars and cents/);

    // A zero WEB debit without a payment type breaks two rules: each message sits at its field.
    await page.getByTestId('payment-amount').fill('0');
    await page.getByLabel('Direction').selectOption('debit');
    await page.getByLabel('SEC code').selectOption('WEB');
    await page.getByTestId('payment-submit').click();
    await waitForText(page.getByTestId('field-error-payment-amount'), /ALL-04/);
    await waitForText(page.getByTestId('field-error-payment-type-code'), /WEB-02/);
    await page.getByTestId('payment-form-error').waitFor();

    // A valid one, on a Saturday: the server moves it to a banking day and says why.
    const saturday = nextSaturday();
    await page.getByLabel('SEC code').selectOption('PPD');
    await page.getByLabel('Direction').selectOption('credit');
    await page.getByTestId('payment-amount').fill('1,234.56');
    await page.getByLabel('Effective date').fill(saturday);
    await page.getByLabel('Entry description').fill('BONUS');
    await page.getByTestId('payment-submit').click();
    await page.getByTestId('payment-detail').waitFor();
    formPaymentId = idFromUrl();
    await waitForText(page.getByTestId('payment-detail-amount'), /^\$1,234\.56$/);
    await waitForText(page.getByTestId('payment-detail-status'), /scheduled/);
    await waitForText(page.getByTestId('payment-schedule-note'), new RegExp(saturday));
    const p = (await api.call('GET', `/v1/payments/${formPaymentId}`)).body;
    assert.equal(p.amount_cents, 123456);
    assert.equal(p.entry_description, 'BONUS');
    assert.equal(p.requested_effective_date, saturday);
    assert.notEqual(p.effective_date, saturday);
    assert.match(p.idempotency_key, /^[0-9a-f-]{36}$/);
    await waitForText(page.getByTestId('payment-detail-effective'), new RegExp(p.effective_date));
    await page.locator('[data-testid="payment-event"][data-status="scheduled"]').waitFor();
    assert.equal(await page.getByTestId('payment-entry-row').count(), 1);
  });

  step('makes a payment from a template and cancels it', async () => {
    await tab('templates', 'templates-page');
    await page.getByTestId('new-template').click();
    const dialog = page.getByTestId('template-dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('Monthly rent');
    await dialog.getByLabel('Originator').selectOption(originatorId);
    await dialog.getByTestId('counterparty-select').selectOption(counterpartyId);
    await dialog.getByLabel('Amount (USD)').fill('500');
    await page.getByTestId('template-submit').click();
    await page.getByTestId('template-notice').waitFor();
    const row = page.locator('[data-testid="template-row"][data-name="Monthly rent"]');
    await waitForText(row, /\$500\.00/);
    await row.getByTestId('template-pay').click();
    const pay = page.getByTestId('template-pay-dialog');
    assert.equal(await pay.getByLabel('Amount (USD)').inputValue(), '500.00');
    await pay.getByLabel('Amount (USD)').fill('499.99');
    await page.getByTestId('template-pay-submit').click();
    await page.getByTestId('payment-detail').waitFor();
    const id = idFromUrl();
    await waitForText(page.getByTestId('payment-detail-amount'), /^\$499\.99$/);
    const p = (await api.call('GET', `/v1/payments/${id}`)).body;
    assert.equal(p.amount_cents, 49999);
    assert.ok(p.template_id, 'made from the template');

    await page.getByTestId('payment-cancel').click();
    await page.getByTestId('confirm-ok').click();
    await waitForText(page.getByTestId('payment-detail-status'), /cancelled/);
    await page.locator('[data-testid="payment-event"][data-status="cancelled"]').waitFor();
    assert.equal(await page.getByTestId('payment-cancel').count(), 0, 'a cancelled payment cannot be cancelled again');
  });

  step('builds a file now, follows the payment into it and downloads the NACHA file', async () => {
    await tab('files', 'ach-files-page');
    await page.getByTestId('ach-build-future').check();
    await page.getByTestId('ach-build-now').click();
    await waitForText(page.getByTestId('ach-build-result'), /Built 1 file/);
    const row = page.getByTestId('ach-file-row').first();
    await row.waitFor();
    fileId = await row.getAttribute('data-id');
    assert.equal(await row.getAttribute('data-status'), 'built');
    // Without an SFTP profile the file stays built and says why.
    await waitForText(row.getByTestId('ach-file-row-error'), /no SFTP profile/, 30_000);

    await row.getByTestId('ach-file-link').click();
    await page.getByTestId('ach-file-detail').waitFor();
    await waitForText(page.getByTestId('ach-file-detail-status'), /built/);
    await waitForText(page.getByTestId('ach-file-last-error'), /no SFTP profile/);
    await waitForText(page.getByTestId('ach-file-entry-count'), /^4$/);
    await waitUntil(async () => (await page.getByTestId('ach-file-payments').getByTestId('payment-row').count()) === 4, {
      message: 'the four live payments in the file (the cancelled one is not)',
    });

    // The parsed view lists each entry; the form payment's entry carries its trace number.
    const p = (await api.call('GET', `/v1/payments/${formPaymentId}`)).body;
    assert.equal(p.status, 'in_file');
    assert.equal(p.file_id, fileId);
    const trace = p.entries[0].trace_number;
    assert.match(trace, /^\d{15}$/);
    const entry = page.locator(`[data-testid="ach-entry-row"][data-trace="${trace}"]`);
    await entry.waitFor();
    await waitForText(entry.getByTestId('ach-entry-amount'), /^\$1,234\.56$/);
    assert.equal(await page.getByTestId('ach-entry-row').count(), 4);

    // The download link gives the NACHA text as built.
    const link = page.getByTestId('ach-file-download');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const nacha = readFileSync(await download.path(), 'utf8');
    assert.ok(nacha.startsWith('101'), nacha.slice(0, 94));
    assert.equal(download.suggestedFilename(), (await api.call('GET', `/v1/ach-files/${fileId}`)).body.name);
    const fetched = await page.evaluate(async (h) => (await fetch(h)).text(), await link.getAttribute('href'));
    assert.equal(fetched, nacha);

    // The payment page shows it in the file, with the trace number and the timeline.
    await page.goto(`/#/payments/${formPaymentId}`);
    await waitForText(page.getByTestId('payment-detail-status'), /in file/);
    assert.equal(await page.getByTestId('payment-detail').getAttribute('data-status'), 'in_file');
    await waitForText(page.getByTestId('payment-entry-trace'), new RegExp(`^${trace}$`));
    await page.locator('[data-testid="payment-event"][data-status="in_file"]').waitFor();
    await page.getByTestId('payment-file-link').click();
    await page.getByTestId('ach-file-detail').waitFor();
    assert.equal(idFromUrl(), fileId);

    // The list filters by status.
    await page.goto('/#/payments?status=in_file');
    await page.getByTestId('payments-page').waitFor();
    await waitUntil(async () => (await page.getByTestId('payment-row').count()) === 4, { message: 'four payments in a file' });
    assert.equal(await page.getByLabel('Status').inputValue(), 'in_file');
  });

  step('delivers the file to the bank by SFTP once the originator has a profile; the payment follows', async () => {
    // The bank's SFTP server (OpenSSH); its profile goes in through the API,
    // the operator's part is the redelivery and watching it arrive.
    sftp = await startSftp();
    await api.call('PATCH', `/v1/originators/${originatorId}`, {
      sftp: { host: '127.0.0.1', port: sftp.port, username: sftp.username, private_key: sftp.privateKey,
        host_key_sha256: sftp.fingerprint, upload_dir: sftp.upload },
    });
    await page.goto(`/#/payments/${formPaymentId}`);
    await page.getByTestId('payment-file-link').click();
    await page.getByTestId('ach-file-detail').waitFor();
    await page.getByTestId('ach-file-redeliver').click();
    await waitUntil(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return /delivered/.test(await page.getByTestId('ach-file-detail-status').textContent());
    }, { message: 'the file shows delivered', timeout: 30_000, interval: 500 });
    const f = (await api.call('GET', `/v1/ach-files/${fileId}`)).body;
    assert.equal(f.status, 'delivered');
    assert.ok(existsSync(path.join(sftp.upload, f.remote_name)), 'the file is on the bank server');
    assert.equal(readFileSync(path.join(sftp.upload, f.remote_name), 'utf8'), (await api.call('GET', `/v1/ach-files/${fileId}/content`)).text);

    await page.goto(`/#/payments/${formPaymentId}`);
    await waitForText(page.getByTestId('payment-detail-status'), /submitted/);
    await page.locator('[data-testid="payment-event"][data-status="submitted"]').waitFor();
  });

  step('shows the banking calendar', async () => {
    await tab('calendar', 'banking-calendar-page');
    await page.getByTestId('calendar-year').selectOption('2026');
    await page.locator('[data-testid="holiday-row"][data-date="2026-12-25"]').waitFor();
    // Independence Day 2026 is a Saturday: the Reserve Banks do not close for it.
    assert.equal(await page.locator('[data-testid="holiday-row"][data-date="2026-07-03"]').count(), 0);
    assert.equal(await page.locator('[data-testid="holiday-row"][data-date="2026-07-04"]').count(), 0);
  });

  let auditorPage;
  step(
    'a read-only user sees the payments pages without write buttons',
    async () => {
      await api.call('POST', '/v1/users', { email: AUDITOR.email, name: AUDITOR.name, password: AUDITOR.password, role: 'auditor' });
      const ctx = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 1400, height: 900 } });
      auditorPage = await ctx.newPage();
      auditorPage.setDefaultTimeout(15_000);
      const p = auditorPage;
      await login(p, server.baseURL, AUDITOR.email, AUDITOR.password);
      await p.getByTestId('nav-payments').click();
      await p.getByTestId('payment-row').first().waitFor();
      assert.equal(await p.getByTestId('new-payment').count(), 0, 'no "New payment" button');
      assert.equal(await p.getByTestId('payments-tab-new').count(), 0, 'no "New payment" tab');

      await p.goto(`/#/payments/${formPaymentId}`);
      await waitForText(p.getByTestId('payment-detail-status'), /submitted/);
      await p.getByTestId('payment-entry-row').first().waitFor();

      await p.goto(`/#/payments/uploads/${uploadId}`);
      await waitForText(p.getByTestId('payment-upload-status'), /submitted/);
      await p.goto('/#/payments/uploads');
      await p.getByTestId('payment-upload-row').first().waitFor();
      assert.equal(await p.getByTestId('payment-upload-form').count(), 0, 'no upload form');

      await p.goto(`/#/payments/files/${fileId}`);
      await p.getByTestId('ach-file-download').waitFor();
      assert.equal(await p.getByTestId('ach-file-redeliver').count(), 0, 'no redeliver button');
      await p.goto('/#/payments/files');
      await p.getByTestId('ach-file-row').first().waitFor();
      assert.equal(await p.getByTestId('ach-build').count(), 0, 'no "Build now"');

      await p.goto(`/#/payments/originators/${originatorId}`);
      await waitForText(p.getByTestId('originator-title'), /Acme Payroll/);
      assert.equal(await p.getByTestId('originator-submit').count(), 0, 'no save button');
      await p.goto('/#/payments/originators');
      await p.getByTestId('originator-row').first().waitFor();
      assert.equal(await p.getByTestId('new-originator').count(), 0);

      await p.goto(`/#/payments/counterparties/${counterpartyId}`);
      await waitForText(p.getByTestId('counterparty-name'), /Anna Berg/);
      assert.equal(await p.getByTestId('counterparty-edit').count(), 0);
      await p.goto('/#/payments/counterparties');
      await p.getByTestId('counterparty-row').first().waitFor();
      assert.equal(await p.getByTestId('new-counterparty').count(), 0);

      await p.goto('/#/payments/templates');
      await p.getByTestId('template-row').first().waitFor();
      assert.equal(await p.getByTestId('new-template').count(), 0);
      assert.equal(await p.getByTestId('template-pay').count(), 0);

      await p.goto('/#/payments/returns');
      await p.getByTestId('payment-returns-table').waitFor();
      assert.equal(await p.getByTestId('return-upload-form').count(), 0);

      await p.goto('/#/payments/new');
      await p.getByTestId('no-access').waitFor();
      await ctx.close();
    },
    () => auditorPage,
  );
});
