// Groups of runs in the compare view ("Group by"): a chart per key with,
// per group, the mean of its members and a band around it (±1 std or
// min–max), one colour per group; the legend and the hover list groups —
// with n and how many members diverged — not runs. The server groups and
// aggregates (GET /api/v1/groups) and downsamples the aggregates, so 100
// runs in 10 groups cost what 10 runs do; members are fetched and drawn,
// faint, only on demand.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './bands.css';
import { get, runPath } from './api.js';
import { h, replace, text } from './dom.js';
import { drawable, join, parseSeries, ema, logRange, logSplits, MIN_SMOOTH_POINTS } from './chartdata.js';
import { isScheduleKey } from './groups.js';
import { color, fade } from './palette.js';
import { fmtNum, fmtStep, fmtTick, fmtTime } from './format.js';
import { axisStyle, themeColors } from './theme.js';

export const BAND_KINDS = [['std', 'mean ± 1 std'], ['minmax', 'min – max']];

/** groupOptions(varying, all): the group-by choices: the runs' group, the config keys that vary among them, then the others. */
export function groupOptions(varying, all) {
  const key = (k) => (k.startsWith('config.') ? k : `config.${k}`);
  const out = ['group', ...varying.map(key)];
  for (const k of all.map(key)) if (!out.includes(k)) out.push(k);
  return out;
}

const num = (v) => (typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN);

/** parseGroups(answer): the groups' numbers as numbers ("NaN" → NaN). */
export function parseGroups(a) {
  for (const g of a.groups) {
    for (const s of g.series) {
      s.mean = s.mean.map(num);
      s.lo = s.lo.map(num);
      s.hi = s.hi.map(num);
    }
  }
  return a;
}

/** groupSummary(g): "n = 4 · 1 diverged". */
export function groupSummary(g) {
  return `n = ${g.n}${g.diverged ? ` · ${g.diverged} diverged` : ''}`;
}

function fmtXValue(axis, v) {
  if (axis === 'step') return `step ${fmtStep(Math.round(v))}`;
  if (axis === 'time') return fmtTime(v);
  return `${axis} ${fmtTick(Number(v.toPrecision(4)))}`;
}

/** SMOOTH_CHOICES: a group chart's smoothing menu, as the run charts' (chart.js). */
const SMOOTH_CHOICES = [['', 'smooth: panel'], ['0', 'smooth: off'], ...['0.6', '0.8', '0.9', '0.95', '0.99'].map((v) => [v, `smooth: ${v}`])];

/**
 * GroupPanel: the charts of a grouped compare view.
 * opts: {runs, by, keys, band, members (bool), x, names: Map id → name,
 * state (panel.js's panelState(): zoom, logy, smooth, smoothBy — shared with
 * the run charts' address), onState(state), onDrawn(), onError(e)}
 *
 * A drag zooms every chart to that x-range (double-click: all of it), and
 * each y-axis fits what is in view, log-y too. Each chart has log-y and a
 * smoothing of its own, applied to the mean and the band's edges alike;
 * schedules (learning rate, momentum…) are never smoothed.
 */
export class GroupPanel {
  constructor(opts) {
    this.opts = opts;
    this.state = opts.state || { zoom: null, logy: new Set(), smooth: 0, smoothBy: new Map() };
    this.charts = new Map(); // key → {el, plot, tip, u, logBtn, smoothSel}
    this.legend = h('div', { class: 'group-legend', role: 'list', 'aria-label': 'groups' });
    this.grid = h('div', { class: 'chart-grid wide' });
    for (const key of opts.keys) {
      const plot = h('div', { class: 'chart-plot', style: { height: '260px' } });
      const tip = h('div', { class: 'chart-tip group-tip', hidden: true });
      const c = { plot, tip, u: null };
      c.logBtn = h('button', { class: ['btn-ghost', this.state.logy.has(key) && 'on'], title: 'logarithmic y-axis', onclick: () => this.toggleLog(key) }, 'log y');
      c.smoothSel = isScheduleKey(key)
        ? h('span', { class: 'chart-nosmooth', title: 'a schedule (learning rate, momentum, weight decay…): never smoothed' }, 'not smoothed')
        : h('select', { class: 'chart-smooth', 'aria-label': 'smoothing of this chart', title: 'smoothing of this chart’s means and bands',
          onchange: (e) => this.setSmoothFor(key, e.target.value === '' ? null : Number(e.target.value)) },
        SMOOTH_CHOICES.map(([v, label]) => h('option', { value: v }, label)));
      c.el = h('section', { class: 'chart group-chart', dataset: { chart: key } },
        h('header', { class: 'chart-head' }, h('h3', { class: 'chart-title' }, key), h('span', { class: 'chart-info' }),
          h('span', { class: 'chart-tools' }, c.smoothSel, c.logBtn)),
        h('div', { class: 'chart-body' }, plot, tip));
      this.charts.set(key, c);
      this.syncSmoothSel(key);
      this.grid.appendChild(c.el);
    }
    this.el = h('div', { class: 'group-panel' }, this.legend, this.grid);
    this.resizer = new ResizeObserver(() => {
      for (const c of this.charts.values()) if (c.u) c.u.setSize({ width: Math.max(200, c.plot.clientWidth), height: 260 });
    });
    for (const c of this.charts.values()) this.resizer.observe(c.plot);
    // uPlot cannot read CSS variables: draw again in the new theme's colours.
    this.onTheme = () => { if (this.answer) for (const key of this.opts.keys) this.draw(key, this.answer, this.members); };
    addEventListener('runlog-theme', this.onTheme);
  }

  points() {
    const w = Math.max(300, ...[...this.charts.values()].map((c) => c.plot.clientWidth || 0));
    return Math.ceil(w * (devicePixelRatio || 1));
  }

  async load() {
    const { runs, by, keys, band, x } = this.opts;
    const gen = (this.gen = (this.gen || 0) + 1);
    this.abort?.abort();
    this.abort = new AbortController();
    const signal = this.abort.signal;
    let a;
    try {
      a = parseGroups(await get('/groups', { runs: runs.join(','), by, keys: keys.filter((k) => !k.includes(',')).join(','), key: keys.filter((k) => k.includes(',')), x, points: this.points(), band }, signal));
    } catch (e) {
      if (e.name !== 'AbortError' && gen === this.gen) this.opts.onError?.(e);
      return;
    }
    let members = new Map();
    if (this.opts.members) {
      members = await this.fetchMembers(a, signal).catch((e) => {
        if (e.name !== 'AbortError') this.opts.onError?.(e);
        return new Map();
      });
    }
    if (this.dead || gen !== this.gen) return;
    this.answer = a;
    this.el.dataset.zoom = this.state.zoom ? this.state.zoom.join(',') : '';
    this.members = members;
    this.el.dataset.groups = String(a.groups.length);
    this.renderLegend(a);
    for (const key of keys) this.draw(key, a, members);
    this.opts.onDrawn?.();
  }

  /** fetchMembers(a): run id → key → parsed series, for the members' faint lines. */
  async fetchMembers(a, signal) {
    const { keys, x } = this.opts;
    const ids = a.groups.flatMap((g) => g.members);
    const points = Math.min(1000, this.points());
    const out = new Map();
    await Promise.all(ids.map(async (id) => {
      const res = await get(`${runPath(id)}/series`, { keys: keys.filter((k) => !k.includes(',')).join(','), key: keys.filter((k) => k.includes(',')), x, points }, signal);
      out.set(id, new Map(res.series.map((s) => [s.key, parseSeries(s)])));
    }));
    return out;
  }

  renderLegend(a) {
    replace(this.legend, a.groups.map((g, i) => h('div', { class: 'legend-group', role: 'listitem', dataset: { group: g.label } },
      h('i', { class: 'swatch big band-swatch', style: { '--c': color(i) } }),
      h('span', { class: 'group-label' }, g.label === '' ? '(unset)' : g.label),
      h('span', { class: 'group-n muted' }, `n = ${g.n}`),
      g.diverged ? h('span', { class: 'group-diverged', title: `went NaN or infinite: ${g.diverged_members.map((id) => this.opts.names?.get(id) ?? id).join(', ')}` }, `${g.diverged} diverged`) : null)));
  }

  /** smoothOf(key): a chart's smoothing: its own, else the run charts' slider's; never a schedule's. */
  smoothOf(key) {
    if (isScheduleKey(key)) return 0;
    return this.state.smoothBy.get(key) ?? this.state.smooth;
  }

  syncSmoothSel(key) {
    const sel = this.charts.get(key).smoothSel;
    if (sel.tagName !== 'SELECT') return;
    const own = this.state.smoothBy.get(key);
    const v = own === undefined ? '' : String(own);
    if (![...sel.options].some((o) => o.value === v)) sel.append(h('option', { value: v }, `smooth: ${v}`));
    sel.value = v;
    sel.classList.toggle('on', v !== '');
  }

  setSmoothFor(key, v) {
    if (v === null || v === undefined) this.state.smoothBy.delete(key);
    else this.state.smoothBy.set(key, Math.min(0.99, Math.max(0, v)));
    this.syncSmoothSel(key);
    this.opts.onState?.(this.state);
    if (this.answer) this.draw(key, this.answer, this.members);
  }

  toggleLog(key) {
    const on = !this.state.logy.has(key);
    if (on) this.state.logy.add(key);
    else this.state.logy.delete(key);
    this.charts.get(key).logBtn.classList.toggle('on', on);
    this.opts.onState?.(this.state);
    if (this.answer) this.draw(key, this.answer, this.members);
  }

  /** setZoom([from, to]) or setZoom(null): every chart shows that x-range; the y-axes fit what is in it. */
  setZoom(range) {
    if (range && !(range[0] < range[1])) return;
    this.state.zoom = range;
    this.el.dataset.zoom = range ? range.join(',') : '';
    this.opts.onState?.(this.state);
    for (const c of this.charts.values()) {
      if (!c.u) continue;
      const xs = c.u.data[0];
      c.u.setScale('x', range ? { min: range[0], max: range[1] } : { min: xs[0], max: xs[xs.length - 1] });
    }
  }

  draw(key, a, members) {
    const c = this.charts.get(key);
    const axis = this.opts.x;
    const pieces = [], series = [{}], bands = [], rows = [];
    let col = 1;
    const tc = themeColors();
    const logY = this.state.logy.has(key);
    const alpha = this.smoothOf(key);
    let smoothed = false;
    a.groups.forEach((g, i) => {
      const s = g.series.find((t) => t.key === key);
      const m = members.size ? g.members.filter((id) => members.get(id)?.get(key)?.x.length) : [];
      for (const id of m) {
        const raw = members.get(id).get(key);
        const bad = g.diverged_members.includes(id);
        pieces.push({ x: raw.x, ys: [drawable(raw.y, logY)] });
        series.push({ label: `${this.opts.names?.get(id) ?? id}`, stroke: fade(color(i), 0.35), width: 1, dash: bad ? [3, 3] : undefined, points: { show: false }, spanGaps: false });
        col++;
      }
      if (!s || !s.x.length) return;
      // The chart's smoothing moves the mean and both edges of the band alike.
      const sm = (ys) => (alpha > 0 && s.total >= MIN_SMOOTH_POINTS ? ema({ x: s.x, y: ys }, alpha, axis !== 'step') : ys);
      if (alpha > 0 && s.total >= MIN_SMOOTH_POINTS) smoothed = true;
      pieces.push({ x: s.x, ys: [drawable(sm(s.lo), logY), drawable(sm(s.hi), logY), drawable(sm(s.mean), logY)] });
      series.push({ label: `${g.label} lo`, stroke: 'transparent', width: 0, points: { show: false } });
      series.push({ label: `${g.label} hi`, stroke: 'transparent', width: 0, points: { show: false } });
      series.push({ label: g.label, stroke: color(i), width: 2, points: { show: s.x.length <= 60, size: 5, fill: tc.bg } });
      bands.push({ series: [col + 1, col], fill: fade(color(i), 0.18) });
      rows.push({ g, i, s, col: col + 2 });
      col += 3;
    });
    c.rows = rows;
    c.el.dataset.smooth = String(smoothed ? alpha : 0);
    text(c.el.querySelector('.chart-info'), rows.length ? `${rows.length} group${rows.length === 1 ? '' : 's'}` : '');
    c.el.dataset.bands = String(bands.length);
    if (c.u) { c.u.destroy(); c.u = null; }
    if (!rows.length) {
      replace(c.plot, h('p', { class: 'chart-empty' }, 'no group logged this key'));
      return;
    }
    c.plot.replaceChildren();
    const data = join(pieces);
    const AXIS = axisStyle(tc);
    const xAxis = { ...AXIS };
    if (axis === 'step') xAxis.values = (u, splits) => splits.map(fmtStep);
    else if (axis !== 'time') xAxis.values = (u, splits) => splits.map((v) => fmtTick(Number(v.toPrecision(6))));
    const yAxis = { ...AXIS, size: 60, values: (u, splits) => splits.map((v) => fmtNum(v, 4)) };
    if (logY) Object.assign(yAxis, { splits: (u) => logSplits(u.scales.y.min, u.scales.y.max), filter: (u, splits) => splits });
    c.u = new uPlot({
      width: Math.max(200, c.plot.clientWidth || 400), height: 260, pxAlign: 0,
      legend: { show: false }, padding: [10, 12, 0, 0],
      cursor: {
        y: false, points: { show: false }, drag: { x: true, y: false, setScale: false },
        bind: { dblclick: () => (e) => { if (e.button === 0) this.setZoom(null); return null; } },
      },
      select: { show: true },
      scales: {
        x: {
          time: axis === 'time',
          range: (u, min, max) => {
            const z = this.state.zoom;
            if (z) return [z[0], z[1]];
            return min === max ? [min - 1, max + 1] : [min, max];
          },
        },
        // uPlot fits an auto y-scale to the data in the x-range shown, so
        // a zoom rescales it; the log one is not snapped to whole decades.
        y: logY ? { distr: 3, log: 10, range: (u, min, max) => logRange(min, max) } : { range: (u, min, max) => uPlot.rangeNum(min, max, 0.08, true) },
      },
      axes: [xAxis, yAxis],
      series, bands,
      hooks: {
        setCursor: [(u) => this.hover(c, u)],
        setSelect: [(u) => {
          const { left, width: w } = u.select;
          if (w < 5) return;
          const from = u.posToVal(left, 'x'), to = u.posToVal(left + w, 'x');
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          this.setZoom([from, to]);
        }],
        // The y-range drawn, for the tests (data-y="min,max").
        setScale: [(u, k) => { if (k === 'y') c.el.dataset.y = `${u.scales.y.min},${u.scales.y.max}`; }],
      },
    }, data, c.plot);
  }

  /** hover: the groups' mean, band and n at the cursor, each at its own nearest point. */
  hover(c, u) {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || !c.rows.length) {
      c.tip.hidden = true;
      return;
    }
    const xv = u.data[0][idx];
    const at = (s) => {
      let j = 0, best = Infinity;
      for (let k = 0; k < s.x.length; k++) {
        const d = Math.abs(s.x[k] - xv);
        if (d < best) { best = d; j = k; }
      }
      return j;
    };
    replace(c.tip,
      h('div', { class: 'tip-x' }, fmtXValue(this.opts.x, xv)),
      c.rows.map(({ g, i, s }) => {
        const j = at(s);
        return h('div', { class: 'tip-row group-row' },
          h('i', { class: 'swatch', style: { '--c': color(i) } }),
          h('span', { class: 'tip-label' }, g.label === '' ? '(unset)' : g.label),
          h('span', { class: 'tip-value' }, `${fmtNum(s.mean[j])} [${fmtNum(s.lo[j])} – ${fmtNum(s.hi[j])}]`),
          h('span', { class: 'muted' }, ` n = ${s.n[j]}${g.diverged ? ` · ${g.diverged} diverged` : ''}`));
      }));
    c.tip.hidden = false;
    const left = u.cursor.left ?? 0;
    c.tip.style.left = `${Math.min(left + 70, Math.max(0, c.plot.clientWidth - 280))}px`;
  }

  destroy() {
    this.dead = true;
    this.abort?.abort();
    this.resizer.disconnect();
    removeEventListener('runlog-theme', this.onTheme);
    for (const c of this.charts.values()) c.u?.destroy();
  }
}
