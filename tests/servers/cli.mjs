#!/usr/bin/env node
// Runs one protocol server as its own process, for benchmarks and black-box
// tests in other languages:
//
//   node tests/servers/cli.mjs fcm  --port 0 --http2 --write-service-account /tmp/sa.json
//   node tests/servers/cli.mjs apns --port 0 --write-key /tmp/AuthKey.p8 --topic com.example.app
//   node tests/servers/cli.mjs sms  --port 0 --faults '{"rate429":0.05}'
//
// Once listening it prints one JSON line on stdout (URLs, port, credentials,
// file paths), then serves until SIGTERM or SIGINT. With --print-stats it
// prints the final statistics as a second line before exiting. Faults and
// statistics are reachable at <url>/__control/... (see README.md).
// --workers N serves from N processes sharing the port (cluster.mjs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startApns } from './apns.mjs';
import { isWorker, runWorker, startCluster } from './cluster.mjs';
import { startFcm } from './fcm.mjs';
import { startSms } from './sms.mjs';

// Option name -> type. bool: "--x" is true, "--no-x" false, "--x false" too.
// auto: like bool, or the word "auto". list: comma-separated. json: a JSON value.
const COMMON = {
  port: 'int', host: 'string', faults: 'json', 'keep-messages': 'bool', 'max-messages': 'int', 'dedupe-key': 'string',
  'print-stats': 'bool', workers: 'int', 'stack-traces': 'bool',
};
const SERVERS = {
  fcm: {
    start: startFcm,
    options: {
      ...COMMON, http2: 'auto', 'http1-engine': 'string', 'project-id': 'string', 'service-account': 'string', 'write-service-account': 'string',
      'token-ttl': 'number', audiences: 'list', 'unregistered-tokens': 'list', 'max-payload-bytes': 'int', 'max-concurrent-streams': 'int',
    },
  },
  apns: {
    start: startApns,
    options: {
      ...COMMON, 'team-id': 'string', 'key-id': 'string', key: 'string', 'write-key': 'string', topic: 'string', topics: 'list',
      'unregistered-tokens': 'list', 'unregistered-prefix': 'string', 'enforce-token-updates': 'bool', 'require-push-type': 'bool',
      environment: 'string', 'max-concurrent-streams': 'int',
    },
  },
  sms: {
    start: startSms,
    options: {
      ...COMMON, http2: 'auto', 'http1-engine': 'string', 'account-sid': 'string', 'auth-token': 'string', 'gateway-token': 'string',
      'from-numbers': 'list', 'messaging-service-sids': 'list', callbacks: 'bool', 'callback-delay-ms': 'int', outcomes: 'json',
    },
  },
};

function usage(message) {
  const lines = [message, '', 'usage: node tests/servers/cli.mjs fcm|apns|sms [--option value ...]'];
  for (const [name, s] of Object.entries(SERVERS)) lines.push(`  ${name}: ${Object.keys(s.options).map((o) => `--${o}`).join(' ')}`);
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(2);
}

function camel(name) {
  return name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function parseArgs(argv) {
  const [kind, ...rest] = argv;
  const spec = SERVERS[kind];
  if (!spec) usage(kind ? `unknown server ${kind}` : 'which server?');
  const opts = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith('--')) usage(`unexpected argument ${arg}`);
    let name = arg.slice(2);
    let inline;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    let negated = false;
    if (!spec.options[name] && name.startsWith('no-') && spec.options[name.slice(3)]) {
      negated = true;
      name = name.slice(3);
    }
    const type = spec.options[name];
    if (!type) usage(`${kind} has no option --${name}`);
    const next = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= rest.length) usage(`--${name} needs a value`);
      return rest[++i];
    };
    let value;
    if (type === 'bool' || type === 'auto') {
      if (negated) value = false;
      else {
        const peek = inline ?? rest[i + 1];
        const words = type === 'auto' ? ['true', 'false', 'auto'] : ['true', 'false'];
        if (peek !== undefined && words.includes(peek)) {
          value = peek === 'auto' ? 'auto' : peek === 'true';
          if (inline === undefined) i++;
        } else value = true;
      }
    } else if (type === 'int' || type === 'number') {
      const raw = next();
      value = Number(raw);
      if (!Number.isFinite(value) || (type === 'int' && !Number.isInteger(value))) usage(`--${name} must be a number, not ${raw}`);
    } else if (type === 'list') {
      value = next().split(',').map((s) => s.trim()).filter(Boolean);
    } else if (type === 'json') {
      const raw = next();
      try {
        value = JSON.parse(raw);
      } catch {
        usage(`--${name} must be JSON, not ${raw}`);
      }
    } else {
      value = next();
    }
    opts[camel(name)] = value;
  }
  return { kind, spec, opts };
}

async function main() {
  const { kind, spec, opts } = parseArgs(process.argv.slice(2));
  const printStats = opts.printStats;
  const workers = opts.workers ?? 1;
  // Node's http2 creates an Error for every stream that closes while its last
  // write is completing; capturing their stack traces costs a fifth of the
  // CPU time per HTTP/2 request. A standalone server does not need them.
  if (!opts.stackTraces) Error.stackTraceLimit = 0;
  for (const k of ['printStats', 'workers', 'stackTraces']) delete opts[k];
  if (isWorker()) return runWorker();
  if (!(Number.isInteger(workers) && workers >= 1)) usage('--workers must be 1 or more');

  // Credentials the caller did not ask to have written go to a private
  // temporary directory, removed at exit, so a black-box test always has a
  // file to point the client at.
  let tmp;
  const tempFile = (name) => {
    if (!tmp) {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), `kontor-${kind}-`));
      process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
    }
    return path.join(tmp, name);
  };
  if (kind === 'fcm' && !opts.writeServiceAccount) opts.writeServiceAccount = tempFile('service-account.json');
  if (kind === 'apns' && !opts.writeKey) opts.writeKey = tempFile('AuthKey.p8');

  let server;
  try {
    if (workers > 1) {
      const c = await startCluster(kind, opts, workers);
      server = { info: c.info, close: c.close, stats: c.stats };
    } else {
      const s = await spec.start(opts);
      server = { info: s.info, close: s.close, stats: async () => s.stats };
    }
  } catch (e) {
    process.stderr.write(`${kind}: ${e.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify(server.info)}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const final = printStats ? await server.stats() : undefined;
    await server.close();
    if (final) process.stdout.write(`${JSON.stringify({ ...final, perTarget: undefined, messages: undefined })}\n`);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
