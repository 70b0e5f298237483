// Browser tests of runlog's web UI: a runlog server of their own (the
// binary in RUNLOG_BIN, built with the UI) on a home they seed with real
// runs — two short trainings of the tiny LM under `runlog run`, a failing
// run, a dense synthetic series and a run named like an XSS attack — driven
// in Debian's headless Chromium with playwright-core.
//
//   RUNLOG_BIN=../bin/runlog npm test                   # screenshots into test-results/
//   RUNLOG_BIN=../bin/runlog npm run test:screenshots   # …and into docs/images/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, scratch, cleanup, serve, browser, results, runlog, runlogAsync, tinylm, waitFor, sleep } from './harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const XSS_NOTE = '<script>alert(3)</script><b>bold</b> notes';
const TOKEN = 'test-token-0123456789abcdef';

let home, server, b, page, out;

before(async () => {
  out = results();
  home = scratch('home');
  const lm = tinylm();
  const train = (name, lr, extra = []) => runlogAsync(home, ['run', '--project', 'tinylm', '--name', name, ...extra, '--',
    lm, '-config', 'examples/tinylm/config.json', '-set', `lr=${lr}`, '-set', 'max_steps=240', '-set', 'eval_interval=40', '-set', 'warmup_steps=30']).done;
  const dense = "awk 'BEGIN{for(i=0;i<20000;i++) printf \"{\\\"step\\\": %d, \\\"loss\\\": %.6f}\\n\", i, 3*exp(-i/3000)+0.6+0.15*sin(i/7)+(i==12000?2:0)}'";
  await Promise.all([
    train('lr-1e-2', '1e-2', ['--tag', 'demo', '--hypothesis', 'a higher lr <b>converges</b> faster']),
    train('lr-3e-3', '3e-3', ['--tag', 'demo']),
    runlogAsync(home, ['run', '--project', 'synthetic', '--name', 'dense', '--', 'sh', '-c', dense]).done,
    runlogAsync(home, ['run', '--project', 'tinylm', '--name', XSS, '--tag', '<b>t</b>', '--', 'sh', '-c',
      'for i in 1 2 3 4 5; do echo "{\\"step\\": $i, \\"loss\\": $((10-i))}"; done; echo "<script>alert(2)</script>"']).done,
    runlogAsync(home, ['run', '--project', 'tinylm', '--name', 'failing', '--', 'sh', '-c', 'echo "{\\"step\\": 1, \\"loss\\": 3}"; echo boom >&2; exit 3'], { allowFail: true }).done,
    runlogAsync(home, ['run', '--project', 'tinylm', '--name', 'stopped', '--', 'sh', '-c', 'echo "{\\"step\\": 1, \\"loss\\": 3}"; kill -TERM $$'], { allowFail: true }).done,
    ...[['1e-3', 32], ['2e-3', 64], ['4e-3', 128]].map(([lr, bs], i) => runlogAsync(home, ['run', '--project', 'sweep', '--name', `sweep-lr${lr}`, '--tag', 'sweep',
      '--set', `lr=${lr}`, '--set', `batch_size=${bs}`, '--', 'sh', '-c',
      `awk 'BEGIN{srand(${i}); for(i=0;i<=3000;i+=5) printf "{\\"step\\": %d, \\"train_loss\\": %.4f}\\n", i, 1.1+${i}*0.15+2.5*exp(-i*${lr}/2)+0.05*rand()}'`]).done),
  ]);
  runlog(home, ['note', XSS, XSS_NOTE]);
  runlog(home, ['note', 'lr-1e-2', 'Baseline: warmup 30 steps, cosine to 1e-4.']);
  server = await serve(home);
  const index = await (await fetch(server.url)).text();
  if (!index.includes('/assets/')) throw new Error(`${process.env.RUNLOG_BIN} serves no UI: build it first (cd web && npm run build), then the binary (go build -o bin/runlog ./cmd/runlog)`);
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  if (process.env.RUNLOG_SCREENSHOTS === 'docs') {
    for (const [from, to] of [['runs.png', 'ui-runs.png'], ['run.png', 'ui-run.png'], ['compare.png', 'ui-compare.png']]) {
      copyFileSync(join(out, from), join(REPO, 'docs', 'images', to));
    }
  }
  cleanup();
});

const rows = () => page.locator('table.runs tbody tr[data-id]');
const rowOf = (name) => page.locator('table.runs tbody tr[data-id]', { has: page.locator('a.run-link', { hasText: name }) });
const mark = (name) => page.evaluate((n) => performance.getEntriesByName(n).length > 0, name);
const url = () => new URL(page.url());
const seriesResponse = (pred) => page.waitForResponse((r) => r.url().includes('/series?') && pred(new URL(r.url()).searchParams));

test('runs table: every run, status badges, hostile names as text', async () => {
  await page.goto(server.url);
  await waitFor(() => mark('runlog:interactive'), 10_000, 'the runs table');
  assert.equal(await rows().count(), 9);
  assert.equal(await page.locator('.count').textContent(), '9 runs');
  assert.equal(await rowOf('stopped').locator('.badge').textContent(), 'killed');
  assert.equal(await rowOf('failing').locator('.badge').textContent(), 'failed');
  assert.equal(await rowOf('lr-1e-2').locator('.badge').textContent(), 'finished');
  // The run named like markup is text: no <img> in the table, the name shown as typed.
  const hostile = page.locator('a.run-link', { hasText: '<img' });
  assert.equal(await hostile.textContent(), XSS);
  assert.equal(await page.locator('table.runs img').count(), 0);
  assert.equal(await page.locator('table.runs .tag', { hasText: '<b>t</b>' }).count(), 1);
  // The config key that differs among the runs is a column by itself.
  assert.ok(await page.locator('table.runs thead th', { hasText: 'lr' }).count() >= 1);
  assert.equal(await rowOf('lr-3e-3').locator('td.c-config_lr').textContent(), '0.003');
  await page.screenshot({ path: join(out, 'runs.png') });
});

test('runs table: sort by a column, pick columns', async () => {
  await page.locator('table.runs thead th', { hasText: 'Val loss' }).click();
  await waitFor(() => url().searchParams.get('sort') === 'val_loss', 5000, 'sort in the URL');
  await waitFor(async () => (await rows().first().locator('a.run-link').textContent()) === 'lr-3e-3', 5000, 'highest val loss first');
  await page.locator('table.runs thead th', { hasText: 'Val loss' }).click();
  await waitFor(() => url().searchParams.get('order') === 'asc', 5000, 'ascending order');
  await waitFor(async () => (await rows().first().locator('a.run-link').textContent()) === 'lr-1e-2', 5000, 'lowest val loss first');

  await page.getByRole('button', { name: 'Columns' }).click();
  await page.locator('.picker input[type=search]').fill('max_steps');
  await page.locator('.picker-item', { hasText: 'max_steps' }).locator('input').check();
  await page.getByRole('button', { name: 'Done' }).click();
  assert.match(url().searchParams.get('cols'), /config\.max_steps/);
  assert.equal(await rowOf('lr-1e-2').locator('td.c-config_max_steps').textContent(), '240');
});

test('runs table: filter by condition and status', async () => {
  const filter = page.locator('input.filter');
  await filter.fill('config.lr > 5e-3');
  await waitFor(async () => (await rows().count()) === 1, 5000, 'one run with lr > 5e-3');
  assert.equal(await rows().first().locator('a.run-link').textContent(), 'lr-1e-2');
  assert.equal(url().searchParams.get('q'), 'config.lr > 5e-3');
  await filter.fill('config.lr >>> 1');
  await waitFor(() => page.locator('.filter-error').isVisible(), 5000, 'the server’s message about a bad query');
  await filter.fill('');
  await waitFor(async () => (await rows().count()) === 9, 5000, 'all runs again');
  await page.locator('.chip[data-status=failed]').click();
  await waitFor(async () => (await rows().count()) === 1, 5000, 'the failed run');
  assert.equal(url().searchParams.get('status'), 'failed');
  await page.locator('.chip[data-status=""]').click();
  await waitFor(async () => (await rows().count()) === 9, 5000, 'all runs');
});

test('live updates from server-sent events: runs table and run page', async () => {
  await waitFor(() => page.locator('.live.live').count(), 5000, 'the event stream');
  const live = runlogAsync(home, ['run', '--project', 'tinylm', '--name', 'live-run', '--', 'sh', '-c',
    'for i in $(seq 1 50); do echo "{\\"step\\": $i, \\"loss\\": 1.$i}"; sleep 0.12; done']);
  await waitFor(() => rowOf('live-run').count(), 10_000, 'the new run in the table, without reloading');
  assert.equal(await rows().count(), 10);
  await rowOf('live-run').locator('a.run-link').click();
  await waitFor(() => page.locator('[data-chart=loss] canvas').count(), 10_000, 'the live run’s chart');
  const points = async () => Number((await page.locator('[data-chart=loss] .chart-info').textContent()).split(' ')[0]);
  const n0 = await points();
  await waitFor(async () => (await points()) > n0, 10_000, 'the chart to grow while the run logs');
  await live.done;
  await waitFor(async () => (await page.locator('.run-head .badge').textContent()) === 'finished', 10_000, 'the page to show the run finished');
  await waitFor(async () => (await points()) === 50, 10_000, 'every point drawn');
  await page.goBack();
  await waitFor(async () => (await rowOf('live-run').locator('.badge').textContent()) === 'finished', 10_000, 'the table to show it finished');
});

test('run page: header, charts grouped, summary, checkpoints, logs', async () => {
  await page.goto(server.url);
  await rowOf('lr-1e-2').locator('a.run-link').click();
  await waitFor(() => mark('runlog:run-drawn'), 10_000, 'the run’s charts');
  assert.match(url().pathname, /^\/runs\/[a-z0-9]+$/);
  assert.equal(await page.locator('h1.run-name').textContent(), 'lr-1e-2');
  assert.equal(await page.locator('.run-head .badge').textContent(), 'finished');
  assert.equal(await page.locator('.hypothesis p').textContent(), 'a higher lr <b>converges</b> faster');
  assert.equal(await page.locator('.hypothesis b').count(), 0);
  assert.equal(await page.locator('.notes p').textContent(), 'Baseline: warmup 30 steps, cosine to 1e-4.');
  // The losses share a chart; every other series has its own; sys/ apart.
  assert.equal(await page.locator('[data-chart=loss] canvas').count(), 1);
  for (const k of ['learning_rate', 'tokens_per_sec', 'val_perplexity']) assert.equal(await page.locator(`.chart-group[data-group=metrics] [data-chart="${k}"]`).count(), 1, k);
  const sys = await page.locator('[data-chart^="sys/"]').count();
  assert.equal(await page.locator('.chart-group[data-group=sys] [data-chart^="sys/"]').count(), sys);
  assert.ok(await page.locator('table.kv tr', { hasText: 'best_val_loss' }).count());
  assert.equal(await page.locator('table.files tr.best .best-mark').count(), 1);
  assert.ok(await page.locator('pre.logs .log').count() > 3);
  await page.screenshot({ path: join(out, 'run.png') });
  await page.screenshot({ path: join(out, 'run-full.png'), fullPage: true });
});

test('chart controls: x-axis, hover, smoothing, log-y', async () => {
  for (const [axis, label] of [['wallclock', 'Wallclock'], ['active', 'Active'], ['time', 'Time'], ['step', 'Step']]) {
    const res = seriesResponse((p) => (p.get('x') || 'step') === axis);
    await page.locator('.seg', { hasText: label }).click();
    await res;
    assert.equal(url().searchParams.get('x'), axis === 'step' ? null : axis);
  }
  await page.locator('.seg', { hasText: 'Wallclock' }).click();
  await sleep(300);
  const plot = page.locator('[data-chart=loss] .u-over');
  const box = await plot.boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  const tip = page.locator('[data-chart=loss] .chart-tip');
  await waitFor(() => tip.isVisible(), 3000, 'the hover tooltip');
  assert.match(await tip.locator('.tip-x').textContent(), /^wallclock /);
  assert.equal(await tip.locator('.tip-row').count(), 2);
  // Hover syncs across the run's charts.
  assert.ok(await page.locator('[data-chart=learning_rate] .chart-tip').isVisible());

  await page.locator('.smooth input').evaluate((el) => { el.value = '0.9'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await waitFor(() => url().searchParams.get('smooth') === '0.9', 3000, 'smoothing in the URL');
  assert.match(await page.locator('[data-chart=loss] .chart-legend').textContent(), /EMA 0\.9/);

  await page.locator('[data-chart=loss] button', { hasText: 'log y' }).click();
  assert.equal(url().searchParams.get('logy'), 'loss');
  await page.locator('[data-chart=loss] button', { hasText: 'log y' }).click();
  assert.equal(url().searchParams.get('logy'), null);
});

test('chart downloads: CSV of every point, PNG', async () => {
  const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('[data-chart=loss] button', { hasText: 'CSV' }).click()]);
  const text = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.equal(text[0], 'run,run_id,key,step,wallclock_s,value');
  assert.ok(text.length > 240, `${text.length} CSV lines`);
  assert.match(text[1], /^lr-1e-2,[a-z0-9]+,(train_loss|val_loss),\d+,[\d.]+,[\d.]+$/);
  const [png] = await Promise.all([page.waitForEvent('download'), page.locator('[data-chart=loss] button', { hasText: 'PNG' }).click()]);
  const bytes = readFileSync(await png.path());
  assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.ok(bytes.length > 5000);
});

test('zoom: drag refetches the range at full resolution, double-click resets', async () => {
  await page.goto(server.url);
  await rowOf('dense').locator('a.run-link').click();
  await waitFor(() => mark('runlog:run-drawn'), 10_000, 'the dense run’s chart');
  const info = page.locator('[data-chart=loss] .chart-info');
  assert.match(await info.textContent(), /of 20k points/); // downsampled on the server
  const plot = page.locator('[data-chart=loss] .u-over');
  const box = await plot.boundingBox();
  const zoomed = seriesResponse((p) => p.has('from') && p.has('to') && Number(p.get('points')) > 100);
  await page.mouse.move(box.x + box.width * 0.55, box.y + 40);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.62, box.y + 60, { steps: 5 });
  await page.mouse.up();
  const res = await zoomed;
  const q = new URL(res.url()).searchParams;
  const s = (await res.json()).series[0];
  const [from, to] = url().searchParams.get('zoom').split(',').map(Number);
  assert.ok(from > 10000 && to < 13000 && from < to, `zoom ${from}–${to}`);
  assert.equal(Number(q.get('from')), from);
  // The range's own points, as many as the chart has pixels: every one when they fit.
  assert.ok(s.total > 500 && s.total < 3000, `${s.total} points in the range`);
  assert.equal(s.downsampled, s.total > Number(q.get('points')));
  assert.ok(s.x.every((x) => x >= from && x <= to));
  await waitFor(async () => (await info.textContent()).endsWith(`${s.total} points`), 5000, 'the range drawn from its own points');
  assert.ok(await page.getByRole('button', { name: 'Reset zoom' }).isVisible());
  // The URL holds the state: the same address shows the same view.
  await page.reload();
  await waitFor(() => mark('runlog:run-drawn'), 10_000, 'the chart after a reload');
  assert.match(await page.locator('.zoom-info').textContent(), /step/);
  const reset = seriesResponse((p) => !p.has('from'));
  await plot.dblclick();
  await reset;
  assert.equal(url().searchParams.get('zoom'), null);
  await page.screenshot({ path: join(out, 'dense.png') });
});

test('compare view: overlaid curves, legend, config diff, editable targets', async () => {
  await page.goto(server.url);
  await waitFor(() => mark('runlog:interactive'), 10_000, 'the runs table');
  await rowOf('lr-1e-2').locator('td.sel input').check();
  await rowOf('lr-3e-3').locator('td.sel input').check();
  assert.equal(url().searchParams.get('sel').split(',').length, 2);
  await page.locator('a.compare-btn').click();
  await waitFor(() => mark('runlog:compare-drawn'), 10_000, 'the compare charts');
  assert.equal(url().pathname, '/compare');
  assert.deepEqual(await page.locator('.legend-run .legend-name').allTextContents(), ['lr-1e-2', 'lr-3e-3']);
  await waitFor(() => page.locator('table.compare-table').count(), 5000, 'the comparison table');
  const lrRow = page.locator('table.compare-table tr', { has: page.locator('th', { hasText: /^lr$/ }) });
  assert.deepEqual(await lrRow.locator('td').allTextContents(), ['0.01', '0.003']);
  // Hover: a value for each run at the cursor's x.
  const box = await page.locator('[data-chart=loss] .u-over').boundingBox();
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
  await waitFor(() => page.locator('[data-chart=loss] .chart-tip').isVisible(), 3000, 'the tooltip');
  assert.equal(await page.locator('[data-chart=loss] .chart-tip .tip-row').count(), 4); // 2 runs × train, val
  // Targets are editable, and kept in the URL.
  await page.getByLabel('add a target').fill('val_loss=2.5');
  await page.getByLabel('add a target').press('Enter');
  await waitFor(() => page.locator('table.compare-table tr.group', { hasText: 'time to val_loss ≤ 2.5' }).count(), 5000, 'the target’s rows');
  assert.deepEqual(url().searchParams.getAll('target'), ['val_loss=2.5']);
  assert.match(await page.locator('table.compare-table tr', { hasText: 'reached' }).textContent(), /step \d+/);
  // Another metric, from the picker.
  await page.getByRole('button', { name: 'Metrics…' }).click();
  await page.locator('.picker-item', { hasText: 'learning_rate' }).locator('input').check();
  await page.getByRole('button', { name: 'Done' }).click();
  await waitFor(() => page.locator('[data-chart=learning_rate] canvas').count(), 5000, 'the learning-rate chart');
  assert.match(url().searchParams.get('keys'), /learning_rate/);
  await page.locator('.seg', { hasText: 'Wallclock' }).click();
  await page.locator('.smooth input').evaluate((el) => { el.value = '0.6'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await sleep(800);
  const box2 = await page.locator('[data-chart=loss] .u-over').boundingBox();
  await page.mouse.move(box2.x + box2.width * 0.74, box2.y + box2.height * 0.1);
  await sleep(200);
  await page.screenshot({ path: join(out, 'compare.png') });
});

test('hostile run: name and notes render as text everywhere', async () => {
  await page.goto(server.url);
  await page.locator('a.run-link', { hasText: '<img' }).click();
  await waitFor(() => page.locator('h1.run-name').count(), 10_000, 'the run page');
  assert.equal(await page.locator('h1.run-name').textContent(), XSS);
  assert.equal(await page.locator('.notes p').textContent(), XSS_NOTE);
  assert.ok((await page.locator('pre.logs').textContent()).includes('<script>alert(2)</script>'));
  assert.equal(await page.locator('main img, main script, .notes p *, .run-name *').count(), 0);
  const id = url().pathname.split('/').pop();
  const other = (await page.evaluate(() => fetch('/api/v1/runs?name=lr-1e-2').then((r) => r.json()))).runs[0].id;
  await page.goto(`${server.url}/compare?runs=${id},${other}`);
  await waitFor(() => page.locator('table.compare-table').count(), 10_000, 'the comparison');
  assert.equal(await page.locator('.legend-run .legend-name').first().textContent(), XSS);
  assert.equal(await page.locator('main img').count(), 0);
  // (The API's 4xx answers — a bad filter, a run without the compared keys — show as console messages; they are expected.)
  assert.deepEqual(b.errors.filter((e) => !/Failed to load resource: the server responded with a status of 40[04]/.test(e)), [], 'no script ran, no error');
});

test('a server with a token: a clear message, then /login', async () => {
  const home2 = scratch('home-token'); // one server per home
  runlog(home2, ['run', '--name', 'guarded', '--', 'sh', '-c', 'echo "{\\"step\\": 1, \\"loss\\": 1}"']);
  const guarded = await serve(home2, { token: TOKEN });
  const g = await browser();
  try {
    await g.page.goto(guarded.url);
    const banner = g.page.locator('.banner');
    await waitFor(() => banner.isVisible(), 10_000, 'the token message');
    assert.match(await banner.textContent(), /needs an access token/);
    const wrong = await g.page.goto(`${guarded.url}/login?token=nope`);
    assert.equal(wrong.status(), 401);
    await g.page.goto(guarded.url);
    await g.page.locator('.banner input[name=token]').fill(TOKEN);
    await g.page.locator('.banner button[type=submit]').click();
    await waitFor(async () => (await g.page.locator('table.runs tbody tr[data-id]').count()) === 1, 10_000, 'the runs after logging in');
    assert.ok(await g.page.locator('.banner').isHidden());
  } finally {
    await g.close();
    await guarded.stop();
  }
});
