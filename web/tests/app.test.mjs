// End-to-end tests of the staff web app against the real Kontor server.
//   npm test                      (after the server is built at ../build/debug/kontor)
//   KONTOR_BIN=/path/to/kontor KONTOR_TEST_DB_URL=postgres://… npm test
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  launchBrowser,
  login,
  slug,
  startServer,
  waitForText,
  waitUntil,
} from './harness.mjs';

const EDITOR = { email: 'erika.editor@example.com', name: 'Erika Editor', password: 'Editor-Passw0rd-2026!' };
const AUDITOR = { email: 'arne.auditor@example.com', name: 'Arne Auditor', password: 'Auditor-Passw0rd-2026!' };
const TOKEN_NAME = 'nightly-export';
const TIMEOUT = 90_000;

describe('Kontor web app', () => {
  let server;
  let browser;
  let context;
  let page;
  let failed = false;
  let editorId;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    context = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  });

  after(async () => {
    if (failed && server) {
      console.error(`--- last lines of the server log (${server.logFile}) ---\n${server.logTail()}`);
    }
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  /** Runs a test body; on failure saves a screenshot of `pg` to /tmp/kontor-web-<name>.png. */
  const step = (name, fn, pg = () => page) =>
    it(name, { timeout: TIMEOUT }, async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        const file = `/tmp/kontor-web-${slug(name)}.png`;
        try {
          await pg()?.screenshot({ path: file, fullPage: true });
          console.error(`screenshot: ${file}`);
        } catch {
          // the page may be gone
        }
        throw e;
      }
    });

  const bearerMe = (secret) =>
    fetch(`${server.baseURL}/v1/me`, { headers: { Authorization: `Bearer ${secret}` } }).then((r) => r.status);

  const openAdmin = async (key) => {
    await page.getByTestId('nav-admin').click();
    await page.getByTestId(`nav-${key}`).click();
  };

  step('shows the login form and rejects a wrong password', async () => {
    await page.goto('/');
    await page.getByTestId('login').waitFor();
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByTestId('login-submit').click();
    const msg = await waitForText(page.getByTestId('login-error'), /\S/);
    assert.ok(msg.length > 0, 'an error message is shown');
    assert.equal(await page.getByTestId('navbar').count(), 0);
  });

  step('the admin signs in through the form and sees every module', async () => {
    await login(page, server.baseURL, ADMIN_EMAIL, ADMIN_PASSWORD);
    await waitForText(page.getByTestId('current-user'), new RegExp(ADMIN_EMAIL.replace('.', '\\.')));
    for (const m of ['customers', 'messaging', 'editions', 'documents', 'portal', 'payments', 'analytics', 'admin']) {
      assert.equal(await page.getByTestId(`nav-${m}`).count(), 1, `nav-${m} is shown to the admin`);
    }
    await page.getByTestId('nav-payments').click();
    await page.getByTestId('module-payments').waitFor();
    // A reload keeps the session (the CSRF token comes back from GET /v1/me).
    await page.reload();
    await page.getByTestId('module-payments').waitFor();
  });

  /** Fills and submits the "New user" dialog; leaves the dialog open. */
  const submitNewUser = async (u, role) => {
    await page.getByTestId('new-user').click();
    const dialog = page.getByTestId('create-user-dialog');
    await dialog.getByLabel('Email').fill(u.email);
    await dialog.getByLabel('Name').fill(u.name);
    await dialog.getByLabel('Initial password').fill(u.password);
    await waitUntil(async () => (await dialog.locator(`#new-user-role option[value="${role}"]`).count()) === 1, {
      message: 'the role list',
    });
    await dialog.getByLabel('Role').selectOption(role);
    await page.getByTestId('create-user-submit').click();
    return dialog;
  };

  step('creates users and restricts one component for one of them', async () => {
    await openAdmin('users');
    await page.getByTestId('users-page').waitFor();

    // Field errors from a 422 are shown next to the fields they name.
    await page.getByTestId('new-user').click();
    await page.getByTestId('create-user-submit').click();
    await page.getByTestId('create-user-dialog').getByTestId('error').waitFor();
    await page.getByTestId('create-user-dialog').getByRole('button', { name: 'Cancel' }).click();

    await submitNewUser(EDITOR, 'editor');
    await page.getByTestId('user-created').waitFor();
    const row = page.locator(`[data-testid="user-row"][data-email="${EDITOR.email}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /editor/);
    editorId = decodeURIComponent((await row.getByTestId('user-link').getAttribute('href')).split('/').pop());

    await submitNewUser(AUDITOR, 'auditor');
    await page.locator(`[data-testid="user-row"][data-email="${AUDITOR.email}"]`).waitFor();

    // Creating the same email again is a conflict, shown in the dialog.
    const dialog = await submitNewUser({ ...EDITOR, name: 'Someone Else' }, 'editor');
    await dialog.getByTestId('error').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // Per-user override: deny Analytics (editors can read it by role).
    await row.getByTestId('user-link').click();
    await page.getByTestId('user-detail').waitFor();
    await waitForText(page.getByTestId('user-detail-email'), new RegExp(EDITOR.email.replace(/\./g, '\\.')));
    await page.getByLabel('Override for Analytics').selectOption('none');
    await page.getByTestId('overrides-save').click();
    await page.getByTestId('user-saved').waitFor();
    await waitForText(page.getByTestId('effective-analytics'), /none/);
    await waitForText(page.getByTestId('effective-editions'), /write/);
  });

  step('creates an API token, shows its secret once, and revokes it', async () => {
    await openAdmin('tokens');
    await page.getByTestId('tokens-page').waitFor();
    await page.getByTestId('new-token').click();
    const dialog = page.getByTestId('create-token-dialog');
    // Typed key by key: the dialog must keep the focus in the field while re-rendering.
    await dialog.getByLabel('Name').pressSequentially(TOKEN_NAME);
    await dialog.getByLabel('Expires in (days)').fill('30');
    await page.getByTestId('create-token-submit').click();

    const secretBox = page.getByTestId('token-secret');
    await secretBox.waitFor();
    const secret = await secretBox.inputValue();
    assert.ok(secret.startsWith('kt_'), `secret starts with kt_ (got ${secret.slice(0, 6)}…)`);
    assert.equal(await bearerMe(secret), 200, 'GET /v1/me with the new token answers 200');
    await page.getByTestId('token-done').click();

    const row = page.locator(`[data-testid="token-row"][data-name="${TOKEN_NAME}"]`);
    await row.waitFor();
    assert.ok(secret.startsWith((await row.getByTestId('token-prefix').textContent()).replace('…', '')));
    await waitForText(row.getByTestId('token-status'), /active/);

    await row.getByTestId('token-revoke').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('token-notice').waitFor();
    await waitForText(row.getByTestId('token-status'), /revoked/);
    assert.equal(await row.getByTestId('token-revoke').count(), 0, 'a revoked token has no revoke button');
    assert.equal(await bearerMe(secret), 401, 'GET /v1/me with the revoked token answers 401');
  });

  step('the audit log shows the user creation and the token creation and revocation', async () => {
    await openAdmin('audit');
    await page.getByTestId('audit-page').waitFor();
    for (const action of ['user.create', 'token.create', 'token.revoke']) {
      await page.locator(`[data-testid="audit-row"][data-action="${action}"]`).first().waitFor();
    }
    // Newest first: the revocation comes before the creation.
    const actions = await page.getByTestId('audit-action').allTextContents();
    assert.ok(actions.indexOf('token.revoke') < actions.indexOf('token.create'), `newest first: ${actions.join(', ')}`);

    // Filter by action, then expand a row to see its before/after.
    await page.getByLabel('Action').fill('user.create');
    await page.getByTestId('audit-apply').click();
    await waitUntil(
      async () => {
        const a = await page.getByTestId('audit-action').allTextContents();
        return a.length > 0 && a.every((x) => x === 'user.create');
      },
      { message: 'only user.create rows' },
    );
    const row = page.locator(`[data-testid="audit-row"][data-action="user.create"][data-resource-id="${editorId}"]`);
    await row.click();
    await waitForText(page.getByTestId('audit-after'), new RegExp(EDITOR.email.replace(/\./g, '\\.')));
  });

  step('creates, edits and deletes a custom role', async () => {
    await openAdmin('roles');
    await page.getByTestId('roles-page').waitFor();
    const builtin = page.locator('[data-testid="role-row"][data-name="admin"]');
    await builtin.waitFor();
    assert.equal(await builtin.getByTestId('role-edit').count(), 0, 'built-in roles are read-only');

    await page.getByTestId('new-role').click();
    const dialog = page.getByTestId('role-dialog');
    await dialog.getByLabel('Name').fill('compliance');
    await dialog.getByLabel('Description').fill('Compliance officers');
    await dialog.getByLabel('Customers').selectOption('read');
    await dialog.getByLabel('Documents').selectOption('write');
    await page.getByTestId('role-submit').click();
    const row = page.locator('[data-testid="role-row"][data-name="compliance"]');
    await row.waitFor();
    await waitForText(row.getByTestId('role-compliance-documents'), /write/);
    await waitForText(row.getByTestId('role-compliance-payments'), /none/);

    await row.getByTestId('role-edit').click();
    await dialog.getByLabel('Payments').selectOption('read');
    await page.getByTestId('role-submit').click();
    await waitForText(row.getByTestId('role-compliance-payments'), /read/);

    await row.getByTestId('role-delete').click();
    await page.getByTestId('confirm-ok').click();
    await waitUntil(async () => (await row.count()) === 0, { message: 'the role to disappear' });
  });

  step('starts a demo job and shows its progress live', async () => {
    await openAdmin('jobs');
    await page.getByTestId('jobs-page').waitFor();
    await waitUntil(async () => (await page.getByLabel('Kind').inputValue()) === 'demo.progress', {
      message: 'demo.progress to be preselected',
    });
    assert.deepEqual(JSON.parse(await page.getByLabel('Payload (JSON)').inputValue()), { steps: 20, step_ms: 200 });
    await page.getByLabel('Payload (JSON)').fill('{"steps":8,"step_ms":250}');
    await page.getByTestId('start-job').click();
    await page.getByTestId('job-started').waitFor();
    const id = (await page.getByTestId('job-started').locator('code').nth(1).textContent()).trim();
    const row = page.locator(`[data-testid="job-row"][data-id="${id}"]`);
    await row.waitFor();
    // The table refreshes by itself: the job moves to succeeded with a full bar.
    await waitUntil(async () => (await row.getAttribute('data-state')) === 'succeeded', {
      timeout: 30_000,
      message: 'the job to succeed',
    });
    const bar = row.getByTestId('job-progress');
    await waitUntil(async () => (await bar.getAttribute('data-done')) === '8', { message: 'progress 8/8' });
    assert.equal(await bar.getAttribute('data-total'), '8');

    // A long job can be cancelled from the table.
    await page.getByLabel('Payload (JSON)').fill('{"steps":500,"step_ms":200}');
    await page.getByTestId('start-job').click();
    await waitUntil(
      async () => ((await page.getByTestId('job-started').locator('code').nth(1).textContent()) ?? '').trim() !== id,
      { message: 'the second job to start' },
    );
    const id2 = (await page.getByTestId('job-started').locator('code').nth(1).textContent()).trim();
    const row2 = page.locator(`[data-testid="job-row"][data-id="${id2}"]`);
    await row2.getByTestId('job-cancel').click();
    await waitUntil(async () => (await row2.getAttribute('data-state')) === 'cancelled', {
      timeout: 20_000,
      message: 'the job to be cancelled',
    });
    assert.equal(await row2.getByTestId('job-cancel').count(), 0, 'a cancelled job has no cancel button');
    await page.getByTestId('schedules-table').waitFor();
  });

  step('signs out', async () => {
    await page.getByTestId('logout').click();
    await page.getByTestId('login').waitFor();
    await page.reload();
    await page.getByTestId('login').waitFor();
  });

  let editorPage;
  step(
    'an editor sees neither Payments nor Administration',
    async () => {
      const ctx = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 1400, height: 900 } });
      editorPage = await ctx.newPage();
      editorPage.setDefaultTimeout(15_000);
      await login(editorPage, server.baseURL, EDITOR.email, EDITOR.password);
      await waitForText(editorPage.getByTestId('current-user'), /Erika Editor/);
      for (const m of ['customers', 'messaging', 'editions', 'documents']) {
        assert.equal(await editorPage.getByTestId(`nav-${m}`).count(), 1, `nav-${m} is shown to an editor`);
      }
      for (const m of ['payments', 'admin', 'portal', 'analytics']) {
        assert.equal(await editorPage.getByTestId(`nav-${m}`).count(), 0, `nav-${m} is hidden from this editor`);
      }
      await editorPage.goto('/#/users');
      await editorPage.getByTestId('no-access').waitFor();
      await editorPage.goto('/#/payments');
      await editorPage.getByTestId('no-access').waitFor();
      await ctx.close();
    },
    () => editorPage,
  );

  let auditorPage;
  step(
    'an auditor sees Administration read-only',
    async () => {
      const ctx = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 1400, height: 900 } });
      auditorPage = await ctx.newPage();
      auditorPage.setDefaultTimeout(15_000);
      const p = auditorPage;
      await login(p, server.baseURL, AUDITOR.email, AUDITOR.password);
      for (const m of ['customers', 'payments', 'analytics', 'admin']) {
        assert.equal(await p.getByTestId(`nav-${m}`).count(), 1, `nav-${m} is shown to an auditor`);
      }
      await p.goto('/#/users');
      await p.locator(`[data-testid="user-row"][data-email="${EDITOR.email}"]`).waitFor();
      assert.equal(await p.getByTestId('new-user').count(), 0, 'no "New user" button without admin:write');
      await p.goto('/#/tokens');
      await p.getByTestId('tokens-table').waitFor();
      assert.equal(await p.getByTestId('new-token').count(), 0, 'no "New token" button');
      assert.equal(await p.getByTestId('token-revoke').count(), 0, 'no revoke buttons');
      await p.goto('/#/roles');
      await p.locator('[data-testid="role-row"][data-name="editor"]').waitFor();
      assert.equal(await p.getByTestId('new-role').count(), 0, 'no "New role" button');
      await p.goto('/#/jobs');
      await p.getByTestId('jobs-table').waitFor();
      assert.equal(await p.getByTestId('start-job').count(), 0, 'no job form');
      await p.goto('/#/audit');
      await p.getByTestId('audit-row').first().waitFor();
      await ctx.close();
    },
    () => auditorPage,
  );

  step('repeated wrong passwords lock the sign-in and say when to retry', async () => {
    // Run last: the lockout also covers this client address.
    await page.goto('/');
    await page.getByTestId('login').waitFor();
    await page.getByLabel('Email').fill(EDITOR.email);
    let locked = false;
    for (let i = 0; i < 8 && !locked; i++) {
      await page.getByLabel('Password', { exact: true }).fill(`wrong-password-${i}`);
      await page.getByTestId('login-submit').click();
      // data-attempt counts submissions, so each answer is told from the previous one.
      const answered = `[data-attempt="${i + 1}"]`;
      await page.locator(`[data-testid="login-error"]${answered}, [data-testid="login-locked"]${answered}`).waitFor();
      locked = (await page.getByTestId('login-locked').count()) > 0;
    }
    assert.ok(locked, 'the sign-in is locked after repeated failures');
    await waitForText(page.getByTestId('login-locked'), /locked out, retry in \d+ s/);
  });
});
