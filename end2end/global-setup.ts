import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

/// Starts `portcullis serve` on a free loopback port with an empty data directory, waits until
/// it listens, and returns the teardown that stops it (SIGTERM, as an orchestrator would).
export default async function globalSetup(): Promise<() => Promise<void>> {
  const binary = process.env.PORTCULLIS_BIN ?? path.join(root, 'target/debug/portcullis');
  if (!existsSync(binary)) {
    throw new Error(`${binary} does not exist: run scripts/build-site.sh first`);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'portcullis-e2e-'));
  const server = spawn(
    binary,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--leptos-config', 'Leptos.toml'],
    { cwd: root, env: { ...process.env, PORTCULLIS_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  server.stdout.on('data', (d) => { stdout += d; });

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${stderr}`)), 60_000);
    server.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${stderr}`)); });
  });

  const admin = /One-time password: (\S+)/.exec(stdout);
  process.env.PORTCULLIS_E2E_BASE_URL = baseUrl;
  process.env.PORTCULLIS_E2E_ADMIN_PASSWORD = admin ? admin[1] : '';

  return async () => {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
}
