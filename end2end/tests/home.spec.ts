import { test, expect } from './fixtures/gateway';
import { hydrated } from './fixtures/pages';

test('a signed-out visitor lands on the sign-in page, hydrated, under a strict CSP', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self' 'nonce-");
  expect(csp).toContain("frame-ancestors 'none'");
  await hydrated(page);
  await expect(page).toHaveURL(/\/login\?next=%2F$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('an unknown address answers 404 with a page that explains it', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('the status server function is a plain JSON endpoint', async ({ request }) => {
  const response = await request.get('/api/status');
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.ready).toBe(true);
  expect(body.version).toMatch(/^\d+\.\d+\.\d+$/);
});
