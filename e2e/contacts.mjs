// Contacts: names and values carrying HTML render as text and run nothing; a supervisor sees
// phone numbers whole, an agent (no contacts:view_pii) masked; search by exact phone; a
// contact created in the form keeps its markup as text too.
// Args: {supervisor: {email, password}, agent: {email, password}, xss_id, xss_name,
//        html_name, phone, masked_phone}.

import { expect, scenario } from './lib.mjs';

await scenario('contacts', async ({ page, base, args, step, shot, login, logout }) => {
  const noInjectedMarkup = async () => {
    const injected = await page.$$eval('main img[src="x"], main script:not([src]), main b, main svg[onload]', (els) => els.length);
    expect(injected === 0, `markup from data was rendered as HTML (${injected} elements)`);
  };

  step('a supervisor sees the list with names as text');
  await login(args.supervisor.email, args.supervisor.password);
  expect(new URL(page.url()).pathname === '/inbox', `at ${page.url()}`);
  await page.goto(`${base}/contacts`);
  await page.getByText(args.xss_name, { exact: true }).waitFor();
  await page.getByText(args.html_name, { exact: true }).waitFor();
  await noInjectedMarkup();
  expect((await page.textContent('#contact-results')).includes(args.phone), 'phones whole in the list');
  await shot('list');

  step('the contact page shows the name literally and the phone whole');
  await page.goto(`${base}/contacts/${args.xss_id}`);
  expect((await page.textContent('#contact-name')).trim() === args.xss_name, 'literal name');
  expect((await page.textContent('#contact-phone')).trim() === args.phone, 'whole phone');
  expect((await page.title()).startsWith(args.xss_name), 'literal title');
  await noInjectedMarkup();
  await shot('contact');

  step('search by exact phone (htmx swaps the results)');
  await page.goto(`${base}/contacts`);
  await page.fill('#q', args.phone);
  await page.click('form[role=search] button[type=submit]');
  await page.waitForURL((u) => u.searchParams.get('q') === args.phone);
  await page.waitForFunction(() => document.querySelectorAll('#contact-results tbody tr').length === 1);
  expect((await page.textContent('#contact-results')).includes(args.xss_name), 'found by phone');
  await page.fill('#q', 'not a number');
  await page.click('form[role=search] button[type=submit]');
  await page.waitForSelector('#contact-results [role=alert]');

  step('a contact created in the form keeps its markup as text');
  await page.goto(`${base}/contacts/new`);
  const name = '<svg onload=alert(3)>Zeynep';
  await page.fill('#name', name);
  await page.fill('#phone', '0532 999 88 77');
  await page.fill('#labels', 'vip, <b>bold</b>');
  await page.locator('input[name=attr_key]').first().fill('note');
  await page.locator('input[name=attr_value]').first().fill('<script>alert(4)</script>');
  await page.click('main form button[type=submit]');
  await page.waitForURL((u) => /^\/contacts\/[0-9a-f-]{36}$/.test(u.pathname));
  expect((await page.textContent('#contact-name')).trim() === name, 'literal name');
  expect((await page.textContent('#contact-phone')).trim() === '+905329998877', 'normalised phone');
  await page.getByText('<script>alert(4)</script>', { exact: true }).waitFor();
  await page.getByText('<b>bold</b>', { exact: true }).waitFor();
  await noInjectedMarkup();

  step('a wrong phone is refused beside the field');
  await page.click('a[href$="/edit"]');
  await page.waitForURL('**/edit');
  await page.fill('#phone', '12');
  await page.click('main form button[type=submit]');
  await page.waitForSelector('[role=alert]');
  expect((await page.getAttribute('#phone', 'aria-invalid')) === 'true', 'the field is marked');
  await logout();

  step('an agent sees phones masked');
  await login(args.agent.email, args.agent.password);
  await page.goto(`${base}/contacts`);
  await page.getByText(args.xss_name, { exact: true }).waitFor();
  const list = await page.textContent('#contact-results');
  expect(list.includes(args.masked_phone) && !list.includes(args.phone), 'masked in the list');
  await page.goto(`${base}/contacts/${args.xss_id}`);
  expect((await page.textContent('#contact-phone')).trim() === args.masked_phone, 'masked on the page');
  expect(!(await page.content()).includes(args.phone), 'the whole number is nowhere in the page');
  await shot('contact-masked');

  step('the agent\'s edit form does not carry the masked number');
  await page.click('a[href$="/edit"]');
  await page.waitForURL('**/edit');
  expect((await page.inputValue('#phone')) === '', 'phone field empty');
  await page.fill('#name', `${args.xss_name} (edited)`);
  await page.click('main form button[type=submit]');
  await page.waitForURL((u) => u.searchParams.get('done') === 'saved');
  expect((await page.textContent('#contact-phone')).trim() === args.masked_phone, 'phone kept');
  expect(!(await page.isVisible('a[href$="/delete"]')), 'agents cannot delete');
});
