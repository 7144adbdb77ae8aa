import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { startMockUpstream } from './mock-upstream';

const root = path.resolve(__dirname, '..');

/// Starts a mock upstream and `portcullis serve` on free loopback ports, with an empty data
/// directory and a configuration that routes the models `llama` and `mistral` to the mock;
/// waits until the gateway listens, and returns the teardown that stops both (the gateway by
/// SIGTERM, as an orchestrator would). Access tokens live 5 s, so every test crosses an expiry
/// and exercises the client's transparent rotation.
export default async function globalSetup(): Promise<() => Promise<void>> {
  const binary = process.env.PORTCULLIS_BIN ?? path.join(root, 'target/debug/portcullis');
  if (!existsSync(binary)) {
    throw new Error(`${binary} does not exist: run scripts/build-site.sh first`);
  }
  const upstream = await startMockUpstream();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'portcullis-e2e-'));
  const config = path.join(dataDir, 'portcullis.toml');
  writeFileSync(config, [
    '[[upstreams]]', 'name = "mock"', `base_url = "${upstream.url}"`, '',
    '[[models]]', 'name = "llama"', 'targets = [{ upstream = "mock" }]', '',
    '[[models]]', 'name = "mistral"', 'targets = [{ upstream = "mock" }]', '',
  ].join('\n'));
  const server = spawn(
    binary,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--config', config,
      '--leptos-config', 'Leptos.toml', '--access-token-ttl', '5s'],
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
  process.env.PORTCULLIS_E2E_UPSTREAM_URL = upstream.url;
  process.env.PORTCULLIS_E2E_ADMIN_PASSWORD = admin ? admin[1] : '';

  return async () => {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
    await upstream.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
