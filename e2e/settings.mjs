// Settings as an owner: create a user (generated password shown once), change a role in place,
// the last owner refused inline; create an API key (shown once, then only its prefix), revoke
// it; the allow-list that would lock the owner out is refused; the audit chain verifies.
// Args: {email, password}.

import { expect, scenario } from './lib.mjs';

await scenario('settings', async ({ page, base, args, step, shot, login }) => {
  step('log in and open settings');
  await login(args.email, args.password);
  await page.click('nav.sidebar a[href="/settings"]');
  await page.waitForURL('**/settings/users');

  step('create a user with a generated password');
  await page.fill('#new-email', 'new.agent@example.test');
  await page.fill('#new-name', 'New Agent');
  await page.selectOption('#new-role', 'agent');
  await page.click('form[action="/settings/users"] button[type=submit]');
  await page.waitForSelector('#user-created');
  const password = (await page.textContent('#generated-password')).trim();
  expect(password.length >= 15, `a generated password: ${password}`);
  const row = page.locator('#users-table tr', { hasText: 'New Agent' });
  expect((await row.count()) === 1, 'the new user is listed');

  step('change the new user\'s role in place');
  await row.locator('select[name=role]').selectOption('supervisor');
  await row.locator('form[action$="/role"] button').click();
  await page.waitForSelector('#users-table tr:has-text("New Agent") [role=status]');
  expect(new URL(page.url()).pathname === '/settings/users', 'no navigation');

  step('the last owner cannot be demoted');
  const me = page.locator('#users-table tr', { hasText: args.email });
  await me.locator('select[name=role]').selectOption('agent');
  await me.locator('form[action$="/role"] button').click();
  await page.waitForSelector(`#users-table tr:has-text("${args.email}") [role=alert]`);
  const refusal = await page.textContent(`#users-table tr:has-text("${args.email}") [role=alert]`);
  expect(refusal.includes('last owner'), `refusal shown inline: ${refusal}`);
  await shot('users');

  step('create an API key: shown once');
  await page.click('nav.tabs a[href="/settings/api-keys"]');
  await page.waitForURL('**/settings/api-keys');
  await page.fill('#key-name', 'CI key');
  await page.check('input[name=scopes][value="contacts:read"]');
  await page.click('form[action="/settings/api-keys"] button[type=submit]');
  await page.waitForSelector('#new-key-value');
  const key = (await page.textContent('#new-key-value')).trim();
  expect(/^sbk_[0-9a-f]{12}_\S{20,}$/.test(key), `an API key: ${key}`);
  const response = await page.request.get(`${base}/api/v1/contacts`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status() === 200, `the key works: ${response.status()}`);
  await shot('api-key-created');

  step('after a reload only the prefix is left');
  await page.goto(`${base}/settings/api-keys`);
  expect((await page.$('#new-key-value')) === null, 'the key is not shown again');
  expect(!(await page.content()).includes(key), 'nowhere on the page');
  const keyRow = page.locator('#keys-table tr', { hasText: 'CI key' });
  expect((await keyRow.textContent()).includes(key.slice(0, 16)), 'the prefix is listed');

  step('revoke it');
  await keyRow.locator('form[action$="/revoke"] button').click();
  await page.waitForURL('**/settings/api-keys?done=revoked');
  expect((await page.locator('#keys-table tr', { hasText: 'CI key' }).textContent()).includes('Revoked'), 'revoked');
  const after = await page.request.get(`${base}/api/v1/contacts`, { headers: { authorization: `Bearer ${key}` } });
  expect(after.status() === 401, `the key no longer works: ${after.status()}`);

  step('an allow-list without my address is refused');
  await page.click('nav.tabs a[href="/settings/organisation"]');
  await page.waitForURL('**/settings/organisation');
  await page.fill('#org-allowlist', '203.0.113.0/24');
  await page.click('form[action="/settings/organisation"] button[type=submit]');
  await page.waitForSelector('[role=alert]');
  expect((await page.textContent('[role=alert]')).includes('lock you out'), 'says why');
  expect((await page.getAttribute('#org-allowlist', 'aria-invalid')) === 'true', 'marks the field');

  step('the audit chain verifies');
  await page.click('nav.tabs a[href="/settings/audit"]');
  await page.waitForURL('**/settings/audit');
  expect((await page.locator('#audit-table tbody tr').count()) > 5, 'entries are listed');
  await page.click('form[action="/settings/audit/verify"] button');
  await page.waitForSelector('#verify-result [role=status]');
  expect((await page.textContent('#verify-result')).includes('intact'), 'the chain is intact');
  await shot('audit');
});
