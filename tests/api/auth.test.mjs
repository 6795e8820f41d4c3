// Authentication and authorization: sessions and CSRF, tokens and scopes,
// users, roles and per-user overrides.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ADMIN_EMAIL, ADMIN_PASSWORD, DB_KIND, assertCleanLog, randomName, startServer } from './lib/harness.mjs';

const COMPONENTS = ['customers', 'messaging', 'editions', 'documents', 'portal', 'payments', 'analytics', 'admin'];

// docs/api.md, "Built-in roles".
const BUILTIN = {
  admin: 'write write write write write write write write',
  editor: 'read read write write none none read none',
  marketing: 'write write read read none none read none',
  'payments-operator': 'read none none none none write read none',
  analyst: 'read read read read read read write none',
  auditor: 'read read read read read read read read',
};

function perms(spec) {
  const levels = spec.split(' ');
  return Object.fromEntries(COMPONENTS.map((c, i) => [c, levels[i]]));
}

let srv;

describe(`auth (${DB_KIND})`, { timeout: 180000 }, () => {
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.close();
  });

  // First, while the seeded admin is the only admin.
  test('the last active admin cannot be disabled or demoted', async () => {
    // Someone with admin:write who is not an admin by role.
    const ops = await srv.createUser('auditor');
    let r = await srv.api('PATCH', `/v1/users/${ops.id}`, { body: { overrides: { admin: 'write' } } });
    assert.equal(r.status, 200, r.text);
    const me = await srv.api('GET', '/v1/me');
    const adminId = me.json.id;

    r = await srv.api('PATCH', `/v1/users/${adminId}`, { token: ops.token, body: { status: 'disabled' } });
    assert.equal(r.status, 409, `disable the last admin: ${r.text}`);
    assert.match(r.headers.get('content-type'), /problem\+json/);
    r = await srv.api('PATCH', `/v1/users/${adminId}`, { token: ops.token, body: { role: 'editor' } });
    assert.equal(r.status, 409, `demote the last admin: ${r.text}`);
    r = await srv.api('GET', `/v1/users/${adminId}`);
    assert.equal(r.json.role, 'admin');
    assert.equal(r.json.status, 'active');
    assert.equal((await srv.api('GET', '/v1/me')).status, 200, 'the admin token still works');

    // With a second admin, the second one can be demoted again (the first stays).
    const second = await srv.createUser('admin');
    r = await srv.api('PATCH', `/v1/users/${second.id}`, { token: ops.token, body: { role: 'editor' } });
    assert.equal(r.status, 200, r.text);
    // A disabled admin does not count as the other active admin.
    r = await srv.api('PATCH', `/v1/users/${second.id}`, { body: { role: 'admin', status: 'disabled' } });
    assert.equal(r.status, 200, r.text);
    r = await srv.api('PATCH', `/v1/users/${adminId}`, { token: ops.token, body: { status: 'disabled' } });
    assert.equal(r.status, 409, `only a disabled second admin exists: ${r.text}`);
    // Nobody disables themselves.
    r = await srv.api('PATCH', `/v1/users/${adminId}`, { body: { status: 'disabled' } });
    assert.ok(r.status === 409 || r.status === 422, `disable yourself: ${r.status}`);
  });

  test('built-in roles match the documented table', async () => {
    const r = await srv.api('GET', '/v1/roles');
    assert.equal(r.status, 200);
    for (const [name, spec] of Object.entries(BUILTIN)) {
      const role = r.json.items.find((x) => x.name === name);
      assert.ok(role, `role ${name} listed`);
      assert.equal(role.builtin, true);
      assert.deepEqual(role.permissions, perms(spec), `permissions of ${name}`);
    }
  });

  test('login sets an HttpOnly, SameSite=Strict, Path=/ session cookie', async () => {
    const l = await srv.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal(l.status, 200, l.res.text);
    assert.ok(l.cookie, `Set-Cookie: ${l.setCookie}`);
    const attrs = l.setCookie.split(';').map((s) => s.trim().toLowerCase());
    assert.ok(attrs.includes('httponly'), l.setCookie);
    assert.ok(attrs.includes('samesite=strict'), l.setCookie);
    assert.ok(attrs.includes('path=/'), l.setCookie);
    assert.ok(l.cookie.length > 'kontor_session='.length + 20, 'the session secret is long');
    assert.equal(typeof l.csrf, 'string');
    assert.ok(l.csrf.length >= 16);
    assert.equal(l.res.json.user.email, ADMIN_EMAIL);
    assert.ok(l.res.json.user.last_login_at, 'last_login_at is set');
    assert.equal(l.res.json.user.password_hash, undefined);
  });

  test('GET /v1/me: csrf_token for sessions, token_id for tokens', async () => {
    const l = await srv.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    let r = await srv.api('GET', '/v1/me', { cookie: l.cookie });
    assert.equal(r.status, 200);
    assert.equal(r.json.auth, 'session');
    assert.equal(r.json.csrf_token, l.csrf);
    assert.equal(r.json.email, ADMIN_EMAIL);
    assert.deepEqual(r.json.permissions, perms(BUILTIN.admin));
    r = await srv.api('GET', '/v1/me');
    assert.equal(r.status, 200);
    assert.equal(r.json.auth, 'token');
    assert.equal(typeof r.json.token_id, 'string');
    assert.equal(r.json.csrf_token, undefined);
  });

  test('session mutations need X-CSRF-Token', async () => {
    const l = await srv.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const name = randomName('csrf');
    const body = { name, permissions: {} };
    let r = await srv.api('POST', '/v1/roles', { cookie: l.cookie, body });
    assert.equal(r.status, 403, `no CSRF token: ${r.text}`);
    assert.match(r.headers.get('content-type'), /problem\+json/);
    r = await srv.api('POST', '/v1/roles', { cookie: l.cookie, body, headers: { 'x-csrf-token': 'wrong-token-value-xxxxxxxxxxxxx' } });
    assert.equal(r.status, 403, `wrong CSRF token: ${r.text}`);
    // Nothing was created.
    assert.equal((await srv.api('GET', `/v1/roles/${name}`)).status, 404);
    for (const [method, path, b] of [
      ['PATCH', '/v1/me', { name: 'No Csrf' }],
      ['DELETE', `/v1/roles/${name}`, undefined],
      ['POST', '/v1/auth/logout', undefined],
    ]) {
      r = await srv.api(method, path, { cookie: l.cookie, body: b });
      assert.equal(r.status, 403, `${method} ${path} without CSRF: ${r.status} ${r.text}`);
    }
    // Reads need none.
    assert.equal((await srv.api('GET', '/v1/users', { cookie: l.cookie })).status, 200);
    // With it, it works.
    r = await srv.api('POST', '/v1/roles', { cookie: l.cookie, body, headers: { 'x-csrf-token': l.csrf } });
    assert.equal(r.status, 201, r.text);
    r = await srv.api('PATCH', '/v1/me', { cookie: l.cookie, body: { preferences: { theme: 'dark' } }, headers: { 'x-csrf-token': l.csrf } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.preferences, { theme: 'dark' });
    // The session is still alive (logout was refused above).
    assert.equal((await srv.api('GET', '/v1/me', { cookie: l.cookie })).status, 200);
  });

  test('logout ends the session', async () => {
    const l = await srv.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal((await srv.api('GET', '/v1/me', { cookie: l.cookie })).status, 200);
    const r = await srv.api('POST', '/v1/auth/logout', { cookie: l.cookie, headers: { 'x-csrf-token': l.csrf } });
    assert.equal(r.status, 204, r.text);
    const cleared = r.headers.get('set-cookie') || '';
    assert.match(cleared, /kontor_session=;/, 'the cookie is cleared');
    assert.match(cleared, /Max-Age=0/i);
    const after = await srv.api('GET', '/v1/me', { cookie: l.cookie });
    assert.equal(after.status, 401);
    assert.ok(after.headers.get('www-authenticate'));
    // Another session of the same user is unaffected.
    const other = await srv.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal((await srv.api('GET', '/v1/me', { cookie: other.cookie })).status, 200);
  });

  test('wrong password and unknown email get the same 401', async () => {
    const u = await srv.createUser('editor');
    const wrong = await srv.login(u.email, 'not-the-password');
    const unknown = await srv.login('nobody-here@test.local', 'not-the-password');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.res.json.title, unknown.res.json.title);
    assert.equal(wrong.res.json.detail, unknown.res.json.detail);
    assert.equal(wrong.res.json.type, unknown.res.json.type);
    assert.equal(wrong.cookie, null);
    // A disabled user with the right password gets the same answer.
    assert.equal((await srv.api('PATCH', `/v1/users/${u.id}`, { body: { status: 'disabled' } })).status, 200);
    const disabled = await srv.login(u.email, u.password);
    assert.equal(disabled.status, 401);
    assert.equal(disabled.res.json.detail, unknown.res.json.detail);
  });

  test('a revoked token fails at once', async () => {
    const t = await srv.api('POST', '/v1/tokens', { body: { name: 'revoke-me' } });
    assert.equal(t.status, 201, t.text);
    assert.match(t.json.token, /^kt_/);
    assert.equal(t.json.status, 'active');
    assert.ok(t.json.prefix.startsWith('kt_') && t.json.token.startsWith(t.json.prefix), `prefix ${t.json.prefix}`);
    assert.ok(t.json.prefix.length < t.json.token.length / 2, 'the prefix is short');
    assert.equal((await srv.api('GET', '/v1/users', { token: t.json.token })).status, 200);
    let r = await srv.api('DELETE', `/v1/tokens/${t.json.id}`);
    assert.equal(r.status, 204);
    r = await srv.api('GET', '/v1/users', { token: t.json.token });
    assert.equal(r.status, 401, 'revoked token rejected immediately');
    assert.equal((await srv.api('DELETE', `/v1/tokens/${t.json.id}`)).status, 204, 'revoking twice is fine');
    r = await srv.api('GET', '/v1/tokens');
    const listed = r.json.items.find((x) => x.id === t.json.id);
    assert.equal(listed.status, 'revoked');
    assert.ok(listed.revoked_at);
    assert.equal(listed.token, undefined, 'the secret is never listed');
    r = await srv.api('GET', '/v1/tokens?include_revoked=false');
    assert.ok(!r.json.items.some((x) => x.id === t.json.id));
  });

  test('disabling a user ends their token and session', async () => {
    const u = await srv.createUser('editor');
    const l = await srv.login(u.email, u.password);
    assert.equal(l.status, 200);
    assert.equal((await srv.api('GET', '/v1/me', { token: u.token })).status, 200);
    assert.equal((await srv.api('GET', '/v1/me', { cookie: l.cookie })).status, 200);
    const r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { status: 'disabled' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'disabled');
    assert.equal((await srv.api('GET', '/v1/me', { token: u.token })).status, 401, 'token after disable');
    assert.equal((await srv.api('GET', '/v1/me', { cookie: l.cookie })).status, 401, 'session after disable');
    // Re-enabling does not resurrect the session.
    assert.equal((await srv.api('PATCH', `/v1/users/${u.id}`, { body: { status: 'active' } })).status, 200);
    assert.equal((await srv.api('GET', '/v1/me', { cookie: l.cookie })).status, 401, 'old session after re-enable');
    assert.equal((await srv.api('GET', '/v1/me', { token: u.token })).status, 200, 'token after re-enable');
    // No new tokens for disabled users.
    await srv.api('PATCH', `/v1/users/${u.id}`, { body: { status: 'disabled' } });
    const t = await srv.api('POST', '/v1/tokens', { body: { name: 'x', user_id: u.id } });
    assert.equal(t.status, 422, t.text);
  });

  test("changing a user's password ends their sessions", async () => {
    const u = await srv.createUser('editor');
    const l1 = await srv.login(u.email, u.password);
    const l2 = await srv.login(u.email, u.password);
    assert.equal((await srv.api('GET', '/v1/me', { cookie: l1.cookie })).status, 200);
    const r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { password: 'a-brand-new-password' } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await srv.api('GET', '/v1/me', { cookie: l1.cookie })).status, 401);
    assert.equal((await srv.api('GET', '/v1/me', { cookie: l2.cookie })).status, 401);
    assert.equal((await srv.login(u.email, u.password)).status, 401, 'old password');
    assert.equal((await srv.login(u.email, 'a-brand-new-password')).status, 200, 'new password');
    // Too short a password is refused.
    const short = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { password: 'short' } });
    assert.equal(short.status, 422);
    assert.ok(short.json.errors.some((e) => e.field === 'password'), short.text);
  });

  test('per-user overrides: allow, deny, restrict to read', async () => {
    // auditor: admin:read, payments:read.
    const u = await srv.createUser('auditor');
    const newRole = () => ({ name: randomName('ov'), permissions: {} });
    assert.equal((await srv.api('GET', '/v1/users', { token: u.token })).status, 200);
    assert.equal((await srv.api('POST', '/v1/roles', { token: u.token, body: newRole() })).status, 403);

    // Allow.
    let r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { overrides: { admin: 'write' } } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.overrides, { admin: 'write' });
    assert.equal(r.json.permissions.admin, 'write');
    assert.equal((await srv.api('POST', '/v1/roles', { token: u.token, body: newRole() })).status, 201, 'allowed by override');

    // Deny payments, drop the admin override.
    r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { overrides: { payments: 'none', admin: null } } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.overrides, { payments: 'none' });
    const me = await srv.api('GET', '/v1/me', { token: u.token });
    assert.equal(me.json.permissions.payments, 'none');
    assert.equal(me.json.permissions.admin, 'read');
    assert.equal(me.json.permissions.customers, 'read');
    assert.equal((await srv.api('POST', '/v1/roles', { token: u.token, body: newRole() })).status, 403, 'override removed');

    // Restrict an admin to read.
    const a = await srv.createUser('admin');
    assert.equal((await srv.api('POST', '/v1/roles', { token: a.token, body: newRole() })).status, 201);
    r = await srv.api('PATCH', `/v1/users/${a.id}`, { body: { overrides: { admin: 'read' } } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await srv.api('GET', '/v1/users', { token: a.token })).status, 200);
    assert.equal((await srv.api('POST', '/v1/roles', { token: a.token, body: newRole() })).status, 403, 'restricted to read');
    assert.equal((await srv.api('GET', '/v1/me', { token: a.token })).json.permissions.admin, 'read');
    // And deny entirely.
    r = await srv.api('PATCH', `/v1/users/${a.id}`, { body: { overrides: { admin: 'none' } } });
    assert.equal(r.status, 200);
    assert.equal((await srv.api('GET', '/v1/users', { token: a.token })).status, 403, 'denied');
    r = await srv.api('PATCH', `/v1/users/${a.id}`, { body: { overrides: { admin: null } } });
    assert.deepEqual(r.json.overrides, {});
    assert.equal((await srv.api('POST', '/v1/roles', { token: a.token, body: newRole() })).status, 201, 'back to the role');

    // Bad overrides.
    r = await srv.api('PATCH', `/v1/users/${a.id}`, { body: { overrides: { admin: 'super', spaceships: 'read' } } });
    assert.equal(r.status, 422);
    const f = r.json.errors.map((e) => e.field);
    assert.ok(f.includes('overrides.admin') && f.includes('overrides.spaceships'), r.text);
  });

  test('custom roles: create, use, replace, delete', async () => {
    const name = randomName('support');
    let r = await srv.api('POST', '/v1/roles', {
      body: { name, description: 'Support desk', permissions: { customers: 'write', admin: 'read' } },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, name);
    assert.equal(r.json.builtin, false);
    assert.deepEqual(r.json.permissions, perms('write none none none none none none read'), 'unnamed components get none');
    assert.equal((await srv.api('POST', '/v1/roles', { body: { name, permissions: {} } })).status, 409, 'duplicate');
    r = await srv.api('POST', '/v1/roles', { body: { name: 'Bad Name!', permissions: {} } });
    assert.equal(r.status, 422);
    assert.ok(r.json.errors.some((e) => e.field === 'name'));

    const u = await srv.createUser(name);
    assert.equal(u.user.role, name);
    let me = await srv.api('GET', '/v1/me', { token: u.token });
    assert.deepEqual(me.json.permissions, perms('write none none none none none none read'));
    assert.equal((await srv.api('GET', '/v1/users', { token: u.token })).status, 200);
    assert.equal((await srv.api('POST', '/v1/roles', { token: u.token, body: { name: randomName('x'), permissions: {} } })).status, 403);
    r = await srv.api('GET', `/v1/roles/${name}`);
    assert.equal(r.json.users, 1);

    // PUT replaces the permissions; the user's token follows.
    r = await srv.api('PUT', `/v1/roles/${name}`, { body: { permissions: { admin: 'write' } } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.permissions, perms('none none none none none none none write'));
    assert.equal(r.json.description, 'Support desk', 'description kept when not given');
    me = await srv.api('GET', '/v1/me', { token: u.token });
    assert.equal(me.json.permissions.customers, 'none');
    assert.equal((await srv.api('POST', '/v1/roles', { token: u.token, body: { name: randomName('x'), permissions: {} } })).status, 201);

    // Delete: refused while assigned, then allowed.
    r = await srv.api('DELETE', `/v1/roles/${name}`);
    assert.equal(r.status, 409, r.text);
    assert.equal((await srv.api('PATCH', `/v1/users/${u.id}`, { body: { role: 'editor' } })).status, 200);
    r = await srv.api('DELETE', `/v1/roles/${name}`);
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '');
    assert.equal((await srv.api('GET', `/v1/roles/${name}`)).status, 404);
    assert.equal((await srv.api('DELETE', `/v1/roles/${name}`)).status, 404);
    // An unknown role cannot be assigned.
    r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { role: name } });
    assert.equal(r.status, 422);
  });

  test('built-in roles cannot be changed or deleted', async () => {
    for (const role of Object.keys(BUILTIN)) {
      let r = await srv.api('PUT', `/v1/roles/${role}`, { body: { permissions: { admin: 'write' } } });
      assert.equal(r.status, 409, `PUT ${role}: ${r.text}`);
      r = await srv.api('DELETE', `/v1/roles/${role}`);
      assert.equal(r.status, 409, `DELETE ${role}: ${r.text}`);
    }
    const r = await srv.api('GET', '/v1/roles/editor');
    assert.deepEqual(r.json.permissions, perms(BUILTIN.editor));
    assert.equal((await srv.api('POST', '/v1/roles', { body: { name: 'editor', permissions: {} } })).status, 409);
  });

  test('token scopes narrow permissions', async () => {
    let t = await srv.api('POST', '/v1/tokens', { body: { name: 'scoped', scopes: ['customers:read'] } });
    assert.equal(t.status, 201, t.text);
    assert.deepEqual(t.json.scopes, ['customers:read']);
    let r = await srv.api('GET', '/v1/users', { token: t.json.token });
    assert.equal(r.status, 403, 'customers:read token on an admin route');
    r = await srv.api('GET', '/metrics', { token: t.json.token });
    assert.equal(r.status, 403);
    r = await srv.api('GET', '/v1/me', { token: t.json.token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.permissions, perms('read none none none none none none none'));

    t = await srv.api('POST', '/v1/tokens', { body: { name: 'admin-read', scopes: ['admin:read', 'payments:write'] } });
    assert.equal(t.status, 201);
    assert.equal((await srv.api('GET', '/v1/users', { token: t.json.token })).status, 200);
    assert.equal((await srv.api('POST', '/v1/roles', { token: t.json.token, body: { name: randomName('s'), permissions: {} } })).status, 403);

    // Scopes never widen: an editor's admin:write token still has no admin.
    const u = await srv.createUser('editor');
    t = await srv.api('POST', '/v1/tokens', { body: { name: 'wide', user_id: u.id, scopes: ['admin:write', 'editions:write'] } });
    assert.equal(t.status, 201, t.text);
    assert.equal(t.json.user_id, u.id);
    r = await srv.api('GET', '/v1/me', { token: t.json.token });
    assert.deepEqual(r.json.permissions, perms('none none write none none none none none'));
    assert.equal((await srv.api('GET', '/v1/users', { token: t.json.token })).status, 403);

    // Bad scopes.
    r = await srv.api('POST', '/v1/tokens', { body: { name: 'bad', scopes: ['bogus'] } });
    assert.equal(r.status, 422);
    assert.ok(r.json.errors.some((e) => e.field === 'scopes[0]'), r.text);
    r = await srv.api('POST', '/v1/tokens', { body: { name: 'bad', scopes: ['customers:none'] } });
    assert.equal(r.status, 422);
    r = await srv.api('POST', '/v1/tokens', { body: { name: 'bad', scopes: [] } });
    assert.equal(r.status, 422);
    assert.ok(r.json.errors.some((e) => e.field === 'scopes'), r.text);
    r = await srv.api('POST', '/v1/tokens', { body: { name: 'bad', expires_in_days: 0 } });
    assert.equal(r.status, 422);
    r = await srv.api('POST', '/v1/tokens', { body: { name: 'bad', user_id: '999999' } });
    assert.equal(r.status, 422);
  });

  test('user list: search, status filter, paging', async () => {
    const tag = randomName('list');
    const made = [];
    for (let i = 0; i < 5; ++i) {
      const r = await srv.api('POST', '/v1/users', { body: { email: `${tag}-${i}@test.local`, name: `List ${tag} ${i}`, password: 'list-user-password', role: 'analyst' } });
      assert.equal(r.status, 201, r.text);
      made.push(r.json.id);
    }
    await srv.api('PATCH', `/v1/users/${made[4]}`, { body: { status: 'disabled' } });
    let r = await srv.api('GET', `/v1/users?q=${tag}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.items.map((u) => u.id), made);
    assert.equal(r.json.next_cursor, null);
    r = await srv.api('GET', `/v1/users?q=${tag.toUpperCase()}&status=disabled`);
    assert.deepEqual(r.json.items.map((u) => u.id), [made[4]]);
    r = await srv.api('GET', `/v1/users?q=${tag}&status=active&limit=2`);
    const paged = [...r.json.items.map((u) => u.id)];
    while (r.json.next_cursor) {
      r = await srv.api('GET', `/v1/users?q=${tag}&status=active&limit=2&cursor=${r.json.next_cursor}`);
      paged.push(...r.json.items.map((u) => u.id));
    }
    assert.deepEqual(paged, made.slice(0, 4));
    const u = (await srv.api('GET', `/v1/users?q=${tag}-0`)).json.items[0];
    for (const k of ['id', 'email', 'name', 'status', 'role', 'overrides', 'permissions', 'created_at', 'updated_at', 'last_login_at', 'version']) {
      assert.ok(k in u, `User has ${k}`);
    }
    assert.equal(u.password, undefined);
    assert.equal(u.password_hash, undefined);
    assert.equal((await srv.api('GET', '/v1/users?status=gone')).status, 400);
  });

  test('token last_used_at is set after use', async () => {
    const t = await srv.api('POST', '/v1/tokens', { body: { name: 'usage', expires_in_days: 30 } });
    assert.equal(t.status, 201);
    assert.equal(t.json.last_used_at, null);
    assert.ok(t.json.expires_at, 'expires_at set');
    const expires = Date.parse(t.json.expires_at);
    assert.ok(Math.abs(expires - (Date.now() + 30 * 86400000)) < 3600000, `expires_at ${t.json.expires_at}`);
    let r = await srv.api('GET', '/v1/tokens');
    assert.equal(r.json.items.find((x) => x.id === t.json.id).last_used_at, null);
    const before = Date.now();
    assert.equal((await srv.api('GET', '/v1/me', { token: t.json.token })).status, 200);
    r = await srv.api('GET', '/v1/tokens');
    const used = r.json.items.find((x) => x.id === t.json.id).last_used_at;
    assert.ok(used, 'last_used_at set after use');
    assert.ok(Math.abs(Date.parse(used) - before) < 60000, `last_used_at ${used}`);
  });

  test('If-Match with a stale version → 409; ETag on GET', async () => {
    const u = await srv.createUser('editor');
    let r = await srv.api('GET', `/v1/users/${u.id}`);
    assert.equal(r.status, 200);
    const etag = r.headers.get('etag');
    assert.match(etag || '', /^(W\/)?"[^"]+"$/, `ETag ${etag}`);
    assert.equal(etag, `"${r.json.version}"`);
    r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { name: 'First' }, headers: { 'if-match': etag } });
    assert.equal(r.status, 200, r.text);
    const etag2 = r.headers.get('etag');
    assert.ok(etag2 && etag2 !== etag, 'ETag changes');
    r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { name: 'Second' }, headers: { 'if-match': etag } });
    assert.equal(r.status, 409, `stale If-Match: ${r.text}`);
    r = await srv.api('GET', `/v1/users/${u.id}`);
    assert.equal(r.json.name, 'First', 'the stale write did not land');
    assert.equal(r.headers.get('etag'), etag2);
    r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { name: 'Third' }, headers: { 'if-match': etag2 } });
    assert.equal(r.status, 200);
    r = await srv.api('PATCH', `/v1/users/${u.id}`, { body: { name: 'Fourth' } });
    assert.equal(r.status, 200, 'no If-Match: unconditional');
  });

  test('server exits cleanly on SIGTERM', async () => {
    const r = await srv.stop();
    assert.deepEqual(r, { code: 0, signal: null }, srv.log());
    assertCleanLog(srv);
  });
});
