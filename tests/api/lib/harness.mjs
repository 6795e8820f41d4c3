// Black-box test harness for the kontor binary.
//
// Environment:
//   KONTOR_BIN           absolute path of the kontor binary (required)
//   KONTOR_TEST_DB       sqlite (default) or postgres
//   KONTOR_TEST_PG_URL   postgres only: a superuser URL of a throwaway cluster,
//                        e.g. postgres://kontor@127.0.0.1:PORT/postgres
//
// startServer() creates a fresh database, migrates it, creates an admin and an
// API token with the CLI, starts `kontor serve` on a free loopback port and
// waits for /readyz. Every process it starts is killed when the test process
// exits, whatever happens; call server.close() in an after() hook to stop the
// server and drop its database.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const BIN = process.env.KONTOR_BIN;
export const DB_KIND = process.env.KONTOR_TEST_DB || 'sqlite';
export const PG_URL = process.env.KONTOR_TEST_PG_URL || '';
export const IS_PG = DB_KIND === 'postgres';
export const ADMIN_EMAIL = 'admin@test.local';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

if (!BIN || !path.isAbsolute(BIN)) {
  throw new Error('KONTOR_BIN must be the absolute path of the kontor binary');
}
if (!['sqlite', 'postgres'].includes(DB_KIND)) {
  throw new Error(`KONTOR_TEST_DB must be sqlite or postgres, not ${DB_KIND}`);
}
if (IS_PG && !PG_URL) {
  throw new Error('KONTOR_TEST_DB=postgres needs KONTOR_TEST_PG_URL (see tests/pg.sh)');
}

// ---------------------------------------------------------------------------
// Process bookkeeping: nothing outlives the test process.

const live = new Set();
const tempDirs = new Set();

function cleanup() {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
  live.clear();
  for (const d of tempDirs) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {}
  }
  tempDirs.clear();
}
process.on('exit', cleanup);
// The test runner stops a file's process with a signal (timeout, Ctrl-C).
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    cleanup();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

export function tempDir(prefix = 'kontor-t-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

export function removeTempDir(d) {
  fs.rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
}

// The environment children get: ours without any KONTOR_* variable (tests
// say which ones they want), sanitizer options kept.
export function baseEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('KONTOR_')) env[k] = v;
  }
  env.ASAN_OPTIONS ??= 'detect_leaks=0:abort_on_error=1';
  env.UBSAN_OPTIONS ??= 'print_stacktrace=1:halt_on_error=1';
  return { ...env, ...extra };
}

// Runs a one-shot kontor command. Resolves {code, signal, stdout, stderr}.
export function runKontor(args, { env = {}, input = null, timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { env: baseEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      live.delete(p);
      reject(e);
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(p);
      resolve({ code, signal, stdout, stderr });
    });
    p.stdin.on('error', () => {});
    if (input !== null) p.stdin.end(input);
    else p.stdin.end();
  });
}

// ---------------------------------------------------------------------------
// Databases

function pgUrlFor(name) {
  const u = new URL(PG_URL);
  u.pathname = '/' + name;
  return u.toString();
}

// Runs SQL with psql against a URL. Returns {code, stdout, stderr}; rows are
// '|'-separated, unaligned, without headers.
export function psql(url, sql) {
  const r = spawnSync('psql', ['-X', '-q', '-t', '-A', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], {
    encoding: 'utf8',
    env: baseEnv(),
    timeout: 30000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function sqlite3(file, sql) {
  const r = spawnSync('sqlite3', ['-bail', '-batch', '-cmd', '.timeout 10000', file, sql], {
    encoding: 'utf8',
    env: baseEnv(),
    timeout: 30000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

// Creates a fresh, empty database: {kind, url, name|file, dir, exec(sql), query(sql), drop()}.
export function createDatabase() {
  const dir = tempDir();
  if (IS_PG) {
    const name = 'kontor_t_' + crypto.randomBytes(6).toString('hex');
    const r = psql(PG_URL, `CREATE DATABASE ${name}`);
    if (r.code !== 0) throw new Error(`CREATE DATABASE failed: ${r.stderr}`);
    const url = pgUrlFor(name);
    return {
      kind: 'postgres',
      url,
      name,
      dir,
      exec: (sql) => psql(url, sql),
      query: (sql) => rowsOf(psql(url, sql), sql),
      drop: () => dropDatabase({ kind: 'postgres', name, dir }),
    };
  }
  const file = path.join(dir, 'kontor.db');
  return {
    kind: 'sqlite',
    url: `sqlite:${file}`,
    file,
    dir,
    exec: (sql) => sqlite3(file, sql),
    query: (sql) => rowsOf(sqlite3(file, sql), sql),
    drop: () => dropDatabase({ kind: 'sqlite', dir }),
  };
}

function rowsOf(r, sql) {
  if (r.code !== 0) throw new Error(`query failed: ${sql}\n${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|'));
}

export function dropDatabase(db) {
  if (db.kind === 'postgres') {
    psql(PG_URL, `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
  }
  if (db.dir) removeTempDir(db.dir);
}

// ---------------------------------------------------------------------------
// Ports and waiting

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Polls fn() until it returns a truthy value; returns it. Throws after timeoutMs.
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(intervalMs);
  }
}

function exited(proc) {
  return proc.exitCode !== null || proc.signalCode !== null;
}

// Resolves {code, signal} once proc has exited, or null after timeoutMs.
export function waitExit(proc, timeoutMs = 15000) {
  if (exited(proc)) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.off('exit', onExit);
      resolve(null);
    }, timeoutMs);
    const onExit = (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    };
    proc.once('exit', onExit);
  });
}

// ---------------------------------------------------------------------------
// HTTP

// One request with the built-in fetch. body: an object (sent as JSON) or, with
// raw: true, a string/Buffer sent as is. Returns {status, headers, json, text}.
export async function request(baseUrl, method, urlPath, { token, body, headers = {}, raw = false, cookie, retries } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (cookie) h.cookie = cookie;
  let payload;
  if (body !== undefined) {
    if (raw) {
      payload = body;
    } else {
      payload = JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    }
  }
  // Idempotent reads survive a stale pooled connection (after a restart).
  const attempts = retries ?? (method === 'GET' || method === 'HEAD' ? 3 : 1);
  let lastErr;
  for (let i = 0; i < attempts; ++i) {
    try {
      const res = await fetch(baseUrl + urlPath, { method, headers: h, body: payload, redirect: 'manual' });
      const text = await res.text();
      let json;
      const ct = res.headers.get('content-type') || '';
      if (text && ct.includes('json')) {
        try {
          json = JSON.parse(text);
        } catch {}
      }
      return { status: res.status, headers: res.headers, json, text };
    } catch (e) {
      lastErr = e;
      if (i + 1 < attempts) await sleep(100);
    }
  }
  throw lastErr;
}

// Writes chunks to a raw TCP connection and collects everything the server
// sends until it closes the connection (or timeoutMs passes).
// chunks: strings/Buffers, or {delay: ms} / async functions between them.
// Unless waitClose, it returns as soon as one complete response has arrived.
// Resolves {text, status, headers, body, closed, error, ms}.
export function rawRequest(port, chunks, { timeoutMs = 5000, host = '127.0.0.1', waitClose = false } = {}) {
  if (!Array.isArray(chunks)) chunks = [chunks];
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect(port, host);
    const bufs = [];
    let error = null;
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(bufs).toString('latin1');
      resolve({ ...parseResponseHead(text), text, closed, error, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('data', (d) => {
      bufs.push(d);
      if (!waitClose && completeResponse(Buffer.concat(bufs).toString('latin1'))) finish(false);
    });
    sock.on('error', (e) => (error = e.code || e.message));
    sock.on('close', () => finish(true));
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (done) return;
        if (typeof c === 'function') await c(sock);
        else if (c && typeof c === 'object' && !Buffer.isBuffer(c) && 'delay' in c) await sleep(c.delay);
        else if (!sock.destroyed) sock.write(c, () => {});
      }
    });
  });
}

// True when text holds a whole response with a Content-Length body.
function completeResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end + 2));
  return m ? Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(m[1]) : false;
}

export function parseResponseHead(text) {
  const end = text.indexOf('\r\n\r\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] || '');
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const body = end >= 0 ? text.slice(end + 4) : '';
  return { status: m ? Number(m[1]) : null, headers, body };
}

// ---------------------------------------------------------------------------
// Servers

let serverSeq = 0;

// Defaults that keep the suite fast; a test's env wins.
export const FAST_ENV = {
  KONTOR_LOG_LEVEL: 'warn',
  KONTOR_HTTP_THREADS: '4',
  KONTOR_DATABASE_POOL_SIZE: '4',
  KONTOR_JOBS_POLL_MS: '50',
  KONTOR_HTTP_SHUTDOWN_GRACE_S: '5',
  KONTOR_HTTP_WEB_ROOT: '/nonexistent-kontor-web-root',
};

// Prepares a database for serving: migrate, admin, token. Returns the token.
export async function setupDatabase(db, { env = {} } = {}) {
  const e = { ...FAST_ENV, ...env };
  let r = await runKontor(['migrate', '--db', db.url], { env: e });
  if (r.code !== 0) throw new Error(`kontor migrate failed (${r.code}): ${r.stderr}`);
  r = await runKontor(['admin', 'create', '--email', ADMIN_EMAIL, '--password-stdin', '--db', db.url], {
    env: e,
    input: ADMIN_PASSWORD + '\n',
  });
  if (r.code !== 0) throw new Error(`kontor admin create failed (${r.code}): ${r.stderr}`);
  r = await runKontor(['token', 'create', '--email', ADMIN_EMAIL, '--name', 'test', '--db', db.url], { env: e });
  if (r.code !== 0) throw new Error(`kontor token create failed (${r.code}): ${r.stderr}`);
  const lines = r.stdout.split('\n').filter(Boolean);
  if (lines.length !== 1 || !lines[0].startsWith('kt_')) {
    throw new Error(`kontor token create printed ${JSON.stringify(r.stdout)}`);
  }
  return lines[0];
}

// Starts `kontor serve`.
//   env:      extra environment (KONTOR_* settings)
//   args:     extra serve arguments
//   db:       an existing database (from createDatabase) to serve; default: a new one
//   setup:    migrate + admin + token (default: true for a new database)
//   adminToken: the admin token of an existing database
//   listen:   false to leave --listen out (the config decides); then pass port
export async function startServer({ env = {}, args = [], db, setup, adminToken, listen = true, port, readyTimeoutMs = 30000 } = {}) {
  const ownDb = !db;
  db ??= createDatabase();
  setup ??= ownDb;
  if (setup) adminToken = await setupDatabase(db, { env });
  port ??= await freePort();
  const srv = new Server({ db, ownDb, env, args, listen, port, adminToken });
  await srv.start(readyTimeoutMs);
  return srv;
}

export class Server {
  constructor({ db, ownDb, env, args, listen, port, adminToken }) {
    this.db = db;
    this.ownDb = ownDb;
    this.env = env;
    this.args = args;
    this.listen = listen;
    this.port = port;
    this.adminToken = adminToken;
    this.proc = null;
    this.logFile = path.join(db.dir, `server-${process.pid}-${++serverSeq}.log`);
    this.exits = [];
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(readyTimeoutMs = 30000) {
    const args = ['serve', '--db', this.db.url, ...this.args];
    if (this.listen) args.push('--listen', `127.0.0.1:${this.port}`);
    const fd = fs.openSync(this.logFile, 'a');
    const proc = spawn(BIN, args, { env: baseEnv({ ...FAST_ENV, ...this.env }), stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    live.add(proc);
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      this.exits.push({ code, signal });
    });
    this.proc = proc;
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exited(proc)) {
        throw new Error(`kontor serve exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${this.log()}`);
      }
      try {
        const r = await fetch(this.url + '/readyz');
        await r.text();
        if (r.status === 200) return this;
      } catch {}
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`kontor serve was not ready within ${readyTimeoutMs} ms:\n${this.log()}`);
      }
      await sleep(50);
    }
  }

  log() {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  get running() {
    return this.proc && !exited(this.proc);
  }

  // SIGTERM; waits for the exit (SIGKILL after timeoutMs). Returns {code, signal}.
  async stop(timeoutMs = 15000) {
    if (!this.proc) return null;
    if (!exited(this.proc)) this.proc.kill('SIGTERM');
    let r = await waitExit(this.proc, timeoutMs);
    if (!r) {
      this.proc.kill('SIGKILL');
      r = await waitExit(this.proc, 5000);
      r = { ...r, timedOut: true };
    }
    return r;
  }

  async kill9() {
    if (!this.proc || exited(this.proc)) return null;
    this.proc.kill('SIGKILL');
    return waitExit(this.proc, 10000);
  }

  // Starts the server again on the same database and port.
  async restart(readyTimeoutMs = 30000) {
    if (this.running) await this.stop();
    await this.start(readyTimeoutMs);
    return this;
  }

  // Stops the server and drops its database (if startServer created it).
  // A log with a sanitizer report (or every log, with KONTOR_TEST_KEEP_LOGS=DIR)
  // is kept for debugging.
  async close() {
    try {
      if (this.running) await this.stop(10000);
    } finally {
      this.keepLog();
      if (this.ownDb) dropDatabase(this.db);
    }
  }

  // Copies the log out of the temp dir when it matters; returns the new path.
  keepLog(force = false) {
    const log = this.log();
    const dir = process.env.KONTOR_TEST_KEEP_LOGS || path.join(os.tmpdir(), 'kontor-test-logs');
    if (!(force || process.env.KONTOR_TEST_KEEP_LOGS || /Sanitizer|runtime error:/.test(log))) return null;
    fs.mkdirSync(dir, { recursive: true });
    const dest = path.join(dir, path.basename(this.logFile));
    fs.writeFileSync(dest, log);
    return dest;
  }

  dropDatabase() {
    dropDatabase(this.db);
  }

  api(method, urlPath, opts = {}) {
    const o = { ...opts };
    if (!('token' in o) && !o.cookie && !o.noAuth) o.token = this.adminToken;
    return request(this.url, method, urlPath, o);
  }

  // Creates a user with `role` (and a token for them); returns the details.
  async createUser(role, { name, password, scopes } = {}) {
    const tag = crypto.randomBytes(5).toString('hex');
    const email = `user-${tag}@test.local`;
    password ??= `password-${tag}`;
    const r = await this.api('POST', '/v1/users', { body: { email, name: name ?? `User ${tag}`, password, role } });
    if (r.status !== 201) throw new Error(`POST /v1/users → ${r.status} ${r.text}`);
    const body = { name: `token-${tag}`, user_id: r.json.id };
    if (scopes) body.scopes = scopes;
    const t = await this.api('POST', '/v1/tokens', { body });
    if (t.status !== 201) throw new Error(`POST /v1/tokens → ${t.status} ${t.text}`);
    return { id: r.json.id, email, password, user: r.json, token: t.json.token, tokenId: t.json.id };
  }

  // Creates a user with `role` and returns an API token of theirs.
  async makeUser(role) {
    return (await this.createUser(role)).token;
  }

  // Logs in; returns {status, cookie, csrf, res}.
  async login(email, password, { headers = {} } = {}) {
    const res = await request(this.url, 'POST', '/v1/auth/login', { body: { email, password }, headers });
    const setCookie = res.headers.get('set-cookie') || '';
    const m = /kontor_session=([^;]*)/.exec(setCookie);
    return {
      status: res.status,
      cookie: m ? `kontor_session=${m[1]}` : null,
      csrf: res.json?.csrf_token,
      setCookie,
      res,
    };
  }

  async metrics() {
    const r = await this.api('GET', '/metrics');
    if (r.status !== 200) throw new Error(`GET /metrics → ${r.status} ${r.text}`);
    return r.text;
  }
}

// Fails when the server log shows a sanitizer report or the process died badly.
export function assertCleanLog(srv) {
  const log = srv.log();
  for (const marker of ['AddressSanitizer', 'UndefinedBehaviorSanitizer', 'runtime error:', 'LeakSanitizer']) {
    if (log.includes(marker)) {
      const kept = srv.keepLog(true);
      throw new Error(`sanitizer report in the server log (kept at ${kept}):\n${log.slice(0, 4000)}`);
    }
  }
}

export function randomName(prefix = 'n') {
  return `${prefix}-${crypto.randomBytes(5).toString('hex')}`;
}

export { sleep };
