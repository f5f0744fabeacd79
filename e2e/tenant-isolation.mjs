// Another tenant's agent opening a contact's URL gets a 404 page that shows nothing of it;
// pages beyond the agent's role answer 403. Args: {agent: {email, password},
// contact_id, contact_name}.

import { expect, scenario } from './lib.mjs';

await scenario('tenant-isolation', async ({ page, base, args, step, shot, login }) => {
  step('log in as the other tenant\'s agent');
  await login(args.agent.email, args.agent.password);

  step('the contact of another tenant is not found');
  const res = await page.goto(`${base}/contacts/${args.contact_id}`);
  expect(res.status() === 404, `status ${res.status()}`);
  expect((await page.textContent('main h1')).includes('Not found'), 'a not-found page');
  expect(!(await page.content()).includes(args.contact_name), 'nothing of the contact shows');
  await shot('not-found');
  const edit = await page.goto(`${base}/contacts/${args.contact_id}/edit`);
  expect(edit.status() === 404, `edit: status ${edit.status()}`);
  // Deleting needs a permission agents lack: that is checked first, whoever owns the contact.
  const del = await page.goto(`${base}/contacts/${args.contact_id}/delete`);
  expect(del.status() === 403, `delete: status ${del.status()}`);

  step('settings beyond the agent\'s role answer 403');
  const forbidden = await page.goto(`${base}/settings/users`);
  expect(forbidden.status() === 403, `status ${forbidden.status()}`);
  expect((await page.textContent('main h1')).includes('Not allowed'), 'a not-allowed page');
  expect(!(await page.isVisible('nav.sidebar a[href="/settings"]')), 'no settings in the menu');
});
