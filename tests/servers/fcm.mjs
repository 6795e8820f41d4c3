// Firebase Cloud Messaging HTTP v1 (projects.messages.send) and the Google
// OAuth 2.0 token endpoint it needs, on one port.
//
//   POST /token                                  see oauth.mjs
//   POST /v1/projects/{project}/messages:send    Authorization: Bearer <access token>
//        {"message": {...}, "validate_only": false}
//   200  {"name": "projects/{project}/messages/0:...%..."}
//   4xx/5xx {"error": {"code", "message", "status", "details": [...]}}
//
// Device tokens containing "unregistered" (or listed in unregisteredTokens)
// answer 404 UNREGISTERED, tokens containing "invalid" 400 INVALID_ARGUMENT,
// tokens containing "mismatch" 403 SENDER_ID_MISMATCH.
import { CLOUD_PLATFORM_SCOPE, FCM_SCOPE, OAuthIssuer, createServiceAccount, loadServiceAccount, writeServiceAccount } from './oauth.mjs';
import { Faults, HTML_502, Stats, answer, dropConnection, listen, makeControl, pick, randomHex, sumCounters, toSet } from './common.mjs';

const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' };
const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages(?::|%3A|%3a)send$/;
const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';
const MESSAGE_FIELDS = new Set(['name', 'data', 'notification', 'android', 'webpush', 'apns', 'fcm_options', 'fcmOptions', 'token', 'topic', 'condition']);
const NOTIFICATION_FIELDS = new Set(['title', 'body', 'image']);
const TOKEN_CHARS = /^[A-Za-z0-9_:.-]+$/;
const TOPIC = /^[a-zA-Z0-9-_.~%]{1,900}$/;
const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const AUTH_HELP = 'Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';

// Google's error envelope (google.rpc.Status as JSON).
function googleError(code, status, message, details) {
  const error = { code, message, status };
  if (details) error.details = details;
  return JSON.stringify({ error });
}
const fcmDetail = (errorCode) => ({ '@type': FCM_ERROR, errorCode });
const fieldDetail = (field, description) => ({ '@type': BAD_REQUEST, fieldViolations: [{ field, description }] });

// A 400 for a message the JSON/proto layer rejects (unknown field, wrong
// type): google.rpc.BadRequest only, as in FCM's first documented example.
function badJson(field, description) {
  return { code: 400, status: 'INVALID_ARGUMENT', message: description, details: [fieldDetail(field, description)] };
}
// A 400 FCM itself raises (recipient, token, size): carries FcmError
// INVALID_ARGUMENT, as in FCM's second documented example.
function badFcm(description, field) {
  const details = [fcmDetail('INVALID_ARGUMENT')];
  if (field) details.unshift(fieldDetail(field, description));
  return { code: 400, status: 'INVALID_ARGUMENT', message: description, details };
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describe(v) {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
}

// map<string, string> in proto JSON: an object whose values are all strings.
function checkStringMap(v, field) {
  if (v === null || v === undefined) return null;
  if (!isObject(v)) return badJson(field, `Invalid value at '${field}' (type.googleapis.com/google.protobuf.Map), ${describe(v)}`);
  let i = 0;
  for (const key in v) {
    if (typeof v[key] !== 'string') {
      return badJson(`${field}[${i}].value`, `Invalid value at '${field}[${i}].value' (TYPE_STRING), ${describe(v[key])}`);
    }
    i++;
  }
  return null;
}

function utf8Length(s) {
  return Buffer.byteLength(s, 'utf8');
}

// Returns an error object, or null when FCM would take the message. The
// android, apns and webpush blocks pass through with only their shape
// checked: their contents belong to the platforms, not to this protocol.
export function validateMessage(body, { maxPayloadBytes = 4096 } = {}) {
  if (!isObject(body)) return badJson('', 'Invalid JSON payload received. Expected an object.');
  for (const key in body) {
    if (key !== 'message' && key !== 'validate_only' && key !== 'validateOnly') {
      return badJson('', `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`);
    }
  }
  const m = body.message;
  if (m === undefined || m === null) return badFcm('Recipient of the message is not set.', 'message');
  if (!isObject(m)) return badJson('message', `Invalid value at 'message' (type.googleapis.com/google.firebase.fcm.v1.Message), ${describe(m)}`);
  for (const key in m) {
    if (!MESSAGE_FIELDS.has(key)) return badJson('message', `Invalid JSON payload received. Unknown name "${key}" at 'message': Cannot find field.`);
  }

  // Target: a proto oneof; null counts as unset.
  const targets = ['token', 'topic', 'condition'].filter((k) => m[k] !== undefined && m[k] !== null);
  if (targets.length === 0) return badFcm('Recipient of the message is not set.', 'message');
  if (targets.length > 1) {
    return badJson('message', `Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '${targets[1]}'`);
  }
  const kind = targets[0];
  const value = m[kind];
  if (typeof value !== 'string') return badJson(`message.${kind}`, `Invalid value at 'message.${kind}' (TYPE_STRING), ${describe(value)}`);
  if (kind === 'token' && (!TOKEN_CHARS.test(value) || value.length > 4096 || value.includes('invalid'))) {
    return badFcm('The registration token is not a valid FCM registration token', 'message.token');
  }
  if (kind === 'topic' && !TOPIC.test(value)) return badFcm(`Invalid topic name ${describe(value)}: topic names match [a-zA-Z0-9-_.~%]+, without a /topics/ prefix.`, 'message.topic');
  if (kind === 'condition') {
    const topics = value.match(/'[a-zA-Z0-9-_.~%]+'\s+in\s+topics/g) || [];
    if (topics.length === 0 || topics.length > 5) return badFcm('Invalid condition expression provided.', 'message.condition');
  }

  let payload = 0;
  const dataError = checkStringMap(m.data, 'message.data');
  if (dataError) return dataError;
  if (m.data) {
    for (const key in m.data) {
      // Keys FCM keeps for itself.
      if (key === 'from' || key === 'message_type' || key.startsWith('google.') || key.startsWith('gcm.')) {
        return badFcm(`Invalid data payload key: ${key}. The key must not be a reserved word ("from", "message_type", or any word starting with "google." or "gcm.").`, `message.data`);
      }
      payload += utf8Length(key) + utf8Length(m.data[key]);
    }
  }
  const n = m.notification;
  if (n !== undefined && n !== null) {
    if (!isObject(n)) return badJson('message.notification', `Invalid value at 'message.notification' (type.googleapis.com/google.firebase.fcm.v1.Notification), ${describe(n)}`);
    for (const key in n) {
      if (!NOTIFICATION_FIELDS.has(key)) return badJson('message.notification', `Invalid JSON payload received. Unknown name "${key}" at 'message.notification': Cannot find field.`);
      if (n[key] === null) continue;
      if (typeof n[key] !== 'string') return badJson(`message.notification.${key}`, `Invalid value at 'message.notification.${key}' (TYPE_STRING), ${describe(n[key])}`);
      payload += utf8Length(key) + utf8Length(n[key]);
    }
  }
  if (payload > maxPayloadBytes) {
    return badFcm(`Message is too big: the payload (data and notification, keys and values) is ${payload} bytes; at most ${maxPayloadBytes} are allowed.`, 'message');
  }

  for (const key of ['android', 'apns', 'webpush', 'fcm_options', 'fcmOptions']) {
    const v = m[key];
    if (v !== undefined && v !== null && !isObject(v)) {
      return badJson(`message.${key}`, `Invalid value at 'message.${key}' (type.googleapis.com/google.firebase.fcm.v1.${key}), ${describe(v)}`);
    }
  }
  if (isObject(m.android)) {
    const a = m.android;
    const e = checkStringMap(a.data, 'message.android.data');
    if (e) return e;
    if (a.ttl !== undefined && a.ttl !== null && (typeof a.ttl !== 'string' || !DURATION.test(a.ttl))) {
      return badJson('message.android.ttl', `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), ${describe(a.ttl)}`);
    }
    if (a.priority !== undefined && a.priority !== null && !['normal', 'high'].includes(String(a.priority).toLowerCase())) {
      return badJson('message.android.priority', `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), ${describe(a.priority)}`);
    }
  }
  if (isObject(m.apns)) {
    const e = checkStringMap(m.apns.headers, 'message.apns.headers');
    if (e) return e;
    if (m.apns.payload !== undefined && m.apns.payload !== null && !isObject(m.apns.payload)) {
      return badJson('message.apns.payload', `Invalid value at 'message.apns.payload' (type.googleapis.com/google.protobuf.Struct), ${describe(m.apns.payload)}`);
    }
  }
  if (isObject(m.webpush)) {
    const e = checkStringMap(m.webpush.headers, 'message.webpush.headers') || checkStringMap(m.webpush.data, 'message.webpush.data');
    if (e) return e;
  }
  return null;
}

// opts:
//   port (0), host ('127.0.0.1'), http2 ('auto' | true: h2c only | false: HTTP/1.1 only)
//   projectId ('kontor-test'), serviceAccount (JSON object or path to reuse its key)
//   writeServiceAccount (path: write the service-account JSON there)
//   tokenTtl (3599 s; access-token lifetime), audiences ([] extra accepted `aud`)
//   faults ({} as setFaults), keepMessages (false), maxMessages (10000)
//   unregisteredTokens ([]), dedupeKey (dotted path in the message, e.g. 'data.id', or a function(message))
//   tokenSecret (random): HMAC key of the access tokens; processes sharing it accept each other's
//   maxPayloadBytes (4096), maxConcurrentStreams (100; what FCM advertises)
//   http1Engine ('fast' | 'node': node:http instead of http1.mjs)
export async function startFcm(opts = {}) {
  const {
    port = 0, host = '127.0.0.1', http2 = 'auto', tokenTtl = 3599, audiences = [],
    keepMessages = false, maxMessages = 10_000, dedupeKey, maxPayloadBytes = 4096, maxConcurrentStreams = 100, http1Engine = 'fast',
  } = opts;
  const protocol = http2 === true ? 'h2c' : http2 === false ? 'http1' : 'auto';
  const stats = new Stats({ keepMessages, maxMessages });
  const faults = new Faults(['429', '500', '503', 'html502', 'reset', 'lostResponse', 'auth', 'unauthenticated', 'goaway'], opts.faults);
  const unregistered = toSet(opts.unregisteredTokens);
  const idSuffix = randomHex(8);
  let idSeq = Date.now() * 1000;

  // The token URI is only known once listening; the issuer is filled in then.
  let oauth;
  let account;
  let info;
  const snapshot = (o = {}) => ({ ...stats.snapshot(o), ...oauth.snapshot() });
  const resetStats = () => {
    stats.reset();
    oauth.resetCounters();
  };
  const control = makeControl({
    stats,
    faults,
    info: () => info,
    snapshot,
    raw: () => ({ stats: stats.raw(), oauth: oauth.snapshot() }),
    reset: resetStats,
    extra: {
      'POST /revoke-tokens': () => ({ revoked: oauth.revokeAll() }),
      'POST /unregister': (body) => {
        for (const t of body.tokens || []) unregistered.add(t);
        return { unregistered: unregistered.size };
      },
    },
  });

  function reply(req, code, status, message, details, extraHeaders) {
    answer(req, faults, code, extraHeaders ? { ...JSON_HEADERS, ...extraHeaders } : JSON_HEADERS, googleError(code, status, message, details));
  }

  // A fault's answer, in FCM's words.
  function injectFault(req, kind) {
    stats.fault(kind);
    const retry = faults.retryAfter > 0 ? { 'retry-after': String(faults.retryAfter) } : undefined;
    switch (kind) {
      case '429':
        return reply(req, 429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute' of service 'fcm.googleapis.com'.", [fcmDetail('QUOTA_EXCEEDED')], retry);
      case '500':
        return reply(req, 500, 'INTERNAL', 'Internal error encountered.', [fcmDetail('INTERNAL')]);
      case '503':
        return reply(req, 503, 'UNAVAILABLE', 'The service is currently unavailable.', [fcmDetail('UNAVAILABLE')], retry);
      case 'goaway':
        req.goaway();
        return reply(req, 503, 'UNAVAILABLE', 'The service is currently unavailable.', [fcmDetail('UNAVAILABLE')], retry);
      case 'html502':
        return answer(req, faults, 502, { 'content-type': 'text/html; charset=UTF-8' }, HTML_502);
      case 'reset':
        return dropConnection(req, faults);
      case 'auth':
        return reply(req, 401, 'UNAUTHENTICATED', 'Auth error from APNS or Web Push Service', [fcmDetail('THIRD_PARTY_AUTH_ERROR')]);
      case 'unauthenticated':
        return reply(req, 401, 'UNAUTHENTICATED', `Request had invalid authentication credentials. ${AUTH_HELP}`, undefined, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
      default:
        throw new Error(`unhandled fault ${kind}`);
    }
  }

  function send(req, project) {
    stats.request();
    if (req.method !== 'POST') {
      stats.reject('METHOD');
      return reply(req, 404, 'NOT_FOUND', `Method ${req.method} is not allowed on messages:send.`);
    }
    const auth = oauth.check(req.headers.authorization);
    if (typeof auth === 'string') {
      stats.reject('UNAUTHENTICATED');
      stats.count(`unauthenticated_${auth}`); // missing | unknown | expired
      const message = auth === 'missing' ? `Request is missing required authentication credential. ${AUTH_HELP}` : `Request had invalid authentication credentials. ${AUTH_HELP}`;
      return reply(req, 401, 'UNAUTHENTICATED', message, undefined, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
    }
    if (!auth.scopes.has(FCM_SCOPE) && !auth.scopes.has(CLOUD_PLATFORM_SCOPE)) {
      stats.reject('PERMISSION_DENIED');
      return reply(req, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT', domain: 'googleapis.com', metadata: { service: 'fcm.googleapis.com', method: 'google.firebase.fcm.v1.FcmService.SendMessage' } },
      ]);
    }
    if (project !== auth.projectId) {
      stats.reject('PERMISSION_DENIED');
      return reply(req, 403, 'PERMISSION_DENIED', `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`, [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'IAM_PERMISSION_DENIED', domain: 'cloudresourcemanager.googleapis.com', metadata: { permission: 'cloudmessaging.messages.create', resource: `projects/${project}` } },
      ]);
    }

    let body;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch (e) {
      stats.reject('INVALID_ARGUMENT');
      const d = `Invalid JSON payload received. ${e.message}`;
      return reply(req, 400, 'INVALID_ARGUMENT', d, [fieldDetail('', d)]);
    }
    const m = isObject(body) && isObject(body.message) ? body.message : undefined;
    const target = m ? (m.token ?? (m.topic != null ? `topic:${m.topic}` : m.condition != null ? `condition:${m.condition}` : undefined)) : undefined;

    const fault = faults.pick(typeof target === 'string' ? target : undefined);
    if (fault && fault !== 'lostResponse') return injectFault(req, fault);

    const invalid = validateMessage(body, { maxPayloadBytes });
    let status = 200;
    let out;
    if (invalid) {
      stats.reject('INVALID_ARGUMENT');
      status = invalid.code;
      out = googleError(invalid.code, invalid.status, invalid.message, invalid.details);
    } else if (m.token !== undefined && m.token !== null && (m.token.includes('unregistered') || unregistered.has(m.token))) {
      stats.reject('UNREGISTERED');
      status = 404;
      out = googleError(404, 'NOT_FOUND', 'Requested entity was not found.', [fcmDetail('UNREGISTERED')]);
    } else if (m.token !== undefined && m.token !== null && m.token.includes('mismatch')) {
      stats.reject('SENDER_ID_MISMATCH');
      status = 403;
      out = googleError(403, 'PERMISSION_DENIED', 'SenderId mismatch', [fcmDetail('SENDER_ID_MISMATCH')]);
    } else if (body.validate_only === true || body.validateOnly === true) {
      // A dry run: checked, never delivered, and FCM says so in the name.
      stats.count('validatedOnly');
      out = `{"name":"projects/${project}/messages/fake_message_id"}`;
    } else {
      const id = `0:${++idSeq}%${idSuffix}`;
      stats.accept(target, dedupeKey ? (typeof dedupeKey === 'function' ? dedupeKey(m) : pick(m, dedupeKey)) : undefined, keepMessages ? { project, id, message: m } : undefined);
      out = `{"name":"projects/${project}/messages/${id}"}`;
    }
    if (fault === 'lostResponse') {
      stats.fault(fault);
      return dropConnection(req, faults);
    }
    answer(req, faults, status, JSON_HEADERS, out);
  }

  function handler(req) {
    const p = req.path;
    if (p === '/token') return oauth.handle(req);
    const match = SEND_PATH.exec(p);
    if (match) {
      let project;
      try {
        project = decodeURIComponent(match[1]);
      } catch {
        return req.respond(400, JSON_HEADERS, googleError(400, 'INVALID_ARGUMENT', `Invalid project in ${p}.`));
      }
      return send(req, project);
    }
    if (p.startsWith('/__control/')) return control.http(req);
    req.respond(404, JSON_HEADERS, googleError(404, 'NOT_FOUND', `The requested URL ${p} was not found on this server.`));
  }

  const server = await listen({ host, port, protocol, handler, http1Engine, h2Settings: { maxConcurrentStreams } });
  const tokenUri = `${server.url}/token`;
  const projectId = opts.serviceAccount ? loadServiceAccount(opts.serviceAccount).project_id : opts.projectId || 'kontor-test';
  if (opts.serviceAccount) {
    const existing = loadServiceAccount(opts.serviceAccount);
    account = createServiceAccount({ projectId, clientEmail: existing.client_email, privateKeyId: existing.private_key_id, privateKey: existing.private_key, tokenUri });
  } else {
    account = createServiceAccount({ projectId, tokenUri });
  }
  oauth = new OAuthIssuer({ accounts: [account], tokenUri, tokenTtl, audiences, secret: opts.tokenSecret });
  let serviceAccountPath;
  if (opts.writeServiceAccount) serviceAccountPath = writeServiceAccount(opts.writeServiceAccount, account.json);

  info = {
    provider: 'fcm',
    url: server.url,
    port: server.port,
    protocol,
    tokenUri,
    projectId,
    sendUrl: `${server.url}/v1/projects/${projectId}/messages:send`,
    clientEmail: account.json.client_email,
    privateKeyId: account.json.private_key_id,
    serviceAccountPath,
    controlUrl: `${server.url}/__control`,
  };

  return {
    ...info,
    info,
    serviceAccount: account.json,
    writeServiceAccount(path) {
      serviceAccountPath = writeServiceAccount(path, account.json);
      info.serviceAccountPath = serviceAccountPath;
      return path;
    },
    get stats() {
      return snapshot();
    },
    snapshot,
    countFor: (token) => stats.countFor(token),
    get messages() {
      return stats.snapshot({ perTarget: false }).messages || [];
    },
    setFaults: (f) => faults.set(f),
    clearFaults: () => faults.clear(),
    get faults() {
      return faults.snapshot();
    },
    resetStats,
    control: control.local,
    setControlProxy: control.setProxy,
    revokeTokens: () => oauth.revokeAll(),
    unregister(tokens) {
      for (const t of [].concat(tokens)) unregistered.add(t);
    },
    close: () => server.close(),
  };
}

// The statistics of several worker processes (GET /__control/raw of each) as
// one snapshot; see cluster.mjs.
export function mergeStats(raws, options, snapshotOptions) {
  return { ...Stats.merged(raws.map((r) => r.stats), options).snapshot(snapshotOptions), ...sumCounters(raws.map((r) => r.oauth)) };
}
