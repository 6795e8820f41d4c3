// A small HTTP/1.1 server engine over a net.Socket, used instead of
// node:http for speed: node:http answers about 17,000 requests/s on one core
// of the 2-core machines the benchmarks run on, even for an empty handler,
// and the benchmarks need more than 30,000/s. This engine does only what
// API clients send: Content-Length or chunked bodies, keep-alive,
// pipelining (answers go out in request order), Expect: 100-continue. It is
// strict: anything malformed gets a 400 and the connection is closed.
//
// Requests it hands to the handler have the same shape as the ones common.mjs
// builds for node:http and http2: { protocol, method, path, query, headers,
// rawHeaders, body, conn, respond(), destroy(), goaway() }.

const MAX_HEAD = 64 * 1024;
const MAX_BODY = 1 << 20;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const IDLE_MS = 65_000; // as Google's front ends; clients reuse connections for a minute

const REASONS = {
  100: 'Continue', 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 410: 'Gone', 411: 'Length Required',
  413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 505: 'HTTP Version Not Supported',
};

let dateSecond = 0;
let dateHeader = '';
function httpDate() {
  const s = Math.floor(Date.now() / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateHeader = new Date(s * 1000).toUTCString();
  }
  return dateHeader;
}

class Http1Request {
  constructor(conn, slot, method, target, headers, rawHeaders, body) {
    this.protocol = 'http1';
    this.method = method;
    const q = target.indexOf('?');
    this.path = q < 0 ? target : target.slice(0, q);
    this.query = q < 0 ? '' : target.slice(q + 1);
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.body = body;
    this.conn = conn.socket;
    this._c = conn;
    this._slot = slot;
  }

  respond(status, headers, body) {
    this._c.respond(this._slot, status, headers, body);
  }

  destroy() {
    const socket = this._c.socket;
    if (socket.destroyed) return;
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }

  goaway() {
    this._slot.close = true;
  }
}

class Connection {
  constructor(socket, handler) {
    this.socket = socket;
    this.handler = handler;
    this.buf = null; // unparsed bytes
    this.req = null; // request whose body is being read
    this.slots = []; // answers in request order; a slot is filled by respond()
    this.closing = false;
    this.batching = false;
    socket.on('data', (chunk) => this.onData(chunk));
    socket.setTimeout(IDLE_MS, () => socket.destroy());
  }

  onData(chunk) {
    if (this.closing) return;
    if (this.req && this.req.chunks && !this.req.chunked) {
      // Fast path for a large Content-Length body: collect without copying.
      const r = this.req;
      r.chunks.push(chunk);
      r.have += chunk.length;
      if (r.have < r.need) return;
      const all = Buffer.concat(r.chunks);
      r.chunks = null;
      this.buf = all;
    } else {
      this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    }
    // Answers made while this chunk is parsed (pipelined requests) go out
    // in one write at the end instead of one write each.
    this.batching = true;
    try {
      while (this.buf !== null && !this.closing) {
        if (!this.req && !this.parseHead()) break;
        if (!this.req) continue;
        if (!this.readBody()) break;
      }
    } finally {
      this.batching = false;
      this.flush();
    }
  }

  // Parses one request head from this.buf into this.req. False: need more bytes.
  parseHead() {
    const buf = this.buf;
    // Tolerate empty lines between requests (RFC 9112 section 2.2).
    let start = 0;
    while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
    const end = buf.indexOf('\r\n\r\n', start, 'latin1');
    if (end < 0) {
      if (buf.length - start > MAX_HEAD) this.fail(431);
      return false;
    }
    const lines = buf.toString('latin1', start, end).split('\r\n');
    this.buf = end + 4 < buf.length ? buf.subarray(end + 4) : null;
    const first = lines[0].split(' ');
    if (first.length !== 3 || !TOKEN.test(first[0]) || first[1].length === 0) return this.fail(400);
    const version = first[2];
    if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return this.fail(version.startsWith('HTTP/') ? 505 : 400);
    const headers = {};
    const rawHeaders = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) return this.fail(400); // also rejects obsolete line folding
      const rawName = line.slice(0, colon);
      if (!TOKEN.test(rawName)) return this.fail(400);
      const name = rawName.toLowerCase();
      const value = line.slice(colon + 1).trim();
      rawHeaders.push(rawName, value);
      const prev = headers[name];
      if (prev === undefined) headers[name] = value;
      else if (name === 'content-length' || name === 'host') {
        if (prev !== value) return this.fail(400);
      } else headers[name] = `${prev}, ${value}`;
    }
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    let need = 0;
    let chunked = false;
    if (te !== undefined) {
      // Both framings at once is how request smuggling starts (RFC 9112 section 6.1).
      if (cl !== undefined || te.toLowerCase() !== 'chunked') return this.fail(cl !== undefined ? 400 : 501);
      chunked = true;
    } else if (cl !== undefined) {
      if (!/^\d{1,10}$/.test(cl)) return this.fail(400);
      need = Number(cl);
      if (need > MAX_BODY) return this.fail(413);
    }
    const connection = (headers.connection || '').toLowerCase();
    const close = version === 'HTTP/1.0' ? !connection.includes('keep-alive') : connection.includes('close');
    this.req = { method: first[0], target: first[1], headers, rawHeaders, need, chunked, close, have: 0, chunks: null, version };
    if ((headers.expect || '').toLowerCase() === '100-continue' && version === 'HTTP/1.1') {
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    return true;
  }

  // Reads this.req's body from this.buf; dispatches when complete.
  readBody() {
    const r = this.req;
    let body;
    if (r.chunked) {
      body = this.readChunked();
      if (body === null) return false;
    } else if (r.need === 0) {
      body = EMPTY;
    } else {
      const have = this.buf === null ? 0 : this.buf.length;
      if (have < r.need) {
        // Switch to collecting chunks until the body is complete.
        r.chunks = have > 0 ? [this.buf] : [];
        r.have = have;
        this.buf = null;
        return false;
      }
      body = this.buf.subarray(0, r.need);
      this.buf = have > r.need ? this.buf.subarray(r.need) : null;
    }
    this.req = null;
    this.dispatch(r, body);
    return true;
  }

  // Decodes a whole chunked body from this.buf, or returns null for "need
  // more". Chunked request bodies are rare (libcurl uses them only for bodies
  // of unknown size), so this re-parses from the start each time.
  readChunked() {
    const buf = this.buf;
    if (buf === null) return null;
    const parts = [];
    let pos = 0;
    let total = 0;
    for (;;) {
      const eol = buf.indexOf('\r\n', pos, 'latin1');
      if (eol < 0) return buf.length - pos > 1024 ? this.fail(400) : null;
      const sizeText = buf.toString('latin1', pos, eol).split(';')[0].trim();
      if (!/^[0-9A-Fa-f]{1,8}$/.test(sizeText)) return this.fail(400);
      const size = parseInt(sizeText, 16);
      pos = eol + 2;
      if (size === 0) {
        // Trailers (ignored) up to the empty line.
        for (;;) {
          const t = buf.indexOf('\r\n', pos, 'latin1');
          if (t < 0) return null;
          if (t === pos) {
            pos += 2;
            break;
          }
          pos = t + 2;
        }
        this.buf = pos < buf.length ? buf.subarray(pos) : null;
        return Buffer.concat(parts, total);
      }
      total += size;
      if (total > MAX_BODY) return this.fail(413);
      if (buf.length < pos + size + 2) return null;
      if (buf[pos + size] !== 13 || buf[pos + size + 1] !== 10) return this.fail(400);
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
  }

  dispatch(r, body) {
    const slot = { out: null, close: r.close, done: false };
    this.slots.push(slot);
    if (r.close) this.closing = true; // nothing after this request is read
    this.handler(new Http1Request(this, slot, r.method, r.target, r.headers, r.rawHeaders, body));
  }

  respond(slot, status, headers, body) {
    if (slot.done || this.socket.destroyed) return;
    slot.done = true;
    const len = body === undefined || body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    let head = `HTTP/1.1 ${status} ${REASONS[status] || 'Unknown'}\r\ndate: ${httpDate()}\r\ncontent-length: ${len}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    if (slot.close) head += 'connection: close\r\n';
    head += '\r\n';
    slot.out = len === 0 ? head : typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head, 'latin1'), body]);
    if (!this.batching) this.flush();
  }

  // Writes the answers that are ready, in request order, in one write.
  flush() {
    const slots = this.slots;
    if (slots.length === 0 || slots[0].out === null) return;
    let out = null;
    let close = false;
    while (slots.length > 0 && slots[0].out !== null) {
      const s = slots.shift();
      out = out === null ? s.out : typeof out === 'string' && typeof s.out === 'string' ? out + s.out : Buffer.concat([Buffer.from(out), Buffer.from(s.out)]);
      if (s.close) {
        close = true;
        break;
      }
    }
    if (close) {
      this.closing = true;
      this.slots.length = 0;
      this.socket.end(out);
    } else {
      this.socket.write(out);
    }
  }

  // A malformed request: answer it and close, as node:http does.
  fail(status) {
    this.closing = true;
    this.buf = null;
    this.req = null;
    const body = REASONS[status] || 'Bad Request';
    this.socket.end(`HTTP/1.1 ${status} ${body}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    return null;
  }
}

const EMPTY = Buffer.alloc(0);

// Serves HTTP/1.1 on an accepted socket.
export function serveHttp1(socket, handler) {
  return new Connection(socket, handler);
}
