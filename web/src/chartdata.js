// The numbers behind the charts: series as the API sends them, turned into
// typed arrays; the EMA smoothing of runlog's charts; and the joining of
// several curves onto the one x-array uPlot draws from.

/**
 * parseSeries(s): a series of GET /runs/{id}/series as
 * {key, total, downsampled, x: Float64Array, y: Float64Array, steps, firstBad}
 * — y holds NaN and ±Infinity for the API's "NaN", "Infinity", "-Infinity";
 * firstBad is the index of the first non-finite value, or -1.
 */
export function parseSeries(s) {
  const n = s.x.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let firstBad = -1;
  for (let i = 0; i < n; i++) {
    x[i] = s.x[i];
    let v = s.y[i];
    if (typeof v !== 'number') {
      v = v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN;
    }
    if (firstBad < 0 && !Number.isFinite(v)) firstBad = i;
    y[i] = v;
  }
  return { key: s.key, total: s.total, downsampled: !!s.downsampled, x, y, steps: s.steps || [], firstBad, resumes: s.resumes || [] };
}

/**
 * breakAt(x, ys, resumes): a curve's sorted x and its value arrays (drawable())
 * with a gap — an x at each resume, null in every array — between the last
 * point before the resume and the first after it: on the wallclock and time
 * axes, where the series answer lists where the run resumed, a line breaks
 * there rather than cross the time the run lay dead. → {x, ys}.
 */
export function breakAt(x, ys, resumes) {
  if (!resumes || !resumes.length || x.length < 2) return { x, ys };
  const gaps = [];
  let j = 0;
  for (const r of [...resumes].sort((a, b) => a - b)) {
    while (j < x.length && x[j] < r) j++;
    if (j > 0 && j < x.length) gaps.push([j, r]); // points on both sides
  }
  if (!gaps.length) return { x, ys };
  const n = x.length + gaps.length;
  const ox = new Float64Array(n);
  const oys = ys.map(() => new Array(n));
  let o = 0, g = 0;
  for (let i = 0; i < x.length; i++) {
    while (g < gaps.length && gaps[g][0] === i) {
      ox[o] = gaps[g][1];
      for (const a of oys) a[o] = null;
      o++;
      g++;
    }
    ox[o] = x[i];
    for (let k = 0; k < ys.length; k++) oys[k][o] = ys[k][i];
    o++;
  }
  return { x: ox, ys: oys };
}

/** Series with fewer points than this are not smoothed (validation losses), as in runlog's charts. */
export const MIN_SMOOTH_POINTS = 50;

/**
 * ema(series, alpha, timeAxis): the debiased exponential moving average of
 * series.EMA (internal/series/math.go), TensorBoard's slider: alpha 0 is
 * none. On time axes each point's weight decays with its x-distance from
 * the previous one relative to the mean spacing.
 *
 * A downsampled series (M4: each bucket's first, lowest, highest and last
 * point) stands for `total` points, and the EMA of every point cannot be
 * computed from it. It is approximated: weights decay with x-distance
 * relative to the spacing of the `total` points — so that a slider value
 * smooths over as many steps as it would over every point, not ~total/n
 * times more — but never by more than min(alpha, 0.8) per point kept,
 * which keeps the extremes M4 keeps from pulling the curve when the EMA's
 * window is narrower than a bucket. On noisy curves it stays within about
 * half the noise's σ of the exact EMA (tests/unit.test.mjs); zoomed in far
 * enough to get every point, it is exact.
 */
export function ema(s, alpha, timeAxis) {
  const { x, y } = s;
  const n = y.length;
  const out = new Float64Array(n);
  if (!(alpha > 0 && alpha < 1) || n === 0) {
    out.set(y);
    return out;
  }
  let weighted = timeAxis || s.downsampled;
  let spacing = 1;
  const range = n > 1 ? x[n - 1] - x[0] : 0;
  if (weighted && range > 0) {
    const count = s.downsampled ? Math.max(s.total, n) : n;
    spacing = range / (count - 1);
  } else {
    weighted = false;
  }
  const logA = Math.log(alpha) / spacing;
  const floor = s.downsampled ? Math.min(alpha, 0.8) : 0;
  let acc = 0, weight = 0, prevX = NaN;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    let a = alpha;
    if (weighted && !Number.isNaN(prevX)) a = Math.max(floor, Math.exp(Math.max(0, x[i] - prevX) * logA));
    acc = a * acc + (1 - a) * v;
    weight = a * weight + (1 - a);
    out[i] = acc / weight;
    if (weighted) prevX = x[i];
  }
  return out;
}

/** drawable(ys, logY): values as uPlot draws them: a gap (null) for non-finite values, and for values ≤ 0 on a log axis. */
export function drawable(ys, logY) {
  const out = new Array(ys.length);
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    out[i] = Number.isFinite(v) && (!logY || v > 0) ? v : null;
  }
  return out;
}

/**
 * join(curves): curves [{x, ys: [array…]}] onto one sorted x-array, as uPlot
 * wants: [xs, ...ys]. Where a curve has no point at an x the value is
 * undefined (uPlot draws across), where it has a gap, null (uPlot breaks
 * the line).
 */
export function join(curves) {
  if (curves.length === 1) return [curves[0].x, ...curves[0].ys];
  let total = 0;
  for (const c of curves) total += c.x.length;
  const all = new Float64Array(total);
  let o = 0;
  for (const c of curves) {
    all.set(c.x, o);
    o += c.x.length;
  }
  all.sort();
  let u = 0;
  for (let i = 0; i < total; i++) {
    if (i === 0 || all[i] !== all[u - 1]) all[u++] = all[i];
  }
  const xs = all.slice(0, u);
  const data = [xs];
  for (const c of curves) {
    const cols = c.ys.map(() => new Array(u).fill(undefined));
    let j = 0;
    for (let i = 0; i < c.x.length; i++) {
      const xv = c.x[i];
      while (xs[j] < xv) j++;
      for (let k = 0; k < cols.length; k++) cols[k][j] = c.ys[k][i];
    }
    data.push(...cols);
  }
  return data;
}

/** nearest(x, v): the index of the point of sorted x closest to v, or -1 for no points. */
export function nearest(x, v) {
  const n = x.length;
  if (!n) return -1;
  let lo = 0, hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(x[lo - 1] - v) <= Math.abs(x[lo] - v)) return lo - 1;
  return lo;
}

/** csvField(v): a CSV field, quoted when needed; text that a spreadsheet would run as a formula is prefixed with '. */
export function csvField(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** magnitude(ys): the largest absolute finite value, 0 for none. */
export function magnitude(ys) {
  let m = 0;
  for (let i = 0; i < ys.length; i++) {
    const a = Math.abs(ys[i]);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

/** Keys whose magnitudes differ by this factor or more get y-axes of their own. */
export const SCALE_RATIO = 10;

/**
 * yScales(mags): which y-scale each key of a chart is drawn on, given its
 * magnitude (magnitude(), over every run's curve of it): [[key, mag]…] in
 * the chart's order → Map key → 'y', 'y2', 'y3'…. A key shares the first
 * scale whose first key is within SCALE_RATIO of it, else starts a new
 * one; keys with no finite value go on 'y'. A loss of 0.05 beside one of
 * 50 is a line and a flat line on one axis; on two, both are curves.
 */
export function yScales(mags) {
  const scales = []; // [name, reference magnitude]
  const out = new Map();
  for (const [key, mag] of mags) {
    if (out.has(key)) continue;
    if (!(mag > 0)) {
      out.set(key, 'y');
      continue;
    }
    let s = scales.find(([, ref]) => Math.max(ref, mag) / Math.min(ref, mag) < SCALE_RATIO);
    if (!s) {
      s = [scales.length ? `y${scales.length + 1}` : 'y', mag];
      scales.push(s);
    }
    out.set(key, s[0]);
  }
  return out;
}

/**
 * logRange(min, max): a log y-range around the visible data, padded by 5%
 * of its decades — not snapped to whole decades, which turns a zoomed-in
 * loss between 2.1 and 2.3 into a flat line between 1 and 10.
 */
export function logRange(min, max) {
  if (!(min > 0) || !(max > 0)) return [min > 0 ? min / 10 : max > 0 ? max / 10 : 0.1, max > 0 ? max * 1.1 : 1];
  const a = Math.log10(min), b = Math.log10(max);
  const pad = Math.max((b - a) * 0.05, 0.01);
  return [10 ** (a - pad), 10 ** (b + pad)];
}

/**
 * logSplits(min, max): the ticks of a log axis: 1, 2 and 5 of each decade
 * (only 1s across many decades), and evenly spaced ones when the range is
 * too narrow to hold three of those.
 */
export function logSplits(min, max) {
  if (!(min > 0) || !(max > min)) return [];
  const decades = Math.log10(max / min);
  const mults = decades > 4 ? [1] : decades > 1.5 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const out = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= min && v <= max) out.push(v);
    }
  }
  if (out.length >= 3) return out;
  return linearSplits(min, max, 5);
}

/** linearSplits(min, max, n): about n ticks at a round spacing (1, 2 or 5 × 10^k). */
export function linearSplits(min, max, n) {
  const raw = (max - min) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).reduce((a, b) => (Math.abs((max - min) / b - n) < Math.abs((max - min) / a - n) ? b : a));
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}
