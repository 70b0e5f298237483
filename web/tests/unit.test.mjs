// Unit tests of the UI's pure parts: the chart math (chartdata.js), the
// formatting (format.js), which charts a run gets (groups.js) — and a
// check that no source file hands text to an HTML parser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEB } from './harness.mjs';
import { ema, join as joinCurves, nearest, csvField, parseSeries, drawable } from '../src/chartdata.js';
import { fmtNum, fmtDuration, fmtTick, fmtStep, getPath, flatten } from '../src/format.js';
import { chartGroups } from '../src/groups.js';

const series = (x, y, extra = {}) => ({ x: Float64Array.from(x), y: Float64Array.from(y), total: x.length, downsampled: false, ...extra });
const close = (a, b, eps = 1e-12) => Math.abs(a - b) < eps || (Number.isNaN(a) && Number.isNaN(b));

test('ema: the cases of series.EMA (internal/series/math_test.go)', () => {
  const cases = [
    ['no smoothing', [0, 1, 2], [1, 5, 3], 0, false, [1, 5, 3]],
    ['debiased start', [0, 1], [1, 2], 0.5, false, [1, (0.25 + 1) / 0.75]],
    ['constant stays constant', [0, 1, 2, 3], [2, 2, 2, 2], 0.9, false, [2, 2, 2, 2]],
    ['non-finite passes through', [0, 1, 2], [1, NaN, 1], 0.5, false, [1, NaN, 1]],
    ['time-weighted, even spacing = plain', [0, 10, 20], [1, 2, 3], 0.5, true, [...ema(series([0, 1, 2], [1, 2, 3]), 0.5, false)]],
  ];
  for (const [name, x, y, a, tw, want] of cases) {
    const got = ema(series(x, y), a, tw);
    assert.ok([...got].every((v, i) => close(v, want[i])), `${name}: ${[...got]} want ${want}`);
  }
  const gap = series([0, 1, 2, 3, 100], [0, 0, 0, 0, 1]);
  assert.ok(ema(gap, 0.9, true)[4] > ema(gap, 0.9, false)[4]);
});

test('ema of a downsampled series stays close to the ema of every point', () => {
  // A noisy loss curve of 100,000 points, M4-downsampled to 300 buckets as the server does.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const n = 100_000, sigma = 0.1, buckets = 300;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const y = x.map((i) => 1 + 3 * Math.exp(-i / 20000) + sigma * gauss());
  const dx = [], dy = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets), hi = Math.floor(((b + 1) * n) / buckets);
    let mn = lo, mx = lo;
    for (let i = lo; i < hi; i++) { if (y[i] < y[mn]) mn = i; if (y[i] > y[mx]) mx = i; }
    for (const i of [...new Set([lo, mn, mx, hi - 1])].sort((p, q) => p - q)) { dx.push(i); dy.push(y[i]); }
  }
  const down = series(dx, dy, { total: n, downsampled: true });
  for (const alpha of [0.6, 0.9, 0.97, 0.99, 0.999]) {
    const full = ema(series(x, y), alpha, false);
    const rms = (est) => Math.sqrt(dx.reduce((s, i, k) => s + (k > 50 ? (est[k] - full[i]) ** 2 : 0), 0) / dx.length) / sigma;
    const got = rms(ema(down, alpha, false));
    assert.ok(got < 0.6, `alpha ${alpha}: off by ${got.toFixed(2)} σ`);
    // α per kept point instead would smooth ~n/points times more than the slider says.
    if (alpha >= 0.99) assert.ok(rms(ema(series(dx, dy), alpha, false)) > 2 * got);
  }
});

test('join: one x-array, undefined where a curve has no point, null for its gaps', () => {
  const a = { x: Float64Array.from([0, 2, 4]), ys: [[1, null, 3]] };
  const b = { x: Float64Array.from([1, 2, 5]), ys: [[10, 20, 30], [11, 21, 31]] };
  const [xs, ya, yb, yc] = joinCurves([a, b]);
  assert.deepEqual([...xs], [0, 1, 2, 4, 5]);
  assert.deepEqual(ya, [1, undefined, null, 3, undefined]);
  assert.deepEqual(yb, [undefined, 10, 20, undefined, 30]);
  assert.deepEqual(yc, [undefined, 11, 21, undefined, 31]);
});

test('parseSeries, drawable: non-finite values become gaps, log axes drop values ≤ 0', () => {
  const s = parseSeries({ key: 'loss', total: 4, x: [0, 1, 2, 3], y: [1, 'NaN', 'Infinity', -1], steps: [0, 1, 2, 3] });
  assert.equal(s.firstBad, 1);
  assert.deepEqual(drawable(s.y, false), [1, null, null, -1]);
  assert.deepEqual(drawable(s.y, true), [1, null, null, null]);
});

test('nearest: the closest point to an x', () => {
  const x = Float64Array.from([0, 10, 20]);
  assert.deepEqual([-5, 4, 6, 15, 99].map((v) => nearest(x, v)), [0, 0, 1, 1, 2]);
  assert.equal(nearest(new Float64Array(0), 1), -1);
});

test('csvField: quoting, and no spreadsheet formulas from run names', () => {
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvField(NaN), 'NaN');
  assert.equal(csvField(-2.5), '-2.5');
});

test('formatting', () => {
  assert.equal(fmtNum(1.23456789), '1.2346');
  assert.equal(fmtNum(1e-4), '1e-4');
  assert.equal(fmtNum(12345), '12,345');
  assert.equal(fmtNum('NaN'), 'NaN');
  assert.equal(fmtNum(null), '–');
  assert.equal(fmtDuration(10.797), '11s');
  assert.equal(fmtDuration(192), '3m 12s');
  assert.equal(fmtDuration(7500), '2h 05m');
  assert.equal(fmtTick(90), '1m30s');
  assert.equal(fmtTick(3600), '1h');
  assert.equal(fmtStep(1500000), '1.5M');
  assert.equal(fmtStep(200000), '200k');
  assert.equal(getPath({ optim: { lr: 1 } }, 'optim.lr'), 1);
  assert.equal(getPath({ 'optim.lr': 2 }, 'optim.lr'), 2);
  assert.deepEqual(flatten({ b: 1, a: { c: [1], d: {} } }), [['a.c', [1]], ['a.d', {}], ['b', 1]]);
});

test('chartGroups: losses together, prefixes grouped, sys/ last', () => {
  const g = chartGroups(['val/acc', 'sys/gpu0/util', 'learning_rate', 'train_loss', 'val_loss', 'tokens_per_sec', 'train/grad_norm']);
  assert.deepEqual(g.map((x) => x.title), ['Metrics', 'train', 'val', 'System']);
  assert.deepEqual(g[0].charts.map((c) => c.id), ['loss', 'learning_rate', 'tokens_per_sec']);
  assert.deepEqual(g[0].charts[0].keys, ['train_loss', 'val_loss']);
  assert.deepEqual(chartGroups(['loss']).map((x) => x.charts[0].id), ['loss']);
});

test('no source hands text to an HTML parser', () => {
  const dir = join(WEB, 'src');
  for (const f of readdirSync(dir)) {
    // (dom.js names them once, in the list of properties h() refuses.)
    let src = readFileSync(join(dir, f), 'utf8').replace(/^const BANNED = .*$/m, '');
    if (f === 'media.js') {
      // The one exception: logged HTML in a frame sandboxed with no
      // permission at all, the attribute set before the document.
      const framed = /const frame = h\('iframe', \{ sandbox: '', [^\n]*\}\);\n\s*frame\.srcdoc = html;/;
      assert.match(src, framed, 'media.js: sandboxedFrame must make the frame with sandbox="" before setting srcdoc');
      src = src.replace(framed, '');
    }
    for (const bad of ['.innerHTML', '.outerHTML', 'insertAdjacentHTML', 'document.write', 'DOMParser', 'createContextualFragment', 'srcdoc', 'eval(', 'new Function']) {
      assert.ok(!src.includes(bad), `${f} uses ${bad}`);
    }
  }
});
