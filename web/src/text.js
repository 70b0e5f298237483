// The compare view's text samples side by side: for a text key the runs
// logged (a generated sample at each evaluation), every run's sample at
// the greatest step at or before the slider's, beside that run's value of
// a metric there (val loss by default) — GET /api/v1/text. The key, step
// and metric are kept in the address (`text=`, `text_step=`,
// `text_metric=`); without a step the panel follows the last one.
// Samples are text: h() puts them in as text nodes, shown pre-wrapped.

import { get, runPath } from './api.js';
import { h, replace } from './dom.js';
import { params, setParams, followLink } from './url.js';
import { fmtNum } from './format.js';
import { errorBox } from './widgets.js';
import { isValidation } from './palette.js';
import { stepSpan } from './mediadata.js';
import { StepSlider, nextStep, prevStep } from './media.js';

/**
 * TextCompare: text samples of several runs at one step.
 * opts: {runs() → the run ids, colorOf(id) → css colour, metrics() → the compare view's keys (the metric picker's choices)}
 */
export class TextCompare {
  constructor(opts) {
    this.opts = opts;
    const p = params();
    this.key = p.get('text') || '';
    this.step = p.has('text_step') && /^-?\d+$/.test(p.get('text_step')) ? Number(p.get('text_step')) : null;
    this.metric = p.get('text_metric');
    this.controls = h('div', { class: 'text-controls' });
    this.cards = h('div', { class: 'text-cards' });
    this.el = h('section', { class: 'text-compare', hidden: true },
      h('div', { class: 'charts-head' }, h('h2', null, 'Text samples'), h('span', { class: 'muted' }, 'each run’s sample at the greatest step at or before the one picked')),
      this.controls, this.cards);
  }

  /** load(): the runs' text keys, then the samples at the step (again when the runs changed). */
  async load() {
    const gen = (this.gen = (this.gen || 0) + 1);
    // The address names the key: ask for the samples now, beside the
    // runs' keys, rather than after them (without a step the API answers
    // each run's last sample, which is what the last step shows).
    const asked = this.key, askedMetric = this.metricNow();
    const early = asked && !this.slider ? this.fetch(this.step ?? undefined) : null;
    early?.catch(() => {});
    // A run that cannot be listed (gone meanwhile) has no keys: the others still compare.
    const lists = await Promise.all(this.opts.runs().map((id) => get(`${runPath(id)}/media`).then((a) => a.keys || [], () => [])));
    if (gen !== this.gen || this.dead) return;
    const byKey = new Map();
    lists.forEach((rows, i) => rows.filter((r) => r.kind === 'text').forEach((r) => {
      if (!byKey.has(r.key)) byKey.set(r.key, new Array(lists.length).fill(null));
      byKey.get(r.key)[i] = r;
    }));
    this.el.hidden = !byKey.size;
    if (!byKey.size) return;
    this.keys = [...byKey.keys()].sort();
    if (!byKey.has(this.key)) this.key = this.keys[0];
    this.span = stepSpan(byKey.get(this.key));
    // The same key again (a live run logged more): the controls stay, focus and all.
    if (this.slider && this.slider.opts.label === `text ${this.key}`) this.slider.setRange(this.span.first, this.span.last);
    else this.renderControls();
    await this.show(this.step ?? this.span.last, this.key === asked && this.metricNow() === askedMetric ? early : null);
  }

  /** fetch(step): the samples of the key at step (each run's last without one), beside the metric. */
  fetch(step) {
    return get('/text', { runs: this.opts.runs().join(','), key: this.key, step, metric: this.metricNow() });
  }

  /** metricChoices(): the compare view's keys (and the address's metric): '-' in the address is none. */
  metricChoices() {
    return [...new Set([...this.opts.metrics(), this.metric].filter((k) => k && k !== '-'))];
  }

  /** metricNow(): the metric shown beside the samples: the address's, else the first validation key charted, else val_loss; null for none. */
  metricNow() {
    if (this.metric === '-') return null;
    return this.metric || this.metricChoices().find(isValidation) || 'val_loss';
  }

  /** metricSelect(): the metric picker, its choices as they are now (the compare view's keys arrive after the samples may). */
  metricSelect() {
    const now = this.metricNow();
    const choices = [...new Set([...this.metricChoices(), now].filter(Boolean))];
    this.metricSig = JSON.stringify([choices, now]);
    return h('select', { 'aria-label': 'metric beside each sample', class: 'text-metric', onchange: (e) => { this.metric = e.target.value || '-'; this.save(); this.show(this.slider.value); } },
      h('option', { value: '', selected: now === null }, 'no metric'),
      choices.map((k) => h('option', { value: k, selected: k === now }, k)));
  }

  renderControls() {
    this.slider = new StepSlider({
      label: `text ${this.key}`, min: this.span.first, max: this.span.last, value: this.step ?? this.span.last,
      pick: (s) => { this.step = s; this.save(); return this.show(s); },
      prev: (s) => this.across(s, prevStep, -1),
      next: (s) => this.across(s, nextStep, 1),
    });
    this.metricEl = h('label', { class: 'ctl' }, h('span', { class: 'tool-label' }, 'Beside'), this.metricSelect());
    replace(this.controls,
      this.keys.length > 1 ? h('label', { class: 'ctl' }, h('span', { class: 'tool-label' }, 'Key'),
        h('select', { 'aria-label': 'text key', class: 'text-key', onchange: (e) => { this.key = e.target.value; this.step = null; this.slider = null; this.save(); this.load(); } },
          this.keys.map((k) => h('option', { value: k, selected: k === this.key }, k)))) : h('span', { class: 'ctl' }, h('span', { class: 'tool-label' }, 'Key'), h('code', null, this.key)),
      this.metricEl,
      h('div', { class: 'ctl text-step' }, h('span', { class: 'tool-label' }, 'Step'), this.slider.el));
  }

  /** across(step, fn, dir): the nearest logged step of any run before (dir -1) or after (dir 1) step. */
  async across(step, fn, dir) {
    const got = (await Promise.all(this.opts.runs().map((id) => fn(id, this.key, step).catch(() => null)))).filter((s) => s !== null && s !== undefined);
    if (!got.length) return null;
    return dir < 0 ? Math.max(...got) : Math.min(...got);
  }

  save() {
    setParams({ text: this.key, text_step: this.step, text_metric: this.metric });
  }

  /** show(step, answer): the samples at step (answer: the request for them, already made). */
  async show(step, answer) {
    const gen = (this.showGen = (this.showGen || 0) + 1);
    let a;
    const metric = this.metricNow();
    try {
      a = await (answer || this.fetch(step));
    } catch (e) {
      if (gen === this.showGen && !this.dead) replace(this.cards, errorBox(e, 'Could not load the samples'));
      return;
    }
    if (gen !== this.showGen || this.dead) return;
    this.slider.show(step, `step ${step}`);
    const now = this.metricNow();
    if (JSON.stringify([[...new Set([...this.metricChoices(), now].filter(Boolean))], now]) !== this.metricSig) this.metricEl.lastChild.replaceWith(this.metricSelect());
    replace(this.cards, a.runs.map((r) => card(r, step, metric, this.opts.colorOf(r.id))));
    performance.mark('runlog:text-drawn');
  }

  destroy() {
    this.dead = true;
  }
}

/** card(r, step, metric, colour): one run's sample, its step and the metric beside it. */
function card(r, step, metric, colour) {
  const at = r.step === null || r.step === undefined ? null : r.step;
  const m = r.metric;
  return h('article', { class: 'text-card', dataset: { run: r.id } },
    h('header', { class: 'text-card-head' },
      h('i', { class: 'swatch', style: { '--c': colour } }),
      h('a', { class: 'text-run', href: `/runs/${encodeURIComponent(r.id)}`, onclick: followLink, title: r.id }, r.name || r.id),
      h('span', { class: 'muted small text-at' }, at === null ? 'no sample yet' : at === step ? `step ${at}` : `step ${at} (latest ≤ ${step})`),
      metric ? h('span', { class: 'text-metric-value', title: m ? `${metric} at step ${m.step}` : `${metric}: not logged by step ${at ?? step}` },
        h('span', { class: 'muted' }, `${metric} `), m ? fmtNum(m.value) : '–') : null),
    at === null ? h('p', { class: 'muted' }, `No sample at or before step ${step}.`) : h('pre', { class: 'media-text' }, r.text));
}
