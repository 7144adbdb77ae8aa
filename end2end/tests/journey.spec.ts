import { test, expect } from './fixtures/gateway';
import { changePassword, hydrated, shot, signIn, tokens } from './fixtures/pages';

// One deployment's life, in order: the first administrator, a user with limited models, that
// user's keys used against /v1, sessions renewed and ended, usage, the playground.
test.describe.configure({ mode: 'serial' });

const ADMIN_PASSWORD = 'admin password for the browser tests';
const ALICE_PASSWORD = 'alice password for the browser tests';
let aliceOneTime = '';
let aliceKey = '';

test('first sign-in with the one-time password forces a new one', async ({ page }, info) => {
  const oneTime = process.env.PORTCULLIS_E2E_ADMIN_PASSWORD ?? '';
  expect(oneTime).not.toBe('');
  await signIn(page, 'admin', 'not the password');
  await expect(page.getByRole('alert')).toHaveText('Wrong username or password');
  await signIn(page, 'admin', oneTime);
  await expect(page).toHaveURL(/\/change-password$/);
  // Nothing else is reachable until the password is changed.
  await page.goto('/keys');
  await expect(page).toHaveURL(/\/change-password$/);
  await hydrated(page);
  await changePassword(page, oneTime, ADMIN_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Welcome, admin' })).toBeVisible();
  await shot(page, info.outputPath('overview.png'));
});

test('an administrator creates a user limited to one model, and a key of their own', async ({ page }, info) => {
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Welcome, admin' })).toBeVisible();
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Email (optional)').fill('alice@example.org');
  await page.getByRole('button', { name: 'Add user' }).click();
  const secret = page.getByTestId('one-time-password').locator('.secret-value');
  await expect(secret).toHaveText(/\S{12,}/);
  aliceOneTime = (await secret.textContent()) ?? '';

  await page.locator('tr[data-username="alice"]').getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('May use every model').uncheck();
  await page.getByLabel('llama', { exact: true }).check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('Saved the changes to alice.')).toBeVisible();
  await shot(page, info.outputPath('users.png'));

  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('Name', { exact: true }).fill('admin-key');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-key')).toBeVisible();

  await page.getByRole('link', { name: 'Models' }).click();
  await expect(page.locator('tr[data-upstream="mock"]')).toBeVisible();
  await page.locator('tr[data-upstream="mock"]').getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByText(/Connected in \d+ ms; it lists 2 model\(s\): llama, mistral/)).toBeVisible();
  await expect(page.locator('tr[data-model="llama"]')).toContainText('mock');

  // An upstream added here: tested before saving, its credential written once and never shown.
  await page.getByLabel('Name', { exact: true }).fill('spare');
  await page.getByLabel('Base URL').fill(process.env.PORTCULLIS_E2E_UPSTREAM_URL ?? '');
  await page.getByLabel('API key (optional)').fill('sk-spare-secret');
  await page.getByRole('button', { name: 'Test connection' }).last().click();
  await expect(page.getByText(/Connected in \d+ ms; it lists: llama, mistral/)).toBeVisible();
  await page.getByRole('button', { name: 'Add upstream' }).click();
  await expect(page.getByText('`spare` was added.')).toBeVisible();
  const spare = page.locator('tr[data-upstream="spare"]');
  await expect(spare).toContainText('Set (hidden)');
  expect(await page.content()).not.toContain('sk-spare-secret');
  await spare.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Remove the stored API key').check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.locator('tr[data-upstream="spare"]')).toContainText('None');
  // The API it speaks, changed and shown; the edit form opens on the saved choice.
  await expect(spare).not.toContainText('Anthropic Messages API');
  const editSpare = page.getByRole('group', { name: 'Edit spare' });
  await spare.getByRole('button', { name: 'Edit' }).click();
  await editSpare.getByLabel('API', { exact: true }).selectOption('anthropic');
  await editSpare.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(spare).toContainText('Anthropic Messages API');
  await spare.getByRole('button', { name: 'Edit' }).click();
  await expect(editSpare.getByLabel('API', { exact: true })).toHaveValue('anthropic');
  await editSpare.getByRole('button', { name: 'Cancel' }).click();

  // A model mapped onto it, then given another weight.
  await page.getByLabel('Name clients use').fill('spare-llama');
  await page.getByLabel('Upstream 1', { exact: true }).selectOption({ label: 'spare' });
  await page.getByLabel('Name upstream 1 knows it by').fill('llama');
  await page.getByRole('button', { name: 'Add model' }).click();
  await expect(page.getByText('`spare-llama` is served now.')).toBeVisible();
  const mapped = page.locator('tr[data-model="spare-llama"]');
  await expect(mapped).toContainText('spare as llama (weight 1)');
  await mapped.getByRole('button', { name: 'Edit' }).click();
  const panel = page.getByRole('group', { name: 'Edit spare-llama' });
  await panel.getByLabel('Weight 1').fill('3');
  await panel.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.locator('tr[data-model="spare-llama"]')).toContainText('spare as llama (weight 3)');
  await shot(page, info.outputPath('models.png'));

  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByTestId('audit')).toContainText('user.create');
  await shot(page, info.outputPath('audit.png'));
});

test('the user signs in, creates and copies a key that works only for the allowed model', async ({ page, context, request }, info) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signIn(page, 'alice', aliceOneTime);
  await changePassword(page, aliceOneTime, ALICE_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Welcome, alice' })).toBeVisible();
  await page.getByRole('link', { name: 'API keys' }).click();
  await expect(page.getByText('No keys yet.')).toBeVisible();
  // The picker offers only what alice may use.
  await expect(page.getByLabel('llama', { exact: true })).toBeVisible();
  await expect(page.getByLabel('mistral', { exact: true })).toHaveCount(0);
  await page.getByLabel('Name', { exact: true }).fill('laptop');
  await page.getByRole('button', { name: 'Create key' }).click();
  const panel = page.getByTestId('new-key');
  aliceKey = (await panel.locator('.secret-value').textContent()) ?? '';
  expect(aliceKey).toMatch(/^sk-pc-/);
  await panel.getByRole('button', { name: 'Copy' }).click();
  await expect(panel.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(aliceKey);
  await shot(page, info.outputPath('keys.png'));

  // Only her own keys: the administrator's is not listed.
  await expect(page.getByTestId('keys')).toContainText('laptop');
  await expect(page.getByTestId('keys')).not.toContainText('admin-key');

  const chat = (model: string, key = aliceKey) => request.post('/v1/chat/completions', {
    headers: { authorization: `Bearer ${key}` },
    data: { model, messages: [{ role: 'user', content: 'hi' }] },
  });
  const ok = await chat('llama');
  expect(ok.status()).toBe(200);
  expect((await ok.json()).choices[0].message.content).toBe('Hello from the mock');
  const refused = await chat('mistral');
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.code).toBe('model_not_allowed');
});

test('the user cannot reach the administration, in the UI or through the API', async ({ page, request }) => {
  await signIn(page, 'alice', ALICE_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Welcome, alice' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await page.goto('/users');
  await expect(page.getByRole('heading', { name: 'Not available' })).toBeVisible();
  const t = await tokens(page);
  const listed = await request.post('/api/users/list', { headers: { authorization: `Bearer ${t?.access}` }, data: {} });
  expect(listed.status()).toBe(403);
});

test('reveal, rotate and revoke: a rotated or revoked key stops working', async ({ page, request }) => {
  await signIn(page, 'alice', ALICE_PASSWORD);
  await page.getByRole('link', { name: 'API keys' }).click();
  const row = page.locator('tr[data-key-name="laptop"]');
  await row.getByRole('button', { name: 'Reveal' }).click();
  const shown = page.locator('.row-detail .secret-value');
  await expect(shown).toHaveText(aliceKey);

  await row.getByRole('button', { name: 'Rotate' }).click();
  await expect(shown).not.toHaveText(aliceKey);
  const rotated = (await shown.textContent()) ?? '';
  const call = (key: string) => request.post('/v1/chat/completions', {
    headers: { authorization: `Bearer ${key}` },
    data: { model: 'llama', messages: [] },
  });
  expect((await call(aliceKey)).status()).toBe(401);
  expect((await call(rotated)).status()).toBe(200);
  aliceKey = rotated;

  await page.locator('tr[data-key-name="laptop"]').getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(page.locator('tr[data-key-name="laptop"]')).toContainText('Revoked');
  expect((await call(rotated)).status()).toBe(401);
});

test('sessions renew across an access-token expiry, and signing out revokes the refresh token', async ({ page, request }) => {
  await signIn(page, 'alice', ALICE_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Welcome, alice' })).toBeVisible();
  const before = await tokens(page);
  // Access tokens live 5 s in this deployment.
  await page.waitForTimeout(6_000);
  await page.getByRole('link', { name: 'API keys' }).click();
  await expect(page.getByTestId('keys')).toContainText('laptop');
  await expect(page).toHaveURL(/\/keys$/);
  const after = await tokens(page);
  expect(after?.refresh).toBeTruthy();
  expect(after?.refresh).not.toBe(before?.refresh);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByText('You have signed out.')).toBeVisible();
  expect(await tokens(page)).toBeNull();
  const reused = await request.post('/api/auth/refresh', { data: { refresh_token: after?.refresh } });
  expect(reused.status()).toBe(401);
});

test('a session that cannot be renewed sends the user to sign in, then back where they were', async ({ page }) => {
  await signIn(page, 'alice', ALICE_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Welcome, alice' })).toBeVisible();
  // As if the session had been ended elsewhere: the refresh token no longer works.
  await page.evaluate(() => {
    const t = JSON.parse(sessionStorage.getItem('portcullis.tokens') ?? '{}');
    t.refresh = 'pcr_spoiled';
    sessionStorage.setItem('portcullis.tokens', JSON.stringify(t));
  });
  await page.waitForTimeout(6_000);
  await page.getByRole('link', { name: 'API keys' }).click();
  await expect(page).toHaveURL(/\/login\?next=%2Fkeys$/);
  await expect(page.getByText('Your session has ended. Please sign in again.')).toBeVisible();
  expect(await tokens(page)).toBeNull();
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password', { exact: true }).fill(ALICE_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByTestId('keys')).toContainText('laptop');
});

test('the usage page shows the requests just made, and the playground streams an answer', async ({ page }, info) => {
  await signIn(page, 'alice', ALICE_PASSWORD);
  await page.getByRole('link', { name: 'Usage' }).click();
  await expect(page.getByTestId('usage-requests')).toHaveText(/^[1-9]/);
  await expect(page.getByTestId('usage-events')).toContainText('llama');
  await shot(page, info.outputPath('usage.png'));
  // The request list narrows to one endpoint (none spoke here), and widens again.
  await page.getByLabel('Endpoint').selectOption('audio/speech');
  await expect(page.getByText('No requests in this period.')).toBeVisible();
  await page.getByLabel('Endpoint').selectOption({ label: 'Any' });
  await expect(page.getByTestId('usage-events')).toContainText('llama');

  // A fresh key for the playground.
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('Name', { exact: true }).fill('playground');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-key')).toBeVisible();

  await page.getByRole('link', { name: 'Playground' }).click();
  await page.getByLabel('Key', { exact: true }).selectOption({ label: 'playground' });
  await expect(page.getByLabel('API key')).toHaveValue(/^sk-pc-/);
  await page.getByLabel('Message').fill('Say hello');
  await page.getByRole('button', { name: 'Send' }).click();
  // Token by token: the partial answer shows before the end.
  await expect(page.getByTestId('streaming')).toContainText('Hello');
  await expect(page.getByTestId('chat')).toContainText('Hello from the mock');
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
  await shot(page, info.outputPath('playground.png'));

  await page.getByRole('link', { name: 'alice' }).click();
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  await expect(page.getByText('llama', { exact: true })).toBeVisible();
  await shot(page, info.outputPath('account.png'));
});

test('limits: an administrator prices a model and caps a user', async ({ page }, info) => {
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('link', { name: 'Models' }).click();
  const prices = page.getByRole('group', { name: 'Prices of llama' });
  await prices.getByLabel('Prompt, per 1M tokens').fill('0.5');
  await prices.getByLabel('Completion, per 1M tokens').fill('1.5');
  await prices.getByRole('button', { name: 'Save prices' }).click();
  await expect(page.getByText('Prices saved.')).toBeVisible();

  await page.getByRole('link', { name: 'Users' }).click();
  await page.locator('tr[data-username="alice"]').getByRole('button', { name: 'Edit' }).click();
  const limits = page.getByRole('group', { name: 'Limits for this user (all their keys together)' });
  // A typo is explained, and nothing is saved.
  await limits.getByLabel('Tokens per day').fill('lots');
  await limits.getByRole('button', { name: 'Save limits' }).click();
  await expect(limits.getByRole('alert')).toContainText('`lots` is not a whole number');
  await limits.getByLabel('Tokens per day').fill('');
  await limits.getByLabel('Requests per minute').fill('2');
  await limits.getByLabel('Monthly budget').fill('25.50');
  await limits.getByRole('button', { name: 'Save limits' }).click();
  await expect(limits.getByText('Limits saved; they apply from the next request.')).toBeVisible();
  await shot(page, info.outputPath('user-limits.png'));
});

test('limits: the user sees her cap, limits a key of her own, and gets 429 past the cap', async ({ page, request }, info) => {
  await signIn(page, 'alice', ALICE_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Welcome, alice' })).toBeVisible();
  await page.getByRole('link', { name: 'alice' }).click();
  const own = page.getByRole('group', { name: 'Limits for this user (all their keys together)' });
  await expect(own.getByLabel('Requests per minute')).toHaveValue('2');
  await expect(own.getByLabel('Requests per minute')).toBeDisabled();
  await expect(own.getByLabel('Monthly budget')).toHaveValue('25.5');

  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('Name', { exact: true }).fill('capped');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = (await page.getByTestId('new-key').locator('.secret-value').textContent()) ?? '';
  await page.locator('tr[data-key-name="capped"]').getByRole('button', { name: 'Limits' }).click();
  const keyLimits = page.getByRole('group', { name: 'Limits for this key (its owner\'s limits apply too)' });
  await keyLimits.getByLabel('Tokens per minute').fill('100000');
  await keyLimits.getByRole('button', { name: 'Save limits' }).click();
  await expect(keyLimits.getByText('Limits saved; they apply from the next request.')).toBeVisible();
  await shot(page, info.outputPath('key-limits.png'));

  // Fixed one-minute windows: keep the three requests inside one.
  const second = new Date().getUTCSeconds();
  if (second > 50) await page.waitForTimeout((61 - second) * 1000);
  const chat = () => request.post('/v1/chat/completions', {
    headers: { authorization: `Bearer ${key}` },
    data: { model: 'llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 },
  });
  expect((await chat()).status()).toBe(200);
  expect((await chat()).status()).toBe(200);
  const refused = await chat();
  expect(refused.status()).toBe(429);
  expect(Number(refused.headers()['retry-after'])).toBeGreaterThan(0);
  expect(refused.headers()['x-ratelimit-limit-requests']).toBe('2');
  expect((await refused.json()).error.code).toBe('rate_limit_exceeded');
});

test('an administrator acts as alice, under a banner, and returns with one click', async ({ page }, info) => {
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Welcome, admin' })).toBeVisible();
  await page.getByRole('link', { name: 'Users' }).click();
  await page.locator('tr[data-username="alice"]').getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('button', { name: 'Act as this user' }).click();
  await page.getByRole('button', { name: 'Yes, act as this user' }).click();

  const banner = page.locator('.impersonation');
  await expect(banner).toContainText('You, admin, are acting as alice');
  await expect(page.getByRole('heading', { name: 'Welcome, alice' })).toBeVisible();
  await shot(page, info.outputPath('acting-as.png'));
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' })).toHaveCount(0);
  // The banner stays on every page.
  await page.getByRole('link', { name: 'API keys' }).click();
  await expect(banner).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(banner).toBeVisible();

  await banner.getByRole('button', { name: 'Return to your account' }).click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
  await expect(banner).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'admin', exact: true })).toBeVisible();
});

test('a sign-in never follows a next that a browser reads as another site', async ({ page }) => {
  for (const next of ['%2F%5Cevil.example', '%2F%09%2Fevil.example', '%2F%2Fevil.example']) {
    await page.goto(`/login?next=${next}`);
    await hydrated(page);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { name: 'Welcome, admin' })).toBeVisible();
    expect(new URL(page.url()).host).toBe(new URL(process.env.PORTCULLIS_E2E_BASE_URL ?? '').host);
    await page.evaluate(() => sessionStorage.clear());
  }
});
