// Two-factor login: enrol in the profile (QR code shown, a wrong first code refused, recovery
// codes shown once), log out, log in again: a wrong code is refused, the right one gets in;
// logging out ends the session. Args: {email, password}.

import { expect, scenario, totp } from './lib.mjs';

await scenario('two-factor', async ({ page, base, args, step, shot, login, logout }) => {
  step('an anonymous visit goes to the login page');
  await page.goto(`${base}/profile`);
  expect(new URL(page.url()).pathname === '/login', `at ${page.url()}`);

  step('log in with the password');
  await login(args.email, args.password);
  expect(new URL(page.url()).pathname === '/profile', `back to the page asked for: ${page.url()}`);

  step('start enrolment');
  await page.click('form[action="/profile/totp/begin"] button');
  await page.waitForURL('**/profile/totp');
  const secret = (await page.textContent('#totp-secret')).trim();
  expect(/^[A-Z2-7]{16,}$/.test(secret), `a base32 secret: ${secret}`);
  const qr = await page.$eval('img.qr', (img) => ({ w: img.naturalWidth, src: img.getAttribute('src') }));
  expect(qr.w > 0 && qr.src.startsWith('data:image/svg+xml;base64,'), 'the QR code is an image');
  await shot('enrol');

  step('a wrong first code is refused');
  const right = totp(secret);
  const wrong = right === '000000' ? '111111' : '000000';
  await page.fill('#code', wrong);
  await page.click('form[action="/profile/totp"] button');
  await page.waitForSelector('[role=alert]');
  expect(new URL(page.url()).pathname === '/profile/totp', `still enrolling: ${page.url()}`);
  expect(await page.isVisible('img.qr'), 'the QR code is still there');

  step('the right code turns 2FA on and shows the recovery codes once');
  await page.fill('#code', right);
  await page.click('form[action="/profile/totp"] button');
  await page.waitForSelector('#recovery-codes');
  const codes = await page.$$eval('#recovery-codes code', (els) => els.map((e) => e.textContent));
  expect(codes.length === 10 && codes.every((c) => /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/.test(c)), `codes: ${codes}`);
  await shot('recovery-codes');
  await page.goto(`${base}/profile/totp`);
  expect(new URL(page.url()).pathname === '/profile', 'the codes are not shown again');
  expect((await page.textContent('section[aria-labelledby=h-totp] .status')).trim() === 'On', '2FA shows as on');

  step('log out');
  await logout();

  step('log in again: the TOTP step asks for a code');
  await login(args.email, args.password);
  expect(new URL(page.url()).pathname === '/login/totp', `at the TOTP step: ${page.url()}`);
  await page.goto(`${base}/contacts`);
  expect(new URL(page.url()).pathname === '/login/totp', 'nothing else opens before the code');

  step('a wrong code is refused');
  // The next time step: the code used for enrolment cannot be replayed.
  const next = totp(secret, 30);
  await page.fill('#code', next === '000000' ? '111111' : '000000');
  await page.click('main form[action="/login/totp"] button');
  await page.waitForSelector('[role=alert]');
  expect(new URL(page.url()).pathname === '/login/totp', `still at the TOTP step: ${page.url()}`);
  expect((await page.textContent('[role=alert]')).includes('not valid'), 'says the code is not valid');
  await shot('wrong-code');

  step('the right code gets in');
  await page.fill('#code', next);
  await page.click('main form[action="/login/totp"] button');
  await page.waitForURL('**/inbox');
  expect(await page.isVisible('nav.sidebar a[href="/contacts"]'), 'the app shell is shown');

  step('logout ends the session');
  await logout();
  await page.goto(`${base}/contacts`);
  expect(new URL(page.url()).pathname === '/login', `logged out: ${page.url()}`);
});
