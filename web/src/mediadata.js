// The numbers behind the media panels, kept pure (no DOM) so that
// tests/media.test.mjs can check them in Node: histograms re-binned onto
// one grid for the heatmap, table cells classified and sorted, and the
// per-key steps the run page keeps in its address.

import { num } from './format.js';

/**
 * heatGrid(hists, rows): the histograms of a key (each with its own edges,
 * as GET /api/v1/runs/{id}/histograms answers) re-binned onto `rows` equal
 * bins over the range all of them cover. A bin's count is spread over the
 * rows it overlaps, in proportion to the overlap, so each column keeps its
 * histogram's total. Returns {lo, hi, rows, cols, data (Float64Array,
 * column-major: data[c * rows + r], row 0 the lowest values), colMax,
 * totals}; lo and hi are null when there is nothing to draw.
 */
export function heatGrid(hists, rows) {
  const cols = hists.length;
  let lo = Infinity, hi = -Infinity;
  for (const hg of hists) {
    const e = hg.edges || [];
    if (e.length < 2) continue;
    // Edges are finite (the format says so); one that is not sets no range.
    for (const v of e) {
      const x = num(v);
      if (!Number.isFinite(x)) continue;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  const data = new Float64Array(cols * rows);
  const colMax = new Float64Array(cols);
  const totals = new Float64Array(cols);
  if (!(hi > lo)) {
    // One value everywhere (a constant): a range of one around it.
    if (lo === hi && Number.isFinite(lo)) { lo -= 0.5; hi += 0.5; } else return { lo: null, hi: null, rows, cols, data, colMax, totals };
  }
  const span = hi - lo;
  hists.forEach((hg, c) => {
    const e = (hg.edges || []).map(num), n = hg.counts || [];
    for (let i = 0; i < n.length && i + 1 < e.length; i++) {
      const cnt = num(n[i]);
      if (!(cnt > 0)) continue;
      totals[c] += cnt;
      const a = ((e[i] - lo) / span) * rows, b = ((e[i + 1] - lo) / span) * rows;
      if (!(b > a)) { // a bin of no width: all in its row
        data[c * rows + Math.min(rows - 1, Math.max(0, Math.floor(a)))] += cnt;
        continue;
      }
      const r0 = Math.max(0, Math.floor(a)), r1 = Math.min(rows - 1, Math.ceil(b) - 1);
      for (let r = r0; r <= r1; r++) {
        const overlap = Math.min(b, r + 1) - Math.max(a, r);
        if (overlap > 0) data[c * rows + r] += (cnt * overlap) / (b - a);
      }
    }
    for (let r = 0; r < rows; r++) colMax[c] = Math.max(colMax[c], data[c * rows + r]);
  });
  return { lo, hi, rows, cols, data, colMax, totals };
}

/**
 * quantiles(hist, qs): the values below which the fractions qs of a
 * histogram's counts lie, interpolated linearly inside a bin (the lines
 * TensorBoard's distributions draw). NaN for an empty histogram.
 */
export function quantiles(hist, qs) {
  const e = (hist.edges || []).map(num), n = (hist.counts || []).map(num);
  const total = n.reduce((s, c) => s + (c > 0 ? c : 0), 0);
  return qs.map((q) => {
    if (!(total > 0)) return NaN;
    const want = q * total;
    let acc = 0;
    for (let i = 0; i < n.length; i++) {
      const c = n[i] > 0 ? n[i] : 0;
      if (acc + c >= want && c > 0) return e[i] + ((want - acc) / c) * (e[i + 1] - e[i]);
      acc += c;
    }
    return e[e.length - 1];
  });
}

/**
 * cellKind(v): what a table cell holds (docs/run-log-format.md, Tables):
 * 'number' (the strings NaN, Infinity and -Infinity too), 'string',
 * 'bool', 'image' ({image: {path, …}}), 'null' or 'other'.
 */
export function cellKind(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity') return 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'object' && v.image && typeof v.image.path === 'string') return 'image';
  return 'other';
}

const KIND_ORDER = { number: 0, bool: 1, string: 2, image: 3, other: 4, null: 5 };

/**
 * compareCells(a, b): the order of a sorted column, ascending: numbers
 * (NaN after every other number), then booleans, strings (natural order:
 * "row 2" before "row 10"), images by path, and empty cells last.
 */
export function compareCells(a, b) {
  const ka = cellKind(a), kb = cellKind(b);
  if (ka !== kb) return KIND_ORDER[ka] - KIND_ORDER[kb];
  switch (ka) {
    case 'number': {
      const x = num(a), y = num(b);
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) - Number.isNaN(y);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'bool': return a - b;
    case 'string': return collator.compare(a, b);
    case 'image': return collator.compare(a.image.path, b.image.path);
    case 'other': return collator.compare(JSON.stringify(a), JSON.stringify(b));
    default: return 0;
  }
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * sortRows(rows, col, dir): the row indexes in the order of column col,
 * 'asc' or 'desc' (empty cells stay last either way); ties keep the
 * logged order. Without a column, the logged order.
 */
export function sortRows(rows, col, dir) {
  const idx = rows.map((_, i) => i);
  if (col === null || col === undefined || col < 0) return idx;
  const sign = dir === 'desc' ? -1 : 1;
  return idx.sort((i, j) => {
    const a = rows[i][col], b = rows[j][col];
    const na = cellKind(a) === 'null', nb = cellKind(b) === 'null';
    if (na || nb) return na - nb || i - j;
    return sign * compareCells(a, b) || i - j;
  });
}

/**
 * parseSteps(values): the address's per-key steps (`mstep=KEY:STEP`,
 * repeated) as a Map key → step. A key may hold ':' itself: the step is
 * after the last one. Values that are not KEY:INTEGER are left out.
 */
export function parseSteps(values) {
  const out = new Map();
  for (const v of values) {
    const i = v.lastIndexOf(':');
    if (i <= 0) continue;
    const s = v.slice(i + 1);
    if (!/^-?\d+$/.test(s)) continue;
    out.set(v.slice(0, i), Number(s));
  }
  return out;
}

/** formatSteps(map): the address's `mstep` values of a Map key → step. */
export const formatSteps = (m) => [...m].map(([k, s]) => `${k}:${s}`);

/**
 * stepSpan(keys): the range of steps of several runs' rows of one key (the
 * rows of GET /api/v1/runs/{id}/media): {first, last}, or null when none.
 */
export function stepSpan(rows) {
  const have = rows.filter(Boolean);
  if (!have.length) return null;
  return { first: Math.min(...have.map((r) => r.first_step)), last: Math.max(...have.map((r) => r.last_step)) };
}

/**
 * mediaPath(p): whether p is a path a table's image cell may name: plain,
 * relative and under media/ (docs/run-log-format.md: readers refuse one
 * that is absolute, has '..', '.' or empty parts, or backslashes).
 */
export function mediaPath(p) {
  if (typeof p !== 'string' || !p.startsWith('media/') || p.includes('\\')) return false;
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}
