// The dashboard in a real browser against a running lab: Debian's chromium, driven by
// playwright-core, runs inside the router's namespace (`ip netns exec`), where the lab's router
// serves its dashboard on loopback. en1 looks alice up and connects (curl, through the lab's
// Unbound); the page must show the name, the EN, READY and the mapping, live, without any
// Content-Security-Policy complaint; without the token the browser gets 401. The screenshot
// is kept in test-output/dashboard.png. Needs root, the lab's tools and chromium (skips
// without them; fails under NTSS_NO_SKIP=1).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { Lab } from '../src/lab/lab.js';
import { ADDR, DASHBOARD_PORT, nsName } from '../src/lab/topology.js';
import { lab, labReady, namespacesOf, processesMentioning } from './lab-cli.js';
import { needTools } from './helpers/tools.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

test('dashboard in chromium: a lookup and connection made in the lab appears on the page', { timeout: 150_000 }, async (t) => {
  if (!labReady(t) || !needTools(t, CHROMIUM)) return;
  const prefix = `dash${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'ntss-dashboard-'));
  let browser: Browser | undefined;
  try {
    const up = await lab(['up', '--prefix', prefix], 90_000);
    assert.equal(up.code, 0, up.out);
    const l = Lab.attach(prefix)!;
    const token = l.s.secrets.dashboard!;
    assert.ok(token, 'the lab configures the dashboard');
    // The browser runs where the dashboard is: in the router's namespace (the pipe to playwright is inherited).
    const wrapper = join(dir, 'chromium-in-router');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${nsName(prefix, 'router')} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await chromium.launch({ executablePath: wrapper, timeout: 30_000 });
    const base = `http://127.0.0.1:${DASHBOARD_PORT}`;

    const stranger = await browser.newPage();
    const denied = await stranger.goto(`${base}/`);
    assert.equal(denied?.status(), 401, 'no token: 401');
    assert.match(await stranger.textContent('body') ?? '', /unauthorized/);
    await stranger.close();

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const complaints: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) complaints.push(m.text()); });
    page.on('pageerror', (e) => complaints.push(e.message));
    const opened = await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
    assert.equal(opened?.status(), 200);
    assert.equal(page.url(), `${base}/`, 'the token left the address bar');
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.locator('#phl td', { hasText: 'alice.home.example.' }).waitFor({ timeout: 5000 });

    const curl = await l.exec('en1', 'curl', ['-s', '--max-time', '5', 'http://alice.home.example/'], { timeoutMs: 10_000 });
    assert.match(curl.stdout, /alice/, `en1 reached alice: ${curl.stdout} ${curl.stderr}`);

    // One row of the live timeline: the name, the EN, READY, and the mapping the connection made.
    const row = page.locator('#timeline tr')
      .filter({ hasText: 'alice.home.example.' })
      .filter({ hasText: ADDR.en1 })
      .filter({ hasText: 'READY' })
      .filter({ hasText: `tcp ${ADDR.en1} -> ${ADDR.alice}:80` });
    await row.first().waitFor({ timeout: 10_000 });
    const cells = await row.first().locator('td').allTextContents();
    console.log(`# timeline row: ${cells.join(' | ')}`);
    const wait = Number(/^([\d.]+) ms$/.exec(cells[5] ?? '')?.[1]);
    assert.ok(wait >= 0 && wait < 2000, `the wait is shown: ${cells[5]}`);
    assert.equal(await page.locator('#summary [data-fact="READY"] b').textContent(), '1');
    assert.ok(await page.locator('#chart canvas').count() > 0, 'the waits chart is drawn');
    await page.waitForTimeout(300); // the chart's next frame
    const shot = join(ROOT, 'test-output', 'dashboard.png');
    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);
    assert.deepEqual(complaints, [], 'no console errors, no CSP violations');
  } finally {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
    const down = await lab(['down', '--prefix', prefix], 30_000);
    assert.equal(down.code, 0, down.out);
  }
  assert.deepEqual(namespacesOf(prefix), [], 'no namespace of the lab may remain');
  assert.deepEqual(processesMentioning(`/run/ntss-lab/${prefix}/`), [], 'no lab process may remain');
});
