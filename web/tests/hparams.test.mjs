// Tests of the hyperparameter view (/hparams): the pure scale and brush
// math of parcoords.js and hparams.js, and in Chromium, on a small lr sweep
// of its own: the view draws, a brush on the lr axis selects the right runs
// and the compare link carries them, the scatter's tooltip names a run with
// markup in its name as text. Last, the drawing and brushing times for
// 1,000 synthetic runs (the API answer replaced in the browser), printed,
// not asserted.
//
//   RUNLOG_BIN=../bin/runlog node --test tests/hparams.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scratch, cleanup, serve, browser, runlogAsync, waitFor } from './harness.mjs';
import { useLog, makeAxis, ticks, selected, brushFromUnits, brushUnits, parseBrush, fmtBrush, keyValue, unit } from '../src/parcoords.js';
import { nearestPoint } from '../src/scatter.js';
import { keyLabel } from '../src/parcoords.js';

const row = (id, config, metrics = {}, extra = {}) => ({ id, name: id, config, metrics, summary: {}, group: '', ...extra });

test('useLog: positive values over two decades, or a rate-like key', () => {
  const cases = [
    ['config.lr', [1e-4, 3e-4], true],
    ['config.batch_size', [16, 32, 64], false],
    ['config.batch_size', [1, 100], true],
    ['metric.val_loss', [0.5, 2.5], false],
    ['config.optimizer.lr', [1e-3, 1e-3], false], // one value: nothing to spread
    ['config.lr', [0, 1e-3], false], // zero has no log
    ['config.width', [-1, 1000], false],
    ['config.weight_decay', [1e-5, 1e-4], true],
    ['config.x', [NaN, 1, 1000], true],
  ];
  for (const [key, xs, want] of cases) assert.equal(useLog(key, xs), want, `${key} ${xs}`);
});

test('makeAxis: numeric (log and linear), categorical, missing values', () => {
  const rows = [row('a', { lr: 1e-4, opt: 'sgd', bs: 32 }), row('b', { lr: 1e-3, opt: 'adam', bs: 64 }, { val_loss: 'NaN' }), row('c', { lr: 1e-2, bs: 16 }, { val_loss: 1.5 })];
  const lr = makeAxis('config.lr', rows);
  assert.equal(lr.kind, 'num');
  assert.equal(lr.log, true);
  assert.deepEqual([...lr.pos].map((x) => +x.toFixed(9)), [0, 0.5, 1]);
  const bs = makeAxis('config.bs', rows);
  assert.equal(bs.log, false);
  assert.deepEqual([...bs.pos].map((x) => +x.toFixed(9)), [+(16 / 48).toFixed(9), 1, 0]);
  assert.equal(makeAxis('config.bs', rows, true).log, true, 'forced log');
  assert.equal(makeAxis('config.lr', rows, false).log, false, 'forced linear');
  const opt = makeAxis('config.opt', rows);
  assert.equal(opt.kind, 'cat');
  assert.deepEqual(opt.cats, ['adam', 'sgd']);
  assert.deepEqual([...opt.pos], [1, 0, NaN]);
  const vl = makeAxis('metric.val_loss', rows);
  assert.ok(Number.isNaN(vl.pos[0]) && Number.isNaN(vl.pos[1]), 'no value and NaN are missing');
  assert.equal(vl.pos[2], 0.5, 'one value sits in the middle');
  assert.equal(keyValue(row('d', { model: { width: 512 } }), 'config.model.width'), 512);
  assert.equal(keyValue(row('d', {}, { val_loss: 'Infinity' }), 'metric.val_loss'), Infinity);
});

test('ticks: powers of ten on log axes, round steps on linear ones', () => {
  const lr = makeAxis('config.lr', [row('a', { lr: 1e-5 }), row('b', { lr: 1e-2 })]);
  assert.deepEqual(ticks(lr).map((t) => t.label), ['1e-5', '1e-4', '0.001', '0.01']);
  assert.deepEqual(ticks(lr).map((t) => +t.u.toFixed(6)), [0, 0.333333, 0.666667, 1]);
  const lin = makeAxis('metric.loss', [row('a', {}, { loss: 0.13 }), row('b', {}, { loss: 0.97 })]);
  assert.deepEqual(ticks(lin).map((t) => t.label), ['0.2', '0.4', '0.6', '0.8']);
  assert.ok(ticks(lin).every((t) => t.u >= 0 && t.u <= 1));
});

test('brushing: the runs within every brush, read back from the address the same', () => {
  const lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2];
  const rows = lrs.map((lr, i) => row(`r${i}`, { lr, opt: i % 2 ? 'adam' : 'sgd' }, { val_loss: 3 - i * 0.5 }));
  const axes = ['config.lr', 'config.opt', 'metric.val_loss'].map((k) => makeAxis(k, rows));
  const ids = (brushes) => { const s = selected(axes, brushes, rows.length); return rows.filter((_, i) => s.mask[i]).map((r) => r.id).join(','); };
  assert.equal(selected(axes, [], rows.length).count, 0, 'no brush, no selection');
  const top = brushFromUnits(axes[0], 0.4, 1); // 1e-3 … 1e-2 on the log axis
  assert.equal(ids([top]), 'r2,r3,r4');
  assert.equal(ids([top, { key: 'config.opt', cats: ['adam'] }]), 'r3');
  assert.equal(ids([top, { key: 'metric.val_loss', lo: 0, hi: 1.5 }]), 'r3,r4');
  assert.equal(ids([{ key: 'config.other', lo: 0, hi: 1 }]), '', 'a brush on no axis selects nothing');
  // The address keeps six digits; the runs at the edges stay in.
  const exact = { key: 'config.lr', lo: 3e-4, hi: 3e-3 };
  const back = parseBrush(fmtBrush(brushFromUnits(axes[0], unit(axes[0])(3e-4), unit(axes[0])(3e-3))));
  assert.equal(ids([back]), ids([exact]));
  assert.equal(ids([back]), 'r1,r2,r3');
  // Categorical drags take the categories inside; round trips.
  const cat = brushFromUnits(axes[1], 0.6, 1);
  assert.deepEqual(cat, { key: 'config.opt', cats: ['sgd'] });
  assert.deepEqual(parseBrush(fmtBrush(cat)), cat);
  assert.deepEqual(brushUnits(axes[1], cat), [1, 1]);
  assert.deepEqual(brushFromUnits(axes[1], 0.01, 0.3).cats, ['adam'], 'a drag ending near a category takes it');
  assert.deepEqual(parseBrush('config.lr:0.001:0.01'), { key: 'config.lr', lo: 0.001, hi: 0.01 });
  assert.equal(parseBrush('config.lr:x:1'), null);
  assert.equal(parseBrush('nonsense'), null);
});

test('best values: read from the row, named best and last', () => {
  const rows = [
    row('a', { lr: 1e-3 }, { train_loss: 2, val_loss: 2.5, tokens_per_sec: 900 }, { best: { train_loss: 1.9, val_loss: 2.1 } }),
    row('b', { lr: 3e-3 }, { train_loss: 1.5, val_loss: 2.2, tokens_per_sec: 950 }, { best: { train_loss: 1.4, val_loss: 1.8 } }),
  ];
  assert.equal(keyValue(rows[1], 'best.val_loss'), 1.8);
  assert.equal(keyValue(rows[1], 'metric.val_loss'), 2.2);
  assert.equal(keyValue(rows[1], 'best.tokens_per_sec'), undefined);
  assert.deepEqual(['best.val_loss', 'metric.val_loss', 'config.lr'].map(keyLabel), ['best val_loss', 'last val_loss', 'config.lr']);
});

test('nearestPoint: the closest point within the radius', () => {
  const px = Float64Array.from([10, 20, NaN, 40]), py = Float64Array.from([10, 10, 10, 10]);
  assert.equal(nearestPoint(px, py, 18, 11), 1);
  assert.equal(nearestPoint(px, py, 30, 10), -1);
  assert.equal(nearestPoint(px, py, 28, 10, 10), 1);
});

// The browser tests.

const HOSTILE = '<img src=x onerror=alert(14)><b>bold</b>';
const SWEEP = [['lr-1e-4', '1e-4', 'sgd', 2.9], ['lr-3e-4', '3e-4', 'adam', 2.2], ['lr-1e-3', '1e-3', 'sgd', 1.6], ['lr-3e-3', '3e-3', 'adam', 1.3], ['lr-1e-2', '1e-2', 'sgd', 2.4], [HOSTILE, '5e-3', 'adam', 1.9]];

let server, b, page;

before(async () => {
  const home = scratch('hparams-home');
  await Promise.all(SWEEP.map(([name, lr, opt, loss]) =>
    runlogAsync(home, ['run', '--project', 'hp', '--group', `sweep-${opt}`, '--name', name, '--set', `lr=${lr}`, '--set', `opt=${opt}`, '--',
      'sh', '-c', `echo '{"step": 1, "train_loss": 3, "val_loss": ${loss}}'`]).done));
  server = await serve(home);
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const drawn = () => waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:hparams-drawn').length > 0), 10_000, 'the hparams view');

test('the view draws both charts from the address', async () => {
  await page.goto(`${server.url}/hparams?project=hp&axes=config.lr,config.opt,metric.val_loss`);
  await drawn();
  assert.equal(await page.locator('.pc-canvas').count(), 1);
  assert.equal(await page.locator('.sc-canvas').count(), 1);
  assert.deepEqual(await page.locator('.hp-axis').evaluateAll((els) => els.map((e) => e.dataset.key)), ['config.lr', 'config.opt', 'metric.val_loss']);
  assert.equal(await page.locator('.hp-count').textContent(), '6 runs — drag along an axis to select');
  assert.equal(await page.locator('select.hp-x').inputValue(), 'config.lr');
  assert.equal(await page.locator('select.hp-y').inputValue(), 'metric.val_loss');
  assert.equal(await page.locator('input.hp-logx').isChecked(), true, 'lr is on a log axis');
  assert.equal(await page.locator('nav a.on').textContent(), 'Hyperparameters');
  // The canvas has lines on it.
  const inked = await page.locator('.pc-canvas').evaluate((c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 3 && v > 0));
  assert.ok(inked);
  // The axes take the theme's colours (themeColors()), and change with it.
  const axisRed = () => page.locator('.pc-canvas').evaluate((c) => c.getContext('2d').getImageData(70, 380 - 22 - Math.round(0.62 * 324), 1, 1).data[0]);
  const light = await axisRed();
  await page.evaluate(() => localStorage.setItem('runlog-theme', 'dark'));
  await page.reload();
  await drawn();
  const dark = await axisRed();
  await page.evaluate(() => localStorage.removeItem('runlog-theme'));
  assert.ok(light < 110 && dark > 130, `axis colour light ${light}, dark ${dark}`);
  assert.deepEqual(b.errors, []);
});

test('the default axes end with the best validation loss, named so; the scatter offers best and last', async () => {
  await page.goto(`${server.url}/hparams?project=hp`);
  await drawn();
  assert.deepEqual(await page.locator('.hp-axis').evaluateAll((els) => els.map((e) => e.dataset.key)), ['config.lr', 'config.opt', 'best.val_loss']);
  assert.equal((await page.locator('.hp-axis').last().textContent()).replace('×', ''), 'best val_loss');
  assert.equal(await page.locator('select.hp-y').inputValue(), 'best.val_loss');
  const labels = await page.locator('select.hp-y option').evaluateAll((els) => els.map((e) => e.textContent));
  for (const l of ['best val_loss', 'last val_loss', 'best train_loss', 'last train_loss']) assert.ok(labels.includes(l), `${l} in ${labels}`);
  // The runs' best values are what the scatter places: the run with the lowest val loss is lowest.
  const best = await page.evaluate(async () => (await (await fetch('/api/v1/runs?project=hp')).json()).runs.map((r) => r.best.val_loss).sort());
  assert.deepEqual(best, [1.3, 1.6, 1.9, 2.2, 2.4, 2.9]);
  assert.deepEqual(b.errors, []);
});

test('brushing the lr axis selects the runs in the range; compare and the table get them', async () => {
  await page.goto(`${server.url}/hparams?project=hp&axes=config.lr,config.opt,metric.val_loss`);
  await drawn();
  const box = await page.locator('.pc-canvas').boundingBox();
  // The lr axis is the first, 70 px in; its 0..1 spans y 358 … 34 (log: 1e-4 … 1e-2).
  const y = (u) => box.y + 380 - 22 - u * 324;
  await page.mouse.move(box.x + 70, y(0.4));
  await page.mouse.down();
  await page.mouse.move(box.x + 70, y(0.7), { steps: 4 });
  await page.mouse.move(box.x + 70, y(1), { steps: 4 });
  await page.mouse.up();
  const want = ['lr-1e-3', 'lr-3e-3', 'lr-1e-2', HOSTILE];
  await waitFor(async () => (await page.locator('.hp-count').textContent()).startsWith('4 of 6 runs selected'), 5000, 'four runs selected');
  const rows = (await (await fetch(`${server.url}/api/v1/runs?project=hp`)).json()).runs;
  const idOf = new Map(rows.map((r) => [r.name, r.id]));
  const compare = new URL(await page.locator('a.hp-compare').getAttribute('href'), server.url);
  assert.equal(compare.pathname, '/compare');
  assert.deepEqual(compare.searchParams.get('runs').split(',').sort(), want.map((n) => idOf.get(n)).sort());
  const table = new URL(await page.locator('a.hp-table').getAttribute('href'), server.url);
  assert.deepEqual(table.searchParams.get('sel').split(',').sort(), want.map((n) => idOf.get(n)).sort());
  const brush = new URL(page.url()).searchParams.get('brush');
  assert.match(brush, /^config\.lr:0\.000[0-9]+:0\.01$/);
  // The brush comes back with the address.
  await page.reload();
  await drawn();
  await waitFor(async () => (await page.locator('.hp-count').textContent()).startsWith('4 of 6'), 5000, 'the brush restored');
  // Another brush on the categorical axis narrows it: adam only.
  const opt = box.x + 70 + (box.width - 140) / 2;
  await page.mouse.move(opt, y(0.2));
  await page.mouse.down();
  await page.mouse.move(opt, y(0), { steps: 3 });
  await page.mouse.up();
  await waitFor(async () => (await page.locator('.hp-count').textContent()).startsWith('2 of 6'), 5000, 'two adam runs');
  await page.locator('a.hp-compare').click();
  await waitFor(() => new URL(page.url()).pathname === '/compare', 5000, 'the compare view');
  assert.deepEqual(new URL(page.url()).searchParams.get('runs').split(',').sort(), ['lr-3e-3', HOSTILE].map((n) => idOf.get(n)).sort());
  assert.deepEqual(b.errors, []);
});

test('the scatter tooltip names a run with markup in its name as text', async () => {
  await page.goto(`${server.url}/hparams?project=hp&x=config.lr&y=metric.val_loss`);
  await drawn();
  const rows = (await (await fetch(`${server.url}/api/v1/runs?project=hp&limit=10000`)).json()).runs;
  const xa = makeAxis('config.lr', rows), ya = makeAxis('metric.val_loss', rows);
  const i = rows.findIndex((r) => r.name === HOSTILE);
  const box = await page.locator('.sc-canvas').boundingBox();
  await page.mouse.move(box.x + 64 + xa.pos[i] * (box.width - 80), box.y + 380 - 42 - ya.pos[i] * 324);
  const tip = page.locator('.sc .hp-tip');
  await waitFor(() => tip.isVisible(), 5000, 'the tooltip');
  assert.equal(await tip.locator('strong').textContent(), HOSTILE);
  assert.match(await tip.textContent(), /config\.lr = 0\.005.*last val_loss = 1\.9/);
  assert.equal(await page.locator('.hp-view img, .hp-view b').count(), 0, 'no element from the name');
  assert.deepEqual(b.errors, []);
});

test('timing: 1,000 runs (printed, not asserted)', async () => {
  const rows = [];
  let seed = 14;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 1000; i++) {
    const lr = 10 ** (-5 + 3 * rand()), bs = [16, 32, 64, 128, 256][i % 5], wd = 10 ** (-6 + 3 * rand());
    const loss = 1 + (Math.log10(lr) + 3.5) ** 2 * 0.4 + rand() * 0.3;
    rows.push({ id: `run${i}`, name: `perf-${i}`, project: 'perf', group: `g${i % 4}`, config: { lr, batch_size: bs, weight_decay: wd, opt: i % 3 ? 'adam' : 'sgd', warmup: i % 7 * 100 }, metrics: { val_loss: loss, train_loss: loss * 0.9 }, summary: {} });
  }
  const api = (u) => u.pathname === '/api/v1/runs';
  const body = JSON.stringify({ runs: rows, total: rows.length, config_keys: [], summary_keys: [] });
  await page.route(api, (r) => r.fulfill({ status: 200, contentType: 'application/json', body }));
  const times = [];
  for (let k = 0; k < 3; k++) {
    await page.goto(`${server.url}/hparams?axes=config.lr,config.batch_size,config.weight_decay,config.opt,config.warmup,metric.train_loss,metric.val_loss`);
    await drawn();
    const m = await page.evaluate(() => ({
      pc: performance.getEntriesByName('runlog:hparams-parcoords')[0].duration,
      sc: performance.getEntriesByName('runlog:hparams-scatter')[0].duration,
    }));
    times.push(m);
  }
  const box = await page.locator('.pc-canvas').boundingBox();
  await page.mouse.move(box.x + 70, box.y + 100);
  await page.mouse.down();
  for (let s = 0; s < 20; s++) await page.mouse.move(box.x + 70, box.y + 100 + s * 10);
  await page.mouse.up();
  const brush = await page.evaluate(() => performance.getEntriesByName('runlog:hparams-brushed').map((e) => e.duration));
  assert.ok(brush.length > 5, 'brushing measured');
  const med = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
  console.log(`# hparams, 1,000 runs × 7 axes: parallel coordinates drawn in ${med(times.map((t) => t.pc)).toFixed(1)} ms, scatter in ${med(times.map((t) => t.sc)).toFixed(1)} ms (medians of 3); ` +
    `brushing: ${med(brush).toFixed(1)} ms median, ${Math.max(...brush).toFixed(1)} ms max per move (${brush.length} moves); selected ${await page.locator('.hp-count').textContent()}`);
  await page.unroute(api);
  assert.deepEqual(b.errors, []);
});
