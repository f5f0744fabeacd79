// The consent panel on a contact's page: every purpose listed as not recorded; a grant
// without a legal basis is refused inline; a marketing grant on consent, then a withdrawal,
// show in the table with their basis and source.
// Args: {supervisor: {email, password}, contact_id}.

import { expect, scenario } from './lib.mjs';

await scenario('privacy', async ({ page, base, args, step, shot, login }) => {
  const row = (purpose) => `#consent-table tr[data-purpose="${purpose}"]`;

  step('the panel lists the five purposes, none recorded');
  await login(args.supervisor.email, args.supervisor.password);
  await page.goto(`${base}/contacts/${args.contact_id}`);
  const rows = await page.$$eval('#consent-table tbody tr', (els) => els.map((e) => e.dataset.state));
  expect(rows.length === 5 && rows.every((s) => s === 'unknown'), `states: ${rows}`);
  await shot('consents-empty');

  step('a grant without a legal basis is refused beside the form');
  await page.selectOption('#consent-form select[name=purpose]', 'marketing');
  await page.selectOption('#consent-form select[name=state]', 'granted');
  await page.selectOption('#consent-form select[name=legal_basis]', '');
  await page.click('#consent-form button[type=submit]');
  await page.waitForSelector('#consents [role=alert]');
  expect(await page.$eval('#consent-form select[name=legal_basis]', (e) => e.getAttribute('aria-invalid')) === 'true', 'field marked');

  step('marketing granted on consent');
  await page.selectOption('#consent-form select[name=purpose]', 'marketing');
  await page.selectOption('#consent-form select[name=state]', 'granted');
  await page.selectOption('#consent-form select[name=legal_basis]', 'kvkk_explicit_consent');
  await page.click('#consent-form button[type=submit]');
  await page.waitForSelector(`${row('marketing')}[data-state="granted"]`);
  expect((await page.textContent(row('marketing'))).includes('KVKK Art. 5/1'), 'citation shown');
  await shot('consents-granted');

  step('and withdrawn');
  await page.selectOption('#consent-form select[name=purpose]', 'marketing');
  await page.selectOption('#consent-form select[name=state]', 'withdrawn');
  await page.selectOption('#consent-form select[name=legal_basis]', '');
  await page.click('#consent-form button[type=submit]');
  await page.waitForSelector(`${row('marketing')}[data-state="withdrawn"]`);
});
