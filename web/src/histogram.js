// A histogram key over the steps, as TensorBoard's distributions view shows
// it: a heatmap on a canvas, a column per logged step (at most as many as
// the canvas has pixels to spare: GET /api/v1/runs/{id}/histograms spreads
// them), each column its histogram re-binned onto one value axis
// (mediadata.js's heatGrid) and shaded by its own largest bin, with the
// median drawn over it. Colours are the theme's (themeColors(): drawn
// again on `runlog-theme`). Hover, or focus the canvas and use ←/→, for a
// step's numbers; values that were NaN or infinite are counted apart.

import { get, runPath } from './api.js';
import { h, replace } from './dom.js';
import { fmtNum, fmtStep } from './format.js';
import { themeColors } from './theme.js';
import { errorBox } from './widgets.js';
import { heatGrid, quantiles } from './mediadata.js';
import { linearSplits } from './chartdata.js';
import { mediaHead } from './media.js';

const HEIGHT = 220;
const PAD = { left: 58, right: 10, top: 8, bottom: 24 };

/** HistogramPanel: one histogram key of a run. opts: {run, row (the key's row of the media list)} */
export class HistogramPanel {
  constructor({ run, row }) {
    this.run = run;
    this.row = row;
    this.cursor = -1;
    this.canvas = h('canvas', {
      class: 'hist-canvas', tabindex: '0', role: 'img',
      'aria-label': `${row.key}: histograms over the steps; ← and → step through them`,
      onmousemove: (e) => this.hover(e), onmouseleave: () => this.setCursor(-1),
      onkeydown: (e) => this.key(e), onblur: () => this.setCursor(-1),
    });
    this.tip = h('div', { class: 'chart-tip hist-tip', hidden: true, 'aria-live': 'polite' }); // what ←/→ on the canvas says
    this.note = h('span', { class: 'muted small hist-note' });
    this.body = h('div', { class: 'chart-body hist-body' }, this.canvas, this.tip);
    this.el = h('section', { class: ['chart', 'media-panel', 'media-histogram'], dataset: { key: row.key, kind: 'histogram' } },
      mediaHead(row, this.note), this.body);
    this.resizer = new ResizeObserver(() => { if (this.width() !== this.drawnWidth) this.draw(); });
    this.resizer.observe(this.body);
    this.onTheme = () => this.draw();
    addEventListener('runlog-theme', this.onTheme);
  }

  width() {
    return Math.max(240, Math.floor(this.body.clientWidth || 480));
  }

  async update(row) {
    if (this.answer && row.count === this.row.count && row.last_step === this.row.last_step) return;
    if (this.answer) this.el.querySelector('.media-head').replaceWith(mediaHead(row, this.note));
    this.row = row;
    const gen = (this.gen = (this.gen || 0) + 1);
    let a;
    try {
      // A column every 3 px at most.
      const steps = Math.max(2, Math.min(2000, Math.floor((this.width() - PAD.left - PAD.right) / 3)));
      a = await get(`${runPath(this.run)}/histograms`, { key: row.key, steps });
    } catch (e) {
      if (gen === this.gen) replace(this.body, errorBox(e, `Could not load ${row.key}`));
      return;
    }
    if (gen !== this.gen || this.dead) return;
    this.answer = a;
    const odd = a.histograms.reduce((s, x) => s + (x.nan || 0) + (x.inf || 0) + (x.ninf || 0), 0);
    this.note.textContent = [a.total > a.histograms.length ? `${fmtNum(a.histograms.length)} of ${fmtNum(a.total)} steps shown` : null,
      odd ? `${fmtNum(odd)} NaN/Inf values counted apart` : null].filter(Boolean).join(' · ');
    this.draw();
    performance.mark('runlog:histograms-drawn');
  }

  /** layout(): where things go on the canvas, in CSS pixels. */
  layout() {
    const hs = this.answer?.histograms || [];
    const w = this.width();
    const pw = w - PAD.left - PAD.right, ph = HEIGHT - PAD.top - PAD.bottom;
    const steps = hs.map((x) => x.step);
    const s0 = steps[0], s1 = steps[steps.length - 1];
    const xOf = (s) => (s1 > s0 ? PAD.left + ((s - s0) / (s1 - s0)) * pw : PAD.left + pw / 2);
    // Column c spans halfway to its neighbours.
    const bounds = steps.map((s, c) => {
      const l = c > 0 ? (xOf(steps[c - 1]) + xOf(s)) / 2 : steps.length > 1 ? xOf(s) - (xOf(steps[1]) - xOf(s)) / 2 : PAD.left;
      const r = c < steps.length - 1 ? (xOf(s) + xOf(steps[c + 1])) / 2 : steps.length > 1 ? xOf(s) + (xOf(s) - xOf(steps[c - 1])) / 2 : PAD.left + pw;
      return [Math.max(PAD.left, l), Math.min(PAD.left + pw, r)];
    });
    return { w, pw, ph, steps, xOf, bounds };
  }

  draw() {
    const a = this.answer;
    if (!a || this.dead) return;
    const L = (this.L = this.layout());
    const dpr = devicePixelRatio || 1;
    const c = this.canvas;
    this.drawnWidth = L.w;
    c.width = Math.round(L.w * dpr);
    c.height = Math.round(HEIGHT * dpr);
    c.style.width = `${L.w}px`;
    c.style.height = `${HEIGHT}px`;
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const tc = themeColors();
    ctx.fillStyle = tc.bg;
    ctx.fillRect(0, 0, L.w, HEIGHT);
    ctx.font = '11px system-ui, sans-serif';
    if (!a.histograms.length) {
      ctx.fillStyle = tc.muted;
      ctx.fillText('No histograms logged.', PAD.left, PAD.top + 20);
      return;
    }
    const rows = Math.max(8, Math.min(96, Math.floor(L.ph / 3)));
    const g = (this.grid = heatGrid(a.histograms, rows));
    if (g.lo === null) return;
    const rh = L.ph / rows;
    const yOf = (v) => PAD.top + L.ph - ((v - g.lo) / (g.hi - g.lo)) * L.ph;
    // The heatmap: the accent colour, more opaque where a step's values
    // are denser (a square root, so that thin tails still show).
    // Cells on whole device pixels, edge to edge: translucent cells that
    // overlapped would draw seams.
    const px = (v) => Math.round(v * dpr) / dpr;
    ctx.fillStyle = tc.accent;
    for (let col = 0; col < g.cols; col++) {
      const x0 = px(L.bounds[col][0]), x1 = Math.max(x0 + 1 / dpr, px(L.bounds[col][1]));
      const m = g.colMax[col];
      if (!(m > 0)) continue;
      for (let r = 0; r < rows; r++) {
        const v = g.data[col * rows + r];
        if (!(v > 0)) continue;
        ctx.globalAlpha = 0.08 + 0.92 * Math.sqrt(v / m);
        const y0 = px(PAD.top + L.ph - (r + 1) * rh), y1 = px(PAD.top + L.ph - r * rh);
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
      }
    }
    ctx.globalAlpha = 1;
    // The median over the steps.
    ctx.strokeStyle = tc.text;
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    let started = false;
    a.histograms.forEach((hg, col) => {
      const [q] = quantiles(hg, [0.5]);
      if (!Number.isFinite(q)) { started = false; return; }
      const x = L.xOf(L.steps[col]), y = yOf(q);
      if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      started = true;
    });
    ctx.stroke();
    // Axes: a frame, value ticks on the left, step ticks below.
    ctx.strokeStyle = tc.ticks;
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.left - 0.5, PAD.top - 0.5, L.pw + 1, L.ph + 1);
    ctx.fillStyle = tc.axis;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of linearSplits(g.lo, g.hi, 5)) ctx.fillText(fmtNum(v, 3), PAD.left - 6, yOf(v));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const s0 = L.steps[0], s1 = L.steps[L.steps.length - 1];
    for (const s of s1 > s0 ? linearSplits(s0, s1, Math.max(2, Math.floor(L.pw / 90))).filter(Number.isInteger) : [s0]) {
      const label = fmtStep(s), half = ctx.measureText(label).width / 2;
      ctx.fillText(label, Math.min(L.w - half - 1, Math.max(half, L.xOf(s))), PAD.top + L.ph + 6);
    }
    // The cursor.
    if (this.cursor >= 0 && this.cursor < L.steps.length) {
      const x = Math.round(L.xOf(L.steps[this.cursor])) + 0.5;
      ctx.strokeStyle = tc.text;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(x, PAD.top);
      ctx.lineTo(x, PAD.top + L.ph);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  hover(e) {
    if (!this.L || !this.grid) return;
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const col = this.L.bounds.findIndex(([l, rr]) => x >= l && x < rr);
    this.setCursor(col, y);
  }

  key(e) {
    const n = this.answer?.histograms.length || 0;
    if (!n) return;
    const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const at = this.cursor < 0 ? (moves[e.key] > 0 ? -1 : n) : this.cursor;
    this.setCursor(Math.max(0, Math.min(n - 1, at + moves[e.key])));
  }

  /** setCursor(col, y): the tip for a step (and the bin under y when hovered); -1 hides it. */
  setCursor(col, y) {
    if (col === this.cursor && y === undefined) return;
    this.cursor = col;
    this.draw();
    if (col < 0 || !this.answer) {
      this.tip.hidden = true;
      return;
    }
    const hg = this.answer.histograms[col];
    const g = this.grid, L = this.L;
    const total = g.totals[col];
    const [p5, p50, p95] = quantiles(hg, [0.05, 0.5, 0.95]);
    const lines = [h('div', { class: 'tip-title' }, `step ${fmtNum(hg.step)}`),
      h('div', null, `median ${fmtNum(p50, 4)} · 5–95% ${fmtNum(p5, 3)} … ${fmtNum(p95, 3)}`),
      h('div', null, `${fmtNum(total)} values in ${hg.counts.length} bins, ${fmtNum(hg.edges[0], 4)} … ${fmtNum(hg.edges[hg.edges.length - 1], 4)}`)];
    if (y !== undefined && y >= PAD.top && y <= PAD.top + L.ph) {
      const r = Math.min(g.rows - 1, Math.floor(((PAD.top + L.ph - y) / L.ph) * g.rows));
      const lo = g.lo + (r / g.rows) * (g.hi - g.lo), hi = g.lo + ((r + 1) / g.rows) * (g.hi - g.lo);
      const v = g.data[col * g.rows + r];
      lines.push(h('div', null, `${fmtNum(lo, 3)} … ${fmtNum(hi, 3)}: ${fmtNum(v, 3)}${total > 0 ? ` (${fmtNum((100 * v) / total, 2)}%)` : ''}`));
    }
    const odd = [['NaN', hg.nan], ['+Inf', hg.inf], ['−Inf', hg.ninf]].filter(([, n]) => n > 0);
    if (odd.length) lines.push(h('div', { class: 'warn-text' }, odd.map(([k, n]) => `${k} ${fmtNum(n)}`).join(' · ')));
    replace(this.tip, lines);
    this.tip.hidden = false;
    const x = L.xOf(L.steps[col]);
    const tw = this.tip.offsetWidth || 200;
    const left = x + 12 + tw > L.w ? Math.max(0, x - 12 - tw) : x + 12;
    this.tip.style.transform = `translate(${Math.round(left)}px, ${PAD.top + 4}px)`;
  }

  destroy() {
    this.dead = true;
    this.resizer.disconnect();
    removeEventListener('runlog-theme', this.onTheme);
  }
}
