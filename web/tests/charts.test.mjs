// Tests of the chart fixes of issue 14: schedules never smoothed, smoothing
// per chart in the address, y-axes of their own for keys 10× apart, log-y
// rescaled on zoom, and a logged series (tokens_seen) as the x-axis — the
// pure functions in node, then the UI in Chromium on a run of its own.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isScheduleKey, xSeriesCandidates, isLrKey, isRateKey } from '../src/groups.js';
import { yScales, magnitude, logRange, logSplits, linearSplits } from '../src/chartdata.js';
import { parseX, xSeriesKey, parseSmoothBy, formatSmoothBy } from '../src/chartstate.js';
import { scratch, cleanup, serve, browser, results, runlog, waitFor } from './harness.mjs';

test('isScheduleKey: learning rates and other schedules, not measurements', () => {
  const yes = ['lr', 'learning_rate', 'train/lr', 'optim/lr', 'lr_head', 'head_lr', 'lr-pg0', 'LearningRate', 'momentum', 'optim/momentum',
    'weight_decay', 'wd', 'weightdecay_schedule', 'beta1', 'adam_beta2', 'betas', 'warmup_frac', 'lr0'];
  const no = ['train_loss', 'val_loss', 'loss', 'clr_loss', 'tokens_per_sec', 'grad_norm', 'val/perplexity', 'epoch', 'tokens_seen', 'layer/weight_norm', 'alpha', 'sys/gpu0.util'];
  for (const k of yes) assert.equal(isScheduleKey(k), true, k);
  for (const k of no) assert.equal(isScheduleKey(k), false, k);
});

test('isLrKey and isRateKey: one rule for the learning-rate chart, the x of the scatter and log axes', () => {
  const lr = ['lr', 'learning_rate', 'LearningRate', 'train/lr', 'optim/lr', 'config.lr', 'config.optim.lr', 'lr_head', 'head_lr', 'lr0'];
  const notLr = ['train_loss', 'clr_loss', 'slr', 'weight_decay', 'config.layers', 'tokens_per_sec', 'metric.val_loss'];
  for (const k of lr) assert.equal(isLrKey(k), true, k);
  for (const k of notLr) assert.equal(isLrKey(k), false, k);
  const rate = [...lr, 'config.weight_decay', 'config.wd', 'config.optim.eps', 'config.epsilon', 'config.dropout_rate', 'config.eta', 'config.alpha'];
  const notRate = ['config.batch_size', 'config.layers', 'config.seed', 'metric.val_loss', 'config.rate_limit', 'config.model'];
  for (const k of rate) assert.equal(isRateKey(k), true, k);
  for (const k of notRate) assert.equal(isRateKey(k), false, k);
});

test('xSeriesCandidates: keys that only grow, not rates', () => {
  assert.deepEqual(xSeriesCandidates(['loss', 'tokens_seen', 'tokens_per_sec', 'epoch', 'train/samples_seen', 'examples', 'throughput/tokens_per_s', 'epoch']),
    ['epoch', 'examples', 'tokens_seen', 'train/samples_seen']);
});

test('yScales: keys 10× apart on axes of their own', () => {
  const cases = [
    ['one key', [['a', 3]], { a: 'y' }],
    ['close keys share', [['a', 3], ['b', 20]], { a: 'y', b: 'y' }],
    ['10× apart', [['a', 2], ['b', 20]], { a: 'y', b: 'y2' }],
    ['three magnitudes', [['a', 2], ['b', 50], ['c', 3], ['d', 0.1]], { a: 'y', b: 'y2', c: 'y', d: 'y3' }],
    ['no finite values', [['a', 0], ['b', 50]], { a: 'y', b: 'y' }],
  ];
  for (const [name, mags, want] of cases) assert.deepEqual(Object.fromEntries(yScales(mags)), want, name);
  assert.equal(magnitude(Float64Array.from([1, -40, NaN, Infinity, 3])), 40);
});

test('logRange and logSplits: a zoomed-in log axis is not a whole decade', () => {
  const [lo, hi] = logRange(2.1, 2.3);
  assert.ok(lo > 2 && lo < 2.1 && hi > 2.3 && hi < 2.4, `${lo}–${hi}`);
  const [a, b] = logRange(1e-3, 10);
  assert.ok(a < 1e-3 && a > 5e-4 && b > 10 && b < 20, `${a}–${b}`);
  assert.deepEqual(logSplits(1e-4, 10), [1e-4, 1e-3, 1e-2, 0.1, 1, 10]);
  assert.deepEqual(logSplits(0.5, 4), [0.5, 0.6, 0.7, 0.8, 0.9, 1, 2, 3, 4]);
  assert.deepEqual(logSplits(1.8, 2.9), [1.8, 2, 2.2, 2.4, 2.6, 2.8]);
  assert.deepEqual(linearSplits(0, 10, 5), [0, 2, 4, 6, 8, 10]);
});

test('chart state: series x-axes and per-chart smoothing in the address', () => {
  assert.equal(parseX('wallclock'), 'wallclock');
  assert.equal(parseX('series:tokens_seen'), 'series:tokens_seen');
  assert.equal(parseX('series:'), 'step');
  assert.equal(parseX('epoch'), 'step');
  assert.equal(parseX(null), 'step');
  assert.equal(xSeriesKey('series:a/b'), 'a/b');
  assert.equal(xSeriesKey('step'), null);
  const m = parseSmoothBy('loss:0,val/perplexity:0.6,a%2Cb:0.9,bad,x:,y:5');
  assert.deepEqual([...m], [['loss', 0], ['val/perplexity', 0.6], ['a,b', 0.9], ['y', 0.99]]);
  assert.equal(formatSmoothBy(m), 'loss:0,val/perplexity:0.6,a%2Cb:0.9,y:0.99');
  assert.deepEqual([...parseSmoothBy(formatSmoothBy(m))], [...m]);
  assert.equal(formatSmoothBy(new Map()), null);
});

// The browser part: a run with a noisy loss, a validation loss 30× larger,
// a learning rate with a warmup peak at step 200, and tokens_seen.
let home, server, b, page, id;

before(async () => {
  home = scratch('charts');
  const awk = "awk 'BEGIN{srand(3); for(i=0;i<=3000;i++){lr=(i<200)?0.01*i/200:0.01*(0.5+0.5*cos(3.14159*(i-200)/2800)); " +
    'printf "{\\"step\\": %d, \\"train_loss\\": %.5f, \\"learning_rate\\": %.7f, \\"tokens_seen\\": %d", i, 2+3*exp(-i/800)+0.05*rand(), lr, i*4096; ' +
    'if(i%50==0) printf ", \\"val_loss\\": %.5f", 30*(2+3*exp(-i/800)); print "}"}}\'';
  runlog(home, ['run', '--project', 'charts', '--name', 'charts', '--', 'sh', '-c', awk]);
  server = await serve(home);
  id = (await (await fetch(`${server.url}/api/v1/runs?name=charts`)).json()).runs[0].id;
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const drawn = () => waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:run-drawn').length > 0), 15_000, 'the run’s charts');
const yRange = async (chart, scale = 'y') => (await page.locator(`[data-chart="${chart}"]`).getAttribute(`data-${scale}`) || '').split(',').map(Number);

test('two keys 10× apart are on separate y-axes', async () => {
  await page.goto(`${server.url}/runs/${id}`);
  await drawn();
  const loss = page.locator('[data-chart=loss]');
  await waitFor(async () => (await loss.getAttribute('data-scales')) === '2', 5000, 'two y-scales on the loss chart');
  const [lo, hi] = await yRange('loss', 'y');
  const [lo2, hi2] = await yRange('loss', 'y2');
  assert.ok(hi < 10 && lo > 1, `train_loss axis ${lo}–${hi}`);
  assert.ok(lo2 > 40 && hi2 > 100, `val_loss axis ${lo2}–${hi2}`);
  assert.equal(await page.locator('[data-chart=learning_rate]').getAttribute('data-scales'), '1');
});

test('the learning-rate chart is not smoothed when smoothing is on; a chart’s own smoothing is in the address', async () => {
  await page.locator('.smooth input').evaluate((el) => { el.value = '0.9'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  const lr = page.locator('[data-chart=learning_rate]');
  await waitFor(async () => (await page.locator('[data-chart=loss]').getAttribute('data-smooth')) === '0.9', 5000, 'the loss chart smoothed');
  assert.equal(await lr.getAttribute('data-smooth'), '0');
  assert.doesNotMatch(await lr.locator('.chart-legend').textContent(), /EMA/);
  assert.equal(await lr.locator('.chart-nosmooth').textContent(), 'not smoothed');
  // The warmup peak stays where it is: the drawn maximum is the logged one.
  const [, hi] = await yRange('learning_rate');
  assert.ok(hi >= 0.01, `learning rate axis up to ${hi}`);
  // A chart's own smoothing overrides the slider, and the address keeps it.
  await page.locator('[data-chart=loss] select.chart-smooth').selectOption('0');
  await waitFor(async () => new URL(page.url()).searchParams.get('csmooth') === 'loss:0', 3000, 'csmooth in the address');
  await waitFor(async () => (await page.locator('[data-chart=loss]').getAttribute('data-smooth')) === '0', 3000, 'the loss chart unsmoothed');
  await page.reload();
  await drawn();
  assert.equal(await page.locator('[data-chart=loss] select.chart-smooth').inputValue(), '0');
  await page.locator('[data-chart=loss] select.chart-smooth').selectOption('');
  await waitFor(async () => new URL(page.url()).searchParams.get('csmooth') === null, 3000, 'csmooth gone');
});

test('zoom rescales a log y-axis to the visible data', async () => {
  await page.goto(`${server.url}/runs/${id}?logy=loss`);
  await drawn();
  const [lo0, hi0] = await yRange('loss');
  assert.ok(hi0 / lo0 > 2, `whole run: ${lo0}–${hi0}`);
  const zoomed = page.waitForResponse((r) => r.url().includes('/series?') && new URL(r.url()).searchParams.get('from') !== null);
  await page.goto(`${server.url}/runs/${id}?logy=loss&zoom=1500,2500`);
  await zoomed;
  await drawn();
  await waitFor(async () => { const [lo, hi] = await yRange('loss'); return hi / lo < 1.3; }, 5000, 'the log axis to fit steps 1500–2500');
  const [lo, hi] = await yRange('loss');
  assert.ok(lo > 2 && hi < 2.6, `zoomed: ${lo}–${hi}`); // the loss there is 2.13–2.45
});

test('x = tokens_seen draws', async () => {
  await page.goto(`${server.url}/runs/${id}`);
  await drawn();
  const res = page.waitForResponse((r) => r.url().includes('/series?') && new URL(r.url()).searchParams.get('x') === 'series:tokens_seen');
  const field = page.locator('input.x-series');
  await field.focus();
  assert.ok(await page.locator('datalist option[value=tokens_seen]').count(), 'tokens_seen offered');
  await field.fill('tokens_seen');
  await field.press('Enter');
  const s = (await (await res).json()).series.find((x) => x.key === 'train_loss');
  assert.equal(s.x[s.x.length - 1], 3000 * 4096);
  await waitFor(() => new URL(page.url()).searchParams.get('x') === 'series:tokens_seen', 3000, 'x in the address');
  await waitFor(() => page.locator('[data-chart=loss] canvas').count(), 5000, 'the loss chart');
  const box = await page.locator('[data-chart=loss] .u-over').boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await waitFor(() => page.locator('[data-chart=loss] .chart-tip').isVisible(), 3000, 'the tooltip');
  assert.match(await page.locator('[data-chart=loss] .chart-tip .tip-x').textContent(), /^tokens_seen /);
  await page.screenshot({ path: join(results(), 'x-tokens.png') });
  // A series that goes down cannot be an x-axis: the server's message shows.
  await field.fill('train_loss');
  await field.press('Enter');
  await waitFor(() => page.locator('.chart-groups', { hasText: 'never decreases' }).count(), 5000, 'the refusal');
  assert.deepEqual(b.errors.filter((e) => !/status of 400/.test(e)), []);
});
