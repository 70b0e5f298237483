// One chart: some curves (a key of a run each) drawn with uPlot, in a card
// with its title, log-y, CSV and PNG buttons, a hover tooltip with every
// curve's value at the cursor, and the legend. What all the charts of a
// view share — x-axis, smoothing, zoom, fetching — is the panel's
// (panel.js).

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, replace, text } from './dom.js';
import { ema, drawable, join, breakAt, nearest, magnitude, yScales, logRange, logSplits, MIN_SMOOTH_POINTS } from './chartdata.js';
import { isScheduleKey } from './groups.js';
import { xSeriesKey } from './chartstate.js';
import './charts.css';
import { fade } from './palette.js';
import { themeColors, axisStyle } from './theme.js';
import { fmtNum, fmtStep, fmtTick, fmtTime } from './format.js';

/** Tick increments for durations in seconds, so that time axes tick at 30s, 5m, 1h… */
const TIME_INCRS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
  7200, 10800, 21600, 43200, 86400, 172800, 432000, 864000, 1728000, 4320000, 8640000];

/** MAX_TIP_ROWS: the most curves a tooltip lists: the ones nearest the cursor. */
export const MAX_TIP_ROWS = 8;

/** fmtX(axis, v): an x value as the tooltip says it. */
export function fmtX(axis, v) {
  const key = xSeriesKey(axis);
  if (key) return `${key} ${fmtTick(Number(v.toPrecision(6)))}`;
  if (axis === 'step') return `step ${Math.round(v).toLocaleString('en-US')}`;
  if (axis === 'time') return fmtTime(v);
  return `${axis === 'active' ? 'active' : 'wallclock'} ${fmtTick(Number(v.toPrecision(4)))}`;
}

export class Chart {
  /**
   * spec: {id, title, lines: [{id, run, key, label, color, dash, width}], legend: bool, height}
   * A line's label may change later (names arrive after ids): setLabel().
   */
  constructor(panel, spec) {
    this.panel = panel;
    this.spec = spec;
    this.data = new Map(); // line id → parsed series (chartdata.parseSeries)
    this.u = null;
    this.shape = '';
    this.logY = panel.state.logy.has(spec.id);
    this.drawn = false;
    this.curves = []; // per drawn line: {line, raw, smooth}
    this.logBtn = h('button', { class: ['btn-ghost', this.logY && 'on'], title: 'logarithmic y-axis', onclick: () => this.toggleLog() }, 'log y');
    this.info = h('span', { class: 'chart-info' });
    this.plot = h('div', { class: 'chart-plot', style: { height: `${spec.height || 220}px` } });
    this.tip = h('div', { class: 'chart-tip', hidden: true });
    this.legend = h('div', { class: 'chart-legend' });
    // Schedules (learning rate, momentum…) are never smoothed; other
    // charts follow the panel's slider unless given their own smoothing.
    this.schedule = spec.lines.length > 0 && spec.lines.every((l) => isScheduleKey(l.key));
    this.smoothSel = this.schedule
      ? h('span', { class: 'chart-nosmooth', title: 'a schedule (learning rate, momentum, weight decay…): never smoothed' }, 'not smoothed')
      : h('select', { class: 'chart-smooth', 'aria-label': 'smoothing of this chart', title: 'smoothing of this chart: the panel’s slider, or its own',
        onchange: (e) => this.panel.setSmoothFor(spec.id, e.target.value === '' ? null : Number(e.target.value)) },
      [['', 'smooth: panel'], ['0', 'smooth: off'], ...['0.6', '0.8', '0.9', '0.95', '0.99'].map((v) => [v, `smooth: ${v}`])]
        .map(([v, label]) => h('option', { value: v }, label)));
    this.syncSmoothSel();
    this.el = h('section', { class: 'chart', dataset: { chart: spec.id } },
      h('header', { class: 'chart-head' },
        h('h3', { class: 'chart-title', title: spec.title }, spec.title),
        this.info,
        h('span', { class: 'chart-tools' },
          this.smoothSel,
          this.logBtn,
          h('button', { class: 'btn-ghost', title: 'download the points of this chart, in the visible range, as CSV', onclick: () => this.panel.downloadCSV(this) }, 'CSV'),
          h('button', { class: 'btn-ghost', title: 'download this chart as a PNG image', onclick: () => this.downloadPNG() }, 'PNG'))),
      h('div', { class: 'chart-body' }, this.plot, this.tip),
      this.legend);
    this.renderLegend();
    // A new theme: build the chart again in its colours.
    this.onTheme = () => { this.shape = ''; if (this.u) this.render(); };
    addEventListener('runlog-theme', this.onTheme);
  }

  setLabel(lineId, label) {
    const line = this.spec.lines.find((l) => l.id === lineId);
    if (line && line.label !== label) {
      line.label = label;
      this.renderLegend();
    }
  }

  /** syncSmoothSel(): the chart's smoothing menu shows its override, adding the value if the address gave another. */
  syncSmoothSel() {
    if (this.schedule) return;
    const own = this.panel.state.smoothBy.get(this.spec.id);
    const v = own === undefined ? '' : String(own);
    if (![...this.smoothSel.options].some((o) => o.value === v)) this.smoothSel.append(h('option', { value: v }, `smooth: ${v}`));
    this.smoothSel.value = v;
    this.smoothSel.classList.toggle('on', v !== '');
  }

  toggleLog() {
    this.logY = !this.logY;
    this.logBtn.classList.toggle('on', this.logY);
    this.panel.setLogY(this.spec.id, this.logY);
    this.render();
  }

  /** render(): draw what data holds, building the uPlot chart again only when its shape changed. */
  render() {
    const axis = this.panel.state.x;
    const smooth = this.panel.smoothOf(this.spec.id);
    this.colors = themeColors();
    const timeAxis = axis !== 'step';
    const curves = [], pieces = [], faint = [], main = [];
    const runs = new Set(this.spec.lines.map((l) => l.run)).size;
    // The raw curves behind the smoothed ones: fainter the more runs overlap.
    const faintAlpha = Math.max(0.07, Math.min(0.25, 0.3 / Math.sqrt(runs)));
    let shown = 0, total = 0, col = 1;
    // Keys whose values differ by 10× or more get y-axes of their own.
    const mags = new Map();
    for (const line of this.spec.lines) {
      const raw = this.data.get(line.id);
      if (raw && raw.x.length) mags.set(line.key, Math.max(mags.get(line.key) || 0, magnitude(raw.y)));
    }
    const scaleOf = yScales([...mags]);
    this.scales = [...new Set(scaleOf.values())];
    if (!this.scales.length) this.scales = ['y'];
    for (const line of this.spec.lines) {
      const raw = this.data.get(line.id);
      if (!raw || !raw.x.length) continue;
      shown += raw.x.length;
      total += raw.total;
      const scale = scaleOf.get(line.key) || 'y';
      const smoothed = smooth > 0 && !isScheduleKey(line.key) && raw.total >= MIN_SMOOTH_POINTS ? ema(raw, smooth, timeAxis) : null;
      const markers = raw.x.length <= 60;
      const ys = [drawable(raw.y, this.logY)];
      const dash = line.dash || undefined;
      if (smoothed) {
        faint.push([col++, { label: `${line.label} (raw)`, scale, stroke: fade(line.color, faintAlpha), width: 1, dash, points: { show: false }, spanGaps: false }]);
        ys.push(drawable(smoothed, this.logY));
      }
      main.push([col++, {
        label: line.label, scale, stroke: line.color, width: line.width || 1.6, dash, spanGaps: false,
        points: markers ? { show: true, size: 5, width: 1, stroke: line.color, fill: this.colors.bg } : { show: false },
      }]);
      curves.push({ line, raw, smooth: smoothed, scale });
      pieces.push(breakAt(raw.x, ys, raw.resumes));
    }
    // Every raw curve first, then the lines over them (uPlot draws in order).
    const order = [...faint, ...main];
    const series = [{}, ...order.map(([, s]) => s)];
    this.curves = curves;
    this.el.dataset.smooth = String(curves.some((c) => c.smooth) ? smooth : 0);
    this.el.dataset.scales = String(this.scales.length);
    text(this.info, total ? (shown < total ? `${fmtStep(shown)} of ${fmtStep(total)} points` : `${fmtStep(total)} points`) : '');
    this.renderLegend();
    if (!curves.length) {
      if (this.u) { this.u.destroy(); this.u = null; this.shape = ''; }
      replace(this.plot, h('p', { class: 'chart-empty' }, this.data.size ? 'no points in this range' : 'loading…'));
      this.panel.chartDrawn(this);
      return;
    }
    const joined = join(pieces);
    const data = [joined[0], ...order.map(([c]) => joined[c])];
    const shape = JSON.stringify([axis, this.logY, series.slice(1).map((s) => [s.scale, s.stroke, s.width, s.dash, s.points.show])]);
    if (this.u && shape === this.shape) {
      this.u.setData(data, true);
    } else {
      if (this.u) this.u.destroy();
      this.plot.replaceChildren();
      this.shape = shape;
      this.u = new uPlot(this.options(series), data, this.plot);
    }
  }

  options(series) {
    const panel = this.panel;
    const axis = panel.state.x;
    const width = Math.max(200, this.plot.clientWidth || 400);
    const AXIS = axisStyle(this.colors);
    const xAxis = { ...AXIS, space: axis === 'time' ? 90 : 60 };
    if (xSeriesKey(axis)) xAxis.values = (u, splits) => splits.map((v) => fmtAxisNum(v, null, false));
    else if (axis === 'step') xAxis.values = (u, splits) => splits.map(fmtStep);
    else if (axis !== 'time') {
      xAxis.incrs = TIME_INCRS;
      xAxis.values = (u, splits) => splits.map((v) => fmtTick(Number(v.toPrecision(6))));
    }
    return {
      width,
      height: this.spec.height || 220,
      pxAlign: 0,
      legend: { show: false },
      padding: [10, 12, 0, 0],
      cursor: {
        sync: { key: panel.syncKey, setSeries: false, filters: { pub: (type) => type === 'mousemove' || type === 'mouseleave' || type === 'mouseenter' } },
        drag: { x: true, y: false, setScale: false },
        y: false,
        points: { show: false },
        bind: { dblclick: () => (e) => { if (e.button === 0) panel.setZoom(null); return null; } },
      },
      select: { show: true },
      scales: {
        x: {
          time: axis === 'time',
          range: (u, min, max) => {
            const z = panel.state.zoom;
            if (z) return [z[0], z[1]];
            if (min === max) return [min - 1, max + 1];
            return [min, max];
          },
        },
        // Both rescale to the data in the visible x-range when zoomed (uPlot
        // ranges auto scales over the window); the log one is not snapped
        // to whole decades, which would flatten a zoomed-in curve.
        ...Object.fromEntries(this.scales.map((sc) => [sc, this.logY
          ? { distr: 3, log: 10, range: (u, min, max) => logRange(min, max) }
          : { range: (u, min, max) => uPlot.rangeNum(min, max, 0.08, true) }])),
      },
      axes: [
        xAxis,
        ...this.scales.map((sc, i) => ({
          ...AXIS, scale: sc, side: i % 2 ? 1 : 3,
          grid: i ? { show: false } : AXIS.grid,
          // A second axis takes the colour of its first curve, to say whose it is.
          stroke: i ? series.find((s) => s.scale === sc && !/ \(raw\)$/.test(s.label))?.stroke || AXIS.stroke : AXIS.stroke,
          size: (u, values) => 14 + 6.6 * Math.max(3, ...(values || []).map((v) => String(v).length)),
          values: (u, splits, ai, space, incr) => splits.map((v) => fmtAxisNum(v, incr, this.logY)),
          ...(this.logY ? { splits: (u) => logSplits(u.scales[sc].min, u.scales[sc].max), filter: (u, splits) => splits } : {}),
        })),
      ],
      series,
      hooks: {
        setSelect: [(u) => {
          const { left, width: w } = u.select;
          if (w < 5) return;
          const a = u.posToVal(left, 'x'), b = u.posToVal(left + w, 'x');
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          panel.setZoom([a, b]);
        }],
        setCursor: [(u) => this.hover(u)],
        // The y-ranges drawn, for the tests (data-y="min,max", data-y2=…).
        setScale: [(u, key) => { if (key !== 'x' && u.scales[key]) this.el.dataset[key] = `${u.scales[key].min},${u.scales[key].max}`; }],
        draw: [(u) => { this.drawMarks(u); this.drawn = true; panel.chartDrawn(this); }],
      },
    };
  }

  /**
   * drawMarks: where a curve first became NaN or infinite, a dotted line with a cross at the top; where
   * runs resumed (wallclock and time axes, where the curves break), a dashed grey line, labelled.
   */
  drawMarks(u) {
    const ctx = u.ctx;
    // vline(x, color, dash): a vertical line across the plot at x, saved state left for the caller to
    // draw more and restore; the pixel x, or null when x is outside the plot.
    const vline = (x, color, dash) => {
      const px = u.valToPos(x, 'x', true);
      if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) return null;
      ctx.save();
      ctx.strokeStyle = ctx.fillStyle = color;
      ctx.lineWidth = devicePixelRatio;
      ctx.setLineDash([dash * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(px, u.bbox.top);
      ctx.lineTo(px, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.setLineDash([]);
      return px;
    };
    for (const { line, raw } of this.curves) {
      if (raw.firstBad < 0) continue;
      const px = vline(raw.x[raw.firstBad], line.color, 2);
      if (px === null) continue;
      const s = 4 * devicePixelRatio, t = u.bbox.top + s;
      ctx.beginPath();
      ctx.moveTo(px - s, t - s); ctx.lineTo(px + s, t + s);
      ctx.moveTo(px + s, t - s); ctx.lineTo(px - s, t + s);
      ctx.stroke();
      ctx.restore();
    }
    const resumes = [...new Set(this.curves.flatMap((c) => c.raw.resumes))];
    this.el.dataset.resumes = String(resumes.length);
    for (const r of resumes) {
      const px = vline(r, this.colors.muted || '#999', 3);
      if (px === null) continue;
      ctx.font = `${10 * devicePixelRatio}px sans-serif`;
      ctx.fillText('resumed', px + 3 * devicePixelRatio, u.bbox.top + 10 * devicePixelRatio);
      ctx.restore();
    }
  }

  /** hover: every curve's value at the cursor's x (each at its own nearest point). */
  hover(u) {
    const { left, top } = u.cursor;
    if (left === undefined || left < 0 || !this.curves.length) {
      this.tip.hidden = true;
      return;
    }
    const xv = u.posToVal(left, 'x');
    const axis = this.panel.state.x;
    // Of many curves, the tooltip lists those nearest the cursor (in
    // pixels, each on its own y-axis), not a list that covers the chart.
    let at = [];
    for (const c of this.curves) {
      const i = nearest(c.raw.x, xv);
      if (i < 0) continue;
      const val = c.smooth ? c.smooth[i] : c.raw.y[i];
      const py = u.valToPos(val, c.scale);
      at.push({ c, i, val, d: Number.isFinite(py) && top !== undefined ? Math.abs(py - top) : Infinity });
    }
    const all = at.length;
    if (all > MAX_TIP_ROWS) at = at.sort((a, b) => a.d - b.d).slice(0, MAX_TIP_ROWS);
    const rows = [];
    for (const { c: { line, raw, smooth }, i, val } of at) {
      rows.push(h('div', { class: 'tip-row' },
        h('i', { class: 'swatch', style: { background: line.color } }),
        h('span', { class: 'tip-label' }, line.label),
        h('b', null, fmtNum(val, 5)),
        smooth ? h('span', { class: 'muted' }, ` raw ${fmtNum(raw.y[i], 4)}`) : null,
        axis !== 'step' && raw.steps[i] !== undefined ? h('span', { class: 'muted' }, ` · step ${raw.steps[i]}`) : null));
    }
    if (all > rows.length) rows.push(h('div', { class: 'tip-more muted' }, `the ${rows.length} nearest of ${all} lines`));
    replace(this.tip, h('div', { class: 'tip-x' }, fmtX(axis, xv)), rows);
    this.tip.hidden = false;
    const over = u.over;
    const ox = over.offsetLeft, oy = over.offsetTop;
    const tw = this.tip.offsetWidth, bw = this.plot.clientWidth;
    let x = ox + left + 14;
    if (x + tw > bw) x = ox + left - tw - 14;
    this.tip.style.transform = `translate(${Math.max(0, x)}px, ${oy + Math.min(top ?? 0, Math.max(0, over.clientHeight - this.tip.offsetHeight))}px)`;
  }

  renderLegend() {
    if (this.spec.legend === false) {
      // A chart of one curve names it in its title: its legend only says where it became NaN or infinite.
      replace(this.legend, this.spec.lines.map((line) => {
        const raw = this.data.get(line.id);
        if (!raw || raw.firstBad < 0) return null;
        return h('span', { class: 'legend-item bad' }, `✗ ${Number.isNaN(raw.y[raw.firstBad]) ? 'NaN' : 'infinite'} from step ${raw.steps[raw.firstBad]}${this.spec.lines.length > 1 ? ` (${line.label})` : ''}`);
      }));
      return;
    }
    if (this.spec.legend === 'keys') {
      // Colours are runs (the view's legend); here, the line style of each key.
      const keys = [...new Map(this.spec.lines.map((l) => [l.key, l])).values()];
      replace(this.legend, keys.map((l, i) => h('span', { class: 'legend-item' },
        h('i', { class: ['swatch', i > 0 && 'dashed'], style: { '--c': 'var(--chart-axis)' } }), l.key)));
      return;
    }
    const items = this.spec.lines.map((line) => {
      const raw = this.data.get(line.id);
      const bad = raw && raw.firstBad >= 0 ? ` (${Number.isNaN(raw.y[raw.firstBad]) ? 'NaN' : 'Inf'} at step ${raw.steps[raw.firstBad]})` : '';
      const empty = raw && !raw.x.length;
      return h('span', { class: ['legend-item', empty && 'muted'] },
        h('i', { class: ['swatch', line.dash && 'dashed'], style: { '--c': line.color } }),
        `${line.label}${bad}${empty ? ' (no points)' : ''}`);
    });
    const smooth = this.panel.smoothOf(this.spec.id);
    const smoothing = smooth > 0 && this.curves.some((c) => c.smooth);
    replace(this.legend, items, smoothing ? h('span', { class: 'legend-item muted' }, `faint: raw · lines: EMA ${smooth}`) : null);
  }

  resize() {
    if (this.u) this.u.setSize({ width: Math.max(200, this.plot.clientWidth), height: this.spec.height || 220 });
  }

  /** downloadPNG: the chart as drawn, with its title and legend, on the theme's card colour. */
  downloadPNG() {
    if (!this.u) return;
    const src = this.u.ctx.canvas;
    const r = devicePixelRatio || 1;
    const lines = this.spec.lines.filter((l) => this.data.get(l.id)?.x.length);
    const rowH = 18 * r, head = 28 * r, cols = Math.max(1, Math.floor(src.width / (220 * r)));
    const legendH = Math.ceil(lines.length / cols) * rowH + 8 * r;
    const c = document.createElement('canvas');
    c.width = src.width + 24 * r;
    c.height = src.height + head + legendH + 12 * r;
    const ctx = c.getContext('2d');
    const tc = themeColors();
    ctx.fillStyle = tc.bg;
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = tc.text;
    ctx.font = `600 ${14 * r}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    ctx.fillText(this.spec.title, 12 * r, head / 2 + 2 * r);
    ctx.drawImage(src, 12 * r, head);
    ctx.font = `${12 * r}px system-ui, sans-serif`;
    lines.forEach((line, i) => {
      const x = 12 * r + (i % cols) * 220 * r, y = head + src.height + 8 * r + Math.floor(i / cols) * rowH + rowH / 2;
      ctx.strokeStyle = line.color;
      ctx.lineWidth = 2 * r;
      ctx.setLineDash(line.dash ? line.dash.map((d) => d * r) : []);
      ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 20 * r, y); ctx.stroke();
      ctx.fillStyle = tc.text;
      ctx.fillText(line.label.length > 32 ? `${line.label.slice(0, 31)}…` : line.label, x + 26 * r, y);
    });
    c.toBlob((blob) => this.panel.save(`${this.panel.filename(this)}.png`, blob), 'image/png');
  }

  destroy() {
    removeEventListener('runlog-theme', this.onTheme);
    if (this.u) this.u.destroy();
    this.u = null;
    this.el.remove();
  }
}

/** fmtAxisNum(v, incr): a y tick, with as many decimals as the tick spacing needs. */
function fmtAxisNum(v, incr, log) {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (log && a >= 1e-3 && a < 1e4) return String(Number(v.toPrecision(3)));
  if (log || a < 1e-3 || a >= 1e7 || (incr && incr < 1e-4)) {
    return v.toExponential(log ? 0 : 1).replace(/\.0e/, 'e').replace('e+', 'e');
  }
  const d = incr ? Math.min(8, decimals(incr)) : 2;
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** decimals(0.0025) = 4: the decimals a tick spacing needs to be written exactly. */
function decimals(x) {
  const s = String(Number(x.toPrecision(4)));
  const [m, e] = s.split('e');
  const frac = (m.split('.')[1] || '').length;
  return Math.max(0, frac - (e ? Number(e) : 0));
}
