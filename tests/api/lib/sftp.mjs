// A real OpenSSH sshd on a loopback port, serving SFTP from a temp directory,
// standing in for a bank's SFTP server; and a throwaway GnuPG home with the
// bank's key pair, so tests can decrypt what Kontor delivered.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { freePort, tempDir, waitFor } from './harness.mjs';
import net from 'node:net';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function startSftp() {
  const dir = tempDir('kontor-sftp-');
  fs.chmodSync(dir, 0o755);
  const hostKey = path.join(dir, 'host_ed25519');
  const clientKey = path.join(dir, 'client_ed25519');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  fs.copyFileSync(`${clientKey}.pub`, path.join(dir, 'authorized_keys'));
  const fingerprint = run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`]).split(' ')[1];
  const upload = path.join(dir, 'outbox');
  const inbox = path.join(dir, 'inbox');
  fs.mkdirSync(upload);
  fs.mkdirSync(inbox);
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${dir}/sshd.pid`,
    `AuthorizedKeysFile ${dir}/authorized_keys`, 'StrictModes no', 'UsePAM no',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes',
    'Subsystem sftp internal-sftp', 'LogLevel ERROR', 'PermitRootLogin prohibit-password',
    'MaxStartups 400', 'MaxSessions 10', '',
  ].join('\n'));
  if (process.getuid() === 0) fs.mkdirSync('/run/sshd', { recursive: true });
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const log = () => stderr;
  await waitFor(() => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), { what: `sshd on ${port} (${stderr})` });
  return {
    dir, port, upload, inbox, fingerprint, log,
    username: os.userInfo().username,
    privateKey: fs.readFileSync(clientKey, 'utf8'),
    stop() { proc.kill('SIGTERM'); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

// The bank's key pair in its own GnuPG home.
export function bankKeys() {
  const home = tempDir('kontor-gpg-');
  fs.chmodSync(home, 0o700);
  run('gpg', ['--batch', '--homedir', home, '--passphrase', '', '--quick-gen-key', 'Bank <ach@bank.example>', 'future-default', 'default', 'never']);
  const publicKey = run('gpg', ['--batch', '--homedir', home, '--armor', '--export', 'ach@bank.example']);
  return {
    home,
    publicKey,
    decrypt(data) {
      const r = spawnSync('gpg', ['--batch', '--homedir', home, '--decrypt'], { input: data });
      if (r.status !== 0) throw new Error(`gpg --decrypt failed: ${r.stderr}`);
      return r.stdout.toString('utf8');
    },
    stop() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
