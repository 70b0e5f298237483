// How numbers, times and sizes read in the UI.

/** num(v): a number from the API, where non-finite values are strings. */
export function num(v) {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v;
}

/** fmtNum(v, digits): at most `digits` significant digits, compact for large and small values. */
export function fmtNum(v, digits = 5) {
  v = num(v);
  if (v === null || v === undefined) return '–';
  if (typeof v === 'boolean') return String(v);
  if (typeof v !== 'number') return typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e9)) return v.toExponential(Math.max(0, digits - 3)).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(digits)));
}

/** fmtValue(v): any config or summary value, as short text. */
export function fmtValue(v) {
  if (v === null) return 'null';
  if (v === undefined) return '–';
  if (typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity') return fmtNum(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** fmtDuration(s): 850ms, 12.5s, 3m 12s, 2h 05m, 3d 4h. */
export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${Number(s.toFixed(s < 10 ? 1 : 0))}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** fmtTick(s): a duration for an axis tick: 0, 45s, 5m, 1h30m, 2d. */
export function fmtTick(s) {
  if (s === 0) return '0';
  const neg = s < 0;
  s = Math.abs(s);
  let out;
  if (s < 60) out = `${Number(s.toPrecision(3))}s`;
  else if (s < 3600) {
    const m = Math.floor(s / 60), r = Math.round(s % 60);
    out = r ? `${m}m${r}s` : `${m}m`;
  } else if (s < 86400) {
    const hh = Math.floor(s / 3600), m = Math.round((s % 3600) / 60);
    out = m ? `${hh}h${m}m` : `${hh}h`;
  } else {
    const d = Math.floor(s / 86400), hh = Math.round((s % 86400) / 3600);
    out = hh ? `${d}d${hh}h` : `${d}d`;
  }
  return neg ? `−${out}` : out;
}

/** fmtStep(n): 950, 1.5k, 200k, 1.5M. */
export function fmtStep(n) {
  const a = Math.abs(n);
  if (a >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((n / 1e3).toPrecision(3))}k`;
  return String(Math.round(n * 100) / 100);
}

/** fmtTime(t): a unix time (seconds) or an ISO string, as local date and time. */
export function fmtTime(t) {
  const d = toDate(t);
  if (!d) return '–';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** fmtAgo(t): 5s ago, 3 min ago, 2 h ago, else the date. */
export function fmtAgo(t, now = Date.now()) {
  const d = toDate(t);
  if (!d) return '–';
  const s = (now - d.getTime()) / 1000;
  if (s < 0) return fmtTime(t);
  if (s < 60) return `${Math.max(1, Math.round(s))}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 7) return `${Math.round(s / 86400)} d ago`;
  return fmtTime(t).slice(0, 10);
}

function toDate(t) {
  if (t === null || t === undefined || t === '') return null;
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** fmtBytes(n): 930 KB, 1.2 GB. */
export function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n : Number(n.toPrecision(3))} ${units[i]}`;
}

/** getPath(obj, 'a.b.c'): a nested value by dotted path (a key holding dots is tried whole first). */
export function getPath(obj, path) {
  if (!obj || typeof obj !== 'object') return undefined;
  if (Object.prototype.hasOwnProperty.call(obj, path)) return obj[path];
  const i = path.indexOf('.');
  if (i < 0) return undefined;
  // Try each split point, shortest head first: {"a": {"b.c": 1}} and {"a.b": {"c": 1}} both work.
  for (let j = i; j >= 0; j = path.indexOf('.', j + 1)) {
    const head = path.slice(0, j);
    if (Object.prototype.hasOwnProperty.call(obj, head)) {
      const v = getPath(obj[head], path.slice(j + 1));
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** flatten({a: {b: 1}}) → [['a.b', 1]]: the leaves of a config, by dotted path. */
export function flatten(obj, prefix = '', out = []) {
  if (obj && typeof obj === 'object' && !Array.isArray(obj) && Object.keys(obj).length) {
    for (const k of Object.keys(obj).sort()) flatten(obj[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.push([prefix, obj]);
  }
  return out;
}
