// SMS: Twilio's Messages API, and a generic JSON gateway for providers that
// are not Twilio-shaped.
//
// Twilio:
//   POST /2010-04-01/Accounts/{AccountSid}/Messages.json     HTTP Basic (AccountSid:AuthToken)
//        form: To, From | MessagingServiceSid, Body, StatusCallback (optional)
//   201  the Message resource (sid SM..., status "queued", num_segments ...)
//   4xx  {"code": 21211, "message": "...", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
//   GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json   the resource as it is now
// With StatusCallback, the server later POSTs the delivery receipts there
// ("sent", then "delivered", "undelivered" or "failed"), form-encoded and
// signed with X-Twilio-Signature as Twilio signs them.
//
// Twilio's magic test numbers behave as they do with Twilio's test
// credentials (To +15005550001 invalid, ...0002 unroutable, ...0003 no
// international permission, ...0004 unsubscribed, ...0009 not a mobile; From
// +15005550001 invalid, ...0007 not owned, ...0008 queue full).
//
// Generic gateway (our own minimal protocol, see README.md):
//   POST /send   Authorization: Bearer <gatewayToken>
//        {"to": "+E164", "from"?: "...", "body": "...", "callback_url"?: "...", "reference"?: "..."}
//   200  {"id": "...", "status": "queued", "segments": 1}
//   4xx/5xx {"error": "<code>", "message": "..."}
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

import { Faults, HTML_502, Stats, answer, dropConnection, listen, makeControl, pick, randomHex, toSet } from './common.mjs';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
const MESSAGE_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/;
const E164 = /^\+[1-9]\d{1,14}$/;
const ALPHANUMERIC_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;
const MAX_BODY_CHARS = 1600;

// ---------------------------------------------------------------------------
// Segments

// GSM 03.38: the default alphabet, and the extension table whose characters
// take an escape septet too.
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

// How a carrier splits a text: GSM-7 when every character is in GSM 03.38,
// else UCS-2. A single message holds 160 septets or 70 UTF-16 units; parts of
// a concatenated message give up room for the header and hold 153 or 67, and
// an escaped character or a surrogate pair never straddles two parts.
export function smsSegments(text) {
  const chars = [...text];
  let gsm = true;
  for (const c of chars) {
    if (!GSM_BASIC.has(c) && !GSM_EXTENSION.has(c)) {
      gsm = false;
      break;
    }
  }
  const width = gsm ? (c) => (GSM_EXTENSION.has(c) ? 2 : 1) : (c) => c.length; // UTF-16 units
  const single = gsm ? 160 : 70;
  const part = gsm ? 153 : 67;
  let units = 0;
  for (const c of chars) units += width(c);
  if (units === 0) return { encoding: gsm ? 'GSM-7' : 'UCS-2', segments: 0, units, characters: 0 };
  if (units <= single) return { encoding: gsm ? 'GSM-7' : 'UCS-2', segments: 1, units, characters: chars.length };
  let segments = 1;
  let used = 0;
  for (const c of chars) {
    const w = width(c);
    if (used + w > part) {
      segments++;
      used = 0;
    }
    used += w;
  }
  return { encoding: gsm ? 'GSM-7' : 'UCS-2', segments, units, characters: chars.length };
}

// ---------------------------------------------------------------------------
// Twilio's signature over a webhook: HMAC-SHA1, keyed with the auth token,
// over the full URL followed by every POST parameter name and value, sorted
// by name; base64.
export function twilioSignature(authToken, url, params) {
  const entries = params instanceof URLSearchParams ? [...params] : Object.entries(params);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let data = url;
  for (const [k, v] of entries) data += k + v;
  return crypto.createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

function rfc2822(ms) {
  // "Fri, 31 Oct 2014 03:39:29 +0000", as Twilio writes its dates.
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

function dlrDate(ms) {
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, '0');
  return `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`;
}

const TWILIO_TO_MAGIC = {
  '+15005550001': [21211, (to) => `The 'To' number ${to} is not a valid phone number.`],
  '+15005550002': [21612, () => "The 'To' phone number is not currently reachable via SMS."],
  '+15005550003': [21408, () => "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"],
  '+15005550004': [21610, () => 'Attempt to send to unsubscribed recipient'],
  '+15005550009': [21614, (to) => `'To' number ${to} is not a valid mobile number`],
};
const TWILIO_FROM_MAGIC = {
  '+15005550001': [21212, (from) => `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`],
  '+15005550007': [21606, (from) => `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`],
  '+15005550008': [21611, () => "This 'From' number has exceeded the maximum number of queued messages"],
};
const DEFAULT_ERROR_CODE = { undelivered: 30003, failed: 30008 };

// opts:
//   port (0), host ('127.0.0.1'), http2 ('auto' | true | false)
//   accountSid ('AC' + 32 hex; generated), authToken (32 hex; generated)
//   fromNumbers ([]: any valid sender; else the account's numbers), messagingServiceSids ([]: any MG sid)
//   gatewayToken (generated): the bearer token of the generic gateway
//   callbacks (true): send delivery receipts; callbackDelayMs (20) between status steps
//   outcomes ({ '+1555...': 'undelivered' | 'failed' | 'undelivered:30005' }): final status per number
//   faults ({} as setFaults), keepMessages (false), maxMessages (10000)
//   dedupeKey: a form/JSON field name ('Body'), 'to+body', or a function(fields)
//   http1Engine ('fast' | 'node')
export async function startSms(opts = {}) {
  const {
    port = 0, host = '127.0.0.1', http2 = 'auto', keepMessages = false, maxMessages = 10_000,
    dedupeKey, callbacks = true, callbackDelayMs = 20, http1Engine = 'fast',
  } = opts;
  const protocol = http2 === true ? 'h2c' : http2 === false ? 'http1' : 'auto';
  const accountSid = opts.accountSid || `AC${randomHex(16)}`;
  const authToken = opts.authToken || randomHex(16);
  const gatewayToken = opts.gatewayToken || `gw_${randomHex(16)}`;
  const basicAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const fromNumbers = toSet(opts.fromNumbers);
  const serviceSids = toSet(opts.messagingServiceSids);
  const outcomes = new Map(Object.entries(opts.outcomes || {}));
  const stats = new Stats({ keepMessages, maxMessages });
  const faults = new Faults(['429', '500', '503', 'html502', 'reset', 'lostResponse', 'auth', 'goaway'], opts.faults);
  const resources = new Map(); // sid -> Twilio message resource (for GET)
  const callbackLog = []; // every receipt attempt: { url, sid, status, httpStatus | error, signature }
  let pendingCallbacks = 0;
  let idleWaiters = [];
  const agent = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };

  function keyOf(fields, to, body) {
    if (!dedupeKey) return undefined;
    if (typeof dedupeKey === 'function') return dedupeKey(fields);
    if (dedupeKey === 'to+body') return `${to}\n${body}`;
    return typeof fields.get === 'function' ? fields.get(dedupeKey) : pick(fields, dedupeKey);
  }

  function outcomeFor(to) {
    const o = outcomes.get(to) || 'delivered';
    const [status, code] = o.split(':');
    if (!['delivered', 'undelivered', 'failed'].includes(status)) throw new Error(`outcome for ${to} must be delivered, undelivered or failed`);
    return { status, errorCode: status === 'delivered' ? undefined : Number(code) || DEFAULT_ERROR_CODE[status] };
  }

  // ----- delivery receipts

  function postCallback(url, params, headers) {
    return new Promise((resolve) => {
      let u;
      try {
        u = new URL(url);
      } catch {
        return resolve({ error: 'invalid URL' });
      }
      const body = params.toString();
      const lib = u.protocol === 'https:' ? https : http;
      const req = lib.request(u, {
        method: 'POST',
        agent: u.protocol === 'https:' ? agent.https : agent.http,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers },
        timeout: 15_000,
      }, (res) => {
        res.resume();
        res.on('end', () => resolve({ httpStatus: res.statusCode }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ error: e.message }));
      req.end(body);
    });
  }

  function scheduleReceipts(resource, url, steps) {
    pendingCallbacks += steps.length;
    steps.forEach((step, i) => {
      setTimeout(async () => {
        resource.status = step.status;
        resource.date_updated = rfc2822(Date.now());
        if (step.status === 'sent' || step.final) resource.date_sent = resource.date_sent || rfc2822(Date.now());
        if (step.errorCode) {
          resource.error_code = step.errorCode;
          resource.error_message = null;
        }
        const params = new URLSearchParams();
        params.set('AccountSid', accountSid);
        params.set('ApiVersion', '2010-04-01');
        if (resource.from) params.set('From', resource.from);
        if (resource.messaging_service_sid) params.set('MessagingServiceSid', resource.messaging_service_sid);
        params.set('MessageSid', resource.sid);
        params.set('MessageStatus', step.status);
        params.set('SmsSid', resource.sid);
        params.set('SmsStatus', step.status);
        params.set('To', resource.to);
        if (step.errorCode) params.set('ErrorCode', String(step.errorCode));
        if (step.final && step.status !== 'failed') params.set('RawDlrDoneDate', dlrDate(Date.now()));
        const signature = twilioSignature(authToken, url, params);
        const result = await postCallback(url, params, {
          'x-twilio-signature': signature,
          'user-agent': 'TwilioProxy/1.1',
          'i-twilio-idempotency-token': crypto.randomUUID(),
        });
        logCallback({ url, sid: resource.sid, status: step.status, errorCode: step.errorCode, signature, ...result });
      }, callbackDelayMs * (i + 1));
    });
  }

  function logCallback(entry) {
    if (callbackLog.length >= 10_000) callbackLog.shift();
    callbackLog.push(entry);
    if (entry.error || entry.httpStatus >= 300) stats.count('callbacksFailed');
    else stats.count('callbacksDelivered');
    pendingCallbacks--;
    if (pendingCallbacks === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  // ----- Twilio

  function twilioError(req, status, code, message, extraHeaders) {
    const headers = extraHeaders ? { ...JSON_HEADERS, ...extraHeaders } : JSON_HEADERS;
    answer(req, faults, status, headers, JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  }

  function twilioReject(req, status, code, message, extraHeaders) {
    stats.reject(String(code));
    twilioError(req, status, code, message, extraHeaders);
  }

  function twilioFault(req, kind) {
    stats.fault(kind);
    const retry = faults.retryAfter > 0 ? { 'retry-after': String(faults.retryAfter) } : undefined;
    switch (kind) {
      case '429':
        return twilioError(req, 429, 20429, 'Too Many Requests', retry);
      case '500':
        return twilioError(req, 500, 20500, 'Internal Server Error');
      case '503':
        return twilioError(req, 503, 20503, 'Service Unavailable', retry);
      case 'goaway':
        req.goaway();
        return twilioError(req, 503, 20503, 'Service Unavailable', retry);
      case 'html502':
        return answer(req, faults, 502, { 'content-type': 'text/html; charset=UTF-8' }, HTML_502);
      case 'reset':
        return dropConnection(req, faults);
      case 'auth':
        return twilioError(req, 401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
      default:
        throw new Error(`unhandled fault ${kind}`);
    }
  }

  function twilioAuthorized(req, pathSid) {
    const a = req.headers.authorization;
    if (a !== basicAuth) {
      // Not the exact string: decode, for a case-insensitive scheme.
      const ok = typeof a === 'string' && a.slice(0, 6).toLowerCase() === 'basic ' && Buffer.from(a.slice(6).trim(), 'base64').toString('utf8') === `${accountSid}:${authToken}`;
      if (!ok) {
        twilioReject(req, 401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
        return false;
      }
    }
    if (pathSid !== accountSid) {
      twilioReject(req, 404, 20404, `The requested resource ${req.path} was not found`);
      return false;
    }
    return true;
  }

  function twilioCreate(req, pathSid) {
    stats.request();
    if (req.method !== 'POST' && req.method !== 'GET') return twilioReject(req, 405, 20004, 'Method not allowed');
    if (!twilioAuthorized(req, pathSid)) return;
    if (req.method === 'GET') {
      // The list of messages: enough of it for a client that pages through.
      return answer(req, faults, 200, JSON_HEADERS, JSON.stringify({ messages: [...resources.values()].slice(-50).reverse(), page: 0, page_size: 50, uri: req.path }));
    }
    const form = new URLSearchParams(req.body.toString('utf8'));
    const to = form.get('To');
    const fault = faults.pick(to ?? undefined);
    if (fault && fault !== 'lostResponse') return twilioFault(req, fault);

    const from = form.get('From');
    const serviceSid = form.get('MessagingServiceSid');
    const body = form.get('Body');
    const callbackUrl = form.get('StatusCallback');
    let error;
    if (!to) error = [21604, "A 'To' phone number is required."];
    else if (!E164.test(to)) error = [21211, `The 'To' number ${to} is not a valid phone number.`];
    else if (TWILIO_TO_MAGIC[to]) error = [TWILIO_TO_MAGIC[to][0], TWILIO_TO_MAGIC[to][1](to)];
    else if (!from && !serviceSid) error = [21603, "A 'From' phone number is required."];
    else if (from && !E164.test(from) && !ALPHANUMERIC_SENDER.test(from)) error = [21212, `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`];
    // Twilio answers 21211 for a message to its own sender too.
    else if (from && from === to) error = [21211, `The 'To' number ${to} is not a valid phone number.`];
    else if (from && TWILIO_FROM_MAGIC[from]) error = [TWILIO_FROM_MAGIC[from][0], TWILIO_FROM_MAGIC[from][1](from)];
    else if (from && fromNumbers.size > 0 && !fromNumbers.has(from)) error = [21606, `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`];
    else if (!from && (!MESSAGING_SERVICE_SID.test(serviceSid) || (serviceSids.size > 0 && !serviceSids.has(serviceSid)))) error = [21701, `The Messaging Service Sid ${serviceSid} is invalid.`];
    else if (!body && !form.get('MediaUrl') && !form.get('ContentSid')) error = [21602, 'Message body is required.'];
    else if (body && [...body].length > MAX_BODY_CHARS) error = [21617, 'The concatenated message body exceeds the 1600 character limit.'];
    else if (callbackUrl && !/^https?:\/\/[^\s/]+/.test(callbackUrl)) error = [21609, `The StatusCallback URL ${callbackUrl} is not a valid URL.`];

    let out;
    let status;
    if (error) {
      stats.reject(String(error[0]));
      status = 400;
      out = JSON.stringify({ code: error[0], message: error[1], more_info: `https://www.twilio.com/docs/errors/${error[0]}`, status: 400 });
    } else {
      const sid = `SM${randomHex(16)}`;
      const now = rfc2822(Date.now());
      const seg = smsSegments(body || '');
      const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`;
      // A message through a Messaging Service starts "accepted", without a
      // sender or a segment count yet (Twilio's documentation says so).
      const resource = {
        account_sid: accountSid,
        api_version: '2010-04-01',
        body: body || '',
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: from || null,
        messaging_service_sid: serviceSid || null,
        num_media: form.get('MediaUrl') ? String(form.getAll('MediaUrl').length) : '0',
        num_segments: from ? String(seg.segments) : '0',
        price: null,
        price_unit: 'USD',
        sid,
        status: from ? 'queued' : 'accepted',
        subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
        to,
        uri,
      };
      out = JSON.stringify(resource);
      status = 201;
      if (resources.size >= 100_000) resources.delete(resources.keys().next().value);
      resources.set(sid, resource);
      stats.count('segments', seg.segments);
      stats.accept(to, keyOf(form, to, body), keepMessages ? { sid, to, from, messagingServiceSid: serviceSid, body, statusCallback: callbackUrl, encoding: seg.encoding, segments: seg.segments, fields: Object.fromEntries(form) } : undefined);
      if (callbackUrl && callbacks) {
        const final = outcomeFor(to);
        const steps = [];
        if (!from) steps.push({ status: 'queued' });
        if (final.status !== 'failed') steps.push({ status: 'sent' });
        steps.push({ status: final.status, errorCode: final.errorCode, final: true });
        scheduleReceipts(resource, callbackUrl, steps);
      }
    }
    if (fault === 'lostResponse') {
      stats.fault(fault);
      return dropConnection(req, faults);
    }
    answer(req, faults, status, JSON_HEADERS, out);
  }

  function twilioFetch(req, pathSid, sid) {
    if (req.method !== 'GET') return twilioError(req, 405, 20004, 'Method not allowed');
    if (!twilioAuthorized(req, pathSid)) return;
    const r = resources.get(sid);
    if (!r) return twilioError(req, 404, 20404, `The requested resource ${req.path} was not found`);
    answer(req, faults, 200, JSON_HEADERS, JSON.stringify(r));
  }

  // ----- generic gateway

  function gatewayError(req, status, error, message, extraHeaders) {
    answer(req, faults, status, extraHeaders ? { ...JSON_HEADERS, ...extraHeaders } : JSON_HEADERS, JSON.stringify({ error, message }));
  }

  function gatewayFault(req, kind) {
    stats.fault(kind);
    const retry = faults.retryAfter > 0 ? { 'retry-after': String(faults.retryAfter) } : undefined;
    switch (kind) {
      case '429':
        return gatewayError(req, 429, 'rate_limited', 'Too many requests; retry after the Retry-After delay.', retry);
      case '500':
        return gatewayError(req, 500, 'internal', 'Internal error.');
      case '503':
        return gatewayError(req, 503, 'unavailable', 'Service unavailable; retry later.', retry);
      case 'goaway':
        req.goaway();
        return gatewayError(req, 503, 'unavailable', 'Service unavailable; retry later.', retry);
      case 'html502':
        return answer(req, faults, 502, { 'content-type': 'text/html; charset=UTF-8' }, HTML_502);
      case 'reset':
        return dropConnection(req, faults);
      case 'auth':
        return gatewayError(req, 401, 'unauthorized', 'Invalid or missing bearer token.', { 'www-authenticate': 'Bearer' });
      default:
        throw new Error(`unhandled fault ${kind}`);
    }
  }

  function gatewaySend(req) {
    stats.request();
    const reject = (status, error, message, extra) => {
      stats.reject(error);
      gatewayError(req, status, error, message, extra);
    };
    if (req.method !== 'POST') return reject(405, 'method_not_allowed', 'POST /send');
    const a = req.headers.authorization;
    if (typeof a !== 'string' || a.slice(0, 7).toLowerCase() !== 'bearer ' || a.slice(7).trim() !== gatewayToken) {
      return reject(401, 'unauthorized', 'Invalid or missing bearer token.', { 'www-authenticate': 'Bearer' });
    }
    let msg;
    try {
      msg = JSON.parse(req.body.toString('utf8'));
    } catch {
      return reject(400, 'invalid_json', 'The body is not JSON.');
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return reject(400, 'invalid_json', 'The body must be a JSON object.');
    const fault = faults.pick(typeof msg.to === 'string' ? msg.to : undefined);
    if (fault && fault !== 'lostResponse') return gatewayFault(req, fault);
    const text = msg.body ?? msg.text;
    let error;
    if (typeof msg.to !== 'string' || !E164.test(msg.to)) error = ['invalid_to', `"to" must be an E.164 number, not ${JSON.stringify(msg.to)}.`];
    else if (msg.from !== undefined && (typeof msg.from !== 'string' || (!E164.test(msg.from) && !ALPHANUMERIC_SENDER.test(msg.from)))) error = ['invalid_from', '"from" must be an E.164 number or an alphanumeric sender id of at most 11 characters.'];
    else if (typeof text !== 'string' || text === '') error = ['invalid_body', '"body" must be a non-empty string.'];
    else if ([...text].length > MAX_BODY_CHARS) error = ['body_too_long', `"body" has more than ${MAX_BODY_CHARS} characters.`];
    else if (msg.callback_url !== undefined && (typeof msg.callback_url !== 'string' || !/^https?:\/\/[^\s/]+/.test(msg.callback_url))) error = ['invalid_callback_url', '"callback_url" must be an http(s) URL.'];
    let status;
    let out;
    if (error) {
      stats.reject(error[0]);
      status = 400;
      out = JSON.stringify({ error: error[0], message: error[1] });
    } else {
      const id = `msg_${randomHex(12)}`;
      const seg = smsSegments(text);
      stats.count('segments', seg.segments);
      stats.accept(msg.to, keyOf(msg, msg.to, text), keepMessages ? { id, ...msg, encoding: seg.encoding, segments: seg.segments } : undefined);
      status = 200;
      out = JSON.stringify({ id, status: 'queued', segments: seg.segments });
      if (msg.callback_url && callbacks) gatewayReceipt(id, msg);
    }
    if (fault === 'lostResponse') {
      stats.fault(fault);
      return dropConnection(req, faults);
    }
    answer(req, faults, status, JSON_HEADERS, out);
  }

  // One receipt with the final status, JSON, signed with HMAC-SHA256 of the
  // body keyed by the gateway token.
  function gatewayReceipt(id, msg) {
    const final = outcomeFor(msg.to);
    pendingCallbacks++;
    setTimeout(async () => {
      const body = JSON.stringify({ id, reference: msg.reference ?? null, to: msg.to, status: final.status, error_code: final.errorCode ?? null, at: new Date().toISOString() });
      const signature = `sha256=${crypto.createHmac('sha256', gatewayToken).update(body).digest('hex')}`;
      const result = await new Promise((resolve) => {
        let u;
        try {
          u = new URL(msg.callback_url);
        } catch {
          return resolve({ error: 'invalid URL' });
        }
        const lib = u.protocol === 'https:' ? https : http;
        const r = lib.request(u, { method: 'POST', agent: u.protocol === 'https:' ? agent.https : agent.http, timeout: 15_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-signature': signature } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ httpStatus: res.statusCode }));
        });
        r.on('timeout', () => r.destroy(new Error('timeout')));
        r.on('error', (e) => resolve({ error: e.message }));
        r.end(body);
      });
      logCallback({ url: msg.callback_url, id, status: final.status, errorCode: final.errorCode, signature, ...result });
    }, callbackDelayMs);
  }

  // ----- routing

  let info;
  const resetStats = () => {
    stats.reset();
    callbackLog.length = 0;
  };
  const control = makeControl({
    stats,
    faults,
    info: () => info,
    snapshot: (o) => stats.snapshot(o),
    raw: () => ({ stats: stats.raw() }),
    reset: resetStats,
    extra: {
      'GET /callbacks': () => ({ pending: pendingCallbacks, callbacks: callbackLog }),
      'POST /outcomes': (body) => {
        for (const [number, o] of Object.entries(body || {})) {
          outcomes.set(number, o);
          outcomeFor(number); // validates
        }
        return Object.fromEntries(outcomes);
      },
    },
  });

  function handler(req) {
    const p = req.path;
    let m = MESSAGES_PATH.exec(p);
    if (m) return twilioCreate(req, m[1]);
    if (p === '/send') return gatewaySend(req);
    m = MESSAGE_PATH.exec(p);
    if (m) return twilioFetch(req, m[1], m[2]);
    if (p.startsWith('/__control/')) return control.http(req);
    twilioError(req, 404, 20404, `The requested resource ${p} was not found`);
  }

  const server = await listen({ host, port, protocol, handler, http1Engine });
  info = {
    provider: 'sms',
    url: server.url,
    port: server.port,
    protocol,
    accountSid,
    authToken,
    messagesUrl: `${server.url}/2010-04-01/Accounts/${accountSid}/Messages.json`,
    gatewayUrl: `${server.url}/send`,
    gatewayToken,
    controlUrl: `${server.url}/__control`,
  };

  return {
    ...info,
    info,
    get stats() {
      return stats.snapshot();
    },
    snapshot: (o) => stats.snapshot(o),
    countFor: (to) => stats.countFor(to),
    get messages() {
      return stats.snapshot({ perTarget: false }).messages || [];
    },
    get callbacks() {
      return [...callbackLog];
    },
    // Resolves once every scheduled receipt has been attempted.
    callbacksIdle() {
      return pendingCallbacks === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },
    setOutcome(number, outcome) {
      outcomes.set(number, outcome);
      outcomeFor(number);
    },
    setFaults: (f) => faults.set(f),
    clearFaults: () => faults.clear(),
    get faults() {
      return faults.snapshot();
    },
    resetStats,
    control: control.local,
    setControlProxy: control.setProxy,
    async close() {
      await server.close();
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

// The statistics of several worker processes as one snapshot; see cluster.mjs.
export function mergeStats(raws, options, snapshotOptions) {
  return Stats.merged(raws.map((r) => r.stats), options).snapshot(snapshotOptions);
}
