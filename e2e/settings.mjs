// Settings as an owner: create a user (generated password shown once), change a role in place,
// the last owner refused inline; create an API key (shown once, then only its prefix), revoke
// it; the allow-list that would lock the owner out is refused; a WhatsApp number: a wrong token
// refused with Meta's words, connected (webhook URL and verify token shown once), its templates
// fetched and one submitted, one with a header, a footer and buttons (a missing example refused
// inline) whose approval by the simulator shows without a reload; disconnected after the
// confirmation; the audit chain verifies.
// Args: {email, password, whatsapp: {phone_number_id, waba_id, display_phone_number, access_token,
// app_secret, verify_token, graph_base_url}} (a simulator's).

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

  const wa = args.whatsapp;
  const fillNumber = async (token) => {
    for (const [id, value] of [
      ['#wa-phone-number-id', wa.phone_number_id], ['#wa-waba-id', wa.waba_id],
      ['#wa-display', wa.display_phone_number], ['#wa-access-token', token], ['#wa-app-secret', wa.app_secret],
      ['#wa-verify-token-input', wa.verify_token], ['#wa-graph-url', wa.graph_base_url],
    ]) {
      await page.fill(id, value);
    }
    await page.click('#connect-form button[type=submit]');
  };

  step('a WhatsApp number with a wrong token is refused in Meta\'s words');
  await page.click('nav.tabs a[href="/settings/whatsapp"]');
  await page.waitForURL('**/settings/whatsapp');
  await fillNumber('not-the-token');
  await page.waitForSelector('#connect-form >> xpath=.. >> [role=alert]');
  const graphError = await page.textContent('[role=alert]');
  expect(graphError.includes('The Graph API refused'), `Meta's refusal shown: ${graphError}`);
  expect((await page.getAttribute('#wa-access-token', 'aria-invalid')) === 'true', 'marks the token');
  expect((await page.inputValue('#wa-phone-number-id')) === wa.phone_number_id, 'keeps the number');
  expect((await page.inputValue('#wa-app-secret')) === '', 'secrets are not sent back');

  step('connect it: the webhook URL and verify token to paste into Meta');
  await fillNumber(wa.access_token);
  await page.waitForSelector('#wa-webhook-url');
  const hook = (await page.textContent('#wa-webhook-url')).trim();
  expect(hook.startsWith(`${base}/webhooks/whatsapp/`), `the webhook URL: ${hook}`);
  expect((await page.textContent('#wa-verify-token')).trim() === wa.verify_token, 'the verify token');
  expect(!(await page.content()).includes(wa.access_token), 'the access token is never shown');
  expect(new URL(page.url()).pathname === '/settings/whatsapp', 'a reload does not post again');
  await shot('whatsapp-connected');
  // What an admin does next in Meta's dashboard: point the webhooks at that URL.
  const configured = await fetch(`${wa.graph_base_url}/_sim/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ webhook_url: hook }),
  });
  expect(configured.ok, `simulator webhook URL set: ${configured.status}`);

  step('its templates: fetched from Meta, one submitted for approval');
  await page.click('nav.tabs a[href="/settings/templates"]');
  await page.waitForURL('**/settings/templates');
  await page.click('form[action$="/sync"] button');
  await page.waitForURL('**/settings/templates?done=synced*');
  await page.fill('#tpl-name', 'order_shipped');
  await page.fill('#tpl-body', 'Your order {{1}} is on its way.');
  await page.fill('#tpl-examples', 'A-1001');
  await page.click('#template-form button[type=submit]');
  await page.waitForURL('**/settings/templates?done=created');
  const tpl = page.locator('tr[data-template="order_shipped"]');
  expect((await tpl.count()) === 1, 'the template is listed');
  await shot('templates');

  step('a template with a header, a footer and buttons; Meta\'s approval shows without a reload');
  await page.fill('#tpl-name', 'order_tracking');
  await page.fill('#tpl-body', 'Hello {{1}}, your parcel is {{2}}.');
  await page.fill('#tpl-examples', 'Ana\non its way');
  await page.selectOption('#tpl-header-format', 'TEXT');
  await page.fill('#tpl-header-text', 'Order {{1}}');
  await page.fill('#tpl-header-example', '#1001');
  await page.fill('#tpl-footer', 'Example Shop');
  await page.selectOption('#tpl-button-type-1', 'URL');
  await page.fill('#tpl-button-text-1', 'Track');
  await page.fill('#tpl-button-value-1', 'https://shop.example/t/{{1}}');
  // The URL's variable needs an example: refused beside the form first, what was typed kept.
  await page.click('#template-form button[type=submit]');
  await page.locator('#template-form').waitFor();
  await page.locator('.notice-error').first().waitFor();
  expect((await page.getAttribute('#tpl-button-example-1', 'aria-invalid')) === 'true', 'the example is marked');
  expect((await page.inputValue('#tpl-header-text')) === 'Order {{1}}', 'the header is kept');
  await page.fill('#tpl-button-example-1', 'https://shop.example/t/AB12');
  await page.selectOption('#tpl-button-type-2', 'PHONE_NUMBER');
  await page.fill('#tpl-button-text-2', 'Call us');
  await page.fill('#tpl-button-value-2', '+905321112233');
  await page.click('#template-form button[type=submit]');
  await page.waitForURL('**/settings/templates?done=created');
  // The simulator approves it a moment later; the status webhook reaches the open page.
  await page.locator('tr[data-template="order_tracking"] .status', { hasText: 'APPROVED' }).waitFor({ timeout: 10000 });
  await shot('templates-approved');

  step('disconnect it after the confirmation');
  await page.click('nav.tabs a[href="/settings/whatsapp"]');
  await page.waitForURL('**/settings/whatsapp');
  await page.click('details.confirm summary');
  await page.check('.disconnect-form input[name=confirm]');
  await page.click('.disconnect-form button[type=submit]');
  await page.waitForURL('**/settings/whatsapp?done=disconnected');
  expect((await page.textContent('#numbers-table')).includes('Data purged after'), 'the purge date is shown');

  step('the audit chain verifies');
  await page.click('nav.tabs a[href="/settings/audit"]');
  await page.waitForURL('**/settings/audit');
  expect((await page.locator('#audit-table tbody tr').count()) > 5, 'entries are listed');
  await page.click('form[action="/settings/audit/verify"] button');
  await page.waitForSelector('#verify-result [role=status]');
  expect((await page.textContent('#verify-result')).includes('intact'), 'the chain is intact');
  await shot('audit');
});
