// One protocol server in several worker processes sharing one port (node:cluster),
// for benchmarks: over HTTP/1.1 every request costs a read and a write system
// call, and on a small virtual machine those, not the JavaScript, bound what one
// process can answer.
//
// The primary makes the identity every worker must share (the service
// account's key and the access-token secret, the APNs key and ids, the Twilio
// credentials) and hands it to the workers. Workers answer the protocol;
// control requests reaching any worker go to the primary, which asks every
// worker and merges the answers: statistics are summed (a target that reached
// two workers counts as a duplicate), fault settings and other changes are
// applied to every worker.
//
// With workers, `next` and `nextFor` fault queues apply per worker (each
// worker takes its own copy), and a Twilio message can be fetched only from the
// worker that created it.
import cluster from 'node:cluster';
import crypto from 'node:crypto';

import * as apns from './apns.mjs';
import * as fcm from './fcm.mjs';
import { createServiceAccount, loadServiceAccount, writeServiceAccount } from './oauth.mjs';
import * as sms from './sms.mjs';

const MODULES = { fcm, apns, sms };
const START = { fcm: fcm.startFcm, apns: apns.startApns, sms: sms.startSms };
const ENV = 'KONTOR_PROTOCOL_SERVER_WORKER';

export const isWorker = () => cluster.isWorker && process.env[ENV] !== undefined;

// Primary: forks the workers and returns { info, stats(), close() }. Files
// (service account, .p8 key) are written here, once the port is known.
export async function startCluster(kind, opts, workers) {
  const shared = { ...opts };
  const writeSa = shared.writeServiceAccount;
  const writeKey = shared.writeKey;
  delete shared.writeServiceAccount;
  delete shared.writeKey;
  let account;
  if (kind === 'fcm') {
    const existing = opts.serviceAccount ? loadServiceAccount(opts.serviceAccount) : {};
    account = createServiceAccount({ projectId: existing.project_id || opts.projectId || 'kontor-test', clientEmail: existing.client_email, privateKeyId: existing.private_key_id, privateKey: existing.private_key, tokenUri: '' });
    shared.serviceAccount = account.json;
    shared.tokenSecret = opts.tokenSecret || crypto.randomBytes(32).toString('hex');
  } else if (kind === 'apns') {
    let key = opts.key;
    if (!key) key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    Object.assign(shared, { key, teamId: opts.teamId || randomId(), keyId: opts.keyId || randomId() });
  } else if (kind === 'sms') {
    shared.accountSid = opts.accountSid || `AC${crypto.randomBytes(16).toString('hex')}`;
    shared.authToken = opts.authToken || crypto.randomBytes(16).toString('hex');
    shared.gatewayToken = opts.gatewayToken || `gw_${crypto.randomBytes(16).toString('hex')}`;
  }

  // Workers listening on the same address and port share the primary's
  // listening socket; with port 0 they all get the same random port.
  const all = await Promise.all(Array.from({ length: workers }, () => fork(kind, shared)));
  const first = all[0];
  if (all.some((w) => w.info.port !== first.info.port)) throw new Error('workers ended up on different ports');

  const info = { ...first.info, workers };
  if (kind === 'fcm' && writeSa) info.serviceAccountPath = writeServiceAccount(writeSa, { ...account.json, token_uri: info.tokenUri });
  if (kind === 'apns' && writeKey) {
    const fs = await import('node:fs');
    fs.writeFileSync(writeKey, shared.key.includes('-----BEGIN') ? shared.key : fs.readFileSync(shared.key, 'utf8'), { mode: 0o600 });
    info.keyPath = writeKey;
  }

  let seq = 0;
  const pending = new Map();
  const ask = (w, method, path, query, body) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      w.worker.send({ type: 'local', id, method, path, query, body });
    });
  const askAll = (method, path, query, body) => Promise.all(all.map((w) => ask(w, method, path, query, body)));
  const flag = (q, name) => (q.has(name) ? q.get(name) !== '0' && q.get(name) !== 'false' : undefined);
  const statsOptions = { keepMessages: Boolean(opts.keepMessages), maxMessages: opts.maxMessages ?? 10_000 };

  async function mergedStats(query = '') {
    const q = new URLSearchParams(query);
    if (q.has('target')) {
      const each = await askAll('GET', '/stats', query, {});
      return { target: q.get('target'), accepted: each.reduce((n, r) => n + r.accepted, 0) };
    }
    const raws = await askAll('GET', '/raw', '', {});
    return MODULES[kind].mergeStats(raws, statsOptions, { perTarget: flag(q, 'perTarget'), messages: flag(q, 'messages') ?? true });
  }

  // A control request one worker received.
  async function coordinate(method, path, query, body) {
    const route = `${method} ${path}`;
    if (route === 'GET /stats') return mergedStats(query);
    if (route === 'GET /info') return info;
    if (route === 'GET /faults') return ask(all[0], method, path, query, body);
    if (route === 'GET /callbacks') {
      const each = await askAll(method, path, query, body);
      return { pending: each.reduce((n, r) => n + r.pending, 0), callbacks: each.flatMap((r) => r.callbacks) };
    }
    if (route === 'POST /revoke-tokens') {
      const each = await askAll(method, path, query, body);
      return { revoked: each.reduce((n, r) => n + r.revoked, 0) };
    }
    // Changes (faults, reset, unregister, outcomes) go to every worker.
    const each = await askAll(method, path, query, body);
    return each[0];
  }

  for (const w of all) {
    w.worker.on('message', async (m) => {
      if (m.type === 'local-result') {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (m.error) p.reject(Object.assign(new Error(m.error), { status: m.status }));
        else p.resolve(m.result);
      } else if (m.type === 'control') {
        try {
          w.worker.send({ type: 'control-result', id: m.id, result: await coordinate(m.method, m.path, m.query, m.body) });
        } catch (e) {
          w.worker.send({ type: 'control-result', id: m.id, error: e.message, status: e.status || 400 });
        }
      }
    });
  }

  let closing = false;
  for (const w of all) {
    w.worker.on('exit', (code, signal) => {
      if (closing) return;
      process.stderr.write(`${kind}: worker ${w.worker.process.pid} died (${signal || code}); stopping\n`);
      process.exit(1);
    });
  }

  return {
    info,
    stats: () => mergedStats(''),
    async close() {
      closing = true;
      await Promise.all(all.map((w) => new Promise((resolve) => {
        w.worker.once('exit', resolve);
        w.worker.kill('SIGTERM');
      })));
    },
  };
}

function fork(kind, opts) {
  // The V8 serializer: merging statistics sends every target a worker saw,
  // a million of them at the end of a benchmark; JSON is several times slower.
  cluster.setupPrimary({ serialization: 'advanced' });
  return new Promise((resolve, reject) => {
    const worker = cluster.fork({ [ENV]: JSON.stringify({ kind, opts }) });
    const onExit = (code) => reject(new Error(`a ${kind} worker exited (${code}) before it was ready`));
    worker.once('exit', onExit);
    worker.once('message', (m) => {
      worker.off('exit', onExit);
      if (m.type === 'ready') resolve({ worker, info: m.info });
      else reject(new Error(m.error || `a ${kind} worker failed to start`));
    });
  });
}

function randomId() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(crypto.randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
}

// Worker: serves until the primary goes away or sends SIGTERM.
export async function runWorker() {
  const { kind, opts } = JSON.parse(process.env[ENV]);
  let server;
  try {
    server = await START[kind](opts);
  } catch (e) {
    process.send({ type: 'failed', error: e.message });
    process.exit(1);
  }
  let seq = 0;
  const pending = new Map();
  server.setControlProxy((method, path, query, body) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      process.send({ type: 'control', id, method, path, query, body });
    }));
  process.on('message', async (m) => {
    if (m.type === 'local') {
      try {
        process.send({ type: 'local-result', id: m.id, result: await server.control(m.method, m.path, m.query, m.body) });
      } catch (e) {
        process.send({ type: 'local-result', id: m.id, error: e.message, status: e.status || 400 });
      }
    } else if (m.type === 'control-result') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error), { status: m.status }));
      else p.resolve(m.result);
    }
  });
  // Ctrl-C reaches the whole process group; the primary decides when to stop.
  process.on('SIGINT', () => {});
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  process.send({ type: 'ready', info: server.info });
}
