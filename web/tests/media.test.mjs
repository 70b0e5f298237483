// Browser tests of the rich values (issue 15): the run page's media panels
// — texts, an image grid, a sortable table, HTML in a sandboxed frame,
// histograms over the steps — and the compare view's text samples side by
// side, on runs the Python client logged (tests/seed_media.py): a sweep of
// three learning rates, and a run whose key name, text, table cell,
// caption and HTML hold <script> and <img onerror>, shown as text with no
// script run. Also: keyboard, dark theme, a phone's width.
//
//   RUNLOG_BIN=../bin/runlog node --test tests/media.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEB, scratch, cleanup, serve, browser, waitFor, sleep } from './harness.mjs';

let server, b, page, ids;

// Kept in step with seed_media.py.
const valLoss = (i, step) => Number((3.2 * Math.exp((-step * (i + 1)) / 900) + 1.1).toFixed(4));
const SWEEP = ['lr1e-3', 'lr3e-3', 'lr1e-2'];
const payload = (where) => `window.__pwned=(window.__pwned||'')+'${where};'`;
const hostile = (where) => `<script>${payload(`${where}-script`)}</script><img src=x onerror="${payload(`${where}-img`)}">`;

function seed(home, ...args) {
  const r = spawnSync('python3', [join(WEB, 'tests', 'seed_media.py'), home, ...args], { encoding: 'utf8', env: { ...process.env, RUNLOG_URL: '-' } });
  if (r.status !== 0) throw new Error(`seed_media.py ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}

before(async () => {
  const home = scratch('media-home');
  seed(home, 'sweep');
  seed(home, 'hostile');
  server = await serve(home);
  const list = await (await fetch(`${server.url}/api/v1/runs?limit=100`)).json();
  ids = Object.fromEntries(list.runs.map((r) => [r.name, r.id]));
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const mark = (p, name) => waitFor(() => p.evaluate((n) => performance.getEntriesByName(n).length > 0, name), 15_000, name);
const panel = (key) => `.media-panel[data-key="${key}"]`;
const texts = (sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent));

async function runPage(name, query = '') {
  await page.goto(`${server.url}/runs/${ids[name]}${query}`);
  await mark(page, 'runlog:media-drawn');
}

test('run page: a panel per key and kind the client logged, texts as pre-wrapped text', async () => {
  await runPage('lr1e-3');
  const panels = await page.$$eval('.media-panel', (els) => els.map((e) => `${e.dataset.kind} ${e.dataset.key}`));
  assert.deepEqual(panels.sort(), ['histogram grad_norm/layer0', 'html report', 'image samples', 'table predictions', 'text sample']);
  const [sample] = await texts(`${panel('sample')} pre.media-text`);
  assert.match(sample, /^\[lr1e-3 @ 1000\] Once upon a time, .*\.\nThe end\.$/s);
  assert.equal(await page.$eval(`${panel('sample')} pre.media-text`, (e) => getComputedStyle(e).whiteSpace), 'pre-wrap');
  assert.match(await page.textContent(`${panel('sample')} .step-out`), /^step 1000$/);
});

test('images: the step’s 64 images as a grid, details on click, the slider steps through the logged steps and the address keeps it', async () => {
  await runPage('lr1e-3');
  const imgs = `${panel('samples')} .media-images img`;
  assert.equal((await page.$$(imgs)).length, 64);
  await page.$eval(panel('samples'), (e) => e.scrollIntoView());
  await waitFor(() => page.$eval(imgs, (i) => i.complete && i.naturalWidth === 32), 10_000, 'the first image');
  await page.click(`${panel('samples')} .media-thumb >> nth=3`);
  const info = await page.textContent(`${panel('samples')} .media-info`);
  for (const want of ['step 1000', '#3', '32 × 32 px', 'png', 'sample 3', 'full size']) assert.ok(info.includes(want), `${info} lacks ${want}`);

  // Keyboard: ← on the slider goes to the previous logged step (800: 4 images).
  await page.focus(`${panel('samples')} .step-range`);
  await page.keyboard.press('ArrowLeft');
  await waitFor(async () => (await page.textContent(`${panel('samples')} .step-out`)) === 'step 800', 10_000, 'step 800');
  await waitFor(async () => (await page.$$(imgs)).length === 4, 10_000, '4 images');
  assert.match(decodeURIComponent(page.url()), /mstep=samples:800/);
  await page.reload();
  await mark(page, 'runlog:media-drawn');
  assert.equal(await page.textContent(`${panel('samples')} .step-out`), 'step 800');
  assert.equal((await page.$$(imgs)).length, 4);
  // A step between two logged ones shows the one before; End goes to the last.
  await runPage('lr1e-3', '?mstep=samples:950');
  assert.equal(await page.textContent(`${panel('samples')} .step-out`), 'step 800 (≤ 950)');
  await page.focus(`${panel('samples')} .step-range`);
  await page.keyboard.press('End');
  await waitFor(async () => (await page.$$(imgs)).length === 64, 10_000, '64 images again');
});

test('tables: a click on a column sorts by it, again reverses, a third time restores; image cells are the run’s images', async () => {
  await runPage('lr1e-3');
  const t = panel('predictions');
  const score = () => texts(`${t} tbody tr td:nth-child(3)`);
  assert.deepEqual(await score(), ['1', 'NaN', '0.8', '0.05']);
  const head = `${t} thead th:nth-child(3)`;
  await page.click(`${head} button`);
  assert.deepEqual(await score(), ['0.05', '0.8', '1', 'NaN']);
  assert.equal(await page.getAttribute(head, 'aria-sort'), 'ascending');
  // The head keeps the focus: Enter sorts again, from the keyboard.
  await page.keyboard.press('Enter');
  assert.deepEqual(await score(), ['NaN', '1', '0.8', '0.05']);
  assert.equal(await page.getAttribute(head, 'aria-sort'), 'descending');
  await page.keyboard.press('Enter');
  assert.deepEqual(await score(), ['1', 'NaN', '0.8', '0.05']);
  assert.deepEqual(await texts(`${t} tbody tr td:nth-child(1)`), ['Once', 'A dog', 'The sun', 'row 10']);
  await page.$eval(t, (e) => e.scrollIntoView());
  await waitFor(() => page.$eval(`${t} td.media-cell-image img`, (i) => i.complete && i.naturalWidth === 16), 10_000, 'an image cell');
  assert.match(await page.textContent(`${t} .media-table-foot`), /4 rows/);
});

test('HTML: rendered in a frame sandboxed with nothing allowed, or shown as its source', async () => {
  await runPage('lr1e-3');
  const h = panel('report');
  assert.equal(await page.getAttribute(`${h} iframe`, 'sandbox'), '');
  const frame = await waitFor(() => page.frames().find((f) => f.url() === 'about:srcdoc'), 10_000, 'the frame');
  await waitFor(async () => (await frame.textContent('h1').catch(() => '')) === 'Evaluation at step 1000', 10_000, 'the frame’s heading');
  await page.click(`${h} button[data-mode=source]`);
  assert.equal(await page.getAttribute(`${h} button[data-mode=source]`, 'aria-pressed'), 'true');
  assert.equal(await page.textContent(`${h} pre.media-html-source`), `<h1>Evaluation at step 1000</h1><p>val loss ${valLoss(0, 1000)}</p>`);
  assert.equal(await page.$(`${h} iframe`), null);
});

test('histograms: a heatmap over the steps, a step’s numbers on hover and from the keyboard, NaN/Inf counted apart, redrawn in the dark theme', async () => {
  await page.emulateMedia({ colorScheme: 'light' });
  await runPage('lr1e-3');
  await mark(page, 'runlog:histograms-drawn');
  const c = `${panel('grad_norm/layer0')} canvas`;
  const pixels = () => page.$eval(c, (cv) => {
    const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4 * 7) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
    return { distinct: seen.size, corner: [...d.slice(0, 3)] };
  });
  const light = await pixels();
  assert.ok(light.distinct > 20, `the heatmap has ${light.distinct} colours`);
  assert.match(await page.textContent(`${panel('grad_norm/layer0')} .hist-note`), /2 NaN\/Inf values counted apart/);
  await page.focus(c);
  await page.keyboard.press('End');
  const tip = `${panel('grad_norm/layer0')} .hist-tip`;
  assert.match(await page.textContent(tip), /^step 1,000median .*2,000 values in 48 bins/);
  await page.keyboard.press('Home');
  assert.match(await page.textContent(tip), /^step 0median/);
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  assert.match(await page.textContent(tip), /^step 500.*NaN 1 · \+Inf 1/);
  const box = await page.$eval(c, (cv) => { const r = cv.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; });
  await page.mouse.move(box.x, box.y);
  assert.match(await page.textContent(tip), /^step [\d,]+median .*%\)/);
  await page.emulateMedia({ colorScheme: 'dark' });
  await waitFor(async () => (await pixels()).corner.join() !== light.corner.join(), 5000, 'the heatmap redrawn dark');
  assert.ok((await pixels()).distinct > 20);
  await page.emulateMedia({ colorScheme: 'light' });
});

test('compare: the sweep’s text samples side by side at one step, each beside its run’s val loss; the slider moves them together', async () => {
  await page.goto(`${server.url}/compare?runs=${SWEEP.map((n) => ids[n]).join(',')}`);
  await mark(page, 'runlog:text-drawn');
  const cards = '.text-compare .text-card';
  assert.deepEqual(await texts(`${cards} .text-run`), SWEEP);
  assert.deepEqual(await texts(`${cards} .text-at`), ['step 1000', 'step 1000', 'step 1000']);
  assert.deepEqual(await texts(`${cards} .text-metric-value`), SWEEP.map((_, i) => `val_loss ${valLoss(i, 1000)}`));
  const samples = await texts(`${cards} pre.media-text`);
  SWEEP.forEach((n, i) => assert.ok(samples[i].startsWith(`[${n} @ 1000] Once upon a time`), samples[i]));

  await page.focus('.text-compare .step-range');
  await page.keyboard.press('ArrowLeft');
  await waitFor(async () => (await texts(`${cards} .text-at`)).every((t) => t === 'step 800'), 10_000, 'step 800');
  assert.deepEqual(await texts(`${cards} .text-metric-value`), SWEEP.map((_, i) => `val_loss ${valLoss(i, 800)}`));
  assert.ok((await texts(`${cards} pre.media-text`))[2].startsWith('[lr1e-2 @ 800]'));
  assert.match(page.url(), /text_step=800/);

  // A step between evaluations: each run's latest sample before it, said so
  // (the address naming the key too: the samples asked for beside the keys).
  await page.goto(`${server.url}/compare?runs=${SWEEP.map((n) => ids[n]).join(',')}&text=sample&text_step=900`);
  await mark(page, 'runlog:text-drawn');
  assert.deepEqual(await texts(`${cards} .text-at`), SWEEP.map(() => 'step 800 (latest ≤ 900)'));
  await page.selectOption('.text-compare select.text-metric', '');
  await waitFor(async () => (await page.$$(`${cards} .text-metric-value`)).length === 0, 10_000, 'no metric');
  assert.match(page.url(), /text_metric=-/);
});

test('hostile values: a key name, text, table cell, column, caption and HTML holding <script> and <img onerror> are shown as text; no script runs (CSP off)', async () => {
  const hb = await browser({ bypassCSP: true });
  try {
    const p = hb.page;
    // Control: with the CSP off, the same markup parsed as HTML of a page of
    // the server runs (the flag is set), and so does a frame that allows
    // scripts: the detection works, and only the UI's handling stops them.
    await p.goto(`${server.url}/`);
    await p.evaluate((html) => {
      const d = document.createElement('div');
      d.innerHTML = html; // eslint-disable-line -- the control's point
      document.body.appendChild(d);
      const f = document.createElement('iframe');
      f.setAttribute('sandbox', 'allow-scripts');
      f.setAttribute('srcdoc', html.replaceAll('control', 'frame-control'));
      document.body.appendChild(f);
    }, hostile('control'));
    await waitFor(() => p.evaluate(() => (window.__pwned || '').includes('control-img;')), 5000, 'the control script');
    await waitFor(async () => {
      for (const f of p.frames()) if (f !== p.mainFrame() && ((await f.evaluate(() => window.__pwned).catch(() => '')) || '').includes('frame-control-script;')) return true;
      return false;
    }, 5000, 'the control frame’s script');

    const hostileKey = hostile('key');
    await p.goto(`${server.url}/runs/${ids.hostile}`);
    await mark(p, 'runlog:media-drawn');
    await waitFor(() => p.frames().find((f) => f.url() === 'about:srcdoc'), 10_000, 'the HTML frame');
    await sleep(1000); // time for anything that would run
    const pk = (key) => `.media-panel[data-key="${key.replaceAll('"', '\\"')}"]`;
    assert.equal(await p.textContent(`${pk(hostileKey)} .chart-title`), hostileKey);
    assert.equal(await p.textContent(`${pk(hostileKey)} pre.media-text`), 'the key\'s name is hostile');
    assert.equal(await p.textContent(`${pk('sample')} pre.media-text`), `story ${hostile('text')}`);
    assert.equal(await p.textContent(`${pk('predictions')} thead th:nth-child(2)`), hostile('column'));
    assert.equal(await p.textContent(`${pk('predictions')} tbody tr:first-child td:first-child`), hostile('cell'));
    assert.equal(await p.textContent(`${pk('samples')} figcaption`), hostile('caption'));
    await p.click(`${pk('report')} button[data-mode=source]`);
    assert.ok((await p.textContent(`${pk('report')} pre`)).includes(hostile('html')));
    await p.click(`${pk('report')} button[data-mode=rendered]`);
    await sleep(500);
    assert.equal(await p.evaluate(() => document.querySelectorAll('main script, main [onerror]').length), 0, 'markup from the run in the page');
    assert.equal(await p.evaluate(() => window.__pwned), undefined, 'a script ran in the page');
    for (const f of p.frames()) assert.equal(await f.evaluate(() => window.__pwned).catch(() => undefined), undefined, `a script ran in ${f.url()}`);

    // The compare view's cards, beside a sweep run.
    await p.goto(`${server.url}/compare?runs=${ids.hostile},${ids['lr1e-3']}&text=sample`);
    await mark(p, 'runlog:text-drawn');
    await sleep(500);
    const keys = await p.$$eval('.text-compare select.text-key option', (os) => os.map((o) => o.textContent));
    assert.ok(keys.includes(hostileKey), keys.join(' | '));
    assert.equal(await p.textContent('.text-card[data-run] pre.media-text'), `story ${hostile('text')}`);
    assert.equal(await p.evaluate(() => window.__pwned), undefined, 'a script ran in the compare view');
    assert.deepEqual(hb.errors.filter((e) => e.startsWith('dialog') || e.startsWith('pageerror')), []);
  } finally {
    await hb.close();
  }
});

test('live: a panel that follows the last step shows what a training run logs next; one set to a step stays', async () => {
  const home = scratch('media-live');
  const signal = join(home, 'go-on');
  const srv = await serve(home);
  const py = spawn('python3', [join(WEB, 'tests', 'seed_media.py'), home, 'live', signal], { env: { ...process.env, RUNLOG_URL: '-' }, stdio: 'ignore' });
  const lb = await browser();
  try {
    const p = lb.page;
    const id = await waitFor(async () => (await (await fetch(`${srv.url}/api/v1/runs`)).json()).runs.find((r) => r.name === 'live')?.id, 20_000, 'the live run');
    await waitFor(async () => (await (await fetch(`${srv.url}/api/v1/runs/${id}/media`)).json()).keys.length === 2, 20_000, 'its first values');
    // The image panel is set to step 0 by the address; the text one follows.
    await p.goto(`${srv.url}/runs/${id}?mstep=samples:0`);
    await mark(p, 'runlog:media-drawn');
    const text = `${panel('sample')} pre.media-text`;
    assert.equal(await p.textContent(text), 'first sample');
    assert.equal(await p.$eval(`${panel('sample')} .step-range`, (r) => r.disabled), true, 'one step: nothing to slide');
    writeFileSync(signal, '');
    await waitFor(async () => (await p.textContent(text)) === 'second sample', 20_000, 'the second sample');
    assert.equal(await p.textContent(`${panel('sample')} .step-out`), 'step 100');
    assert.match(await p.textContent(`${panel('sample')} .media-head`), /2 values · steps 0–100/);
    assert.equal((await p.$$(`${panel('samples')} .media-images img`)).length, 1, 'the image panel moved off the step it was set to');
    await p.click(`${panel('samples')} .step-next`);
    await waitFor(async () => (await p.$$(`${panel('samples')} .media-images img`)).length === 2, 10_000, 'step 100’s two images');
  } finally {
    py.kill();
    await lb.close();
    await srv.stop();
  }
});

test('many keys: the first panels load with the page, the others when scrolled near', async () => {
  const home = scratch('media-many');
  seed(home, 'many', '14');
  const srv = await serve(home);
  const mb = await browser({ width: 1440, height: 900 });
  try {
    const p = mb.page;
    const id = (await (await fetch(`${srv.url}/api/v1/runs`)).json()).runs[0].id;
    await p.goto(`${srv.url}/runs/${id}`);
    await mark(p, 'runlog:media-drawn');
    const drawn = () => p.evaluate(() => performance.getEntriesByName('runlog:histograms-drawn').length);
    await waitFor(async () => (await drawn()) === 8, 10_000, '8 heatmaps');
    await sleep(500);
    assert.equal(await drawn(), 8, 'panels far below the window loaded with the page');
    assert.equal(await p.$$eval('.media-histogram', (els) => els.length), 14);
    // Jumping to the end loads the panels near it, not those passed over.
    await p.$eval('.media-histogram:last-child', (e) => e.scrollIntoView());
    await waitFor(async () => (await drawn()) > 8, 10_000, 'the last heatmaps');
    await sleep(500);
    assert.ok((await drawn()) < 14, 'every panel loaded on a jump to the end');
    await p.$eval('.media-histogram:nth-child(9)', (e) => e.scrollIntoView());
    await waitFor(async () => (await drawn()) === 14, 10_000, 'all 14 heatmaps once scrolled past');
    assert.match(await p.textContent('.media-histogram:last-child .chart-title'), /^layer13$/);
  } finally {
    await mb.close();
    await srv.stop();
  }
});

test('a phone’s width: the media panels and the text samples fit the screen', async () => {
  const pb = await browser({ width: 390, height: 844 });
  try {
    const p = pb.page;
    await p.goto(`${server.url}/runs/${ids['lr1e-3']}`);
    await mark(p, 'runlog:media-drawn');
    await mark(p, 'runlog:histograms-drawn');
    assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'the run page is wider than the screen');
    assert.ok(await p.$eval('.media-histogram canvas', (c) => c.getBoundingClientRect().right <= innerWidth));
    await p.goto(`${server.url}/compare?runs=${SWEEP.map((n) => ids[n]).join(',')}`);
    await mark(p, 'runlog:text-drawn');
    assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'the compare view is wider than the screen');
    const w = await p.$$eval('.text-card', (cs) => cs.map((c) => c.getBoundingClientRect().width));
    assert.ok(w.every((x) => x <= 390 && x > 300), `cards ${w}`);
  } finally {
    await pb.close();
  }
});
