// The compare view: the curves of several runs overlaid, a colour per run;
// the keys of their configs that differ; and `runlog compare`'s table
// (GET /api/v1/compare): final and best values, time to targets with the
// speed-up over the baseline (the first run), values at equal time and
// step. Targets, times and steps are edited here and kept in the address.
// "Group by" (`group=`: group, or config keys) draws groups instead of
// runs: a mean line and a band per group (bands.js). The view opens with
// the train and validation losses and the learning rate.

import { get, runPath, onRunsChangedBatched, query } from './api.js';
import { h, replace } from './dom.js';
import { params, list, setParams, href, followLink, rerender } from './url.js';
import { fmtNum, fmtValue, fmtDuration, fmtTick, flatten } from './format.js';
import { badge, errorBox, section } from './widgets.js';
import { ChartPanel, stateParams, panelState, AXES } from './panel.js';
import { GroupPanel, groupOptions, BAND_KINDS } from './bands.js';
import { chartGroups, isLrKey } from './groups.js';
import { color, keyDash, runDash } from './palette.js';
import { openPicker } from './picker.js';
import { TextCompare } from './text.js';

/** LEGEND_CHIPS: the most runs the compare view's legend shows as chips before it folds them into a count. */
const LEGEND_CHIPS = 12;

export class CompareView {
  constructor() {
    const p = params();
    this.runs = [...new Set(list('runs'))];
    this.keys = list('keys');
    this.hidden = new Set(list('hide'));
    this.targets = p.getAll('target');
    this.atTime = p.getAll('at_time');
    this.atStep = p.getAll('at_step');
    this.alpha = p.get('alpha') ?? '';
    this.groupBy = p.get('group') || '';
    this.band = p.get('band') === 'minmax' ? 'minmax' : 'std';
    this.showMembers = p.get('members') === '1';
    this.varying = []; // config keys that differ among the runs (the comparison's)
    this.names = new Map(this.runs.map((id) => [id, id]));
    this.info = new Map(); // id → compare row
    this.details = new Map(); // id → run detail (for the metric picker)
    this.legend = h('div', { class: 'run-legend' });
    this.chartsEl = h('div', { class: 'chart-groups' });
    this.text = new TextCompare({ runs: () => this.visibleRuns(), colorOf: (id) => color(Math.max(0, this.runs.indexOf(id))), metrics: () => (this.keys.length ? this.keys : this.defaultKeys || []) });
    this.tableEl = h('div', { class: 'compare-table-wrap' });
    this.controls = h('div', { class: 'compare-controls' });
    this.el = h('div', { class: 'view compare-view' },
      h('div', { class: 'compare-head' }, h('h1', null, `Compare ${this.runs.length} run${this.runs.length === 1 ? '' : 's'}`), this.legend),
      this.chartsEl,
      this.text.el,
      section('Comparison', h('span', { class: 'muted' }, 'as runlog compare: the baseline is the first run'), this.controls, this.tableEl));
  }

  start() {
    document.title = 'Compare · runlog';
    if (!this.runs.length) {
      replace(this.el, h('div', { class: 'empty-state' }, h('h1', null, 'Compare runs'),
        h('p', null, 'Tick two or more runs in the ', h('a', { href: '/', onclick: followLink }, 'runs table'), ' and press Compare, or open /compare?runs=ID1,ID2.')));
      return;
    }
    this.renderLegend();
    this.renderControls();
    this.unsub = onRunsChangedBatched((ids) => {
      const mine = ids.includes('*') ? this.runs : ids.filter((id) => this.runs.includes(id));
      if (!mine.length) return;
      this.panel?.load(mine.filter((id) => !this.hidden.has(id)));
      this.groupPanel?.load();
      this.loadTable();
      this.text.load();
    });
    const table = this.loadTable();
    this.text.load();
    if (this.keys.length) this.buildCharts();
    else Promise.all([table, this.lrKey()]).then(() => this.buildCharts()); // the default keys: the comparison's and the learning rate
  }

  destroy() {
    this.dead = true;
    this.unsub?.();
    this.panel?.destroy();
    this.groupPanel?.destroy();
    this.text.destroy();
  }

  /** lrKey(): the learning-rate series the runs logged (the first run's that has one), for the default charts. */
  async lrKey() {
    for (const id of this.runs.slice(0, 5)) {
      const d = await this.detail(id);
      const k = (d.series || []).map((s) => s.key).find((key) => isLrKey(key) && !key.startsWith('sys/'));
      if (k) return (this.lr = k);
    }
    return (this.lr = null);
  }

  async detail(id) {
    if (!this.details.has(id)) this.details.set(id, await get(runPath(id)).catch(() => ({ series: [] })));
    return this.details.get(id);
  }

  save() {
    setParams({
      runs: this.runs, keys: this.keys, hide: [...this.hidden],
      'target[]': this.targets, 'at_time[]': this.atTime, 'at_step[]': this.atStep, alpha: this.alpha,
      group: this.groupBy, band: this.groupBy && this.band !== 'std' ? this.band : null, members: this.groupBy && this.showMembers ? '1' : null,
    });
  }

  visibleRuns() {
    return this.runs.filter((id) => !this.hidden.has(id));
  }

  buildCharts() {
    if (this.dead) return;
    if (!this.keys.length) {
      this.keys = [...(this.defaultKeys || ['train_loss', 'val_loss'])];
      if (this.lr && !this.keys.includes(this.lr)) this.keys.push(this.lr);
      this.save(); // the address says what is drawn
    }
    this.panel?.destroy();
    this.panel = null;
    this.groupPanel?.destroy();
    this.groupPanel = null;
    if (this.groupBy) return this.buildGroupCharts();
    this.panel = new ChartPanel({
      syncKey: 'compare', names: this.names, file: 'compare',
      onState: (s) => setParams(stateParams(s)),
      onDrawn: () => { if (!this.drawnOnce) { this.drawnOnce = true; performance.mark('runlog:compare-drawn'); } },
      onError: (e) => this.chartsEl.prepend(errorBox(e, 'Could not load the series')),
    });
    const runs = this.visibleRuns();
    const grid = h('div', { class: 'chart-grid wide' });
    for (const g of chartGroups(this.keys)) {
      for (const c of g.charts) {
        const lines = [];
        runs.forEach((run) => {
          const i = this.runs.indexOf(run);
          c.keys.forEach((key, k) => lines.push({
            id: `${run}|${key}`, run, key,
            label: c.keys.length > 1 ? `${this.names.get(run)} · ${key}` : this.names.get(run),
            color: color(i), dash: keyDash(k) || runDash(i),
          }));
        });
        const chart = this.panel.add({ id: c.id, title: c.title, lines, legend: c.keys.length > 1 ? 'keys' : false, height: 280 });
        grid.appendChild(chart.el);
      }
    }
    const pick = h('button', { class: 'btn', onclick: () => this.pickKeys(pick) }, 'Metrics…');
    replace(this.chartsEl, h('div', { class: 'charts-head' }, h('h2', null, 'Curves'), this.panel.toolbar, pick), this.groupControls(), grid);
    this.panel.load();
  }

  /** groupControls(): the group-by choice (group, or a config key: those that vary first), and when grouped the band and the members. */
  groupControls() {
    const first = this.details.get(this.runs[0]);
    let cfg = [];
    try { cfg = flatten(typeof first?.config === 'string' ? JSON.parse(first.config) : first?.config || {}).map(([k]) => k); } catch { cfg = []; }
    const opts = groupOptions(this.varying, cfg);
    if (this.groupBy && !opts.includes(this.groupBy)) opts.push(this.groupBy);
    const change = (fn) => (e) => { fn(e.target); this.save(); this.buildCharts(); };
    const select = h('select', { 'aria-label': 'group by', class: 'group-by', onchange: change((t) => { this.groupBy = t.value; }) },
      h('option', { value: '' }, 'none: one line per run'),
      opts.map((k) => h('option', { value: k, selected: k === this.groupBy }, k === 'group' ? 'group (the runs’ own)' : k)));
    return h('div', { class: 'group-controls' },
      h('label', { class: 'ctl', title: 'one line per group: the mean of its runs with a band; the config keys that vary among these runs first' }, h('span', { class: 'tool-label' }, 'Group by'), select),
      this.groupBy ? [
        h('label', { class: 'ctl' }, h('span', { class: 'tool-label' }, 'Band'),
          h('select', { 'aria-label': 'band', onchange: change((t) => { this.band = t.value; }) },
            BAND_KINDS.map(([v, label]) => h('option', { value: v, selected: v === this.band }, label)))),
        h('label', { class: 'ctl' }, h('input', { type: 'checkbox', class: 'show-members', checked: this.showMembers, onchange: change((t) => { this.showMembers = t.checked; }) }), ' show members'),
      ] : null);
  }

  /** buildGroupCharts(): a chart per key, a mean and band per group (bands.js). */
  buildGroupCharts() {
    this.state = panelState();
    const seg = AXES.map(([a, label, title]) => h('button', {
      class: ['seg', a === this.state.x && 'on'], title, dataset: { axis: a },
      onclick: () => { setParams({ x: a === 'step' ? null : a, zoom: null }); this.buildCharts(); },
    }, label));
    this.groupPanel = new GroupPanel({
      runs: this.visibleRuns(), by: this.groupBy, keys: this.keys.slice(0, 16), band: this.band, members: this.showMembers,
      x: this.state.x, names: this.names, state: this.state,
      onState: (s) => setParams(stateParams(s)),
      onDrawn: () => { if (!this.drawnOnce) { this.drawnOnce = true; performance.mark('runlog:compare-drawn'); } },
      onError: (e) => this.chartsEl.querySelector('.group-panel')?.prepend(errorBox(e, 'Could not group the runs')),
    });
    const pick = h('button', { class: 'btn', onclick: () => this.pickKeys(pick) }, 'Metrics…');
    replace(this.chartsEl,
      h('div', { class: 'charts-head' }, h('h2', null, 'Groups'),
        h('div', { class: 'chart-toolbar' }, h('div', { class: 'seg-group', role: 'group', 'aria-label': 'x-axis' }, h('span', { class: 'tool-label' }, 'x-axis'), seg),
          h('span', { class: 'hint' }, 'drag to zoom · double-click to reset')), pick),
      this.groupControls(), this.groupPanel.el);
    this.groupPanel.load();
  }

  /** relabel: names arrived (from the comparison): legend, charts and tooltips say them. */
  relabel() {
    if (!this.panel) return;
    for (const c of this.panel.charts) {
      for (const l of c.spec.lines) {
        c.setLabel(l.id, c.spec.lines.some((o) => o.run === l.run && o.key !== l.key) ? `${this.names.get(l.run)} · ${l.key}` : this.names.get(l.run));
      }
    }
  }

  renderLegend() {
    // Many runs: a compact legend (finished is the usual status; "make baseline" on hover);
    // very many: one chip with their count, opened on demand into a list that scrolls.
    const n = this.runs.length;
    const collapsed = n > LEGEND_CHIPS && !this.legendOpen;
    this.legend.classList.toggle('many', n > 6);
    this.legend.classList.toggle('scroll', n > LEGEND_CHIPS && !collapsed);
    if (n > LEGEND_CHIPS) {
      this.legendToggle = h('button', { class: 'chip on legend-count', 'aria-expanded': String(!collapsed), title: collapsed ? 'list the runs' : 'fold the list',
        onclick: () => { this.legendOpen = !this.legendOpen; this.renderLegend(); } },
      `${n} runs${this.hidden.size ? ` · ${this.hidden.size} hidden` : ''} ${collapsed ? '▸' : '▾'}`);
    }
    if (collapsed) {
      replace(this.legend, this.legendToggle, h('a', { class: 'btn-ghost', href: href('/', { sel: this.runs }), onclick: followLink }, '+ add runs'));
      return;
    }
    replace(this.legend, n > LEGEND_CHIPS ? this.legendToggle : null, this.runs.map((id, i) => {
      const row = this.info.get(id);
      const off = this.hidden.has(id);
      return h('div', { class: ['legend-run', off && 'off'], dataset: { run: id } },
        h('button', { class: 'swatch-btn', title: off ? 'show this run' : 'hide this run', 'aria-pressed': String(!off), onclick: () => this.toggleHidden(id) },
          h('i', { class: ['swatch big', runDash(i) && 'dashed'], style: { '--c': color(i) } })),
        h('a', { href: `/runs/${encodeURIComponent(id)}`, onclick: followLink, class: 'legend-name' }, this.names.get(id)),
        h('code', { class: 'muted' }, id),
        row ? badge(row.status) : null,
        i === 0 ? h('span', { class: 'baseline' }, 'baseline')
          : h('button', { class: 'btn-ghost make-base', title: 'compare the others against this run', onclick: () => this.setRuns([id, ...this.runs.filter((r) => r !== id)]) }, 'make baseline'),
        h('button', { class: 'btn-ghost remove', title: 'remove from the comparison', 'aria-label': `remove ${this.names.get(id)}`, onclick: () => this.setRuns(this.runs.filter((r) => r !== id)) }, '×'));
    }), h('a', { class: 'btn-ghost', href: href('/', { sel: this.runs }), onclick: followLink }, '+ add runs'));
  }

  setRuns(runs) {
    this.runs = runs;
    this.save();
    rerender(); // colours follow the order of the runs: start again
  }

  toggleHidden(id) {
    if (this.hidden.has(id)) this.hidden.delete(id);
    else this.hidden.add(id);
    this.save();
    this.renderLegend();
    this.buildCharts();
    this.text.load();
  }

  async pickKeys(anchor) {
    const all = new Set(this.keys);
    await Promise.all(this.runs.map(async (id) => {
      (await this.detail(id)).series.forEach((s) => all.add(s.key));
    }));
    const keys = [...all].sort((a, b) => (a.startsWith('sys/') - b.startsWith('sys/')) || a.localeCompare(b));
    openPicker(anchor, {
      title: 'Metrics to draw',
      groups: [{ label: 'Series of these runs', items: keys.map((k) => ({ id: k, label: k })) }],
      selected: new Set(this.keys),
      onChange: (ids) => {
        this.keys = ids;
        this.save();
        this.buildCharts();
        this.loadTable();
      },
    });
  }

  renderControls() {
    const chipList = (items, what, remove) => items.map((t, i) => h('span', { class: 'chip on' }, t,
      h('button', { class: 'chip-x', 'aria-label': `remove ${what} ${t}`, onclick: () => remove(i) }, '×')));
    const adder = (placeholder, label, title, onAdd) => {
      const input = h('input', { type: 'text', placeholder, 'aria-label': label, title, size: 14 });
      return h('form', { class: 'adder', onsubmit: (e) => { e.preventDefault(); const v = input.value.trim(); if (v) { onAdd(v); } } }, input, h('button', { class: 'btn', type: 'submit' }, 'Add'));
    };
    const change = (fn) => (v) => { fn(v); this.save(); this.renderControls(); this.loadTable(); };
    const alpha = h('input', {
      type: 'number', min: '0', max: '0.99', step: '0.05', value: this.alpha || '0.9', 'aria-label': 'smoothing of the comparison', class: 'alpha',
      onchange: change(() => { this.alpha = alpha.value === '0.9' ? '' : alpha.value; }),
    });
    replace(this.controls,
      h('div', { class: 'ctl' }, h('span', { class: 'tool-label', title: 'the first step at which a run is at or past the value (down for losses, up for accuracies; KEY<=V or KEY>=V say the direction)' }, 'Time to target'),
        chipList(this.targets, 'target', change((i) => this.targets.splice(i, 1))),
        adder('val_loss=1.5', 'add a target', 'KEY=VALUE, KEY<=VALUE or KEY>=VALUE', change((v) => this.targets.push(v)))),
      h('div', { class: 'ctl' }, h('span', { class: 'tool-label' }, 'At wallclock'),
        chipList(this.atTime, 'time', change((i) => this.atTime.splice(i, 1))),
        adder('30m', 'add a wallclock time', '90s, 30m, 1h30m or seconds', change((v) => this.atTime.push(v)))),
      h('div', { class: 'ctl' }, h('span', { class: 'tool-label' }, 'At step'),
        chipList(this.atStep, 'step', change((i) => this.atStep.splice(i, 1))),
        adder('1000', 'add a step', 'a step, 0 or more', change((v) => this.atStep.push(v)))),
      h('label', { class: 'ctl', title: 'EMA applied before values are read off (validation metrics are never smoothed); 0 is none' }, h('span', { class: 'tool-label' }, 'Smoothing α'), alpha));
  }

  async loadTable() {
    const gen = (this.tableGen = (this.tableGen || 0) + 1);
    let c;
    try {
      c = await get('/compare', { runs: this.runs.join(','), key: this.keys, target: this.targets, at_time: this.atTime, at_step: this.atStep, smooth: this.alpha });
    } catch (e) {
      if (!this.dead && gen === this.tableGen) replace(this.tableEl, errorBox(e, 'Could not compare'));
      return;
    }
    if (this.dead || gen !== this.tableGen) return;
    this.defaultKeys = c.keys;
    const varying = (c.config_diff || []).map((d) => d.key);
    if (varying.join() !== this.varying.join()) {
      this.varying = varying;
      this.chartsEl.querySelector('.group-controls')?.replaceWith(this.groupControls());
    }
    for (const r of c.runs) {
      this.info.set(r.id, r);
      this.names.set(r.id, r.name || r.id);
    }
    // The comparison resolves names and prefixes to ids: use them.
    const ids = c.runs.map((r) => r.id);
    if (ids.join() !== this.runs.join() && ids.length === this.runs.length) {
      this.runs = ids;
      this.save();
    }
    this.renderLegend();
    this.relabel();
    replace(this.tableEl, compareTable(c, this.runs));
    this.el.dataset.compared = query({ n: c.runs.length });
  }
}

/** compareTable(c): `runlog compare`'s table, a column per run, the baseline first. */
function compareTable(c, order) {
  const runs = c.runs;
  const col = (r) => order.indexOf(r.id);
  const rows = [];
  const group = (title) => rows.push(h('tr', { class: 'group' }, h('th', { colspan: runs.length + 1, scope: 'colgroup' }, title)));
  const row = (label, cells, title) => rows.push(h('tr', null, h('th', { scope: 'row', title }, label), cells.map((v) => h('td', null, v))));
  row('run', runs.map((r) => h('code', null, r.id)));
  row('status', runs.map((r) => badge(r.status)));
  row('last step', runs.map((r) => fmtNum(r.last_step)));
  row('wallclock', runs.map((r) => fmtDuration(r.wallclock_time)), 'seconds since the run first started, gaps included');
  row('active', runs.map((r) => fmtDuration(r.active_time)), 'seconds the run’s processes ran');
  if (runs.some((r) => r.tokens_per_sec !== undefined && r.tokens_per_sec !== null)) row('tokens/s', runs.map((r) => fmtNum(r.tokens_per_sec !== undefined && r.tokens_per_sec !== null ? Math.round(r.tokens_per_sec) : null)));
  for (const k of c.keys) {
    const m = (r) => r.metrics?.[k];
    row(`${k} final`, runs.map((r) => (m(r) ? `${fmtNum(m(r).final)} (${m(r).final_step})` : '–')));
    if (runs.some((r) => m(r)?.best !== undefined && m(r)?.best !== null)) {
      row(`${k} best`, runs.map((r) => (m(r) && m(r).best !== undefined && m(r).best !== null ? `${fmtNum(m(r).best)} (${m(r).best_step})` : '–')), 'the minimum or maximum, as the key’s goal says');
    }
  }
  if (c.config_diff?.length) {
    group('config (keys that differ)');
    for (const d of c.config_diff) row(d.key, runs.map((r) => (r.id in d.values ? fmtValue(d.values[r.id]) : h('span', { class: 'muted' }, '(unset)'))));
  } else {
    group('config: the same in every run');
  }
  (c.targets || []).forEach((t, ti) => {
    group(`time to ${t.key} ${t.goal === 'maximize' ? '≥' : '≤'} ${fmtNum(t.value)}`);
    row('reached', runs.map((r) => reached(r.targets?.[ti])));
    row('vs baseline', runs.map((r) => (r.baseline ? 'baseline' : speedup(r.targets?.[ti]))));
  });
  (c.at_wallclock_times || []).forEach((t, i) => {
    group(`at ${fmtTick(t)} wallclock (interpolated)`);
    for (const k of c.keys) row(k, runs.map((r) => fmtNum(r.at_wallclock?.[i]?.values?.[k] ?? null)));
  });
  (c.at_steps || []).forEach((s, i) => {
    group(`at step ${s} (interpolated)`);
    for (const k of c.keys) row(k, runs.map((r) => fmtNum(r.at_step?.[i]?.values?.[k] ?? null)));
  });
  const sm = Object.entries(c.smoothing || {});
  const notes = [];
  const smoothed = sm.filter(([, a]) => a > 0).map(([k, a]) => `${k} (α = ${a})`);
  if (smoothed.length && (c.targets?.length || c.at_wallclock_times?.length || c.at_steps?.length)) {
    notes.push(`Smoothed before values are read off — a debiased exponential moving average: ${smoothed.join(', ')}. ${sm.filter(([, a]) => !a).map(([k]) => k).join(', ') || 'Validation metrics'} as logged.`);
  }
  return h('div', null,
    h('div', { class: 'table-scroll' }, h('table', { class: 'compare-table' },
      h('thead', null, h('tr', null, h('th', null, ''), runs.map((r) => h('th', { scope: 'col' },
        h('i', { class: 'swatch', style: { '--c': color(col(r)) } }), r.name || r.id, r.baseline ? h('span', { class: 'muted' }, ' (baseline)') : null)))),
      h('tbody', null, rows))),
    notes.map((n) => h('p', { class: 'muted small' }, n)));
}

function reached(t) {
  if (!t) return '–';
  if (!t.logged) return h('span', { class: 'muted' }, 'not logged');
  if (!t.reached) return h('span', { class: 'muted' }, `not reached; best ${fmtNum(t.best)} at step ${t.best_step}`);
  const act = t.active_time !== undefined && Math.abs(t.active_time - t.wallclock_time) > 0.05 * t.wallclock_time ? ` (active ${fmtDuration(t.active_time)})` : '';
  return `step ${t.step} · ${fmtDuration(t.wallclock_time)}${act}`;
}

function speedup(t) {
  if (!t || !t.reached || !t.speedup) return '–';
  const ratio = (r, more, less) => (r > 1.05 ? `${r.toFixed(1)}× ${more}` : r < 0.95 ? `${(1 / r).toFixed(1)}× ${less}` : null);
  const w = ratio(t.speedup.wallclock, 'faster', 'slower') || 'same';
  const s = ratio(t.speedup.steps, 'fewer steps', 'more steps') || 'same steps';
  return h('span', { class: t.speedup.wallclock > 1.05 ? 'good' : t.speedup.wallclock < 0.95 ? 'bad' : null }, `${w} (${s})`);
}
