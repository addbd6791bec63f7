// A real browser keeps working across a deploy: Debian's Chromium (headless, driven by playwright-core
// with the system binary) opens the example app on v1, v2 is deployed while the tab stays open, then
// the tab opens the lazily loaded Reports route. Its chunk is v1's, which exists in v2's frontend/
// only because zdd carried it over; it must load without any error and without a page reload.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVersion } from '../helpers/example.js';
import { makeSite, type Site } from '../helpers/site.js';

const CHROMIUM = process.env.ZDD_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`browser.test.ts skipped: no Chromium at ${CHROMIUM} (install it with \`apt-get install -y chromium\`, or set ZDD_CHROMIUM)`);
}

/** Makes the lazy Reports chunk differ per version (and say which build it is). */
async function setReports(app: string, version: string): Promise<void> {
  const file = join(app, 'frontend', 'src', 'Reports.jsx');
  const src = await readFile(file, 'utf8');
  await writeFile(file, src.replace(/<h2>Reports[^<]*<\/h2>/, `<h2>Reports (build ${version})</h2>`));
}

describe.skipIf(!haveChromium)('a tab opened before a deploy loads its lazy route after it (headless Chromium)', () => {
  let site: Site;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let page: Page;
  const problems: string[] = [];
  const requests: Array<{ url: string; at: number }> = [];

  beforeAll(async () => {
    site = await makeSite({ version: 'v1', config: { backend: { readyTimeout: 5000, killTimeout: 4000 }, healthcheck: { timeout: 5000 } } });
    await setReports(site.app, 'v1');
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);

    profile = await mkdtemp(join(tmpdir(), 'zdd-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('requestfailed', (req) => problems.push(`requestfailed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
    });
    page.on('request', (req) => requests.push({ url: req.url(), at: Date.now() }));
  });

  afterAll(async () => {
    await context?.close().catch(() => {});
    if (profile) await rm(profile, { recursive: true, force: true }).catch(() => {});
    await site?.stop();
  });

  it('opens v1, survives the deploy of v2, then loads the Reports route of v1 without error', async () => {
    await page.goto(`${site.nginx.url}/`, { waitUntil: 'load' });
    await expect.poll(() => page.getByTestId('frontend-version').textContent(), { timeout: 15_000 }).toBe('v1');
    await expect.poll(() => page.getByTestId('backend-version').textContent(), { timeout: 15_000 }).toMatch(/^v1/);
    // Nothing of Reports loaded yet: it is a lazy route.
    expect(requests.filter((r) => /\/assets\/Reports-/.test(r.url))).toEqual([]);
    const v1Html = await (await fetch(`${site.nginx.url}/`)).text();

    // Deploy v2 while the tab stays open.
    await setVersion(site.app, 'v2');
    await setReports(site.app, 'v2');
    const deploying = site.zdd(['deploy']);
    await new Promise((r) => setTimeout(r, 500));
    expect(await page.evaluate(() => document.title)).toBe('Shop');
    const r = await deploying;
    expect(r.exitCode, r.all).toBe(0);
    expect(await site.served()).toMatchObject({ page: 'v2', api: 'v2' });
    const deployedAt = Date.now();
    expect(await (await fetch(`${site.nginx.url}/`)).text()).not.toBe(v1Html);

    // The tab still runs v1. Open the lazy route there.
    await page.getByRole('link', { name: 'Reports' }).click();
    await expect.poll(() => page.locator('h2').first().textContent(), { timeout: 15_000 }).toBe('Reports (build v1)');
    await expect.poll(() => page.locator('table td').nth(1).textContent(), { timeout: 15_000 }).toBe('v2'); // the API is v2 now

    const lazy = requests.filter((x) => /\/assets\/Reports-[\w-]+\.js$/.test(x.url));
    expect(lazy.length, requests.map((x) => x.url).join('\n')).toBeGreaterThan(0);
    expect(lazy.every((x) => x.at >= deployedAt)).toBe(true);
    // That chunk is not part of v2's build: only carry-over put it there.
    const current = await readlink(join(site.deployTo, 'current'));
    const manifest = JSON.parse(await readFile(join(site.deployTo, current, 'frontend-files.json'), 'utf8')) as {
      own: string[];
      carried: Record<string, string>;
    };
    const chunk = new URL(lazy[0]!.url).pathname.slice(1);
    expect(manifest.own).not.toContain(chunk);
    expect(Object.keys(manifest.carried)).toContain(chunk);

    // No reload happened (still v1 in this tab) and nothing failed.
    expect(await page.getByTestId('frontend-version').textContent()).toBe('v1');
    expect(problems).toEqual([]);

    // A fresh load gets v2, with v2's own Reports chunk.
    await page.goto(`${site.nginx.url}/#/reports`, { waitUntil: 'load' });
    await page.reload({ waitUntil: 'load' });
    await expect.poll(() => page.getByTestId('frontend-version').textContent(), { timeout: 15_000 }).toBe('v2');
    await expect.poll(() => page.locator('h2').first().textContent(), { timeout: 15_000 }).toBe('Reports (build v2)');
    expect(problems).toEqual([]);
  }, 240_000);
});
