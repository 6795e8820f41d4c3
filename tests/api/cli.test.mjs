// The command line: version, migrate, admin create, token create, config,
// and configuration precedence (file < environment < flags).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DB_KIND, assertCleanLog, createDatabase, freePort, request, runKontor, startServer, tempDir } from './lib/harness.mjs';

const KEYS = [
  'listen', 'db', 'log_level', 'log_format', 'node_id',
  'http.threads', 'http.max_body_bytes', 'http.max_header_bytes', 'http.header_timeout_s', 'http.body_timeout_s',
  'http.idle_timeout_s', 'http.shutdown_grace_s', 'http.web_root', 'http.rate_limit_per_s',
  'database.pool_size', 'database.busy_timeout_ms',
  'auth.session_ttl_minutes', 'auth.login_max_failures', 'auth.login_window_minutes', 'auth.lockout_minutes', 'auth.token_cache_seconds',
  'jobs.workers', 'jobs.lease_seconds', 'jobs.poll_ms', 'jobs.enabled',
];

async function answers(port) {
  try {
    const r = await request(`http://127.0.0.1:${port}`, 'GET', '/healthz', { retries: 1 });
    return r.status === 200;
  } catch {
    return false;
  }
}

describe(`cli (${DB_KIND})`, { timeout: 180000 }, () => {
  let db;
  let dir;

  before(() => {
    db = createDatabase();
    dir = tempDir('kontor-cli-');
  });
  after(() => {
    db?.drop();
  });

  test('kontor version', async () => {
    const r = await runKontor(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kontor \d+\.\d+\.\d+\S*\n$/);
  });

  test('migrate twice is idempotent', async () => {
    const first = await runKontor(['migrate', '--db', db.url]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /schema version \d+/);
    const second = await runKontor(['migrate', '--db', db.url]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout);
    assert.equal(db.query('SELECT COUNT(*) FROM users')[0][0], '0');
  });

  test('admin create: password policy, required flags, duplicates', async () => {
    let r = await runKontor(['admin', 'create', '--email', 'short@test.local', '--password-stdin', '--db', db.url], { input: 'short\n' });
    assert.notEqual(r.code, 0, 'a short password fails');
    assert.match(r.stderr, /password/i);
    assert.match(r.stderr, /at least 10 characters/);
    assert.equal(r.stdout, '');
    assert.equal(db.query("SELECT COUNT(*) FROM users WHERE email = 'short@test.local'")[0][0], '0');

    r = await runKontor(['admin', 'create', '--email', 'same@test.local', '--password-stdin', '--db', db.url], { input: 'aaaaaaaaaaaa\n' });
    assert.notEqual(r.code, 0, 'one repeated character fails');
    assert.match(r.stderr, /password/i);

    r = await runKontor(['admin', 'create', '--email', 'nostdin@test.local', '--db', db.url]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--password-stdin/);

    r = await runKontor(['admin', 'create', '--email', 'not-an-email', '--password-stdin', '--db', db.url], { input: 'good-password-123\n' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /email/);

    r = await runKontor(['admin', 'create', '--email', 'cli-admin@test.local', '--name', 'CLI Admin', '--password-stdin', '--db', db.url], {
      input: 'good-password-123\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cli-admin@test\.local/);
    assert.ok(!r.stdout.includes('good-password-123'), 'the password is not echoed');

    r = await runKontor(['admin', 'create', '--email', 'cli-admin@test.local', '--password-stdin', '--db', db.url], { input: 'good-password-123\n' });
    assert.notEqual(r.code, 0, 'a duplicate admin fails');
    assert.match(r.stderr, /exists/);
  });

  test('token create prints exactly one line kt_… on stdout', async () => {
    const r = await runKontor(['token', 'create', '--email', 'cli-admin@test.local', '--name', 'cli', '--db', db.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kt_[A-Za-z0-9_-]{20,}\n$/, `stdout ${JSON.stringify(r.stdout)}`);
    const scoped = await runKontor(['token', 'create', '--email', 'cli-admin@test.local', '--name', 'cli-scoped', '--scopes', 'customers:read', '--expires', '7', '--db', db.url]);
    assert.equal(scoped.code, 0, scoped.stderr);
    assert.match(scoped.stdout, /^kt_[A-Za-z0-9_-]{20,}\n$/);
    const bad = await runKontor(['token', 'create', '--email', 'nobody@test.local', '--name', 'x', '--db', db.url]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /nobody@test\.local/);
    assert.equal(bad.stdout, '');
    const badScope = await runKontor(['token', 'create', '--email', 'cli-admin@test.local', '--name', 'x', '--scopes', 'bogus', '--db', db.url]);
    assert.notEqual(badScope.code, 0);
    assert.equal(badScope.stdout, '');
    fs.writeFileSync(path.join(dir, 'token'), r.stdout.trim());
  });

  test('configuration: the TOML file sets listen, KONTOR_LISTEN overrides it, --listen overrides both', async () => {
    const token = fs.readFileSync(path.join(dir, 'token'), 'utf8');
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const file = path.join(dir, 'kontor.toml');
    fs.writeFileSync(file, `# test configuration\nlisten = "127.0.0.1:${p1}"\nlog_level = "warn"\n\n[http]\nthreads = 2\n\n[jobs]\nworkers = 1\n`);

    // File only.
    let s = await startServer({ db, adminToken: token, listen: false, port: p1, args: ['--config', file] });
    try {
      const me = await s.api('GET', '/v1/me');
      assert.equal(me.status, 200, 'the CLI-made token works');
      assert.equal(me.json.email, 'cli-admin@test.local');
      const st = await s.stop();
      assert.deepEqual(st, { code: 0, signal: null });
      assertCleanLog(s);
    } finally {
      await s.close();
    }

    // The environment beats the file.
    s = await startServer({ db, adminToken: token, listen: false, port: p2, args: ['--config', file], env: { KONTOR_LISTEN: `127.0.0.1:${p2}` } });
    try {
      assert.equal(await answers(p2), true);
      assert.equal(await answers(p1), false, 'not on the file port');
    } finally {
      await s.close();
    }

    // A flag beats both.
    s = await startServer({ db, adminToken: token, listen: true, port: p3, args: ['--config', file], env: { KONTOR_LISTEN: `127.0.0.1:${p2}` } });
    try {
      assert.equal(await answers(p3), true);
      assert.equal(await answers(p2), false, 'not on the environment port');
      assert.equal(await answers(p1), false, 'not on the file port');
    } finally {
      await s.close();
    }
  });

  test('an unknown key in the TOML file fails, naming it', async () => {
    const file = path.join(dir, 'bad.toml');
    fs.writeFileSync(file, 'bogus_key = 1\nlisten = "127.0.0.1:1"\n[http]\nthreadz = 4\n');
    for (const args of [['migrate', '--config', file, '--db', db.url], ['serve', '--config', file, '--db', db.url]]) {
      const r = await runKontor(args, { timeoutMs: 20000 });
      assert.notEqual(r.code, 0, `${args[0]} must fail`);
      assert.match(r.stderr, /bogus_key/);
      assert.match(r.stderr, /http\.threadz/);
    }
    // A bad value, from a file or the environment, is named too.
    fs.writeFileSync(file, '[http]\nthreads = "many"\n');
    let r = await runKontor(['migrate', '--config', file, '--db', db.url]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /http\.threads/);
    r = await runKontor(['migrate', '--db', db.url], { env: { KONTOR_JOBS_POLL_MS: 'fast' } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /jobs\.poll_ms/);
    // Malformed TOML.
    fs.writeFileSync(file, 'listen = \n');
    r = await runKontor(['migrate', '--config', file, '--db', db.url]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /bad\.toml/);
    // A missing file.
    r = await runKontor(['migrate', '--config', path.join(dir, 'nope.toml'), '--db', db.url]);
    assert.notEqual(r.code, 0);
  });

  test('kontor config lists every key with its environment variable', async () => {
    const r = await runKontor(['config']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    const byKey = {};
    for (const l of lines) {
      const parts = l.split('\t');
      assert.equal(parts.length, 3, `key, variable, description: ${JSON.stringify(l)}`);
      byKey[parts[0]] = parts;
    }
    // The README's configuration table documents every key the binary knows.
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const k of Object.keys(byKey)) {
      assert.ok(readme.includes('| `' + k + '` | `' + byKey[k][1] + '` |'), `README's configuration table lists ${k}`);
    }
    for (const k of KEYS) {
      assert.ok(byKey[k], `kontor config lists ${k}`);
      assert.equal(byKey[k][1], 'KONTOR_' + k.toUpperCase().replaceAll('.', '_'), `environment variable of ${k}`);
      assert.ok(byKey[k][2].length > 0, `${k} is described`);
    }
  });

  test('usage errors exit non-zero', async () => {
    let r = await runKontor([]);
    assert.notEqual(r.code, 0);
    r = await runKontor(['frobnicate']);
    assert.notEqual(r.code, 0);
    r = await runKontor(['serve', '--db', 'mysql://nope']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /db/);
  });
});
