import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { startMockIdp, IDP_CLIENT_ID } from './mock-idp';
import { startMockUpstream } from './mock-upstream';

const root = path.resolve(__dirname, '..');

/// Starts a mock upstream, a mock OpenID provider and `portcullis serve` on free loopback
/// ports, with an empty data directory and a configuration that routes the models `llama` and
/// `mistral` to the mock and offers sign-in through the provider (open registration);
/// waits until the gateway listens, and returns the teardown that stops both (the gateway by
/// SIGTERM, as an orchestrator would). Access tokens live 5 s, so every test crosses an expiry
/// and exercises the client's transparent rotation.
export default async function globalSetup(): Promise<() => Promise<void>> {
  const binary = process.env.PORTCULLIS_BIN ?? path.join(root, 'target/debug/portcullis');
  if (!existsSync(binary)) {
    throw new Error(`${binary} does not exist: run scripts/build-site.sh first`);
  }
  const upstream = await startMockUpstream();
  const idpSecret = randomBytes(24).toString('base64url');
  const idp = await startMockIdp(idpSecret);
  // Redirect URIs are built from the public address, so the port is chosen before the start.
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'portcullis-e2e-'));
  const config = path.join(dataDir, 'portcullis.toml');
  writeFileSync(config, [
    '[[upstreams]]', 'name = "mock"', `base_url = "${upstream.url}"`, '',
    '[[models]]', 'name = "llama"', 'targets = [{ upstream = "mock" }]', '',
    '[[models]]', 'name = "mistral"', 'targets = [{ upstream = "mock" }]', '',
    '[auth]', `public_url = "${publicUrl}"`, 'registration = "open"', '',
    '[[auth.providers]]', 'name = "mockid"', 'kind = "oidc"', 'display_name = "Mock ID"',
    `issuer = "${idp.url}"`, `client_id = "${IDP_CLIENT_ID}"`,
    'client_secret_env = "PORTCULLIS_E2E_IDP_SECRET"', '',
  ].join('\n'));
  const server = spawn(
    binary,
    ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--config', config,
      '--leptos-config', 'Leptos.toml', '--access-token-ttl', '5s'],
    { cwd: root, env: { ...process.env, PORTCULLIS_LOG: 'info', PORTCULLIS_E2E_IDP_SECRET: idpSecret }, stdio: ['ignore', 'pipe', 'pipe'] },
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
    await idp.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

/// A loopback port nobody listens on right now.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
