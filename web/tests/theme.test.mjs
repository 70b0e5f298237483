// Browser tests of the dark theme, the keyboard shortcuts and the phone
// layout: the theme follows prefers-color-scheme until the top bar's toggle
// overrides it (kept across reloads); `?` lists the shortcuts, `g c` goes
// to compare, `j` walks the runs table; at 390×844 no page is wider than
// the screen. A home of its own with four short runs.
//
//   RUNLOG_BIN=../bin/runlog node --test tests/theme.test.mjs
//   RUNLOG_SCREENSHOTS=docs …                 # also copies docs/images/ui-dark.png

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, WEB, scratch, cleanup, serve, browser, results, runlogAsync, waitFor } from './harness.mjs';

let server, b, page, ids;

const curve = (lr, seed) => `awk 'BEGIN{srand(${seed}); for(i=0;i<=400;i+=4){ printf "{\\"step\\": %d, \\"train_loss\\": %.4f}\\n", i, 0.9+2.4*exp(-i*${lr}*3)+0.04*rand(); if(i%40==0) printf "{\\"step\\": %d, \\"val_loss\\": %.4f}\\n", i, 1.0+2.3*exp(-i*${lr}*3) }}'`;

before(async () => {
  const home = scratch('theme-home');
  await Promise.all([['baseline-lr1e-3', '1e-3', 0], ['warmup-lr2e-3', '2e-3', 1], ['cosine-lr3e-3', '3e-3', 2], ['wide-lr5e-3', '5e-3', 3]].map(([name, lr, seed]) =>
    runlogAsync(home, ['run', '--project', 'theme', '--name', name, '--tag', 'demo', '--set', `lr=${lr}`, '--set', `seed=${seed}`, '--', 'sh', '-c', curve(lr, seed)]).done));
  server = await serve(home);
  const list = await (await fetch(`${server.url}/api/v1/runs?sort=name&order=asc`)).json();
  ids = (list.runs || list.items || list).map((r) => r.id);
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
const interactive = () => waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:interactive').length > 0), 10_000, 'the runs table');

test('stylesheet: every colour is a variable of the light or the dark set', () => {
  const css = readFileSync(join(WEB, 'src', 'style.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const rest = css.replace(/:root\s*\{[^}]*\}/, '').replace(/:root\[data-theme='dark'\]\s*\{[^}]*\}/, '');
  assert.deepEqual(rest.match(/#[0-9a-f]{3,8}\b|rgba?\(|hsla?\(|(?<![-\w])(white|black)(?![-\w])/gi) ?? [], []);
});

test('dark mode follows the system', async () => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(server.url);
  await interactive();
  assert.equal(await theme(), 'light');
  const light = await bg();
  await page.emulateMedia({ colorScheme: 'dark' });
  await waitFor(async () => (await theme()) === 'dark', 5000, 'the dark theme');
  assert.notEqual(await bg(), light);
  // Charts draw with the theme's colours.
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--chart-grid').trim()), '#eceff3');
});

test('the toggle overrides the system and is kept across a reload', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  const toggle = page.locator('header.top .theme-toggle');
  assert.equal(await toggle.getAttribute('data-choice'), 'system');
  await toggle.click(); // → light, though the system is dark
  assert.equal(await toggle.getAttribute('data-choice'), 'light');
  assert.equal(await theme(), 'light');
  const light = await bg();
  await page.reload();
  await interactive();
  assert.equal(await theme(), 'light');
  assert.equal(await bg(), light);
  await page.locator('header.top .theme-toggle').click(); // → dark
  assert.equal(await theme(), 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal(await theme(), 'dark', 'a pick outlasts a change of the system');
  await page.reload();
  await interactive();
  assert.equal(await theme(), 'dark');
  await page.locator('header.top .theme-toggle').click(); // → system (light now)
  assert.equal(await page.locator('header.top .theme-toggle').getAttribute('data-choice'), 'system');
  assert.equal(await theme(), 'light');
  assert.equal(await page.evaluate(() => localStorage.getItem('runlog-theme')), null);
});

test('a run page redraws its charts on a theme change', async () => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${server.url}/runs/${ids[0]}`);
  await waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:charts-drawn').length > 0), 10_000, 'the charts');
  const canvas = page.locator('.chart canvas').first();
  await waitFor(() => canvas.count(), 5000, 'a canvas');
  const before = await canvas.evaluate((c) => c.toDataURL());
  await page.keyboard.press('t');
  assert.equal(await theme(), 'dark');
  await waitFor(async () => (await page.locator('.chart canvas').first().evaluate((c) => c.toDataURL())) !== before, 5000, 'the chart drawn again');
  await page.keyboard.press('t');
  assert.equal(await theme(), 'light');
  await page.evaluate(() => localStorage.removeItem('runlog-theme')); // `t` is a pick: back to the system's
});

test('shortcuts: ? lists them, Esc closes; g c, g r; j/k; ignored while typing', async () => {
  await page.goto(server.url);
  await interactive();
  await page.locator('body').click({ position: { x: 5, y: 200 } });
  await page.keyboard.press('?');
  const overlay = page.locator('.keys-overlay');
  await overlay.waitFor();
  assert.match(await overlay.textContent(), /go to compare/);
  assert.equal(await overlay.locator('kbd', { hasText: '?' }).count(), 1);
  await page.keyboard.press('Escape');
  assert.equal(await overlay.count(), 0);

  await page.keyboard.press('j');
  assert.equal(await page.evaluate(() => document.activeElement.closest('tr')?.dataset.id), await page.locator('table.runs tbody tr[data-id]').first().getAttribute('data-id'));
  await page.keyboard.press('j');
  assert.equal(await page.evaluate(() => document.activeElement.closest('tr')?.dataset.id), await page.locator('table.runs tbody tr[data-id]').nth(1).getAttribute('data-id'));
  await page.keyboard.press('k');
  assert.equal(await page.evaluate(() => document.activeElement.closest('tr')?.dataset.id), await page.locator('table.runs tbody tr[data-id]').first().getAttribute('data-id'));

  // Typed into the filter, the keys are text; Esc leaves the field.
  await page.keyboard.press('/');
  await page.keyboard.type('g c');
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(await page.locator('input.filter').inputValue(), 'g c');
  await page.locator('input.filter').fill('');
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.activeElement === document.body), true);

  await page.keyboard.press('g');
  await page.keyboard.press('c');
  await waitFor(() => new URL(page.url()).pathname === '/compare', 5000, 'the compare view');
  await page.keyboard.press('g');
  await page.keyboard.press('r');
  await waitFor(() => new URL(page.url()).pathname === '/', 5000, 'the runs table');
});

test('dark runs table: screenshot', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 1280, height: 560 });
  await page.goto(`${server.url}/?sel=${ids[0]},${ids[2]}`);
  await interactive();
  assert.equal(await theme(), 'dark');
  const shot = join(results(), 'dark.png');
  await page.screenshot({ path: shot });
  if (process.env.RUNLOG_SCREENSHOTS === 'docs') copyFileSync(shot, join(REPO, 'docs', 'images', 'ui-dark.png'));
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });
});

test('phone: at 390×844 no page is wider than the screen', async () => {
  const p = await browser({ width: 390, height: 844, scale: 2 });
  try {
    const wide = () => p.page.evaluate(() => {
      const d = document.documentElement;
      return { scroll: d.scrollWidth, client: d.clientWidth, body: document.body.scrollWidth };
    });
    const check = async (what) => {
      const w = await wide();
      assert.ok(w.scroll <= w.client && w.body <= w.client, `${what}: ${JSON.stringify(w)}`);
    };
    await p.page.goto(server.url);
    await waitFor(() => p.page.evaluate(() => performance.getEntriesByName('runlog:interactive').length > 0), 10_000, 'the runs table');
    await check('runs table');
    // The table scrolls inside its box.
    assert.ok(await p.page.locator('.runs-scroll').evaluate((el) => el.scrollWidth > el.clientWidth), 'the runs table scrolls sideways');

    await p.page.goto(`${server.url}/runs/${ids[0]}`);
    await waitFor(() => p.page.evaluate(() => performance.getEntriesByName('runlog:charts-drawn').length > 0), 10_000, 'the charts');
    await check('run page');
    const plot = await p.page.locator('.chart .uplot').first().evaluate((el) => el.getBoundingClientRect().right);
    assert.ok(plot <= 390, `the chart ends at ${plot}px`);

    await p.page.goto(`${server.url}/compare?runs=${ids.join(',')}`);
    await waitFor(() => p.page.evaluate(() => performance.getEntriesByName('runlog:compare-drawn').length > 0), 10_000, 'the compare view');
    await check('compare');
    // A chart follows its container: wider screen, wider chart.
    const narrow = await p.page.locator('.chart .uplot').first().evaluate((el) => el.getBoundingClientRect().width);
    await p.page.setViewportSize({ width: 600, height: 844 });
    await waitFor(async () => (await p.page.locator('.chart .uplot').first().evaluate((el) => el.getBoundingClientRect().width)) > narrow + 100, 5000, 'the chart resized');
    await check('compare at 600px');
  } finally {
    await p.close();
  }
});
