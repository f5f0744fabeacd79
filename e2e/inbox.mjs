// The inbox, live: a simulator customer writes and the conversation appears without a reload;
// "/" inserts a canned response; a reply's ticks go sent → delivered → read; assign, label, resolve (the `e` key), reopen; a
// file attached (a refused type shown beside the form, then a PDF sent); a private note through the
// Reply / Note toggle; assign to a team and a colleague, the team
// folder; mark unread; a conversation whose window closed offers the template picker with a live preview, and a
// template sends (one with a header, a footer and a URL button too); HTML in a message and a contact name renders as text; an agent sees the
// phone masked; another tenant's agent gets 404.
// Args: {agent, outsider: {email, password}, sim, from, name, text, timestamp, masked_phone,
//        phone, old_conversation, canned_shortcut, canned_body, note, team, colleague}.

import { expect, scenario } from './lib.mjs';

await scenario('inbox', async ({ page, base, args, step, shot, login, logout }) => {
  const noInjectedMarkup = async () => {
    const injected = await page.$$eval('main img[src="x"], main b, main script:not([src])', (els) => els.length);
    expect(injected === 0, `markup from data was rendered as HTML (${injected} elements)`);
  };

  step('an agent opens the inbox');
  await login(args.agent.email, args.agent.password);
  expect(new URL(page.url()).pathname === '/inbox', `at ${page.url()}`);
  await page.waitForSelector('.inbox[sse-connect]');
  // The event stream is open before the customer writes.
  await page.waitForTimeout(300);

  step('a customer writes: the conversation appears without a reload');
  const marker = await page.evaluate(() => (window.__notReloaded = true));
  const started = Date.now();
  const res = await fetch(`${args.sim}/_sim/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: args.from, name: args.name, type: 'text', text: args.text, timestamp: args.timestamp }),
  });
  expect(res.ok, `simulator refused the inbound message: ${res.status}`);
  // The list has no polling: only the live event can show the row. How fast it shows (about
  // 250 ms here, a second is the goal) is printed, not asserted: a timed assertion fails
  // whenever the two cores of a CI machine are busy with other tests (docs/PERFORMANCE.md).
  const row = page.locator('.conv-row', { hasText: args.name });
  await row.waitFor({ timeout: 5000 });
  console.log(`new conversation shown after ${Date.now() - started} ms`);
  expect(await page.evaluate(() => window.__notReloaded === true) && marker, 'the page was not reloaded');
  await noInjectedMarkup();
  await shot('list');

  step('open it: name and message as text, phone masked');
  await row.locator('a').click();
  await page.waitForSelector('#thread .msg-in');
  expect((await page.textContent('#conv-title')).trim() === args.name, 'literal name');
  expect((await page.textContent('#thread .msg-in .msg-text')).trim() === args.text, 'literal message');
  expect((await page.textContent('#contact-phone')).trim() === args.masked_phone, 'masked phone');
  expect(!(await page.content()).includes(args.phone), 'the whole phone is nowhere in the page');
  const countdown = (await page.textContent('#window-countdown')).trim();
  expect(/ 23h 5\dm$/.test(countdown), `the window countdown follows the server's clock: ${countdown}`);
  await noInjectedMarkup();

  step('a canned response with "/", then a reply: the ticks go sent → delivered → read');
  await page.evaluate(() => {
    window.__ticks = [];
    const note = () => {
      const last = document.querySelector('#thread .msg-out:last-of-type');
      const s = last && last.dataset.status;
      if (s && window.__ticks[window.__ticks.length - 1] !== s) window.__ticks.push(s);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await page.locator('#conv-title').click();
  await page.keyboard.press('/');
  expect(await page.evaluate(() => document.activeElement && document.activeElement.id === 'composer-text'), '/ focuses the composer');
  await page.keyboard.type(args.canned_shortcut.slice(0, 2));
  await page.waitForSelector('#canned-list:not([hidden])');
  await page.keyboard.press('Enter');
  expect((await page.inputValue('#composer-text')) === args.canned_body, 'the canned response is inserted as text');
  await page.fill('#composer-text', '');
  await page.locator('#conv-title').click();
  await page.keyboard.press('r');
  expect(await page.evaluate(() => document.activeElement && document.activeElement.id === 'composer-text'), 'r focuses the composer');
  await page.keyboard.type('Merhaba, nasıl yardımcı olabilirim?');
  await page.click('#composer-send');
  await page.waitForSelector('#thread .msg-out[data-status="read"]', { timeout: 15000 });
  const ticks = await page.evaluate(() => window.__ticks);
  console.log(`ticks seen: ${ticks.join(' → ')}`);
  const order = ['sent', 'delivered', 'read'].map((s) => ticks.indexOf(s));
  expect(order.every((i) => i >= 0) && order[0] < order[1] && order[1] < order[2], `ticks ${ticks.join(', ')}`);
  await shot('conversation');

  step('attach a file: a type WhatsApp refuses is shown beside the form, a PDF is sent');
  await page.click('#attach summary');
  await page.setInputFiles('#attach-file', { name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ') });
  await page.click('#attach-send');
  await page.locator('.notice-error', { hasText: 'cannot send this type of file' }).waitFor();
  expect((await page.getAttribute('#attach-file', 'aria-invalid')) === 'true', 'the file field is marked');
  expect(await page.isVisible('#attach-form'), 'the form stays open');
  await page.setInputFiles('#attach-file', { name: 'teklif.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 teklif %%EOF') });
  await page.fill('#attach-caption', 'Teklifiniz ektedir');
  await page.click('#attach-send');
  const doc = page.locator('#thread .msg-out', { hasText: 'Teklifiniz ektedir' });
  await doc.locator('a.msg-doc').waitFor();
  await page.waitForSelector('#thread .msg-out[data-status="read"] a.msg-doc', { timeout: 15000 });
  await shot('attachment');

  step('assign to me, label, resolve with "e", reopen');
  await page.click('#act-assign');
  await page.waitForSelector('#act-unassign');
  await page.fill('#conv-labels', 'vip, <i>x</i>');
  await page.click('#labels-form button');
  await page.locator('.conv-label', { hasText: 'vip' }).waitFor();
  await page.locator('.conv-label', { hasText: '<i>x</i>' }).waitFor();
  await page.locator('#conv-title').click();
  await page.keyboard.press('e');
  await page.waitForSelector('#act-reopen');
  expect((await page.textContent('#conv-status')).trim() === 'Resolved', 'resolved');
  await page.click('#act-reopen');
  await page.waitForSelector('#act-resolve');
  expect((await page.textContent('#conv-status')).trim() === 'Open', 'reopened');

  step('a private note: the Reply / Note toggle, its own bubble, never a delivery state');
  await page.click('#mode-note-label');
  await page.waitForSelector('#note-text', { state: 'visible' });
  expect(!(await page.isVisible('#composer-text')), 'the reply box is hidden while writing a note');
  await page.fill('#note-text', args.note);
  await page.click('#note-add');
  const note = page.locator('#thread .msg-private', { hasText: args.note });
  await note.waitFor();
  expect((await note.locator('.tick').count()) === 0, 'a note has no ticks');
  expect(await page.isVisible('#composer-text'), 'back to Reply after the note');
  await noInjectedMarkup();

  step('assign to a team and a colleague; the team folder lists it');
  await page.selectOption('#assign-team', { label: args.team });
  await page.selectOption('#assign-agent', { label: args.colleague });
  await page.click('#act-assign-to');
  await page.locator('#conv-team', { hasText: args.team }).waitFor();
  await page.locator('#thread .activity', { hasText: `Assigned to team ${args.team} by you` }).waitFor();
  await page.locator('#thread .activity', { hasText: 'Assigned to a colleague by you' }).waitFor();
  expect((await page.textContent('#conv-assignee')).trim() === 'Assigned to a colleague', 'assigned to the colleague');
  await page.locator('#inbox-teams a', { hasText: args.team }).click();
  await page.waitForURL(/team=/);
  await page.locator('.conv-row', { hasText: args.name }).waitFor();

  step('mark unread: back to the list, which counts it unread');
  await page.locator('.conv-row a', { hasText: args.name }).click();
  await page.waitForSelector('#act-unread');
  await page.click('#act-unread');
  await page.waitForURL((url) => url.pathname === '/inbox');
  await page.locator('.conv-row.unread', { hasText: args.name }).locator('.unread-count').waitFor();
  await shot('unread');

  step('a closed window offers the template picker; a template sends');
  await page.goto(`${base}/inbox/${args.old_conversation}`);
  await page.waitForSelector('#template-picker');
  expect(!(await page.isVisible('#composer')), 'no free-text composer');
  const tpl = page.locator('details.template', { hasText: 'appointment_reminder' });
  await tpl.locator('summary').click();
  const inputs = tpl.locator('input[name=param]');
  await inputs.nth(0).fill('Ayşe');
  await inputs.nth(1).fill('yarın 10:00');
  // The preview is rendered by the server as the values are typed (htmx).
  await tpl.locator('.template-preview', { hasText: 'yarın 10:00' }).waitFor();
  const preview = await tpl.locator('.template-preview').textContent();
  expect(preview.includes('Ayşe') && preview.includes('yarın 10:00'), `live preview: ${preview}`);
  await tpl.locator('button[type=submit]').click();
  await page.locator('#thread .msg-out', { hasText: 'yarın 10:00' }).waitFor();

  step('a template with a header, a footer and a URL button: every value asked for, previewed by the server');
  const rich = page.locator('details.template', { hasText: 'kargo_takip' });
  await rich.locator('summary').click();
  await rich.locator('input[name=header_param]').fill('#42');
  const body = rich.locator('input[name=param]');
  await body.nth(0).fill('Ayşe');
  await body.nth(1).fill('<b>yolda</b>');
  await rich.locator('input[name=button_param]').fill('AB12');
  await rich.locator('.template-preview', { hasText: 'https://kargo.example/t/AB12' }).waitFor();
  const shown = await rich.locator('.template-preview').textContent();
  for (const part of ['Sipariş #42', 'Merhaba Ayşe, kargonuz <b>yolda</b>.', 'Örnek Mağaza', 'Tamam', 'Takip']) {
    expect(shown.includes(part), `preview has ${part}: ${shown}`);
  }
  expect((await rich.locator('.template-preview b').count()) === 0, 'values are text, not markup');
  await shot('template-preview');
  await rich.locator('button[type=submit]').click();
  await page.locator('#thread .msg-out', { hasText: 'kargonuz <b>yolda</b>' }).waitFor();

  step('another tenant\'s agent gets 404');
  const conversation = new URL(page.url()).pathname;
  await logout();
  await login(args.outsider.email, args.outsider.password);
  const other = await page.goto(`${base}${conversation}`);
  expect(other.status() === 404, `status ${other.status()}`);
  expect(!(await page.content()).includes('appointment_reminder'), 'nothing of it shows');
});
