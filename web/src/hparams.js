// The hyperparameter view (/hparams): parallel coordinates over config
// values and final metrics, where a drag along an axis brushes a range and
// selects the runs within every brush, and a scatter of any two keys. The
// selection goes to the runs table (/?sel=…) and the compare view
// (/compare?runs=…). One GET /api/v1/runs for up to 10,000 runs; the
// address holds the rest:
//
//   /hparams?project=&q=&axes=config.lr,metric.val_loss&x=config.lr&y=metric.val_loss&logx=1&brush=config.lr:1e-4:1e-3

import './hparams.css';
import { h, replace, text, debounce } from './dom.js';
import { get } from './api.js';
import { params, list, setParams, href, navigate, followLink } from './url.js';
import { flatten, num } from './format.js';
import { errorBox } from './widgets.js';
import { ParCoords, makeAxis, parseBrush, fmtBrush, groupColors, keyLabel } from './parcoords.js';
import { Scatter } from './scatter.js';
import { themeColors } from './theme.js';
import { isLrKey } from './groups.js';

const LIMIT = 10000;
const LOSSES = ['val_loss', 'valid_loss', 'eval_loss', 'test_loss', 'train_loss', 'loss'];

/**
 * hparamKeys(rows): {varying, all, metric}: the keys the runs have, config
 * ones that vary first; each series twice, its best value ('best.<key>',
 * where the server judges one: a loss's lowest, an accuracy's highest)
 * beside its last ('metric.<key>').
 */
export function hparamKeys(rows) {
  const cfg = new Map(), met = new Set(), best = new Set(), sum = new Set();
  for (const r of rows) {
    for (const [k, v] of flatten(r.config || {})) {
      if (!cfg.has(k)) cfg.set(k, new Set());
      cfg.get(k).add(JSON.stringify(v));
    }
    for (const k of Object.keys(r.metrics || {})) met.add(k);
    for (const k of Object.keys(r.best || {})) best.add(k);
    for (const [k, v] of flatten(r.summary || {})) if (typeof num(v) === 'number') sum.add(k);
  }
  const varying = [...cfg].filter(([, s]) => s.size > 1).map(([k]) => k);
  const fixed = [...cfg].filter(([, s]) => s.size <= 1).map(([k]) => k);
  const metric = [...met].sort().flatMap((k) => (best.has(k) ? [`best.${k}`, `metric.${k}`] : [`metric.${k}`]));
  return {
    varying: varying.map((k) => `config.${k}`),
    all: [...varying, ...fixed].map((k) => `config.${k}`).concat(metric, [...sum].sort().map((k) => `summary.${k}`)),
    metric,
  };
}

/** defaultAxes(keys): the config keys that vary (six at most) and the main loss: its best value, else its last. */
export function defaultAxes(keys) {
  const loss = LOSSES.flatMap((k) => [`best.${k}`, `metric.${k}`]).find((k) => keys.metric.includes(k)) || keys.metric[0];
  return [...keys.varying.slice(0, 6), loss].filter(Boolean);
}

export class HparamsView {
  constructor() {
    const p = params();
    this.project = p.get('project') || '';
    this.q = p.get('q') || '';
    this.axesKeys = p.has('axes') ? list('axes') : null;
    this.x = p.get('x') || '';
    this.y = p.get('y') || '';
    this.logx = p.has('logx') ? p.get('logx') === '1' : undefined;
    this.logy = p.has('logy') ? p.get('logy') === '1' : undefined;
    this.brushes = p.getAll('brush').map(parseBrush).filter(Boolean);
    this.rows = [];
    this.ctrl = new AbortController();
    this.build();
  }

  build() {
    const input = (name, value, placeholder, set) => h('input', {
      type: 'search', class: `hp-${name}`, value, placeholder, spellcheck: 'false', 'aria-label': name,
      onkeydown: (e) => { if (e.key === 'Enter') set(e.target.value.trim()); },
      onchange: (e) => set(e.target.value.trim()),
    });
    this.count = h('span', { class: 'count hp-count', role: 'status' });
    this.compareBtn = h('a', { class: 'btn primary hp-compare', href: '/compare', onclick: followLink }, 'Compare selected');
    this.tableBtn = h('a', { class: 'btn hp-table', href: '/', onclick: followLink }, 'Show in table');
    this.clearBtn = h('button', { class: 'btn-ghost hp-clear', type: 'button', onclick: () => this.brushed([], true) }, 'Clear brushes');
    this.axisChips = h('div', { class: 'chips hp-axes' });
    this.addAxis = h('select', { class: 'hp-add', 'aria-label': 'add an axis', onchange: (e) => { if (e.target.value) this.setAxes([...this.axes.map((a) => a.key), e.target.value]); } });
    this.xSel = h('select', { class: 'hp-x', 'aria-label': 'scatter x', onchange: (e) => { this.x = e.target.value; this.logx = undefined; this.save(); this.drawScatter(); } });
    this.ySel = h('select', { class: 'hp-y', 'aria-label': 'scatter y', onchange: (e) => { this.y = e.target.value; this.logy = undefined; this.save(); this.drawScatter(); } });
    this.logxBox = h('input', { type: 'checkbox', class: 'hp-logx', onchange: (e) => { this.logx = e.target.checked; this.save(); this.drawScatter(); } });
    this.logyBox = h('input', { type: 'checkbox', class: 'hp-logy', onchange: (e) => { this.logy = e.target.checked; this.save(); this.drawScatter(); } });
    this.pc = new ParCoords({ onbrush: (b, done, t0) => this.brushed(b, done, t0), onopen: (r) => navigate(`/runs/${encodeURIComponent(r.id)}`) });
    this.sc = new Scatter({ onopen: (r) => navigate(`/runs/${encodeURIComponent(r.id)}`) });
    this.legend = h('div', { class: 'hp-legend' });
    this.body = h('div', { class: 'hp-body' });
    this.el = h('div', { class: 'view hp-view' },
      h('div', { class: 'tools-row hp-tools' },
        input('project', this.project, 'project', (v) => { this.project = v; this.save(); this.load(); }),
        input('filter', this.q, 'filter: config.lr > 1e-4 and status = finished', (v) => { this.q = v; this.save(); this.load(); }),
        this.count, h('span', { class: 'spacer' }), this.clearBtn, this.tableBtn, this.compareBtn),
      this.body);
    replace(this.body, h('p', { class: 'muted' }, 'Loading runs…'));
    this.onresize = debounce(() => this.draw(), 150);
    // Canvases cannot read CSS variables: take the theme's colours now and when it changes.
    this.onTheme = () => { this.pc.tc = this.sc.tc = themeColors(); this.draw(); };
    this.pc.tc = this.sc.tc = themeColors();
  }

  start() {
    addEventListener('resize', this.onresize);
    addEventListener('runlog-theme', this.onTheme);
    this.load();
  }

  destroy() {
    this.ctrl.abort();
    this.pc.destroy();
    removeEventListener('resize', this.onresize);
    removeEventListener('runlog-theme', this.onTheme);
    this.onresize.cancel();
  }

  save() {
    setParams({
      project: this.project, q: this.q,
      axes: this.axes ? this.axes.map((a) => a.key) : this.axesKeys,
      x: this.x, y: this.y,
      logx: this.logx === undefined ? null : this.logx ? 1 : 0,
      logy: this.logy === undefined ? null : this.logy ? 1 : 0,
      'brush[]': this.brushes.map(fmtBrush),
    });
  }

  async load() {
    const gen = (this.gen = (this.gen || 0) + 1);
    let res;
    try {
      res = await get('/runs', { limit: LIMIT, project: this.project, q: this.q }, this.ctrl.signal);
    } catch (e) {
      if (e.name === 'AbortError' || gen !== this.gen) return;
      replace(this.body, errorBox(e, 'Runs'));
      return;
    }
    if (gen !== this.gen) return;
    this.rows = res.runs || [];
    this.total = res.total;
    this.keys = hparamKeys(this.rows);
    if (!this.rows.length) {
      replace(this.body, h('p', { class: 'muted hp-empty' }, 'No runs match.'));
      text(this.count, '');
      return;
    }
    const known = new Set(this.keys.all);
    const axes = (this.axesKeys || []).filter((k) => known.has(k));
    this.axesKeys = axes.length ? axes : defaultAxes(this.keys);
    const lr = this.keys.varying.find((k) => k.startsWith('config.') && isLrKey(k));
    if (!known.has(this.x)) this.x = lr || this.keys.varying[0] || this.keys.all[0];
    if (!known.has(this.y)) this.y = this.axesKeys[this.axesKeys.length - 1];
    replace(this.body,
      h('section', { class: 'block hp-pc-block' },
        h('header', { class: 'block-head' }, h('h2', null, 'Parallel coordinates'),
          h('span', { class: 'muted small' }, 'drag along an axis to brush; click an axis to clear it'), h('span', { class: 'spacer' }), this.axisChips, this.addAxis),
        this.pc.el, this.legend),
      h('section', { class: 'block hp-sc-block' },
        h('header', { class: 'block-head' }, h('h2', null, 'Scatter'), h('span', { class: 'spacer' }),
          h('label', null, 'x ', this.xSel), h('label', null, h('span', null, this.logxBox, ' log x')),
          h('label', null, 'y ', this.ySel), h('label', null, h('span', null, this.logyBox, ' log y'))),
        this.sc.el));
    this.setAxes(this.axesKeys, true);
    performance.mark('runlog:hparams-drawn');
  }

  setAxes(keys, first) {
    const t0 = performance.now();
    this.axes = [...new Set(keys)].map((k) => makeAxis(k, this.rows));
    this.brushes = this.brushes.filter((b) => keys.includes(b.key));
    const gc = groupColors(this.rows);
    this.colors = gc.colors;
    replace(this.legend, gc.groups.length > 1 ? gc.groups.slice(0, 24).map(([g, c]) => h('span', { class: 'hp-group' }, h('i', { style: { background: c } }), g || '(no group)')) : null);
    replace(this.axisChips, this.axes.map((a) => h('span', { class: 'chip hp-axis', dataset: { key: a.key } }, keyLabel(a.key),
      h('button', { class: 'chip-x', type: 'button', title: `remove ${a.key}`, 'aria-label': `remove axis ${a.key}`, onclick: () => this.setAxes(this.axes.map((x) => x.key).filter((k) => k !== a.key)) }, '×'))));
    const opts = (cur, skip) => this.keys.all.filter((k) => !skip || !skip.has(k)).map((k) => h('option', { value: k, selected: k === cur }, keyLabel(k)));
    replace(this.addAxis, h('option', { value: '' }, '+ axis'), opts('', new Set(this.axes.map((a) => a.key))));
    replace(this.xSel, opts(this.x));
    replace(this.ySel, opts(this.y));
    this.pc.set(this.rows, this.axes, this.brushes, this.colors);
    performance.measure('runlog:hparams-parcoords', { start: t0, end: performance.now() });
    if (!first) this.save();
    this.drawScatter();
    this.selectionChanged();
    if (first) this.save();
  }

  draw() {
    if (!this.axes) return;
    this.pc.resize();
    this.drawScatter();
  }

  drawScatter() {
    if (!this.axes) return;
    const t0 = performance.now();
    const xa = makeAxis(this.x, this.rows, this.logx), ya = makeAxis(this.y, this.rows, this.logy);
    this.logxBox.checked = xa.log;
    this.logyBox.checked = ya.log;
    this.logxBox.disabled = xa.kind === 'cat' || !(xa.min > 0);
    this.logyBox.disabled = ya.kind === 'cat' || !(ya.min > 0);
    const sel = this.pc.sel; // drawn before the scatter, with the same brushes
    this.sc.set(this.rows, xa, ya, this.colors, sel.mask, this.anyBrush());
    performance.measure('runlog:hparams-scatter', { start: t0, end: performance.now() });
  }

  anyBrush() {
    return this.brushes.some((b) => this.axes.some((a) => a.key === b.key));
  }

  brushed(brushes, done, t0 = performance.now()) {
    this.brushes = brushes;
    if (done) this.pc.setBrushes(brushes);
    this.selectionChanged();
    if (done) this.save();
    performance.measure('runlog:hparams-brushed', { start: t0, end: performance.now() });
  }

  selectionChanged() {
    const sel = this.pc.sel;
    const any = this.anyBrush();
    this.sc.setMask(sel.mask, any);
    const ids = this.rows.filter((_, i) => sel.mask[i]).map((r) => r.id);
    const more = this.total > this.rows.length ? ` (the first ${this.rows.length} of ${this.total})` : '';
    text(this.count, any ? `${sel.count} of ${this.rows.length} runs selected${more}` : `${this.rows.length} runs${more} — drag along an axis to select`);
    this.compareBtn.setAttribute('href', href('/compare', { runs: ids }));
    this.tableBtn.setAttribute('href', href('/', { sel: ids }));
    this.compareBtn.classList.toggle('disabled', ids.length === 0);
    this.tableBtn.classList.toggle('disabled', ids.length === 0);
    this.clearBtn.hidden = !this.brushes.length;
    this.el.dataset.selected = String(sel.count);
  }
}
