// A real SMTP server (python3-aiosmtpd) on a loopback port for email tests;
// what arrives is parsed by Python's email package (a real MIME parser).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort, tempDir, waitFor } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

// opts: { auth: 'user:password', failRcpt: ['bad@:550'] }
export async function startSmtp(opts = {}) {
  const dir = tempDir('kontor-smtp-');
  const out = path.join(dir, 'mail.jsonl');
  const port = await freePort();
  const args = [path.join(here, 'smtp_server.py'), String(port), out];
  if (opts.auth) args.push('--auth', opts.auth);
  for (const f of opts.failRcpt ?? []) args.push('--fail-rcpt', f);
  // Debian's interpreter: aiosmtpd is a Debian package (python3-aiosmtpd).
  const proc = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`smtp server exited with ${code}`)));
    proc.stdout.once('data', resolve);
  });
  const messages = () => {
    if (!fs.existsSync(out)) return [];
    return fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    async waitForCount(n, timeoutMs = 20000) {
      await waitFor(() => messages().length >= n, { timeoutMs, what: `${n} emails` });
      return messages();
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
