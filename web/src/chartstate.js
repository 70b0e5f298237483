// The chart state the address holds, as pure functions (the panel reads
// and writes the address with them): the x-axis — a clock or a logged
// series, `x=series:tokens_seen` — and the charts whose smoothing differs
// from the panel's slider, `csmooth=loss:0,val_perplexity:0.6`.

export const TIME_AXES = ['step', 'wallclock', 'active', 'time'];
export const SERIES_X = 'series:';

/** parseX(v): the x-axis an address names: a time axis, series:<key>, else step. */
export function parseX(v) {
  if (TIME_AXES.includes(v)) return v;
  if (typeof v === 'string' && v.startsWith(SERIES_X) && v.length > SERIES_X.length) return v;
  return 'step';
}

/** xSeriesKey(x): the key of a series x-axis, or null for a time axis. */
export function xSeriesKey(x) {
  return typeof x === 'string' && x.startsWith(SERIES_X) ? x.slice(SERIES_X.length) : null;
}

const clampSmooth = (v) => Math.min(0.99, Math.max(0, v));

/** parseSmoothBy(v): `id:alpha,…` as a Map id → alpha; ids escape % and , as %25 and %2C. */
export function parseSmoothBy(v) {
  const m = new Map();
  for (const part of String(v || '').split(',')) {
    const i = part.lastIndexOf(':');
    if (i <= 0) continue;
    const a = Number(part.slice(i + 1));
    if (part.slice(i + 1) === '' || !Number.isFinite(a)) continue;
    m.set(part.slice(0, i).replace(/%2C/gi, ',').replace(/%25/g, '%'), clampSmooth(a));
  }
  return m;
}

/** formatSmoothBy(map): the parameter of parseSmoothBy, or null for none. */
export function formatSmoothBy(m) {
  if (!m || !m.size) return null;
  return [...m].map(([id, a]) => `${String(id).replace(/%/g, '%25').replace(/,/g, '%2C')}:${a}`).join(',');
}
