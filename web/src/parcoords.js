// Parallel coordinates of runs over config values and metrics, on one
// <canvas>, and the scale math the scatter shares: an axis per key (numeric,
// log or linear, or categorical for strings), each run a position 0..1 on
// it (NaN where it has no value), brushes as ranges of values per axis.
// The math is pure and unit-tested (tests/hparams.test.mjs); drawing is a
// few paths per frame, so 1,000 runs redraw in milliseconds while brushing.

import { h } from './dom.js';
import { num, fmtNum, getPath } from './format.js';
import { color, fade } from './palette.js';
import { isRateKey } from './groups.js';

/**
 * keyValue(row, key): the value of 'config.<path>', 'metric.<key>' (the
 * series' last value), 'best.<key>' (its best: the lowest loss, the
 * highest accuracy) or 'summary.<key>' of a runs row (numbers as numbers).
 */
export function keyValue(row, key) {
  const i = key.indexOf('.');
  const kind = key.slice(0, i), k = key.slice(i + 1);
  let v;
  if (kind === 'config') v = getPath(row.config, k);
  else if (kind === 'metric') v = row.metrics ? row.metrics[k] : undefined;
  else if (kind === 'best') v = row.best ? row.best[k] : undefined;
  else if (kind === 'summary') v = getPath(row.summary, k);
  else v = row[key];
  return num(v);
}

/** keyLabel(key): how an axis names a key: 'last val_loss' for metric.val_loss, 'best val_loss' for best.val_loss, others as they are. */
export function keyLabel(key) {
  if (key.startsWith('metric.')) return `last ${key.slice(7)}`;
  if (key.startsWith('best.')) return `best ${key.slice(5)}`;
  return key;
}

/** useLog(key, numbers): a log axis for positive values spanning ≥ 2 decades, or for rate-like keys (lr). */
export function useLog(key, xs) {
  let lo = Infinity, hi = -Infinity;
  for (const x of xs) {
    if (!Number.isFinite(x)) continue;
    if (x <= 0) return false;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (!(lo <= hi)) return false;
  if (hi / lo >= 100) return true;
  return isRateKey(key) && hi > lo;
}

/**
 * makeAxis(key, rows, log): {key, kind: 'num'|'cat', log, min, max, cats,
 * pos: Float64Array} — pos[i] is row i's place on the axis, 0 (bottom) to
 * 1 (top), NaN without a (finite) value. log: true/false forces it on a
 * numeric axis of positive values; undefined chooses (useLog).
 */
export function makeAxis(key, rows, log) {
  const raw = rows.map((r) => keyValue(r, key));
  const isCat = raw.some((v) => v !== undefined && v !== null && typeof v !== 'number');
  const pos = new Float64Array(rows.length).fill(NaN);
  if (isCat) {
    const str = raw.map((v) => (v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v)));
    const cats = [...new Set(str.filter((s) => s !== undefined))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const at = new Map(cats.map((c, i) => [c, cats.length === 1 ? 0.5 : i / (cats.length - 1)]));
    str.forEach((s, i) => { if (s !== undefined) pos[i] = at.get(s); });
    return { key, kind: 'cat', log: false, cats, values: str, pos };
  }
  const xs = raw.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN));
  let min = Infinity, max = -Infinity;
  for (const x of xs) if (x === x) { if (x < min) min = x; if (x > max) max = x; }
  const positive = min > 0;
  const lg = positive && (log === undefined ? useLog(key, xs) : !!log);
  const axis = { key, kind: 'num', log: lg, min, max, cats: null, values: xs, pos };
  if (min > max) return axis; // no values
  const f = unit(axis);
  xs.forEach((x, i) => { if (x === x) pos[i] = f(x); });
  return axis;
}

/** unit(axis): value → 0..1 on a numeric axis (0.5 when every value is the same). */
export function unit(axis) {
  const { min, max, log } = axis;
  if (log) {
    const a = Math.log10(min), b = Math.log10(max);
    return b > a ? (x) => (Math.log10(x) - a) / (b - a) : () => 0.5;
  }
  return max > min ? (x) => (x - min) / (max - min) : () => 0.5;
}

/** fromUnit(axis, u): 0..1 → the value of a numeric axis (inverse of unit). */
export function fromUnit(axis, u) {
  const { min, max, log } = axis;
  if (log) return 10 ** (Math.log10(min) + u * (Math.log10(max) - Math.log10(min)));
  return min + u * (max - min);
}

/** ticks(axis, n): [{u, label}] — powers of ten (and 2, 5 between when few) on log axes, round steps on linear ones, every category. */
export function ticks(axis, n = 5) {
  if (axis.kind === 'cat') return axis.cats.map((c, i) => ({ u: axis.cats.length === 1 ? 0.5 : i / (axis.cats.length - 1), label: c }));
  const { min, max } = axis;
  if (!(min <= max)) return [];
  if (min === max) return [{ u: 0.5, label: fmtNum(min, 4) }];
  const f = unit(axis), out = [];
  if (axis.log) {
    const a = Math.floor(Math.log10(min)), b = Math.ceil(Math.log10(max));
    const mult = b - a <= 2 ? [1, 2, 5] : [1];
    for (let e = a; e <= b; e++) for (const m of mult) {
      const v = m * 10 ** e;
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push({ u: f(v), label: fmtNum(Number(v.toPrecision(6)), 3) });
    }
    if (out.length < 2) return [{ u: 0, label: fmtNum(min, 3) }, { u: 1, label: fmtNum(max, 3) }];
    return out;
  }
  const raw = (max - min) / n, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw) || 10 * p;
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push({ u: f(v), label: fmtNum(Number(v.toPrecision(12)), 4) });
  return out;
}

/**
 * brushUnits(axis, brush): the brush as a 0..1 range on the axis, [lo, hi].
 * A brush is {key, lo, hi} on a numeric axis, {key, cats: [...]} on a
 * categorical one.
 */
export function brushUnits(axis, b) {
  if (axis.kind === 'cat') {
    const us = (b.cats || []).map((c) => axis.cats.indexOf(c)).filter((i) => i >= 0).map((i) => (axis.cats.length === 1 ? 0.5 : i / (axis.cats.length - 1)));
    return us.length ? [Math.min(...us), Math.max(...us)] : null;
  }
  if (!(axis.min <= axis.max) || b.lo === undefined) return null;
  const f = unit(axis), c = (x) => Math.min(1, Math.max(0, x));
  const lo = axis.log && b.lo <= 0 ? 0 : c(f(b.lo)), hi = axis.log && b.hi <= 0 ? 0 : c(f(b.hi));
  return [Math.min(lo, hi), Math.max(lo, hi)];
}

/** brushFromUnits(axis, u0, u1): the brush a drag from u0 to u1 on the axis makes (categories within it on a categorical axis). */
export function brushFromUnits(axis, u0, u1) {
  const lo = Math.min(u0, u1), hi = Math.max(u0, u1);
  if (axis.kind === 'cat') {
    // A few pixels' slack: a drag that ends at a category's tick takes it.
    const n = axis.cats.length, slack = 0.03;
    const cats = axis.cats.filter((_, i) => { const u = n === 1 ? 0.5 : i / (n - 1); return u >= lo - slack && u <= hi + slack; });
    return { key: axis.key, cats };
  }
  return { key: axis.key, lo: fromUnit(axis, lo), hi: fromUnit(axis, hi) };
}

/** selected(axes, brushes): Uint8Array, 1 for the rows within every brush (all 0 without brushes), and how many. */
export function selected(axes, brushes, n) {
  const mask = new Uint8Array(n);
  const active = brushes.filter((b) => axes.some((a) => a.key === b.key));
  if (!active.length) return { mask, count: 0 };
  mask.fill(1);
  for (const b of active) {
    const a = axes.find((x) => x.key === b.key);
    if (a.kind === 'cat') {
      const want = new Set(b.cats);
      for (let i = 0; i < n; i++) if (mask[i] && !want.has(a.values[i])) mask[i] = 0;
    } else {
      const lo = Math.min(b.lo, b.hi), hi = Math.max(b.lo, b.hi);
      // A relative slack so that a brush read back from the address keeps its edge runs.
      const eps = (Math.abs(lo) + Math.abs(hi)) * 1e-9;
      for (let i = 0; i < n; i++) { const v = a.values[i]; if (mask[i] && !(v >= lo - eps && v <= hi + eps)) mask[i] = 0; }
    }
  }
  let count = 0;
  for (let i = 0; i < n; i++) count += mask[i];
  return { mask, count };
}

/** parseBrush('config.lr:1e-4:1e-3') → {key, lo, hi}; 'config.opt:=adam|sgd' → {key, cats}; null if unreadable. */
export function parseBrush(s) {
  const m = /^(.+?):=(.*)$/.exec(s);
  if (m) return { key: m[1], cats: m[2].split('|') };
  const n = /^(.+):([^:]*):([^:]*)$/.exec(s);
  if (!n) return null;
  const lo = Number(n[2]), hi = Number(n[3]);
  return n[2] !== '' && n[3] !== '' && Number.isFinite(lo) && Number.isFinite(hi) ? { key: n[1], lo, hi } : null;
}

/** fmtBrush(brush): the brush as parseBrush reads it. */
export function fmtBrush(b) {
  if (b.cats) return `${b.key}:=${b.cats.join('|')}`;
  return `${b.key}:${Number(b.lo.toPrecision(6))}:${Number(b.hi.toPrecision(6))}`;
}

/** groupColors(rows): a colour per run from its group (sorted group names; runs without one share the first). */
export function groupColors(rows) {
  const groups = [...new Set(rows.map((r) => r.group || ''))].sort();
  const at = new Map(groups.map((g, i) => [g, color(i)]));
  return { colors: rows.map((r) => at.get(r.group || '')), groups: groups.map((g) => [g, at.get(g)]) };
}

const PAD = { top: 34, bottom: 22, left: 70, right: 70 };

/** LIGHT: the light theme's chart colours, until the view passes themeColors() (theme.js) as .tc. */
export const LIGHT = { axis: '#5b6675', grid: '#eceff3', text: '#1d2733', muted: '#6b7684', accent: '#0072b2' };

/**
 * ParCoords: the chart. set(rows, axes, brushes, colors) draws; onbrush(brushes,
 * done, t0) is called while dragging (done: false; t0: when the move began)
 * and at the end (true).
 */
export class ParCoords {
  constructor({ onbrush, onopen }) {
    this.onbrush = onbrush;
    this.onopen = onopen;
    this.canvas = h('canvas', { class: 'pc-canvas', 'aria-label': 'parallel coordinates of the runs' });
    this.tip = h('div', { class: 'hp-tip', hidden: true });
    this.el = h('div', { class: 'pc' }, this.canvas, this.tip);
    this.rows = [];
    this.axes = [];
    this.brushes = [];
    this.drag = null;
    this.hover = -1;
    this.tc = LIGHT;
    this.canvas.addEventListener('mousedown', (e) => this.down(e));
    this.canvas.addEventListener('mousemove', (e) => this.move(e));
    this.canvas.addEventListener('mouseleave', () => { this.hover = -1; this.tip.hidden = true; this.draw(); });
    this.up = (e) => this.release(e);
    addEventListener('mouseup', this.up);
  }

  destroy() {
    removeEventListener('mouseup', this.up);
  }

  set(rows, axes, brushes, colors) {
    this.rows = rows;
    this.axes = axes;
    this.brushes = brushes;
    this.colors = colors;
    this.resize();
  }

  setBrushes(brushes) {
    this.brushes = brushes;
    this.draw();
  }

  resize() {
    const w = Math.max(320, this.el.clientWidth || 900), hgt = 380, dpr = devicePixelRatio || 1;
    this.w = w;
    this.h = hgt;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(hgt * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${hgt}px`;
    this.ctx = this.canvas.getContext('2d');
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.draw();
  }

  ax(i) {
    const n = this.axes.length;
    return n === 1 ? this.w / 2 : PAD.left + (i * (this.w - PAD.left - PAD.right)) / (n - 1);
  }

  ay(u) {
    return this.h - PAD.bottom - u * (this.h - PAD.top - PAD.bottom);
  }

  draw() {
    const { ctx, axes, rows } = this;
    if (!ctx) return;
    ctx.clearRect(0, 0, this.w, this.h);
    const sel = selected(axes, this.brushes, rows.length);
    const any = this.brushes.some((b) => axes.some((a) => a.key === b.key));
    this.sel = sel; // the selection the view shows too: computed here, once a draw
    // Lines: the unselected ones in one faint path, the selected (or all,
    // without a brush) in one path per colour.
    const paths = new Map();
    const faint = new Path2D();
    for (let r = 0; r < rows.length; r++) {
      const p = any && !sel.mask[r] ? faint : (paths.get(this.colors[r]) || paths.set(this.colors[r], new Path2D()).get(this.colors[r]));
      this.line(p, r);
    }
    ctx.lineWidth = 1;
    ctx.strokeStyle = this.tc.muted;
    ctx.globalAlpha = 0.18;
    ctx.stroke(faint);
    ctx.globalAlpha = 1;
    for (const [c, p] of paths) {
      ctx.strokeStyle = fade(c, rows.length > 200 ? 0.35 : 0.7);
      ctx.stroke(p);
    }
    if (this.hover >= 0) {
      const p = new Path2D();
      this.line(p, this.hover);
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = this.tc.text;
      ctx.stroke(p);
    }
    // Axes, ticks, brushes, names.
    ctx.font = '11px system-ui, sans-serif';
    axes.forEach((a, i) => {
      const x = this.ax(i);
      ctx.strokeStyle = this.tc.axis;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x + 0.5, this.ay(0));
      ctx.lineTo(x + 0.5, this.ay(1));
      ctx.stroke();
      ctx.fillStyle = this.tc.axis;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      const tk = ticks(a);
      const every = Math.max(1, Math.ceil(tk.length / 12));
      tk.forEach((t, k) => {
        if (k % every) return;
        const y = this.ay(t.u);
        ctx.fillRect(x - 3, Math.round(y), 3, 1);
        ctx.fillText(clip(t.label, 12), x - 5, y);
      });
      const b = this.brushes.find((bb) => bb.key === a.key);
      const u = b && brushUnits(a, b);
      if (u) {
        const y0 = this.ay(u[1]), y1 = this.ay(u[0]);
        ctx.fillStyle = ctx.strokeStyle = this.tc.accent;
        ctx.globalAlpha = 0.18;
        ctx.fillRect(x - 7, y0 - 2, 14, y1 - y0 + 4);
        ctx.globalAlpha = 1;
        ctx.strokeRect(x - 7 + 0.5, y0 - 2 + 0.5, 14, y1 - y0 + 4);
      }
      ctx.fillStyle = this.tc.text;
      ctx.textAlign = i === 0 ? 'left' : i === axes.length - 1 && axes.length > 1 ? 'right' : 'center';
      ctx.textBaseline = 'alphabetic';
      const lx = i === 0 ? Math.max(4, x - 30) : i === axes.length - 1 && axes.length > 1 ? Math.min(this.w - 4, x + 30) : x;
      ctx.fillText(clip(keyLabel(a.key) + (a.log ? ' (log)' : ''), 34), lx, 16);
    });
    return sel;
  }

  line(p, r) {
    let pen = false;
    this.axes.forEach((a, i) => {
      const u = a.pos[r];
      if (u !== u) { pen = false; return; }
      const x = this.ax(i), y = this.ay(u);
      if (pen) p.lineTo(x, y);
      else p.moveTo(x, y);
      pen = true;
    });
  }

  at(e) {
    const b = this.canvas.getBoundingClientRect();
    return [e.clientX - b.left, e.clientY - b.top];
  }

  axisNear(x) {
    let best = -1, d = 14;
    this.axes.forEach((_, i) => { const dd = Math.abs(this.ax(i) - x); if (dd < d) { d = dd; best = i; } });
    return best;
  }

  u(y) {
    return Math.min(1, Math.max(0, (this.h - PAD.bottom - y) / (this.h - PAD.top - PAD.bottom)));
  }

  down(e) {
    if (e.button !== 0) return;
    const [x, y] = this.at(e);
    const i = this.axisNear(x);
    if (i < 0) {
      if (this.hover >= 0) this.onopen?.(this.rows[this.hover]);
      return;
    }
    e.preventDefault();
    this.drag = { axis: this.axes[i], u0: this.u(y), moved: false };
  }

  move(e) {
    const [x, y] = this.at(e);
    if (this.drag) {
      const t0 = performance.now();
      const d = this.drag, u1 = this.u(y);
      if (Math.abs(u1 - d.u0) * (this.h - PAD.top - PAD.bottom) < 3 && !d.moved) return;
      d.moved = true;
      const b = brushFromUnits(d.axis, d.u0, u1);
      this.brushes = [...this.brushes.filter((bb) => bb.key !== d.axis.key), b];
      this.draw();
      this.onbrush(this.brushes, false, t0);
      return;
    }
    this.canvas.style.cursor = this.axisNear(x) >= 0 ? 'ns-resize' : 'default';
    const r = this.nearest(x, y);
    if (r !== this.hover) {
      this.hover = r;
      this.draw();
    }
    if (r < 0) { this.tip.hidden = true; return; }
    showTip(this.tip, x, y, this.rows[r].name || this.rows[r].id, this.axes.map((a) => `${keyLabel(a.key)} = ${a.kind === 'cat' ? a.values[r] ?? '–' : fmtNum(a.values[r], 4)}`));
  }

  release() {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    if (!d.moved) this.brushes = this.brushes.filter((bb) => bb.key !== d.axis.key); // a click on an axis clears its brush
    this.draw();
    this.onbrush(this.brushes, true);
  }

  // nearest(x, y): the run whose line passes within 5 px of the point, between the two axes around it.
  nearest(x, y) {
    const n = this.axes.length;
    if (n < 2) return -1;
    let i = 0;
    while (i < n - 2 && this.ax(i + 1) < x) i++;
    const x0 = this.ax(i), x1 = this.ax(i + 1);
    if (x < x0 - 4 || x > x1 + 4) return -1;
    const t = Math.min(1, Math.max(0, (x - x0) / (x1 - x0)));
    const a = this.axes[i].pos, b = this.axes[i + 1].pos;
    let best = -1, d = 5;
    for (let r = 0; r < this.rows.length; r++) {
      if (a[r] !== a[r] || b[r] !== b[r]) continue;
      const dd = Math.abs(this.ay(a[r] + t * (b[r] - a[r])) - y);
      if (dd < d || (dd === d && this.sel?.mask[r])) { d = dd; best = r; }
    }
    return best;
  }
}

/** showTip(tip, x, y, name, lines): the hover box: the run's name and values, as text. */
export function showTip(tip, x, y, name, lines) {
  tip.replaceChildren(h('strong', null, name), ...lines.map((l) => h('div', null, l)));
  tip.hidden = false;
  tip.style.left = `${x + 14}px`;
  tip.style.top = `${y + 10}px`;
}

function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
