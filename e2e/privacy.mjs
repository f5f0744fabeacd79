// The consent panel on a contact's page: every purpose listed as not recorded; a grant
// without a legal basis is refused inline; a marketing grant on consent, then a withdrawal,
// show in the table with their basis and source.
// Then a data-subject request goes through the privacy page: intake, the deadline clock in
// the list, a wrong code refused, verification by attestation, fulfilment, the export link.
// Then the legal holds page (a hold on the contact without its id refused inline, placed,
// released with a reason) and the retention page (a period saved, the dry run counted).
// Args: {owner: {email, password}, contact_id}.

import { expect, scenario } from './lib.mjs';

await scenario('privacy', async ({ page, base, args, step, shot, login }) => {
  const row = (purpose) => `#consent-table tr[data-purpose="${purpose}"]`;

  step('the panel lists the five purposes, none recorded');
  await login(args.owner.email, args.owner.password);
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

  step('a request opened on the privacy page shows its deadline clock');
  await page.goto(`${base}/privacy`);
  await page.fill('#intake-contact', args.contact_id);
  await page.selectOption('#intake-type', 'access');
  await page.click('#intake-form button[type=submit]');
  await page.waitForSelector('#request-status[data-status="unverified"]');
  await page.goto(`${base}/privacy`);
  const clock = await page.textContent('#request-table tbody tr');
  expect(/\b(29|30)\b/.test(clock), `deadline clock: ${clock}`);
  await shot('requests');

  step('a wrong code is refused; the attestation verifies; fulfilment gives the export link');
  await page.click('#request-table tbody tr a');
  await page.waitForSelector('#verify-code');
  await page.fill('#verify-code input[name=code]', '000000');
  await page.click('#verify-code button[type=submit]');
  await page.waitForSelector('main [role=alert]');
  await page.fill('#verify-attestation textarea', 'Called the customer back on the number on file');
  await page.click('#verify-attestation button[type=submit]');
  await page.waitForSelector('#request-status[data-status="verified"]');
  await page.click('#fulfil-form button[type=submit]');
  await page.waitForSelector('#request-status[data-status="completed"]');
  const href = await page.getAttribute('#export-link', 'href');
  expect(href && href.includes('/api/v1/privacy/exports/'), `export link: ${href}`);
  await shot('request-fulfilled');

  step('a legal hold needs its subject, is placed on the contact and released with a reason');
  await page.goto(`${base}/privacy`);
  await page.click('nav.tabs a[href="/privacy/holds"]');
  await page.waitForSelector('#hold-form');
  await page.selectOption('#hold-scope', 'contact');
  await page.fill('#hold-reason', 'Case 2026/9');
  await page.click('#hold-form button[type=submit]');
  await page.waitForSelector('main [role=alert]');
  expect(await page.$eval('#hold-subject', (e) => e.getAttribute('aria-invalid')) === 'true', 'subject marked');
  await page.fill('#hold-subject', args.contact_id);
  await page.click('#hold-form button[type=submit]');
  await page.waitForSelector('#hold-table tr[data-active="true"]');
  expect((await page.textContent('#hold-table')).includes('Case 2026/9'), 'reason listed');
  await shot('holds');
  await page.fill('#hold-table tr[data-active="true"] input[name=reason]', 'Case closed');
  await page.click('#hold-table tr[data-active="true"] button[type=submit]');
  await page.waitForSelector('#hold-table tr[data-active="false"]');

  step('a retention period is saved and the dry run counts every category');
  await page.click('nav.tabs a[href="/privacy/retention"]');
  await page.waitForSelector('#retention-table');
  const messages = '#retention-table tr[data-category="messages"] input[name=after_days]';
  expect(await page.inputValue(messages) === '365', 'the seeds\' default');
  await page.fill(messages, '200');
  await page.click('#retention-form button[type=submit]');
  await page.waitForSelector('main [role=status]');
  expect(await page.inputValue(messages) === '200', 'saved');
  await shot('retention');
  await page.click('#dry-run-link');
  await page.waitForSelector('#dry-run-table');
  const counted = await page.$$eval('#dry-run-table tbody tr', (els) => els.length);
  expect(counted === 11, `dry-run rows: ${counted}`);
});
