// Google's OAuth 2.0 token endpoint for service accounts (the JWT-bearer
// grant, RFC 7523), as FCM clients use it: the client signs a JWT with the
// service account's private key and trades it for a short-lived access token.
//
//   POST /token   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>
//   200 {"access_token":"ya29....","expires_in":3599,"token_type":"Bearer"}
//   400 {"error":"invalid_grant","error_description":"Invalid JWT Signature."}
//
// Access tokens are self-contained (claims and an HMAC keyed by a secret the
// issuer holds), so several worker processes that share the secret accept each
// other's tokens. Each checked token is cached: the FCM send endpoint checks a
// bearer token with one Map lookup; RS256 signatures are verified only here.
import crypto from 'node:crypto';
import fs from 'node:fs';

import { decodeJwt, verifyJwt, randomHex } from './common.mjs';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

// Google's wording for the time check; clients log it, people search for it.
const BAD_TIMES =
  'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
const CLOCK_SKEW_S = 300; // Google tolerates some clock difference; the exact amount is not documented

// A service account as the Google Cloud console downloads it, with a fresh
// RSA key (or the key of an existing JSON file, so several processes can
// share one account).
export function createServiceAccount({ projectId = 'kontor-test', clientEmail, privateKeyId, privateKey, tokenUri }) {
  let keyPem = privateKey;
  if (!keyPem) {
    keyPem = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  }
  const key = crypto.createPrivateKey(keyPem);
  const email = clientEmail || `kontor-push@${projectId}.iam.gserviceaccount.com`;
  const json = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: privateKeyId || randomHex(20),
    private_key: keyPem,
    client_email: email,
    client_id: String(100000000000000000000n + BigInt(`0x${randomHex(8)}`)),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
    universe_domain: 'googleapis.com',
  };
  return { json, publicKey: crypto.createPublicKey(key), privateKey: key };
}

export function loadServiceAccount(pathOrObject) {
  return typeof pathOrObject === 'string' ? JSON.parse(fs.readFileSync(pathOrObject, 'utf8')) : pathOrObject;
}

export function writeServiceAccount(path, json) {
  fs.writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
  return path;
}

// accounts: [{ json, publicKey }]. tokenTtl: seconds an access token lives
// (Google: 3599). audiences: what `aud` may be besides tokenUri.
export class OAuthIssuer {
  constructor({ accounts, tokenUri, tokenTtl = 3599, audiences = [], secret }) {
    this.accounts = new Map(accounts.map((a) => [a.json.client_email, a]));
    this.tokenUri = tokenUri;
    this.audiences = new Set([tokenUri, ...audiences]);
    this.tokenTtl = tokenTtl;
    this.secret = secret || crypto.randomBytes(32).toString('hex');
    this.cache = new Map(); // access token -> { issuedAt, expiresAt (ms), scopes, email, projectId }
    this.generation = 0; // bumped by revokeAll(); tokens of older generations are void
    this.issuedSinceRevoke = 0;
    this.issued = 0;
    this.requests = 0;
    this.errors = Object.create(null);
    this.lastIssuedAt = 0;
  }

  // ctx: a request from common.listen. Answers the token request.
  handle(req) {
    this.requests++;
    const reply = (status, obj) =>
      req.respond(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate', pragma: 'no-cache' }, JSON.stringify(obj));
    const fail = (error, description, status = 400) => {
      this.errors[error] = (this.errors[error] || 0) + 1;
      this.errors[`${error}: ${description}`] = (this.errors[`${error}: ${description}`] || 0) + 1;
      reply(status, { error, error_description: description });
    };
    if (req.method !== 'POST') return fail('invalid_request', `${req.method} is not supported; POST the token request`, 405);
    // Google reads the form whatever the content type says; a JSON body simply
    // has no grant_type field then, which is the error a wrong client gets.
    const form = new URLSearchParams(req.body.toString('utf8'));
    const grantType = form.get('grant_type') ?? '';
    if (grantType !== JWT_BEARER) return fail('unsupported_grant_type', `Invalid grant_type: ${grantType}`);
    const assertion = form.get('assertion');
    if (!assertion) return fail('invalid_request', 'Missing required parameter: assertion');

    const jwt = decodeJwt(assertion);
    if (!jwt || typeof jwt.header !== 'object' || typeof jwt.claims !== 'object' || jwt.claims === null) {
      return fail('invalid_grant', 'Invalid JWT: malformed assertion (expected header.claims.signature, base64url JSON).');
    }
    const { header, claims } = jwt;
    const account = this.accounts.get(claims.iss);
    if (!account) return fail('invalid_grant', 'Invalid grant: account not found');
    // Google picks the public key by kid; a kid that is not the account's key
    // (rotated or deleted) cannot verify.
    if (header.alg !== 'RS256' || (header.kid !== undefined && header.kid !== account.json.private_key_id)) {
      return fail('invalid_grant', 'Invalid JWT Signature.');
    }
    if (!verifyJwt(jwt, 'RS256', account.publicKey)) return fail('invalid_grant', 'Invalid JWT Signature.');
    if (!this.audiences.has(claims.aud)) {
      return fail('invalid_grant', `Invalid JWT: Failed audience check. The right audience is ${this.tokenUri}`);
    }
    const now = Date.now() / 1000;
    const { iat, exp } = claims;
    if (!Number.isInteger(iat) || !Number.isInteger(exp) || exp <= iat || exp - iat > 3600 || iat > now + CLOCK_SKEW_S || exp < now - CLOCK_SKEW_S) {
      return fail('invalid_grant', BAD_TIMES);
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    if (scopes.length === 0) return fail('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');

    const ttl = this.tokenTtl;
    const issuedAt = Date.now();
    const payload = { g: this.generation, i: issuedAt, e: issuedAt + ttl * 1000, s: scopes, m: account.json.client_email, p: account.json.project_id, n: crypto.randomBytes(12).toString('base64url') };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const token = `ya29.c.${body}.${this.mac(body)}`;
    this.issued++;
    this.issuedSinceRevoke++;
    this.lastIssuedAt = Date.now();
    reply(200, { access_token: token, expires_in: Math.max(1, Math.round(ttl)), token_type: 'Bearer' });
  }

  // What the API front end does with "Authorization: Bearer ...": returns the
  // token's record, or a reason ('missing' | 'unknown' | 'expired').
  check(authorization) {
    if (typeof authorization !== 'string' || authorization.length < 8) return 'missing';
    // The scheme is case-insensitive (RFC 6750 section 2.1).
    const scheme = authorization.slice(0, 7).toLowerCase();
    if (scheme !== 'bearer ') return 'missing';
    const token = authorization.slice(7).trim();
    let rec = this.cache.get(token);
    if (rec === undefined) {
      rec = this.decode(token);
      if (rec === null) return 'unknown';
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(token, rec);
    }
    if (rec.generation !== this.generation) return 'unknown';
    if (rec.expiresAt <= Date.now()) return 'expired';
    return rec;
  }

  mac(body) {
    return crypto.createHmac('sha256', this.secret).update(body).digest('base64url');
  }

  decode(token) {
    const m = /^ya29\.c\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) return null;
    const expected = Buffer.from(this.mac(m[1]));
    const given = Buffer.from(m[2]);
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return null;
    try {
      const c = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8'));
      return { generation: c.g, issuedAt: c.i, expiresAt: c.e, scopes: new Set(c.s), email: c.m, projectId: c.p };
    } catch {
      return null;
    }
  }

  // Makes every token handed out so far invalid, as a key rotation or a
  // revoked account does; clients must fetch a new one. Returns how many
  // tokens were issued since the last revocation.
  revokeAll() {
    this.generation++;
    const n = this.issuedSinceRevoke;
    this.issuedSinceRevoke = 0;
    return n;
  }

  snapshot() {
    return { tokenRequests: this.requests, tokensIssued: this.issued, tokenErrors: { ...this.errors } };
  }

  resetCounters() {
    this.issued = 0;
    this.requests = 0;
    this.errors = Object.create(null);
  }
}
