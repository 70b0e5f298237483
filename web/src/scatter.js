// A scatter of runs: one metric against one config value (any two keys),
// on a <canvas>, the axes from parcoords.js's makeAxis (log or linear,
// categorical for strings), a colour per group, the brushed runs drawn
// over the others. Hover names the nearest run, as text.

import { h } from './dom.js';
import { fmtNum } from './format.js';
import { ticks, showTip, LIGHT, keyLabel } from './parcoords.js';

const PAD = { top: 14, bottom: 42, left: 64, right: 16 };

/** nearestPoint(px, py, x, y, r): the index of the point (px[i], py[i]) nearest (x, y) within r pixels, else -1. */
export function nearestPoint(px, py, x, y, r = 8) {
  let best = -1, d = r * r;
  for (let i = 0; i < px.length; i++) {
    const dx = px[i] - x, dy = py[i] - y, dd = dx * dx + dy * dy;
    if (dd <= d) { d = dd; best = i; }
  }
  return best;
}

/** Scatter: set(rows, xAxis, yAxis, colors, mask) draws; onopen(row) on a click on a point. */
export class Scatter {
  constructor({ onopen }) {
    this.onopen = onopen;
    this.canvas = h('canvas', { class: 'sc-canvas', 'aria-label': 'scatter of the runs' });
    this.tip = h('div', { class: 'hp-tip', hidden: true });
    this.el = h('div', { class: 'sc' }, this.canvas, this.tip);
    this.hover = -1;
    this.tc = LIGHT;
    this.canvas.addEventListener('mousemove', (e) => this.move(e));
    this.canvas.addEventListener('mouseleave', () => { this.hover = -1; this.tip.hidden = true; this.draw(); });
    this.canvas.addEventListener('click', () => { if (this.hover >= 0) this.onopen?.(this.rows[this.hover]); });
  }

  set(rows, xa, ya, colors, mask, any) {
    Object.assign(this, { rows, xa, ya, colors, mask, any });
    const w = Math.max(320, this.el.clientWidth || 700), hgt = 380, dpr = devicePixelRatio || 1;
    if (w !== this.w) {
      this.w = w;
      this.h = hgt;
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${hgt}px`;
      this.ctx = this.canvas.getContext('2d');
      this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    this.place();
    this.draw();
  }

  setMask(mask, any) {
    this.mask = mask;
    this.any = any;
    this.draw();
  }

  px(u) { return PAD.left + u * (this.w - PAD.left - PAD.right); }
  py(u) { return this.h - PAD.bottom - u * (this.h - PAD.top - PAD.bottom); }

  // place(): each run's point in pixels (NaN without both values), kept for drawing and hover.
  place() {
    const n = this.rows.length;
    this.X = new Float64Array(n);
    this.Y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const u = this.xa.pos[i], v = this.ya.pos[i];
      this.X[i] = u === u && v === v ? this.px(u) : NaN;
      this.Y[i] = u === u && v === v ? this.py(v) : NaN;
    }
  }

  draw() {
    const { ctx, rows } = this;
    if (!ctx || !rows) return;
    ctx.clearRect(0, 0, this.w, this.h);
    ctx.font = '11px system-ui, sans-serif';
    // Grid and ticks.
    ctx.strokeStyle = this.tc.grid;
    ctx.fillStyle = this.tc.axis;
    ctx.lineWidth = 1;
    const xt = ticks(this.xa, 6), yt = ticks(this.ya, 5);
    const ex = Math.max(1, Math.ceil(xt.length / 10)), ey = Math.max(1, Math.ceil(yt.length / 10));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    xt.forEach((t, k) => {
      const x = Math.round(this.px(t.u)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, PAD.top); ctx.lineTo(x, this.h - PAD.bottom); ctx.stroke();
      if (!(k % ex)) ctx.fillText(t.label.length > 14 ? `${t.label.slice(0, 13)}…` : t.label, x, this.h - PAD.bottom + 4);
    });
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    yt.forEach((t, k) => {
      const y = Math.round(this.py(t.u)) + 0.5;
      ctx.beginPath(); ctx.moveTo(PAD.left, y); ctx.lineTo(this.w - PAD.right, y); ctx.stroke();
      if (!(k % ey)) ctx.fillText(t.label.length > 10 ? `${t.label.slice(0, 9)}…` : t.label, PAD.left - 5, y);
    });
    ctx.fillStyle = this.tc.text;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(keyLabel(this.xa.key) + (this.xa.log ? ' (log)' : ''), PAD.left + (this.w - PAD.left - PAD.right) / 2, this.h - 2);
    // Points: faint ones first, then the selected (every one without a brush), a path per colour.
    const faint = new Path2D(), paths = new Map();
    for (let i = 0; i < rows.length; i++) {
      const x = this.X[i];
      if (x !== x) continue;
      const p = this.any && !this.mask[i] ? faint : (paths.get(this.colors[i]) || paths.set(this.colors[i], new Path2D()).get(this.colors[i]));
      p.moveTo(x + 3.5, this.Y[i]);
      p.arc(x, this.Y[i], 3.5, 0, 2 * Math.PI);
    }
    ctx.fillStyle = this.tc.muted;
    ctx.globalAlpha = 0.25;
    ctx.fill(faint);
    ctx.globalAlpha = 1;
    for (const [c, p] of paths) {
      ctx.fillStyle = c;
      ctx.globalAlpha = 0.8;
      ctx.fill(p);
    }
    ctx.globalAlpha = 1;
    if (this.hover >= 0) {
      ctx.strokeStyle = this.tc.text;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(this.X[this.hover], this.Y[this.hover], 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  move(e) {
    const b = this.canvas.getBoundingClientRect();
    const x = e.clientX - b.left, y = e.clientY - b.top;
    const i = nearestPoint(this.X, this.Y, x, y);
    this.canvas.style.cursor = i >= 0 ? 'pointer' : 'default';
    if (i !== this.hover) {
      this.hover = i;
      this.draw();
    }
    if (i < 0) { this.tip.hidden = true; return; }
    const r = this.rows[i], v = (a) => (a.kind === 'cat' ? a.values[i] : fmtNum(a.values[i], 5));
    showTip(this.tip, x, y, r.name || r.id, [`${keyLabel(this.xa.key)} = ${v(this.xa)}`, `${keyLabel(this.ya.key)} = ${v(this.ya)}`, r.group ? `group ${r.group}` : null].filter(Boolean));
  }
}
