// A panel of charts that share their controls: the x-axis (step,
// wallclock, active or absolute time, or a logged series such as
// tokens_seen), the EMA smoothing (each chart may have its own), the zoom, and
// the hover cursor. It fetches the points of every chart from the series
// endpoint — one request per run for all its keys, downsampled on the
// server to the charts' pixel width — and again, at full resolution for
// the range, when the view is zoomed.

import { get, runPath } from './api.js';
import { h, text, download, debounce } from './dom.js';
import { parseSeries, csvField } from './chartdata.js';
import { Chart, fmtX } from './chart.js';
import { xSeriesCandidates } from './groups.js';
import { parseX, xSeriesKey, SERIES_X, parseSmoothBy, formatSmoothBy } from './chartstate.js';
import { params } from './url.js';

export const AXES = [
  ['step', 'Step', 'gradient steps'],
  ['wallclock', 'Wallclock', 'seconds since the run first started, gaps included'],
  ['active', 'Active', 'seconds the run’s processes ran: a resumed run does not count the time it lay dead'],
  ['time', 'Time', 'absolute date and time'],
];
const MAX_KEYS = 64; // the series endpoint's limit per request

/** panelState(): the chart state the address holds. */
export function panelState() {
  const p = params();
  const x = parseX(p.get('x'));
  const smooth = Math.min(0.99, Math.max(0, Number(p.get('smooth')) || 0));
  let zoom = null;
  const z = (p.get('zoom') || '').split(',').map(Number);
  if (z.length === 2 && z.every(Number.isFinite) && z[0] < z[1]) zoom = z;
  const logy = new Set((p.get('logy') || '').split(',').filter(Boolean));
  const smoothBy = parseSmoothBy(p.get('csmooth'));
  return { x, smooth, zoom, logy, smoothBy };
}

/** stateParams(state): the state as address parameters. */
export function stateParams(s) {
  const r = (v) => v;
  return {
    x: s.x === 'step' ? null : s.x,
    smooth: s.smooth > 0 ? s.smooth : null,
    zoom: s.zoom ? `${r(s.zoom[0])},${r(s.zoom[1])}` : null,
    logy: s.logy.size ? [...s.logy].join(',') : null,
    csmooth: formatSmoothBy(s.smoothBy),
  };
}

export class ChartPanel {
  /**
   * opts: {syncKey, onState(state), names: Map run id → name, file: base of download names, onDrawn()}
   */
  constructor(opts) {
    this.opts = opts;
    this.syncKey = opts.syncKey;
    this.state = panelState();
    this.charts = [];
    this.gen = 0;
    this.abort = null;
    this.waiting = null; // charts still to draw after a load
    this.frame = 0;
    this.dirty = new Set();
    this.saveState = debounce(() => opts.onState(this.state), 150);
    this.toolbar = this.buildToolbar();
    this.resizer = new ResizeObserver(debounce(() => this.charts.forEach((c) => c.resize()), 60));
  }

  buildToolbar() {
    this.axisBtns = AXES.map(([a, label, title]) =>
      h('button', { class: ['seg', a === this.state.x && 'on'], title, dataset: { axis: a }, onclick: () => this.setAxis(a) }, label));
    // Any logged series that only grows can be the x-axis: the likely
    // ones are offered, any other can be typed (the server refuses one
    // that goes down).
    this.xList = h('datalist', { id: `x-series-${Math.random().toString(36).slice(2)}` });
    this.xSeries = h('input', {
      class: ['x-series', xSeriesKey(this.state.x) && 'on'], type: 'text', list: this.xList.id, placeholder: 'series…',
      'aria-label': 'a logged series as x-axis', title: 'a series that only grows as x-axis: tokens_seen, epoch…',
      value: xSeriesKey(this.state.x) || '',
      onfocus: () => this.fillXList(),
      onchange: (e) => { const k = e.target.value.trim(); this.setAxis(k ? SERIES_X + k : 'step'); },
    });
    this.smoothVal = h('output', { class: 'smooth-val' }, this.state.smooth.toFixed(2));
    this.smoothInput = h('input', {
      type: 'range', min: '0', max: '0.99', step: '0.01', value: String(this.state.smooth), 'aria-label': 'smoothing',
      oninput: (e) => this.setSmooth(Number(e.target.value)),
    });
    this.zoomInfo = h('span', { class: 'zoom-info' });
    this.zoomReset = h('button', { class: 'btn-ghost', onclick: () => this.setZoom(null), title: 'show the whole x-range (or double-click a chart)' }, 'Reset zoom');
    this.showZoom();
    return h('div', { class: 'chart-toolbar' },
      h('div', { class: 'seg-group', role: 'group', 'aria-label': 'x-axis' }, h('span', { class: 'tool-label' }, 'x-axis'), this.axisBtns, this.xSeries, this.xList),
      h('label', { class: 'smooth', title: 'exponential moving average, as TensorBoard’s slider: the smoothed line over the faint raw curve; series of fewer than 50 points and schedules (learning rate, momentum…) are not smoothed; a chart’s own menu overrides it' },
        h('span', { class: 'tool-label' }, 'Smoothing'), this.smoothInput, this.smoothVal),
      h('span', { class: 'zoom' }, this.zoomInfo, this.zoomReset),
      h('span', { class: 'hint' }, 'drag to zoom · double-click to reset'));
  }

  showZoom() {
    const z = this.state.zoom;
    this.zoomReset.hidden = !z;
    const key = xSeriesKey(this.state.x);
    const to = z ? fmtX(this.state.x, z[1]) : '';
    text(this.zoomInfo, z ? `${fmtX(this.state.x, z[0])} – ${key ? to.slice(key.length + 1) : to.replace(/^(step|wallclock|active) /, '')}` : '');
  }

  /** fillXList(): the x-series field's suggestions: the charts' keys that look like they only grow. */
  fillXList() {
    const keys = this.charts.flatMap((c) => c.spec.lines.map((l) => l.key));
    this.xList.replaceChildren(...xSeriesCandidates(keys).map((k) => h('option', { value: k })));
  }

  /** add(spec): a chart of this panel (see Chart); put chart.el in the page, then load(). */
  add(spec) {
    const chart = new Chart(this, spec);
    this.charts.push(chart);
    this.resizer.observe(chart.plot);
    return chart;
  }

  remove(chart) {
    this.charts = this.charts.filter((c) => c !== chart);
    this.resizer.unobserve(chart.plot);
    chart.destroy();
  }

  setAxis(a) {
    if (a === this.state.x) return;
    this.state.x = a;
    this.state.zoom = null;
    this.axisBtns.forEach((b) => b.classList.toggle('on', b.dataset.axis === a));
    this.xSeries.classList.toggle('on', !!xSeriesKey(a));
    this.xSeries.value = xSeriesKey(a) || '';
    this.changed();
    this.load();
  }

  setSmooth(v) {
    this.state.smooth = v;
    text(this.smoothVal, v.toFixed(2));
    this.saveState();
    this.charts.forEach((c) => this.dirty.add(c));
    this.schedule();
  }

  /** smoothOf(chartId): the smoothing of a chart: its own, else the slider's. */
  smoothOf(id) {
    return this.state.smoothBy.get(id) ?? this.state.smooth;
  }

  /** setSmoothFor(chartId, alpha): a chart's own smoothing (null: the slider's again). */
  setSmoothFor(id, v) {
    if (v === null || v === undefined) this.state.smoothBy.delete(id);
    else this.state.smoothBy.set(id, Math.min(0.99, Math.max(0, v)));
    this.changed();
    const c = this.charts.find((ch) => ch.spec.id === id);
    if (c) {
      c.syncSmoothSel();
      this.dirty.add(c);
      this.schedule();
    }
  }

  /** setZoom([from, to]) or setZoom(null): every chart shows that x-range, fetched again at full resolution. */
  setZoom(range) {
    if (range) {
      // Ten thousand steps across the range are plenty, and keep the address short.
      const d = Math.max(0, 4 - Math.floor(Math.log10(Math.abs(range[1] - range[0]) || 1)));
      range = range.map((v) => Number(v.toFixed(Math.min(d, 12))));
      if (!(range[0] < range[1])) return;
    }
    const z = this.state.zoom;
    if (!range && !z) return;
    if (range && z && range[0] === z[0] && range[1] === z[1]) return;
    this.state.zoom = range;
    this.changed();
    // Show the range at once with the points at hand; the finer ones follow.
    if (range) this.charts.forEach((c) => c.u && c.u.setScale('x', { min: range[0], max: range[1] }));
    this.load();
  }

  setLogY(id, on) {
    if (on) this.state.logy.add(id);
    else this.state.logy.delete(id);
    this.changed();
  }

  changed() {
    this.showZoom();
    this.saveState.cancel();
    this.opts.onState(this.state);
  }

  /** points(): how many points to ask for: the charts' plot width in device pixels. */
  points() {
    const w = Math.max(300, ...this.charts.map((c) => c.plot.clientWidth || 0));
    return Math.ceil(w * (devicePixelRatio || 1));
  }

  /** wanted(runs): run id → keys its charts show (all runs, or those named). */
  wanted(runs) {
    const m = new Map();
    for (const c of this.charts) {
      for (const l of c.spec.lines) {
        if (runs && !runs.includes(l.run)) continue;
        if (!m.has(l.run)) m.set(l.run, new Set());
        m.get(l.run).add(l.key);
      }
    }
    return m;
  }

  /** load(runs): fetch the points of every chart (or only of these runs' curves: live updates) and draw them. */
  async load(runs) {
    const partial = !!runs;
    if (!partial) {
      if (this.abort) this.abort.abort();
      this.abort = new AbortController();
      this.gen++;
      this.waiting = null;
    }
    const gen = this.gen;
    const signal = this.abort ? this.abort.signal : undefined;
    const { x, zoom } = this.state;
    const points = this.points();
    const jobs = [];
    for (const [run, keys] of this.wanted(runs)) {
      const all = [...keys];
      for (let i = 0; i < all.length; i += MAX_KEYS) {
        const chunk = all.slice(i, i + MAX_KEYS);
        jobs.push(this.fetch(run, chunk, { x, from: zoom?.[0], to: zoom?.[1], points }, signal).then((series) => {
          if (gen !== this.gen) return;
          this.deliver(run, series);
        }));
      }
    }
    const results = await Promise.allSettled(jobs);
    if (gen !== this.gen) return;
    const failed = results.find((r) => r.status === 'rejected' && r.reason?.name !== 'AbortError');
    if (!partial) {
      this.waiting = new Set(this.charts.filter((c) => c.spec.lines.length));
      this.charts.forEach((c) => this.dirty.add(c));
      this.flush(); // charts with nothing to draw finish in it, maybe all of them (allDrawn() then ran)
      if (this.waiting?.size === 0) this.allDrawn();
    }
    if (failed && this.opts.onError) this.opts.onError(failed.reason);
  }

  /** fetch(run, keys, opts): the series of a run; a run that logged none of the keys has empty ones. */
  async fetch(run, keys, { x, from, to, points }, signal) {
    const plain = keys.filter((k) => !k.includes(','));
    const odd = keys.filter((k) => k.includes(','));
    try {
      const res = await get(`${runPath(run)}/series`, { keys: plain.join(','), key: odd, x, from, to, points }, signal);
      return res.series.map(parseSeries);
    } catch (e) {
      if (e.status === 404) return keys.map((key) => parseSeries({ key, total: 0, x: [], y: [], steps: [] }));
      throw e;
    }
  }

  deliver(run, series) {
    const byKey = new Map(series.map((s) => [s.key, s]));
    for (const c of this.charts) {
      let hit = false;
      for (const l of c.spec.lines) {
        if (l.run === run && byKey.has(l.key)) {
          c.data.set(l.id, byKey.get(l.key));
          hit = true;
        }
      }
      if (hit) this.dirty.add(c);
    }
    this.schedule();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    const todo = [...this.dirty];
    this.dirty.clear();
    todo.forEach((c) => c.render());
  }

  /** chartDrawn: a chart finished drawing; after a load, when the last one has, onDrawn(). */
  chartDrawn(chart) {
    if (!this.waiting || !this.waiting.has(chart)) return;
    this.waiting.delete(chart);
    if (!this.waiting.size) this.allDrawn();
  }

  allDrawn() {
    this.waiting = null;
    performance.mark('runlog:charts-drawn');
    if (this.opts.onDrawn) this.opts.onDrawn();
  }

  /** downloadCSV(chart): every point of the chart's curves in the visible x-range (not downsampled). */
  async downloadCSV(chart) {
    const { x, zoom } = this.state;
    const byRun = new Map();
    for (const l of chart.spec.lines) {
      if (!byRun.has(l.run)) byRun.set(l.run, []);
      byRun.get(l.run).push(l.key);
    }
    const xName = { wallclock: 'wallclock_s', active: 'active_s', time: 'time_unix' }[x] ?? xSeriesKey(x);
    const rows = [['run', 'run_id', 'key', 'step', ...(xName ? [csvField(xName)] : []), 'value'].join(',')];
    for (const [run, keys] of byRun) {
      const series = await this.fetch(run, keys, { x, from: zoom?.[0], to: zoom?.[1], points: 0 });
      const name = this.opts.names?.get(run) ?? run;
      for (const s of series) {
        for (let i = 0; i < s.x.length; i++) {
          const f = [csvField(name), csvField(run), csvField(s.key), s.steps[i] ?? ''];
          if (xName) f.push(csvField(s.x[i]));
          f.push(csvField(s.y[i]));
          rows.push(f.join(','));
        }
      }
    }
    this.save(`${this.filename(chart)}.csv`, new Blob([rows.join('\n') + '\n'], { type: 'text/csv' }));
  }

  filename(chart) {
    return `${this.opts.file || 'runlog'}-${chart.spec.id}-by-${this.state.x}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  }

  save(name, blob) {
    this.lastDownload = name;
    download(name, blob);
  }

  destroy() {
    if (this.abort) this.abort.abort();
    this.gen++;
    this.resizer.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
    this.saveState.cancel();
    this.charts.forEach((c) => c.destroy());
    this.charts = [];
  }
}
