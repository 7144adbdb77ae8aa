import { test, expect } from './fixtures/gateway';

test('the start page loads, hydrates and a server function answers', async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { name: 'Portcullis' })).toBeVisible();
  // Effects run only in the browser: this turns true once the WASM client has hydrated.
  await expect(page.locator('#status')).toHaveAttribute('data-hydrated', 'true');

  await page.getByRole('button', { name: 'Check gateway status' }).click();
  await expect(page.locator('#status-result')).toHaveText(/^Portcullis \d+\.\d+\.\d+ is ready\.$/);
  expect(errors).toEqual([]);

  await page.screenshot({ path: testInfo.outputPath('home.png'), fullPage: true });
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
