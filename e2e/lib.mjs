// Shared harness of the browser scenarios. Each scenario is `node e2e/<name>.mjs <base_url>
// <json args>`, started by crates/server/tests/it/browser.rs against a fresh server. It drives
// Debian's Chromium through playwright-core (no browser download), fails on any JavaScript
// dialog (an XSS would open one), any CSP violation or page error, saves screenshots under
// e2e/artifacts/, and exits non-zero with the failing step.

import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, 'artifacts');
const CHROMIUM = process.env.SWITCHBOARD_CHROMIUM || '/usr/bin/chromium';
// Without the networking flags Chromium keeps calling home, which a closed network refuses.
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export class Failure extends Error {}

export function expect(condition, message) {
  if (!condition) throw new Failure(message);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, `offset` seconds from now. */
export function totp(base32, offset = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Failure(`not base32: ${base32}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor((Date.now() / 1000 + offset) / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const o = mac[mac.length - 1] & 0xf;
  const n = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

/**
 * Runs `body({ page, base, args, step, shot, login, logout })` in a fresh browser profile and
 * exits with its outcome.
 */
export async function scenario(name, body) {
  const [base, json] = process.argv.slice(2);
  if (!base) {
    console.error(`usage: node ${name}.mjs <base_url> '<json args>'`);
    process.exit(2);
  }
  const args = JSON.parse(json || '{}');
  mkdirSync(ARTIFACTS, { recursive: true });
  // Screenshots of an earlier run of this scenario would pass for this run's.
  for (const f of readdirSync(ARTIFACTS).filter((f) => f.startsWith(`${name}-`))) {
    rmSync(join(ARTIFACTS, f));
  }
  const profile = mkdtempSync(join(tmpdir(), 'sb-e2e-'));
  const problems = [];
  let current = 'start';
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(10_000);
  // Say which element or file broke the CSP, not only that something did.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const what = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 160) : String(e.target);
      console.error(`Refused to apply (${e.violatedDirective}) at ${e.sourceFile}:${e.lineNumber}: ${what}`);
    });
  });
  page.on('dialog', async (d) => {
    problems.push(`a ${d.type()} dialog opened ("${d.message()}") during: ${current}`);
    await d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`page error during ${current}: ${e.message}`));
  page.on('console', (m) => {
    // Error answers to htmx requests are logged as failed loads: expected, not a problem.
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) {
      problems.push(`CSP violation during ${current}: ${m.text()}`);
    }
  });

  const step = (what) => {
    current = what;
    console.log(`step: ${what}`);
  };
  const shot = async (file) => {
    const path = join(ARTIFACTS, `${name}-${file}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  };
  // Logs in from the login page, where a redirect may already have brought the browser (with
  // the page it was going to in `next`).
  const login = async (email, password) => {
    if (new URL(page.url()).pathname !== '/login') await page.goto(`${base}/login`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('main form button[type=submit]');
    await page.waitForURL((u) => !u.pathname.endsWith('/login'));
  };
  // A plain form submission (a full navigation): a boosted one, racing a live update of the
  // page, was seen not to bring its load event within the timeout.
  const logout = async () => {
    await Promise.all([
      page.waitForURL('**/login'),
      page.$eval('header.topbar form[action="/logout"]', (f) => f.submit()),
    ]);
  };

  let code = 0;
  try {
    await body({ page, base, args, step, shot, login, logout });
    expect(problems.length === 0, problems.join('\n'));
    console.log(`PASSED ${name}`);
  } catch (e) {
    code = 1;
    console.error(`FAILED ${name} at step "${current}": ${e.message}`);
    if (problems.length) console.error(problems.join('\n'));
    await page.screenshot({ path: join(ARTIFACTS, `${name}-failure.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(code);
}
