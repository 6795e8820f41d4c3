// Shared machinery of the protocol servers: one listening port that speaks
// HTTP/1.1 and/or h2c, the fault injector, the statistics, the control
// endpoint and the JWT helpers. Each provider module (fcm.mjs, apns.mjs,
// sms.mjs) supplies only its protocol: a handler that receives a request with
// its whole body and answers it.
//
// The request path is kept short on purpose: a benchmark drives these servers
// at tens of thousands of requests per second from one Node thread, so nothing
// here allocates more than the request needs when messages are not kept.
import crypto from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

import { serveHttp1 } from './http1.mjs';

// ---------------------------------------------------------------------------
// Listening

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const MAX_BODY = 1 << 20; // every provider refuses far smaller bodies; this only bounds memory

// Starts one TCP listener and hands each connection to the HTTP/1.1 engine
// (http1.mjs; node:http with http1Engine 'node') or to an HTTP/2 server (h2c,
// prior knowledge). protocol 'auto' looks at the first bytes of the
// connection: libcurl speaks either, depending on how it is configured, and
// one port for both keeps test set-up simple.
//
// handler(req) gets { protocol, method, path, query, headers, rawHeaders,
// body, conn } and must call one of req.respond(status, headers, body),
// req.destroy() (drops the connection without an answer) or req.goaway()
// then respond (h2: GOAWAY after the answer; HTTP/1.1: Connection: close).
// Header names in respond() must be lower case.
//
// protocol 'h2' is HTTP/2 over TLS (ALPN h2) with `tls` = { key, cert } (PEM),
// as APNs is reached in production.
export async function listen({ host = '127.0.0.1', port = 0, protocol = 'auto', handler, h2Settings = {}, http1Engine = 'fast', tls = null }) {
  if (!['auto', 'http1', 'h2c', 'h2'].includes(protocol)) throw new Error(`protocol must be auto, http1, h2c or h2, not ${protocol}`);
  if (protocol === 'h2' && !(tls && tls.key && tls.cert)) throw new Error('protocol h2 needs tls: { key, cert }');
  handler = guarded(handler);
  const sockets = new Set();

  let startHttp1;
  if (http1Engine === 'node') {
    const h1 = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => onNodeHttp1(req, res, handler));
    // Google's and Apple's front ends keep idle connections for minutes; the
    // default 5 s would close connections a real provider keeps.
    h1.keepAliveTimeout = 65_000;
    h1.on('clientError', (err, socket) => socket.destroy());
    startHttp1 = (socket) => h1.emit('connection', socket);
  } else {
    startHttp1 = (socket) => serveHttp1(socket, handler);
  }

  const h2Options = {
    settings: { maxConcurrentStreams: 1000, ...h2Settings },
    // Many streams in flight are the point of HTTP/2 clients; the default
    // 10 MB session budget makes nghttp2 refuse streams under load.
    maxSessionMemory: 256,
  };
  const h2 = protocol === 'h2' ? http2.createSecureServer({ ...h2Options, key: tls.key, cert: tls.cert, allowHTTP1: false }) : http2.createServer(h2Options);
  // TLS handshake failures (a client that does not trust the certificate).
  h2.on('tlsClientError', () => {});
  h2.on('stream', (stream, headers, flags, rawHeaders) => onHttp2(stream, headers, rawHeaders, handler));
  h2.on('sessionError', () => {});
  // session.socket is a proxy that refuses destroy(); a 'reset' fault needs
  // the real socket. 'session' fires synchronously inside emit('connection').
  let attaching = null;
  h2.on('session', (session) => {
    session.on('error', () => {});
    session[RAW_SOCKET] = attaching;
  });
  const startHttp2 = (socket) => {
    attaching = socket;
    try {
      h2.emit('connection', socket);
    } finally {
      attaching = null;
    }
  };

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    if (protocol === 'http1') return startHttp1(socket);
    if (protocol === 'h2c' || protocol === 'h2') return startHttp2(socket);
    let head = null;
    const sniff = (chunk) => {
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const h2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (h2 && n < H2_PREFACE.length) return; // "P" could still be "POST"
      // Put the bytes back: both engines parse from the start of the stream
      // (http2 takes what is buffered in the socket, HTTP/1.1 reads 'data').
      socket.off('data', sniff);
      socket.pause();
      socket.unshift(head);
      if (h2) {
        startHttp2(socket);
      } else {
        startHttp1(socket);
        socket.resume();
      }
    };
    socket.on('data', sniff);
  });
  await new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, host, resolve);
  });
  const actualPort = tcp.address().port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    port: actualPort,
    url: `${protocol === 'h2' ? 'https' : 'http'}://${urlHost}:${actualPort}`,
    async close() {
      await new Promise((resolve) => {
        tcp.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function onNodeHttp1(req, res, handler) {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('error', () => {});
  req.on('end', () => {
    if (size > MAX_BODY) {
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' });
      res.end('request body too large');
      return;
    }
    const q = req.url.indexOf('?');
    let closeAfter = false;
    handler({
      protocol: 'http1',
      method: req.method,
      path: q < 0 ? req.url : req.url.slice(0, q),
      query: q < 0 ? '' : req.url.slice(q + 1),
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
      conn: req.socket,
      respond(status, headers, body) {
        if (res.destroyed || res.writableEnded) return;
        if (closeAfter) headers = { ...headers, connection: 'close' };
        res.writeHead(status, headers);
        res.end(body);
      },
      destroy() {
        resetSocket(req.socket);
      },
      goaway() {
        closeAfter = true;
      },
    });
  });
}

// One HTTP/2 request; a class rather than closures, since one is made per
// request and the benchmark makes a million.
class Http2Request {
  constructor(stream, headers, rawHeaders, body) {
    this.protocol = 'h2';
    this.method = headers[':method'];
    const url = headers[':path'] || '';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.query = q < 0 ? '' : url.slice(q + 1);
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.body = body;
    this.conn = stream.session;
    this._stream = stream;
    this._goaway = false;
  }

  respond(status, headers, body) {
    const stream = this._stream;
    if (stream.destroyed || stream.closed) return;
    if (body === undefined || body === null || body.length === 0) {
      // No DATA frame at all (APNs' 200 has no body): cheaper than end().
      stream.respond({ ':status': status, ...headers }, { endStream: true });
    } else {
      stream.respond({ ':status': status, ...headers });
      stream.end(body);
    }
    const session = this.conn;
    if (this._goaway && session && !session.destroyed) {
      // Let the answer leave first, then refuse new streams and close once
      // the ones in flight are done, as a server shutting down does.
      setImmediate(() => {
        if (!session.destroyed) {
          session.goaway(http2.constants.NGHTTP2_NO_ERROR);
          session.close();
        }
      });
    }
  }

  destroy() {
    const socket = this.conn && this.conn[RAW_SOCKET];
    if (socket) resetSocket(socket);
    else this._stream.destroy();
  }

  goaway() {
    this._goaway = true;
  }
}

function onHttp2(stream, headers, rawHeaders, handler) {
  let chunks = null;
  let size = 0;
  stream.on('error', () => {});
  stream.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) return;
    if (chunks === null) chunks = c;
    else if (Buffer.isBuffer(chunks)) chunks = [chunks, c];
    else chunks.push(c);
  });
  stream.on('end', () => {
    if (size > MAX_BODY) {
      if (!stream.destroyed) {
        stream.respond({ ':status': 413, 'content-type': 'text/plain' });
        stream.end('request body too large');
      }
      return;
    }
    const body = chunks === null ? EMPTY : Buffer.isBuffer(chunks) ? chunks : Buffer.concat(chunks);
    handler(new Http2Request(stream, headers, rawHeaders, body));
  });
}

const EMPTY = Buffer.alloc(0);
const RAW_SOCKET = Symbol('raw socket');

// A connection reset as the client sees it when a provider's front end dies:
// TCP RST, not an orderly FIN.
export function resetSocket(socket) {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

// A handler that throws must not take the server down with it: the client
// gets a plain 500 and the error goes to stderr.
function guarded(handler) {
  return (req) => {
    try {
      handler(req);
    } catch (e) {
      process.stderr.write(`protocol server: ${e.stack || e}\n`);
      try {
        req.respond(500, { 'content-type': 'text/plain' }, 'test server bug');
      } catch {}
    }
  };
}

// ---------------------------------------------------------------------------
// Randomness

// Deterministic when a seed is given, so a benchmark can replay the same
// fault pattern; Math.random otherwise.
export function makeRandom(seed) {
  if (seed === undefined || seed === null) return Math.random;
  let a = Number(seed) >>> 0;
  return function mulberry32() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------
// Faults

// Every kind a server can inject; each provider maps a kind to its own answer
// (fcm: 429 QUOTA_EXCEEDED, apns: 429 TooManyRequests, sms: 429 code 20429 ...).
//   429, 500, 503   the provider's error answer (FCM's and Twilio's 429 and 503
//                   carry Retry-After; Apple documents none)
//   html502         a 502 with an HTML body, as a load balancer in front answers
//   reset           the connection is destroyed before the request is processed
//   lostResponse    the request is accepted and counted, then the connection is
//                   destroyed: the client cannot know it went through, and a
//                   retry is a duplicate the stats show
//   auth            the provider's credential error (fcm: 401
//                   THIRD_PARTY_AUTH_ERROR, apns: 403 ExpiredProviderToken,
//                   sms: 401 code 20003)
//   unauthenticated fcm only: 401 UNAUTHENTICATED, as for an expired access token
//   goaway          the provider's 503 answer, then the connection closes (h2:
//                   GOAWAY; HTTP/1.1: Connection: close)
//   ok              no fault (useful in `next` to let one request through)
const RATE_KEYS = new Map([
  ['rate429', '429'], ['rate500', '500'], ['rate503', '503'], ['rateHtml502', 'html502'],
  ['rateReset', 'reset'], ['resetRate', 'reset'], ['rateLostResponse', 'lostResponse'],
  ['rateAuth', 'auth'], ['rateUnauthenticated', 'unauthenticated'], ['rateGoaway', 'goaway'],
]);
const OTHER_KEYS = new Set(['delayMs', 'delayRate', 'retryAfter', 'next', 'nextFor', 'seed']);

export function defaultFaults() {
  return {
    rates: {}, // kind -> fraction of requests, 0..1
    delayMs: 0, // added before answering
    delayRate: 1, // fraction of requests delayed when delayMs > 0
    retryAfter: 1, // seconds, in Retry-After of 429/503 answers
    next: [], // kinds forced on the next requests, in order
    nextFor: {}, // target -> kinds forced on that target's next requests
    seed: undefined,
  };
}

// The fault configuration of one server. set() merges, so a test can change
// one rate without restating the others; clear() returns to no faults.
export class Faults {
  constructor(kinds, initial) {
    this.kinds = new Set([...kinds, 'ok']);
    this.cfg = defaultFaults();
    this.random = Math.random;
    this.recompute();
    if (initial) this.set(initial);
  }

  set(partial = {}) {
    const cfg = this.cfg;
    for (const [key, value] of Object.entries(partial)) {
      if (RATE_KEYS.has(key)) {
        const kind = RATE_KEYS.get(key);
        if (!this.kinds.has(kind)) throw new Error(`this server has no fault kind ${kind} (${key})`);
        const rate = Number(value);
        if (!(rate >= 0 && rate <= 1)) throw new Error(`${key} must be between 0 and 1`);
        cfg.rates[kind] = rate;
      } else if (key === 'rates') {
        for (const [kind, rate] of Object.entries(value || {})) {
          if (!this.kinds.has(kind)) throw new Error(`unknown fault kind ${kind}`);
          if (!(Number(rate) >= 0 && Number(rate) <= 1)) throw new Error(`rate of ${kind} must be between 0 and 1`);
          cfg.rates[kind] = Number(rate);
        }
      } else if (key === 'next') {
        cfg.next = this.checkKinds(value, 'next');
      } else if (key === 'nextFor') {
        cfg.nextFor = {};
        for (const [target, kinds] of Object.entries(value || {})) cfg.nextFor[target] = this.checkKinds(kinds, `nextFor.${target}`);
      } else if (key === 'seed') {
        cfg.seed = value;
        this.random = makeRandom(value);
      } else if (OTHER_KEYS.has(key)) {
        const n = Number(value);
        if (!(n >= 0)) throw new Error(`${key} must be a number >= 0`);
        if (key === 'delayRate' && n > 1) throw new Error('delayRate must be between 0 and 1');
        cfg[key] = n;
      } else {
        throw new Error(`unknown fault setting ${key}`);
      }
    }
    this.recompute();
    return this.snapshot();
  }

  clear() {
    this.cfg = defaultFaults();
    this.random = Math.random;
    this.recompute();
    return this.snapshot();
  }

  checkKinds(list, what) {
    if (!Array.isArray(list)) throw new Error(`${what} must be a list of fault kinds`);
    for (const k of list) if (!this.kinds.has(k)) throw new Error(`${what}: unknown fault kind ${k}`);
    return [...list];
  }

  recompute() {
    // Precomputed so the common case (no faults at all) costs one branch.
    this.table = Object.entries(this.cfg.rates).filter(([, r]) => r > 0);
    this.active = this.table.length > 0 || this.cfg.next.length > 0 || Object.keys(this.cfg.nextFor).length > 0;
    this.delaying = this.cfg.delayMs > 0 && this.cfg.delayRate > 0;
  }

  // The fault for this request, or null. target: the device token or number,
  // when the request names one.
  pick(target) {
    if (!this.active) return null;
    const cfg = this.cfg;
    if (target !== undefined) {
      const queue = cfg.nextFor[target];
      if (queue) {
        const kind = queue.shift();
        if (queue.length === 0) delete cfg.nextFor[target];
        this.recompute();
        return kind === 'ok' ? null : kind;
      }
    }
    if (cfg.next.length > 0) {
      const kind = cfg.next.shift();
      this.recompute();
      return kind === 'ok' ? null : kind;
    }
    if (this.table.length === 0) return null;
    let r = this.random();
    for (const [kind, rate] of this.table) {
      if (r < rate) return kind;
      r -= rate;
    }
    return null;
  }

  delayFor() {
    if (!this.delaying) return 0;
    return this.cfg.delayRate >= 1 || this.random() < this.cfg.delayRate ? this.cfg.delayMs : 0;
  }

  get retryAfter() {
    return this.cfg.retryAfter;
  }

  snapshot() {
    const c = this.cfg;
    return { rates: { ...c.rates }, delayMs: c.delayMs, delayRate: c.delayRate, retryAfter: c.retryAfter, next: [...c.next], nextFor: structuredClone(c.nextFor), seed: c.seed };
  }
}

// ---------------------------------------------------------------------------
// Statistics

// Counts what a server saw. "target" is the device token or phone number:
// perTarget counts accepted messages per target, so a test can tell a
// message delivered twice from one delivered once. When the client marks its
// messages with an id (dedupeKey), duplicates of that id are counted too,
// which separates "sent twice" from "two messages to one device".
export class Stats {
  constructor({ keepMessages = false, maxMessages = 10_000, perTargetLimit = 10_000 } = {}) {
    this.keepMessages = keepMessages;
    this.maxMessages = maxMessages;
    this.perTargetLimit = perTargetLimit;
    this.reset();
  }

  reset() {
    this.startedAt = Date.now();
    this.requests = 0;
    this.accepted = 0;
    this.rejected = 0;
    this.rejectedBy = Object.create(null);
    this.faults = Object.create(null);
    this.perTarget = new Map();
    this.duplicateTargets = 0; // targets with more than one accepted message
    this.keys = new Map(); // dedupe key -> accepted count
    this.duplicateKeys = 0; // accepted messages whose key was accepted before
    this.messages = [];
    this.messagesDropped = 0;
    this.firstAcceptedAt = 0;
    this.lastAcceptedAt = 0;
    this.extra = Object.create(null); // provider-specific counters
  }

  request() {
    this.requests++;
  }

  accept(target, key, message) {
    this.accepted++;
    const now = Date.now();
    if (this.firstAcceptedAt === 0) this.firstAcceptedAt = now;
    this.lastAcceptedAt = now;
    const n = (this.perTarget.get(target) || 0) + 1;
    this.perTarget.set(target, n);
    if (n === 2) this.duplicateTargets++;
    if (key !== undefined && key !== null && key !== '') {
      const k = (this.keys.get(key) || 0) + 1;
      this.keys.set(key, k);
      if (k > 1) this.duplicateKeys++;
    }
    if (this.keepMessages) {
      this.messages.push(message);
      // Keep the newest maxMessages; trimming in halves keeps this amortized O(1).
      if (this.messages.length >= 2 * this.maxMessages) {
        const drop = this.messages.length - this.maxMessages;
        this.messages.splice(0, drop);
        this.messagesDropped += drop;
      }
    }
  }

  reject(reason) {
    this.rejected++;
    this.rejectedBy[reason] = (this.rejectedBy[reason] || 0) + 1;
  }

  fault(kind) {
    this.faults[kind] = (this.faults[kind] || 0) + 1;
  }

  count(name, by = 1) {
    this.extra[name] = (this.extra[name] || 0) + by;
  }

  countFor(target) {
    return this.perTarget.get(target) || 0;
  }

  // Everything, in a form another process can merge (see merged()). The
  // per-target counts go as one joined string and a list of numbers: for a
  // million targets that serializes several times faster than pairs.
  raw() {
    return {
      startedAt: this.startedAt, requests: this.requests, accepted: this.accepted, rejected: this.rejected,
      rejectedBy: this.rejectedBy, faults: this.faults, extra: this.extra,
      perTarget: packCounts(this.perTarget), keys: packCounts(this.keys),
      firstAcceptedAt: this.firstAcceptedAt, lastAcceptedAt: this.lastAcceptedAt,
      messages: this.keepMessages ? this.messages.slice(-this.maxMessages) : [], messagesDropped: this.messagesDropped,
    };
  }

  // The statistics of several processes as one: a target that reached two
  // workers (a retry on a new connection) counts as a duplicate.
  static merged(raws, options) {
    const s = new Stats(options);
    s.startedAt = Math.min(...raws.map((r) => r.startedAt));
    for (const r of raws) {
      s.requests += r.requests;
      s.accepted += r.accepted;
      s.rejected += r.rejected;
      s.messages.push(...r.messages);
      s.messagesDropped += r.messagesDropped;
      if (r.firstAcceptedAt && (!s.firstAcceptedAt || r.firstAcceptedAt < s.firstAcceptedAt)) s.firstAcceptedAt = r.firstAcceptedAt;
      s.lastAcceptedAt = Math.max(s.lastAcceptedAt, r.lastAcceptedAt);
      unpackCounts(r.perTarget, s.perTarget);
      unpackCounts(r.keys, s.keys);
    }
    Object.assign(s.rejectedBy, sumCounters(raws.map((r) => r.rejectedBy)));
    Object.assign(s.faults, sumCounters(raws.map((r) => r.faults)));
    Object.assign(s.extra, sumCounters(raws.map((r) => r.extra)));
    for (const n of s.perTarget.values()) if (n > 1) s.duplicateTargets++;
    for (const n of s.keys.values()) if (n > 1) s.duplicateKeys += n - 1;
    return s;
  }

  snapshot({ perTarget, messages = true } = {}) {
    const s = {
      startedAt: new Date(this.startedAt).toISOString(),
      requests: this.requests,
      accepted: this.accepted,
      rejected: this.rejected,
      rejectedBy: { ...this.rejectedBy },
      faults: { ...this.faults },
      targets: this.perTarget.size,
      duplicates: this.accepted - this.perTarget.size, // accepted beyond the first per target
      duplicateTargets: this.duplicateTargets,
      keys: this.keys.size,
      duplicateKeys: this.duplicateKeys,
      ...this.extra,
    };
    if (this.accepted > 1) {
      const seconds = Math.max(this.lastAcceptedAt - this.firstAcceptedAt, 1) / 1000;
      s.acceptedPerSecond = Math.round(this.accepted / seconds);
    }
    const includeTargets = perTarget ?? this.perTarget.size <= this.perTargetLimit;
    if (includeTargets) s.perTarget = Object.fromEntries(this.perTarget);
    else s.perTargetOmitted = true;
    if (this.keepMessages && messages) {
      const m = this.messages.length > this.maxMessages ? this.messages.slice(-this.maxMessages) : this.messages;
      s.messages = m;
      s.messagesDropped = this.messagesDropped + (this.messages.length - m.length);
    }
    return s;
  }
}

// Targets and dedupe keys never hold NUL: device tokens, topics, E.164 numbers.
const SEP = '\u0000';

function packCounts(map) {
  return { names: [...map.keys()].join(SEP), counts: [...map.values()] };
}

function unpackCounts(packed, into) {
  if (packed.counts.length === 0) return;
  const names = packed.names.split(SEP);
  for (let i = 0; i < names.length; i++) into.set(names[i], (into.get(names[i]) || 0) + packed.counts[i]);
}

// ---------------------------------------------------------------------------
// Control endpoint

// /__control/... on every server, for tests in another process:
//   GET    /__control/info           what the server printed at start
//   GET    /__control/stats          ?perTarget=0|1 &messages=0|1 &target=X
//   GET    /__control/faults
//   POST   /__control/faults         merge (JSON body, as setFaults)
//   PUT    /__control/faults         replace
//   DELETE /__control/faults         no faults
//   POST   /__control/reset          zero the stats; {"faults":true} clears faults too
//   GET    /__control/raw            the statistics in mergeable form (cluster.mjs)
// plus each server's own routes (extra: { 'POST /name': (body, query) => result }).
//
// local(method, path, query, body) runs a route in this process; http(req)
// serves it, or hands it to the proxy set with setProxy() (a worker of
// cluster.mjs passes control requests to its primary, which asks every
// worker and merges the answers).
export function makeControl({ stats, faults, info, snapshot, raw, reset, extra = {} }) {
  const flag = (q, name) => (q.has(name) ? q.get(name) !== '0' && q.get(name) !== 'false' : undefined);
  const routes = {
    'GET /info': () => info(),
    'GET /stats': (body, q) => {
      if (q.has('target')) return { target: q.get('target'), accepted: stats.countFor(q.get('target')) };
      return snapshot({ perTarget: flag(q, 'perTarget'), messages: flag(q, 'messages') ?? true });
    },
    'GET /raw': () => raw(),
    'GET /faults': () => faults.snapshot(),
    'POST /faults': (body) => faults.set(body),
    'PUT /faults': (body) => {
      faults.clear();
      return faults.set(body);
    },
    'DELETE /faults': () => faults.clear(),
    'POST /reset': (body) => {
      reset();
      if (body && body.faults) faults.clear();
      return { ok: true };
    },
    ...extra,
  };
  let proxy = null;

  async function local(method, path, query, body) {
    const route = routes[`${method} ${path}`];
    if (!route) {
      const e = new Error(`no control route ${method} /__control${path}`);
      e.status = 404;
      throw e;
    }
    return (await route(body ?? {}, new URLSearchParams(query || ''))) ?? { ok: true };
  }

  async function http(req) {
    const reply = (status, obj) => req.respond(status, { 'content-type': 'application/json' }, JSON.stringify(obj));
    let body = {};
    if (req.body.length > 0) {
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return reply(400, { error: 'control body must be JSON' });
      }
    }
    const path = req.path.slice('/__control'.length);
    try {
      reply(200, await (proxy ? proxy(req.method, path, req.query, body) : local(req.method, path, req.query, body)));
    } catch (e) {
      reply(e.status || 400, { error: e.message });
    }
  }

  return { local, http, setProxy: (fn) => (proxy = fn) };
}

// Sums numbers and objects of numbers key by key: merges the counters of
// several worker processes.
export function sumCounters(list) {
  const out = {};
  for (const o of list) {
    for (const [k, v] of Object.entries(o || {})) {
      if (typeof v === 'number') out[k] = (out[k] || 0) + v;
      else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = sumCounters([out[k] || {}, v]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Responding

// Answers through the fault delay, so every answer (errors included) is
// slowed alike, as a slow provider would be.
export function answer(req, faults, status, headers, body) {
  const delay = faults.delayFor();
  if (delay > 0) setTimeout(() => req.respond(status, headers, body), delay);
  else req.respond(status, headers, body);
}

export function dropConnection(req, faults) {
  const delay = faults.delayFor();
  if (delay > 0) setTimeout(() => req.destroy(), delay);
  else req.destroy();
}

export const HTML_502 = `<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <title>Error 502 (Server Error)!!1</title>
  <p><b>502.</b> <ins>That's an error.</ins>
  <p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.  <ins>That's all we know.</ins>
`;

// ---------------------------------------------------------------------------
// JWT

export function base64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

// Splits and decodes a compact JWS. Returns null when it is not one.
export function decodeJwt(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return null;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
      claims: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2], 'base64url'),
    };
  } catch {
    return null;
  }
}

// RS256: RSASSA-PKCS1-v1_5 with SHA-256. ES256: ECDSA P-256 with SHA-256, the
// signature being r||s (64 bytes), not DER (RFC 7518 section 3.4).
export function verifyJwt(decoded, alg, publicKey) {
  try {
    if (alg === 'RS256') return crypto.verify('sha256', Buffer.from(decoded.signingInput), publicKey, decoded.signature);
    if (alg === 'ES256') {
      if (decoded.signature.length !== 64) return false;
      return crypto.verify('sha256', Buffer.from(decoded.signingInput), { key: publicKey, dsaEncoding: 'ieee-p1363' }, decoded.signature);
    }
  } catch {
    return false;
  }
  return false;
}

export function signJwt(header, claims, privateKey) {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const key = header.alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey;
  return `${input}.${base64url(crypto.sign('sha256', Buffer.from(input), key))}`;
}

export function randomHex(bytes) {
  return crypto.randomBytes(bytes).toString('hex');
}

// Accepts a list, a Set or a comma-separated string.
export function toSet(v) {
  if (!v) return new Set();
  if (typeof v === 'string') return new Set(v.split(',').map((s) => s.trim()).filter(Boolean));
  return new Set(v);
}

// Reads a dotted path ("data.id") out of an object; undefined when absent.
export function pick(obj, path) {
  let v = obj;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[part];
  }
  return v;
}
