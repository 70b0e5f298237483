// Unit tests of the media panels' pure parts (src/mediadata.js): the
// heatmap's re-binning of histograms with edges of their own, the
// quantiles drawn over it, table cells classified and sorted, and the
// per-key steps kept in the address.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heatGrid, quantiles, cellKind, compareCells, sortRows, parseSteps, formatSteps, stepSpan, mediaPath } from '../src/mediadata.js';

const close = (a, b, eps = 1e-9) => Math.abs(a - b) < eps;

test('heatGrid: every column keeps its total, spread by overlap onto one grid', () => {
  const hs = [
    { step: 0, edges: [0, 1, 2], counts: [4, 6] },
    { step: 10, edges: [1, 2, 3, 4], counts: [3, 0, 9] },
  ];
  const g = heatGrid(hs, 4);
  assert.equal(g.lo, 0);
  assert.equal(g.hi, 4);
  assert.equal(g.cols, 2);
  assert.deepEqual([...g.data.slice(0, 4)], [4, 6, 0, 0]);
  assert.deepEqual([...g.data.slice(4, 8)], [0, 3, 0, 9]);
  assert.deepEqual([...g.totals], [10, 12]);
  assert.deepEqual([...g.colMax], [6, 9]);

  // A bin across two rows is split by how much of it each holds.
  const s = heatGrid([{ step: 0, edges: [0, 3], counts: [9] }, { step: 1, edges: [0, 0.5, 4], counts: [0, 0] }], 4);
  assert.ok(close(s.data[0], 3) && close(s.data[1], 3) && close(s.data[2], 3) && close(s.data[3], 0), [...s.data.slice(0, 4)].join());
  for (let c = 0; c < s.cols; c++) assert.ok(close(s.data.slice(c * 4, c * 4 + 4).reduce((a, b) => a + b, 0), s.totals[c]));
});

test('heatGrid: API numbers as strings, empty and degenerate histograms', () => {
  const g = heatGrid([{ step: 0, edges: ['-Infinity', 0, 1], counts: [1, 2] }], 2);
  assert.deepEqual([g.lo, g.hi], [0, 1], 'an infinite edge gives no range');
  assert.deepEqual([...g.data], [1, 1], 'the finite bin spread over both rows; the one to −∞ drawn nowhere');
  const one = heatGrid([{ step: 0, edges: [5, 5.000001], counts: [3] }, { step: 1, edges: [5, 5.000001], counts: [1] }], 3);
  assert.deepEqual([...one.totals], [3, 1]);
  const empty = heatGrid([], 8);
  assert.equal(empty.lo, null);
  const none = heatGrid([{ step: 0, edges: [0, 1], counts: [0] }], 4);
  assert.equal(none.colMax[0], 0);
  assert.equal(none.totals[0], 0);
});

test('quantiles: interpolated inside a bin; NaN when empty', () => {
  const hg = { edges: [0, 1, 2, 3, 4], counts: [1, 1, 1, 1] };
  const [p0, p25, p50, p100] = quantiles(hg, [0, 0.25, 0.5, 1]);
  assert.equal(p0, 0);
  assert.equal(p25, 1);
  assert.equal(p50, 2);
  assert.equal(p100, 4);
  assert.ok(close(quantiles({ edges: [0, 10], counts: [5] }, [0.3])[0], 3));
  assert.ok(Number.isNaN(quantiles({ edges: [0, 1], counts: [0] }, [0.5])[0]));
});

test('cellKind: the cells of a table file', () => {
  const cases = [[1.5, 'number'], ['NaN', 'number'], ['-Infinity', 'number'], ['nan', 'string'], ['<script>', 'string'], [true, 'bool'],
    [null, 'null'], [undefined, 'null'], [{ image: { path: 'media/x/1-ab.png', width: 2, height: 2 } }, 'image'], [{ image: 3 }, 'other'], [[1], 'other']];
  for (const [v, want] of cases) assert.equal(cellKind(v), want, JSON.stringify(v));
});

test('sortRows: numbers by value (NaN after), strings naturally, empty cells last both ways, ties in logged order', () => {
  const rows = [[3, 'row 10'], ['NaN', 'row 2'], [null, 'b'], [-1, 'B'], [3, null], ['Infinity', 'a']];
  const col = (c, dir) => sortRows(rows, c, dir).map((i) => rows[i][c]);
  assert.deepEqual(col(0, 'asc'), [-1, 3, 3, 'Infinity', 'NaN', null]);
  assert.deepEqual(col(0, 'desc'), ['NaN', 'Infinity', 3, 3, -1, null]);
  assert.deepEqual(sortRows(rows, 0, 'asc').slice(1, 3), [0, 4], 'equal values keep their order');
  assert.deepEqual(col(1, 'asc'), ['a', 'b', 'B', 'row 2', 'row 10', null]);
  assert.deepEqual(sortRows(rows, -1, 'asc'), [0, 1, 2, 3, 4, 5]);
  // Mixed kinds: numbers before strings before images.
  assert.ok(compareCells(1, 'a') < 0);
  assert.ok(compareCells('z', { image: { path: 'a' } }) < 0);
});

test('parseSteps/formatSteps: KEY:STEP, the last colon splits, bad values left out', () => {
  const m = parseSteps(['samples:800', 'a:b:12', 'val/x:-3', 'nostep', ':5', 'k:1.5', 'k2:']);
  assert.deepEqual([...m], [['samples', 800], ['a:b', 12], ['val/x', -3]]);
  assert.deepEqual(formatSteps(m), ['samples:800', 'a:b:12', 'val/x:-3']);
  assert.deepEqual([...parseSteps(formatSteps(m))], [...m]);
});

test('stepSpan: the steps of the runs that logged a key', () => {
  assert.deepEqual(stepSpan([null, { first_step: 200, last_step: 800 }, { first_step: 0, last_step: 600 }]), { first: 0, last: 800 });
  assert.equal(stepSpan([null, null]), null);
});

test('mediaPath: only plain paths under media/ are shown as a table’s images', () => {
  for (const p of ['media/samples/800-3f2a9c0e1b4d5a6f.png', 'media/val%2Fsamples/1-ab.png', 'media/%2E.%2Fx/0-a.png']) assert.ok(mediaPath(p), p);
  for (const p of ['/etc/passwd', 'media/../config.json', 'media/./x.png', 'media//x.png', 'media\\x.png', 'artifacts/x.png', 'media', '', null, 3]) assert.ok(!mediaPath(p), String(p));
});
