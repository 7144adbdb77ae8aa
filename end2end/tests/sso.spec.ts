import { test, expect } from './fixtures/gateway';
import { hydrated, shot, tokens } from './fixtures/pages';

test('a person signs in through the identity provider and lands in their own account', async ({ page }, info) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto('/login?next=%2Fkeys');
  await hydrated(page);
  await shot(page, info.outputPath('sign-in.png'));
  await page.getByRole('link', { name: 'Sign in with Mock ID' }).click();
  await expect(page.getByRole('heading', { name: 'Mock ID' })).toBeVisible();
  await page.getByRole('link', { name: 'Continue as sam@example.com' }).click();

  // Back in the web app, signed in as a new account, at the page asked for.
  await expect(page).toHaveURL(/\/keys$/);
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'sam', exact: true })).toBeVisible();
  const t = await tokens(page);
  expect(t?.access).toMatch(/^ey/);
  expect(t?.refresh).toMatch(/^pcr_/);
  // The one-time code has left the address bar and the history entry.
  expect(page.url()).not.toContain('code=');

  // A reload keeps the session: the tab's tokens are in sessionStorage.
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'sam', exact: true })).toBeVisible();
  expect(errors).toEqual([]);
});

test('a failed external sign-in says why, in words', async ({ page }) => {
  await page.goto('/login?sso_error=pending');
  await hydrated(page);
  await expect(page.getByRole('alert')).toContainText("waiting for an administrator's approval");

  await page.goto('/invite/pci_not-a-real-invite');
  await hydrated(page);
  await expect(page.getByRole('alert')).toContainText('cannot be used');
});
