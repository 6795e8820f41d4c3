// Apple Push Notification service provider API with token-based (JWT)
// authentication, over HTTP/2 without TLS (h2c, prior knowledge).
//
//   POST /3/device/{device token}
//     authorization: bearer <JWT: ES256, header kid = key id, claims iss = team id, iat>
//     apns-topic, apns-push-type, apns-priority, apns-expiration, apns-id, apns-collapse-id
//     body: the JSON payload with an "aps" dictionary
//   200 with apns-id, empty body; errors: {"reason": "BadDeviceToken"} (410 adds "timestamp")
//
// Apple asks providers to reuse one token for 20 to 60 minutes. The server
// keeps every distinct token it sees with its iat, refuses a token older than
// an hour (403 ExpiredProviderToken) and a token change on one connection
// sooner than 20 minutes after the last (429 TooManyProviderTokenUpdates), and
// reports across connections how often the client refreshed too soon.
//
// Device tokens are hex; those starting with "deadbeef" (or listed in
// unregisteredTokens) answer 410 Unregistered.
import crypto from 'node:crypto';
import fs from 'node:fs';

import { Faults, HTML_502, Stats, answer, decodeJwt, dropConnection, listen, makeControl, pick, toSet, verifyJwt } from './common.mjs';

const JSON_HEADERS = { 'content-type': 'application/json' };
const PUSH_TYPES = new Set(['alert', 'background', 'location', 'voip', 'complication', 'fileprovider', 'mdm', 'liveactivity', 'pushtotalk', 'widgets', 'controls']);
// The topic suffix Apple requires per push type (the bundle id alone otherwise).
const TOPIC_SUFFIX = {
  voip: '.voip',
  complication: '.complication',
  fileprovider: '.pushkit.fileprovider',
  liveactivity: '.push-type.liveactivity',
  pushtotalk: '.voip-ptt',
};
const SUFFIXES = Object.values(TOPIC_SUFFIX);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DEVICE_TOKEN = /^(?:[0-9a-fA-F]{2}){32,100}$/;
const ONE_HOUR_S = 3600;
const MIN_REFRESH_S = 20 * 60;
const CLOCK_SKEW_S = 60;
const JWT_CACHE_MAX = 10_000;

function randomId(n) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

// Apple's rule, judged on the tokens seen ([token, { iat, firstSeenAt, requests }]):
// a new token whose iat is less than 20 minutes after the newest one before it
// is a refresh too soon.
export function summarizeProviderTokens(entries, tooOldUses) {
  const list = entries.map(([, t]) => t).sort((a, b) => a.firstSeenAt - b.firstSeenAt || a.iat - b.iat);
  let newest = null;
  let refreshedTooSoon = 0;
  for (const t of list) {
    if (newest !== null && t.iat - newest < MIN_REFRESH_S) refreshedTooSoon++;
    if (newest === null || t.iat > newest) newest = t.iat;
  }
  return {
    distinct: list.length,
    refreshedTooSoon,
    usedWhenOlderThan60Min: tooOldUses, // requests refused with ExpiredProviderToken
    issueTimes: list.slice(-100).map((t) => ({ iat: t.iat, firstSeenAt: Math.floor(t.firstSeenAt / 1000), requests: t.requests })),
  };
}

// The statistics of several worker processes as one snapshot; see cluster.mjs.
export function mergeStats(raws, options, snapshotOptions) {
  const seen = new Map();
  for (const r of raws) {
    for (const [token, t] of r.seen) {
      const prev = seen.get(token);
      if (!prev) seen.set(token, { ...t });
      else {
        prev.firstSeenAt = Math.min(prev.firstSeenAt, t.firstSeenAt);
        prev.requests += t.requests;
      }
    }
  }
  const tooOld = raws.reduce((n, r) => n + r.tooOldUses, 0);
  return { ...Stats.merged(raws.map((r) => r.stats), options).snapshot(snapshotOptions), providerTokens: summarizeProviderTokens([...seen], tooOld) };
}

// opts:
//   port (0), host ('127.0.0.1')
//   teamId, keyId (10 characters each; generated), key (PKCS#8 PEM or path of a .p8; generated)
//   writeKey (path: write the .p8 there)
//   topic ('com.example.kontor'; the app's bundle id) or topics ([...]; null = any topic)
//   faults ({} as setFaults), keepMessages (false), maxMessages (10000)
//   unregisteredTokens ([]), unregisteredPrefix ('deadbeef')
//   dedupeKey ('header:apns-id', a dotted path in the payload, or a function({ token, headers, payload }))
//   enforceTokenUpdates (true: 429 TooManyProviderTokenUpdates on a connection)
//   requirePushType (true: a missing apns-push-type is 400 InvalidPushType)
//   environment ('development' adds apns-unique-id to answers, as the sandbox does)
//   maxConcurrentStreams (1000)
//   tls ({ key, cert } PEM: HTTP/2 over TLS with ALPN, as the real APNs;
//        default h2c)
export async function startApns(opts = {}) {
  const {
    port = 0, host = '127.0.0.1', keepMessages = false, maxMessages = 10_000, dedupeKey,
    enforceTokenUpdates = true, requirePushType = true, environment = 'production',
    unregisteredPrefix = 'deadbeef', maxConcurrentStreams = 1000,
  } = opts;
  const teamId = opts.teamId || randomId(10);
  const keyId = opts.keyId || randomId(10);
  let keyPem = opts.key;
  if (keyPem && !keyPem.includes('-----BEGIN')) keyPem = fs.readFileSync(keyPem, 'utf8');
  if (!keyPem) keyPem = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const privateKey = crypto.createPrivateKey(keyPem);
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('the APNs key must be an EC P-256 key');
  const publicKey = crypto.createPublicKey(privateKey);
  const topics = opts.topics === null ? null : toSet(opts.topics || [opts.topic || 'com.example.kontor']);
  // Every topic of the team's apps: the bundle ids and their push-type variants.
  const allowedTopics = topics === null ? null : new Set([...topics].flatMap((t) => [t, ...SUFFIXES.map((s) => t + s)]));
  const unregistered = toSet(opts.unregisteredTokens);
  const stats = new Stats({ keepMessages, maxMessages });
  const faults = new Faults(['429', '500', '503', 'html502', 'reset', 'lostResponse', 'auth', 'goaway'], opts.faults);

  // Provider tokens: verification results by token string, so each distinct
  // token is verified once; and the history the 20-60 minute rule is judged on.
  const jwtCache = new Map();
  const seen = new Map(); // valid token -> { iat, firstSeenAt (ms), requests }
  let tooOldUses = 0;
  const connections = new WeakMap(); // HTTP/2 session -> { token, iat }

  function verifyProviderToken(token) {
    let rec = jwtCache.get(token);
    if (rec) return rec;
    const jwt = decodeJwt(token);
    if (!jwt) rec = { reason: 'InvalidProviderToken', why: 'not a JWT' };
    else if (jwt.header.alg !== 'ES256') rec = { reason: 'InvalidProviderToken', why: `alg ${jwt.header.alg}, not ES256` };
    else if (jwt.header.kid !== keyId) rec = { reason: 'InvalidProviderToken', why: `kid ${jwt.header.kid} is not the key id ${keyId}` };
    else if (jwt.claims.iss !== teamId) rec = { reason: 'InvalidProviderToken', why: `iss ${jwt.claims.iss} is not the team id ${teamId}` };
    else if (!Number.isInteger(jwt.claims.iat)) rec = { reason: 'InvalidProviderToken', why: 'iat is not an integer' };
    else if (!verifyJwt(jwt, 'ES256', publicKey)) rec = { reason: 'InvalidProviderToken', why: 'bad signature' };
    else rec = { iat: jwt.claims.iat };
    if (jwtCache.size >= JWT_CACHE_MAX) jwtCache.clear(); // a client minting a token per request; keep memory bounded
    jwtCache.set(token, rec);
    if (rec.iat !== undefined) {
      if (!seen.has(token) && seen.size < JWT_CACHE_MAX) seen.set(token, { iat: rec.iat, firstSeenAt: Date.now(), requests: 0 });
    } else {
      stats.count('providerTokensInvalid');
    }
    return rec;
  }

  function snapshot(o = {}) {
    return { ...stats.snapshot(o), providerTokens: summarizeProviderTokens([...seen], tooOldUses) };
  }

  let info;
  const control = makeControl({
    stats,
    faults,
    info: () => info,
    snapshot,
    raw: () => ({ stats: stats.raw(), seen: [...seen], tooOldUses }),
    reset: () => resetStats(false),
    extra: {
      'POST /unregister': (body) => {
        for (const t of body.tokens || []) unregistered.add(t);
        return { unregistered: unregistered.size };
      },
    },
  });

  function resetStats(clearFaults) {
    stats.reset();
    seen.clear();
    jwtCache.clear();
    tooOldUses = 0;
    if (clearFaults) faults.clear();
    return { ok: true };
  }

  function reply(req, status, apnsId, reason, extra) {
    const headers = { 'apns-id': apnsId, ...JSON_HEADERS };
    answer(req, faults, status, headers, JSON.stringify({ reason, ...extra }));
  }

  function reject(req, status, apnsId, reason, extra) {
    stats.reject(reason);
    reply(req, status, apnsId, reason, extra);
  }

  function injectFault(req, kind, apnsId) {
    stats.fault(kind);
    switch (kind) {
      // APNs documents no Retry-After; clients must back off on their own.
      case '429':
        return reply(req, 429, apnsId, 'TooManyRequests');
      case '500':
        return reply(req, 500, apnsId, 'InternalServerError');
      case '503':
        return reply(req, 503, apnsId, 'ServiceUnavailable');
      case 'goaway':
        req.goaway();
        return reply(req, 503, apnsId, 'Shutdown');
      case 'html502':
        return answer(req, faults, 502, { 'content-type': 'text/html; charset=UTF-8' }, HTML_502);
      case 'reset':
        return dropConnection(req, faults);
      case 'auth':
        // The connection's token is void now: a refresh right after is legitimate.
        if (req.conn) connections.delete(req.conn);
        return reply(req, 403, apnsId, 'ExpiredProviderToken');
      default:
        throw new Error(`unhandled fault ${kind}`);
    }
  }

  // A header sent twice. Only the ones APNs reads matter.
  function duplicateHeader(raw) {
    if (!raw) return false;
    const names = new Set();
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (name !== 'authorization' && !name.startsWith('apns-')) continue;
      if (names.has(name)) return true;
      names.add(name);
    }
    return false;
  }

  function send(req) {
    stats.request();
    const h = req.headers;
    const given = h['apns-id'];
    const apnsId = typeof given === 'string' && UUID.test(given) ? given.toLowerCase() : crypto.randomUUID();
    if (req.method !== 'POST') return reject(req, 405, apnsId, 'MethodNotAllowed');
    const token = req.path.slice('/3/device/'.length);
    if (token === '') return reject(req, 400, apnsId, 'MissingDeviceToken');
    if (duplicateHeader(req.rawHeaders)) return reject(req, 400, apnsId, 'DuplicateHeaders');

    const auth = h.authorization;
    if (typeof auth !== 'string' || auth === '') return reject(req, 403, apnsId, 'MissingProviderToken');
    if (auth.slice(0, 7).toLowerCase() !== 'bearer ') return reject(req, 403, apnsId, 'InvalidProviderToken');
    const jwt = auth.slice(7).trim();
    const rec = verifyProviderToken(jwt);
    if (rec.reason) return reject(req, 403, apnsId, rec.reason);
    const now = Date.now() / 1000;
    if (rec.iat > now + CLOCK_SKEW_S) return reject(req, 403, apnsId, 'InvalidProviderToken');
    if (now - rec.iat > ONE_HOUR_S) {
      tooOldUses++;
      return reject(req, 403, apnsId, 'ExpiredProviderToken');
    }
    const seenRec = seen.get(jwt);
    if (seenRec) seenRec.requests++;
    if (req.conn) {
      const c = connections.get(req.conn);
      if (c === undefined) connections.set(req.conn, { token: jwt, iat: rec.iat });
      else if (c.token !== jwt) {
        if (enforceTokenUpdates && rec.iat - c.iat < MIN_REFRESH_S) return reject(req, 429, apnsId, 'TooManyProviderTokenUpdates');
        c.token = jwt;
        c.iat = rec.iat;
      }
    }

    const fault = faults.pick(token);
    if (fault && fault !== 'lostResponse') return injectFault(req, fault, apnsId);

    const topic = h['apns-topic'];
    const pushType = h['apns-push-type'];
    const priority = h['apns-priority'];
    const expiration = h['apns-expiration'];
    const collapseId = h['apns-collapse-id'];
    let status = 200;
    let reason;
    let extra;
    if (!DEVICE_TOKEN.test(token)) reason = 'BadDeviceToken';
    else if (topic === undefined || topic === '') reason = 'MissingTopic';
    else if (allowedTopics !== null && !allowedTopics.has(topic)) reason = 'TopicDisallowed';
    else if (pushType === undefined ? requirePushType : !PUSH_TYPES.has(pushType)) reason = 'InvalidPushType';
    else if (pushType !== undefined && allowedTopics !== null && (TOPIC_SUFFIX[pushType] ? !topic.endsWith(TOPIC_SUFFIX[pushType]) : SUFFIXES.some((s) => topic.endsWith(s)))) {
      // A VoIP token belongs to the .voip topic, an alert token to the bare bundle id.
      reason = 'DeviceTokenNotForTopic';
    } else if (priority !== undefined && priority !== '10' && priority !== '5' && priority !== '1') reason = 'BadPriority';
    // Apple: background notifications must use priority 5; 10 is an error.
    else if (pushType === 'background' && priority === '10') reason = 'BadPriority';
    else if (expiration !== undefined && !/^\d{1,12}$/.test(expiration)) reason = 'BadExpirationDate';
    else if (given !== undefined && !UUID.test(given)) reason = 'BadMessageId';
    else if (collapseId !== undefined && Buffer.byteLength(collapseId) > 64) reason = 'BadCollapseId';
    else if (req.body.length === 0) reason = 'PayloadEmpty';
    else if (req.body.length > (pushType === 'voip' ? 5120 : 4096)) {
      status = 413;
      reason = 'PayloadTooLarge';
    }
    let payload;
    if (!reason) {
      try {
        payload = JSON.parse(req.body.toString('utf8'));
      } catch {
        payload = undefined;
      }
      // Not an Apple reason: APNs does not document what it answers to a
      // payload that is no JSON object with an aps dictionary. A test server
      // should catch that client bug anyway.
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload) || payload.aps === null || typeof payload.aps !== 'object' || Array.isArray(payload.aps)) reason = 'BadPayload';
      else if (unregistered.has(token) || (unregisteredPrefix && token.toLowerCase().startsWith(unregisteredPrefix))) {
        status = 410;
        reason = 'Unregistered';
        extra = { timestamp: Date.now() }; // milliseconds since the epoch, as Apple sends
      }
    }
    if (reason) {
      if (status === 200) status = 400;
      stats.reject(reason);
    } else {
      let key;
      if (typeof dedupeKey === 'function') key = dedupeKey({ token, headers: h, payload });
      else if (dedupeKey) key = dedupeKey.startsWith('header:') ? h[dedupeKey.slice(7)] : pick(payload, dedupeKey);
      stats.accept(token, key, keepMessages ? { token, apnsId, headers: { 'apns-topic': topic, 'apns-push-type': pushType, 'apns-priority': priority, 'apns-expiration': expiration, 'apns-collapse-id': collapseId }, payload } : undefined);
    }
    if (fault === 'lostResponse') {
      stats.fault(fault);
      return dropConnection(req, faults);
    }
    const headers = { 'apns-id': apnsId };
    if (environment === 'development') headers['apns-unique-id'] = crypto.randomUUID();
    if (reason) answer(req, faults, status, { ...headers, ...JSON_HEADERS }, JSON.stringify({ reason, ...extra }));
    else answer(req, faults, 200, headers, undefined);
  }

  function handler(req) {
    const p = req.path;
    if (p.startsWith('/3/device/')) return send(req);
    if (p.startsWith('/__control/')) return control.http(req);
    stats.request();
    const given = req.headers['apns-id'];
    reject(req, 404, typeof given === 'string' && UUID.test(given) ? given : crypto.randomUUID(), 'BadPath');
  }

  // APNs speaks HTTP/2 only. The control endpoint is reached over h2 too
  // (curl --http2-prior-knowledge, or the helpers below).
  const protocol = opts.tls ? 'h2' : 'h2c';
  const server = await listen({ host, port, protocol, handler, h2Settings: { maxConcurrentStreams }, tls: opts.tls });
  let keyPath;
  const writeKey = (path) => {
    fs.writeFileSync(path, keyPem, { mode: 0o600 });
    keyPath = path;
    info.keyPath = path;
    return path;
  };
  info = { provider: 'apns', url: server.url, port: server.port, protocol, teamId, keyId, topics: topics && [...topics], controlUrl: `${server.url}/__control` };
  if (opts.writeKey) writeKey(opts.writeKey);

  return {
    ...info,
    info,
    get keyPath() {
      return keyPath;
    },
    privateKeyPem: keyPem,
    publicKey,
    writeKey,
    get stats() {
      return snapshot();
    },
    snapshot,
    countFor: (t) => stats.countFor(t),
    get messages() {
      return stats.snapshot({ perTarget: false }).messages || [];
    },
    setFaults: (f) => faults.set(f),
    clearFaults: () => faults.clear(),
    get faults() {
      return faults.snapshot();
    },
    resetStats: () => resetStats(false),
    control: control.local,
    setControlProxy: control.setProxy,
    unregister(tokens) {
      for (const t of [].concat(tokens)) unregistered.add(t);
    },
    close: () => server.close(),
  };
}
