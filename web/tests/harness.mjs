// Test harness for the browser tests: starts the real Kontor server on a fresh
// database and a free port, launches Debian's Chromium through playwright-core,
// and offers small helpers for waiting on the page.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = path.join(WEB_DIR, 'dist');
export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'Admin-Passw0rd-2026!';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Runs `bin args…` to completion, feeding `input` on stdin; throws with its output on failure. */
function run(bin, args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(bin)} ${args.join(' ')} exited with ${code ?? signal}:\n${out}`));
    });
    child.stdin.end(input ?? '');
  });
}

function ensureBuilt() {
  if (existsSync(path.join(DIST_DIR, 'index.html'))) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: WEB_DIR, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed; the tests need web/dist');
}

/**
 * The database for one server: SQLite in the temp dir, or, for a postgres://
 * URL, a new database created next to the one named (every test file runs its
 * own server at the same time, so they must not share one). Returns
 * { url, drop() }.
 */
async function testDatabase(work) {
  const base = process.env.KONTOR_TEST_DB_URL;
  if (!base) return { url: `sqlite:${path.join(work, 'kontor.db')}`, drop: async () => {} };
  if (!/^postgres(ql)?:\/\//.test(base)) return { url: base, drop: async () => {} };
  const u = new URL(base);
  const name = `${u.pathname.slice(1) || 'kontor'}_${process.pid}_${Date.now() % 100000}`.replace(/[^A-Za-z0-9_]/g, '_');
  await run('psql', ['-q', base, '-c', `CREATE DATABASE ${name}`]);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      if (!process.env.KONTOR_TEST_KEEP) await run('psql', ['-q', base, '-c', `DROP DATABASE IF EXISTS ${name}`]).catch(() => {});
    },
  };
}

/**
 * Starts `kontor serve` on a migrated database with one admin user.
 * Returns { baseURL, dbUrl, logFile, logTail(), stop() }.
 */
export async function startServer() {
  const bin = path.resolve(WEB_DIR, process.env.KONTOR_BIN ?? '../build/debug/kontor');
  if (!existsSync(bin)) {
    throw new Error(`kontor binary not found at ${bin}: build the server first, or set KONTOR_BIN`);
  }
  ensureBuilt();

  const work = mkdtempSync(path.join(tmpdir(), 'kontor-web-test-'));
  const db = await testDatabase(work);
  const dbUrl = db.url;

  await run(bin, ['migrate', '--db', dbUrl]);
  await run(bin, ['admin', 'create', '--email', ADMIN_EMAIL, '--password-stdin', '--db', dbUrl], {
    input: ADMIN_PASSWORD,
  });

  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const logFile = path.join(work, 'server.log');
  const log = createWriteStream(logFile);
  const child = spawn(bin, ['serve', '--db', dbUrl, '--listen', `127.0.0.1:${port}`], {
    // Webhook receivers in the tests run on loopback.
    env: { ...process.env, KONTOR_HTTP_WEB_ROOT: DIST_DIR, KONTOR_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  const exitPromise = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      exited = code ?? signal;
      resolve();
    }),
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const logTail = (lines = 60) => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };

  const stop = async () => {
    process.off('exit', killOnExit);
    if (exited === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(timer);
    }
    log.end();
    await db.drop();
    if (!process.env.KONTOR_TEST_KEEP) rmSync(work, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) {
      await stop().catch(() => {});
      throw new Error(`kontor serve exited (${exited}) before it was ready:\n${logTail()}`);
    }
    try {
      const res = await fetch(`${baseURL}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const tail = logTail();
      await stop();
      throw new Error(`kontor serve was not ready within 30 s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return { baseURL, dbUrl, logFile, logTail, stop };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Polls `fn` until it returns a truthy value; throws the last error or `message` on timeout. */
export async function waitUntil(fn, { timeout = 15_000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Waits for the locator's text to match `re` and returns it. */
export async function waitForText(locator, re, timeout = 15_000) {
  let text = '';
  await waitUntil(
    async () => {
      text = (await locator.first().textContent({ timeout: 1000 })) ?? '';
      return re.test(text);
    },
    { timeout, message: `text ${re} (last: ${JSON.stringify(text)})` },
  );
  return text;
}

/** Signs in through the login form and waits for the navigation bar. */
export async function login(page, baseURL, email, password) {
  await page.goto(`${baseURL}/#/`);
  await page.getByTestId('login-email').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('navbar').waitFor();
}

export function slug(s) {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** A bearer-token client for setting up data through the API. */
export async function apiClient(baseURL, name = 'web-tests') {
  const res = await fetch(`${baseURL}/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`login for the API client: ${res.status}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await res.json();
  const tok = await fetch(`${baseURL}/v1/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: cookie, 'X-CSRF-Token': csrf },
    body: JSON.stringify({ name, scopes: ['*'] }),
  });
  if (tok.status !== 201) throw new Error(`token for the API client: ${tok.status}`);
  const { token } = await tok.json();
  const call = async (method, path, body) => {
    const r = await fetch(`${baseURL}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    if (r.status >= 400) throw new Error(`${method} ${path} -> ${r.status}: ${text}`);
    return { status: r.status, body: json, text, headers: r.headers };
  };
  return { call, token };
}
