// Browser tests of the compare view's groups: six runs in three groups by
// learning rate, one of them gone NaN, grouped by config.lr show three
// legend entries with n, a band per group on every chart and the diverged
// member counted; a hostile group name is text; the view opens with the
// train loss, validation loss and learning rate; group charts zoom and
// smooth per chart. Last, 60 runs compared ungrouped stay readable: their
// chips fold into a count, the opened legend scrolls, and the tooltip lists
// the lines nearest the cursor.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO, scratch, cleanup, serve, browser, waitFor } from './harness.mjs';

const HOSTILE = '<img src=x onerror=alert(9)>';

let home, server, b, page, ids;

/** python(home, script): runs made by the Python client, script run with runlog importable. */
function python(home, script) {
  const r = spawnSync('python3', ['-c', script], {
    cwd: REPO, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, RUNLOG_HOME: home, RUNLOG_URL: '-', PYTHONPATH: join(REPO, 'clients', 'python') },
  });
  if (r.status !== 0) throw new Error(`python client runs: ${r.stderr}`);
}

before(async () => {
  home = scratch('groups');
  const py = [
    'import math, runlog',
    `groups = {0.1: ${JSON.stringify(HOSTILE)}, 0.01: "mid", 0.001: "slow"}`,
    'for i, lr in enumerate([0.1, 0.1, 0.01, 0.01, 0.001, 0.001]):',
    '    run = runlog.init(project="grp", name=f"lr{lr}-s{i % 2}", config={"lr": lr, "seed": i % 2}, group=groups[lr])',
    '    for s in range(60):',
    '        loss = 3.0 / (1 + lr * 10 * s) + 0.05 * (i % 2)',
    '        if i == 1 and s >= 40:',
    '            loss = float("nan")',
    '        vals = {"train_loss": loss, "learning_rate": lr * (1 - s / 60)}',
    '        if s % 10 == 0:',
    '            vals["val_loss"] = loss + 0.1',
    '        run.log(vals, step=s)',
    '    run.finish()',
  ].join('\n');
  python(home, py);
  server = await serve(home);
  const runs = await (await fetch(`${server.url}/api/v1/runs`)).json();
  ids = (Array.isArray(runs) ? runs : runs.runs).map((x) => x.id);
  assert.equal(ids.length, 6);
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const url = () => new URL(page.url());
const drawn = () => page.evaluate(() => performance.getEntriesByName('runlog:compare-drawn').length > 0);

test('the compare view opens with train loss, val loss and learning rate', async () => {
  await page.goto(`${server.url}/compare?runs=${ids.join(',')}`);
  await waitFor(drawn, 10_000, 'the compare charts');
  await waitFor(() => page.locator('[data-chart=learning_rate] canvas').count(), 5000, 'the learning-rate chart');
  assert.equal(await page.locator('[data-chart=loss] canvas').count(), 1, 'the loss chart: train and validation');
  assert.deepEqual(url().searchParams.get('keys').split(','), ['train_loss', 'val_loss', 'learning_rate']);
  // The varying config keys are offered to group by.
  const options = await page.locator('select.group-by option').evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(options.slice(0, 4), ['', 'group', 'config.lr', 'config.seed']);
});

test('group by lr: three groups with n, a band each, the diverged member counted', async () => {
  await page.locator('select.group-by').selectOption('config.lr');
  await waitFor(() => page.locator('.group-panel[data-groups]').count(), 10_000, 'the groups');
  assert.equal(url().searchParams.get('group'), 'config.lr');
  const legend = page.locator('.group-legend .legend-group');
  assert.equal(await legend.count(), 3);
  assert.deepEqual(await page.locator('.group-legend .group-label').allTextContents(), ['0.001', '0.01', '0.1']);
  assert.deepEqual(await page.locator('.group-legend .group-n').allTextContents(), ['n = 2', 'n = 2', 'n = 2']);
  assert.equal(await page.locator('.group-legend .group-diverged').count(), 1);
  assert.equal(await legend.nth(2).locator('.group-diverged').textContent(), '1 diverged');
  // Three charts, a key each, a band per group on each.
  for (const key of ['train_loss', 'val_loss', 'learning_rate']) {
    const chart = page.locator(`.group-chart[data-chart=${key}]`);
    await waitFor(() => chart.locator('canvas').count(), 5000, `the ${key} chart`);
    assert.equal(await chart.getAttribute('data-bands'), '3', key);
  }
  // Hover lists groups, not runs.
  const box = await page.locator('[data-chart=train_loss] .u-over').boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await waitFor(() => page.locator('[data-chart=train_loss] .chart-tip').isVisible(), 3000, 'the tooltip');
  assert.equal(await page.locator('[data-chart=train_loss] .chart-tip .tip-row').count(), 3);
  assert.match(await page.locator('[data-chart=train_loss] .chart-tip').textContent(), /n = \d · 1 diverged/);
  // Members on demand, the band kind: in the address.
  await page.locator('input.show-members').check();
  await waitFor(() => url().searchParams.get('members') === '1', 5000, 'members in the address');
  await waitFor(() => page.locator('.group-chart[data-chart=train_loss] canvas').count(), 5000, 'the chart with members');
  await page.getByLabel('band').selectOption('minmax');
  await waitFor(() => url().searchParams.get('band') === 'minmax', 5000, 'the band in the address');
  assert.deepEqual(b.errors, []);
});

test('group by group: a hostile group name is text', async () => {
  await page.goto(`${server.url}/compare?runs=${ids.join(',')}&group=group`);
  await waitFor(() => page.locator('.group-panel[data-groups]').count(), 10_000, 'the groups');
  const labels = await page.locator('.group-legend .group-label').allTextContents();
  assert.ok(labels.includes(HOSTILE), `labels ${labels}`);
  assert.equal(await page.locator('main img, .group-legend *:not(i):not(span):not(div)').count(), 0);
  assert.deepEqual(b.errors, []);
});

test('group charts: zoom rescales y (log-y too), smoothing per chart, never on the learning rate', async () => {
  const base = `${server.url}/compare?runs=${ids.join(',')}&group=config.lr`;
  const yRange = async (key) => (await page.locator(`.group-chart[data-chart=${key}]`).getAttribute('data-y')).split(',').map(Number);
  const open = async (q) => {
    await page.goto(base + q);
    await waitFor(() => page.locator('.group-panel[data-groups]').count(), 10_000, 'the groups');
    await waitFor(() => page.locator('.group-chart[data-chart=train_loss][data-y]').count(), 5000, 'the train loss chart');
  };
  await open('&logy=train_loss');
  const [lo, hi] = await yRange('train_loss');
  assert.ok(lo > 0, `log y from ${lo}`);
  // Steps 50 to 59: the losses there are a narrow part of the whole range.
  await open('&logy=train_loss&zoom=50,59');
  const [zlo, zhi] = await yRange('train_loss');
  assert.ok(zlo > lo && zhi < hi && zlo > 0, `zoomed log y ${zlo}–${zhi} within ${lo}–${hi}`);
  assert.equal(await page.locator('.group-panel').getAttribute('data-zoom'), '50,59');
  // A drag zooms every chart and goes into the address; a double-click shows it all again.
  const over = page.locator('.group-chart[data-chart=val_loss] .u-over');
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await waitFor(() => (url().searchParams.get('zoom') || '') !== '50,59' && url().searchParams.get('zoom'), 5000, 'the dragged zoom in the address');
  await over.dblclick();
  await waitFor(() => url().searchParams.get('zoom') === null, 5000, 'the zoom reset');
  // Smoothing: the learning rate is a schedule, never smoothed; the train loss takes its own.
  assert.equal(await page.locator('.group-chart[data-chart=learning_rate] select.chart-smooth').count(), 0);
  assert.equal(await page.locator('.group-chart[data-chart=learning_rate] .chart-nosmooth').textContent(), 'not smoothed');
  await page.locator('.group-chart[data-chart=train_loss] select.chart-smooth').selectOption('0.9');
  await waitFor(async () => (await page.locator('.group-chart[data-chart=train_loss]').getAttribute('data-smooth')) === '0.9', 5000, 'the smoothed chart');
  assert.match(url().searchParams.get('csmooth') || '', /train_loss/);
  assert.equal(await page.locator('.group-chart[data-chart=learning_rate]').getAttribute('data-smooth'), '0');
  assert.deepEqual(b.errors, []);
});

test('60 runs ungrouped: chips fold into a count, the legend scrolls, the tooltip lists the nearest lines', async () => {
  const many = scratch('many-runs');
  const py = [
    'import runlog',
    'for i in range(60):',
    '    run = runlog.init(project="many", name=f"run-{i:02d}", config={"seed": i})',
    '    for s in range(30):',
    '        run.log({"train_loss": 1 + i * 0.1}, step=s)',
    '    run.finish()',
  ].join('\n');
  python(many, py);
  const srv = await serve(many);
  try {
    const rows = (await (await fetch(`${srv.url}/api/v1/runs?limit=100`)).json()).runs;
    assert.equal(rows.length, 60);
    await page.goto(`${srv.url}/compare?runs=${rows.map((x) => x.id).join(',')}&keys=train_loss`);
    await waitFor(drawn, 15_000, 'the compare charts');
    // Folded: one chip with the count, no chip per run.
    assert.equal(await page.locator('.run-legend .legend-run').count(), 0);
    assert.match(await page.locator('.run-legend .legend-count').textContent(), /^60 runs/);
    // Opened: every run, in a list that scrolls instead of pushing the charts down.
    await page.locator('.run-legend .legend-count').click();
    assert.equal(await page.locator('.run-legend .legend-run').count(), 60);
    const box = await page.locator('.run-legend').evaluate((el) => ({ client: el.clientHeight, scroll: el.scrollHeight, overflow: getComputedStyle(el).overflowY }));
    assert.ok(box.client <= 180 && box.scroll > box.client && box.overflow === 'auto', `legend ${JSON.stringify(box)}`);
    // The tooltip at the height of loss 3.0 lists the 8 lines nearest it, of 60.
    const chart = page.locator('[data-chart=train_loss]');
    await waitFor(() => chart.getAttribute('data-y'), 5000, 'the y-range');
    const [ymin, ymax] = (await chart.getAttribute('data-y')).split(',').map(Number);
    const over = await chart.locator('.u-over').boundingBox();
    await page.mouse.move(over.x + over.width / 2, over.y + ((ymax - 3) / (ymax - ymin)) * over.height);
    await waitFor(() => chart.locator('.chart-tip').isVisible(), 3000, 'the tooltip');
    const values = (await chart.locator('.chart-tip .tip-row b').allTextContents()).map(Number);
    assert.equal(values.length, 8, `rows ${values}`);
    for (const v of values) assert.ok(Math.abs(v - 3) <= 0.45, `${v} is not near 3 (${values})`);
    assert.equal(await chart.locator('.chart-tip .tip-more').textContent(), 'the 8 nearest of 60 lines');
    assert.deepEqual(b.errors, []);
  } finally {
    await srv.stop();
  }
});
