// A run's rich values on its page: a panel per key (GET
// /api/v1/runs/{id}/media) — texts, images as a grid, tables with sorting,
// HTML as source or in a sandboxed frame — each with a step slider that
// shows the values of the greatest logged step at or before it
// (GET /api/v1/runs/{id}/media/entries); histograms over the steps as a
// heatmap (histogram.js). The steps picked are kept in the address
// (`mstep=KEY:STEP`, repeated); a panel without one follows the last step
// while the run trains.
//
// Everything a run logged is shown as text or as an image: strings go in
// through h() as text nodes; HTML values are either shown as their source
// or put in an <iframe sandbox=""> (no scripts, an origin of its own) —
// never parsed into this page.

import { get, getText, runPath, fileURL } from './api.js';
import { h, replace, debounce } from './dom.js';
import { params, setParams } from './url.js';
import { fmtNum, fmtBytes, fmtStep } from './format.js';
import { errorBox } from './widgets.js';
import { cellKind, sortRows, parseSteps, formatSteps, mediaPath } from './mediadata.js';
import { HistogramPanel } from './histogram.js';
import './media.css';

// Bounds of what one panel shows: rows of a table (all are sorted), bytes
// of an HTML value's source.
const TABLE_ROWS = 500;
const HTML_BYTES = 2 << 20;
// EAGER panels load with the page; the others (a model's hundred layers of
// histograms) when scrolled near, so that a run with many keys costs what
// is looked at.
const EAGER = 8;

/** apiPath(url): a URL the API answered (an entry's url) as get()'s path. */
const apiPath = (url) => url.replace(/^\/api\/v1(?=\/)/, '');

/** entriesAt(run, key, step): the entries of the greatest step at or before step ({step, entries}). */
export const entriesAt = (run, key, step, signal) => get(`${runPath(run)}/media/entries`, { key, step }, signal);

/** nextStep(run, key, step): the first step after step that the key holds, or null. */
export async function nextStep(run, key, step) {
  const a = await get(`${runPath(run)}/media/entries`, { key, from: step + 1, limit: 1 });
  return a.entries.length ? a.entries[0].step : null;
}

/** prevStep(run, key, step): the last step before step that the key holds, or null. */
export async function prevStep(run, key, step) {
  return (await entriesAt(run, key, step - 1)).step;
}

/**
 * StepSlider: a range over [min, max] that picks a step, with buttons and
 * keys (←/→, Home/End) that move to the previous or next logged step —
 * the range alone would land between them.
 * opts: {label, min, max, value, pick(step) → Promise, prev(step), next(step) → Promise<step|null>}
 */
export class StepSlider {
  constructor(opts) {
    this.opts = opts;
    this.value = opts.value;
    this.range = h('input', {
      type: 'range', class: 'step-range', min: String(opts.min), max: String(Math.max(opts.max, opts.min)), step: '1', value: String(opts.value),
      'aria-label': `${opts.label}: step`, 'aria-valuetext': `step ${opts.value}`,
      oninput: () => { this.out.textContent = `step ${this.range.value}`; this.pickLater(Number(this.range.value)); },
      onkeydown: (e) => this.key(e),
    });
    this.out = h('output', { class: 'step-out' }, `step ${opts.value}`);
    this.prevBtn = h('button', { class: 'btn-ghost step-prev', type: 'button', title: 'the previous logged step (←)', 'aria-label': `${opts.label}: previous step`, onclick: () => this.move(-1) }, '◀');
    this.nextBtn = h('button', { class: 'btn-ghost step-next', type: 'button', title: 'the next logged step (→)', 'aria-label': `${opts.label}: next step`, onclick: () => this.move(1) }, '▶');
    this.el = h('div', { class: 'step-slider' }, this.prevBtn, this.range, this.nextBtn, this.out);
    this.pickLater = debounce((s) => this.pick(s), 120);
    this.disabled(opts.min >= opts.max);
  }

  disabled(off) {
    this.range.disabled = off;
    this.prevBtn.disabled = off;
    this.nextBtn.disabled = off;
  }

  /** setRange(min, max): the steps grew (a live run). */
  setRange(min, max) {
    this.opts.min = min;
    this.opts.max = max;
    this.range.min = String(min);
    this.range.max = String(Math.max(min, max));
    this.disabled(min >= max);
  }

  /** show(step, said): the slider at step; `said` is the text beside it. */
  show(step, said) {
    this.value = step;
    this.range.value = String(step);
    this.range.setAttribute('aria-valuetext', said || `step ${step}`);
    this.out.textContent = said || `step ${step}`;
  }

  async pick(step) {
    await this.opts.pick(step);
  }

  async move(dir) {
    const s = await (dir < 0 ? this.opts.prev(this.value) : this.opts.next(this.value)).catch(() => null);
    if (s !== null && s !== undefined) await this.pick(s);
  }

  key(e) {
    const map = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 };
    if (e.key in map) {
      e.preventDefault();
      this.move(map[e.key]);
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      this.pick(e.key === 'Home' ? this.opts.min : this.opts.max);
    }
  }
}

/**
 * MediaSection: the rich values of one run, a panel per key and kind.
 * opts: {run: id}. load() again when the run changes.
 */
export class MediaSection {
  constructor({ run }) {
    this.run = run;
    this.panels = new Map(); // `${kind}\n${key}` → panel
    this.steps = parseSteps(params().getAll('mstep'));
    this.near = new IntersectionObserver((seen) => {
      for (const e of seen) {
        if (!e.isIntersecting) continue;
        const p = [...this.panels.values()].find((x) => x.el === e.target);
        this.near.unobserve(e.target);
        if (p) { p.near = true; p.update(p.pending); }
      }
    }, { rootMargin: '600px 0px' });
    this.grid = h('div', { class: 'media-grid' });
    this.el = h('section', { class: 'media-section', hidden: true },
      h('div', { class: 'charts-head' }, h('h2', null, 'Media'), h('span', { class: 'muted' }, 'text, images, tables, HTML and histograms the run logged')),
      this.grid);
  }

  async load() {
    let a;
    try {
      a = await get(`${runPath(this.run)}/media`);
    } catch (e) {
      if (this.dead || e.status === 404) return; // no such run: the page says so
      this.el.hidden = false;
      replace(this.grid, errorBox(e, 'Could not list the media'));
      return;
    }
    if (this.dead) return;
    const rows = a.keys || [];
    this.el.hidden = !rows.length;
    const ids = rows.map((r) => `${r.kind}\n${r.key}`);
    if (ids.join('\0') !== [...this.panels.keys()].join('\0')) {
      for (const p of this.panels.values()) p.destroy?.();
      this.panels.clear();
      this.near.disconnect();
      rows.forEach((r, i) => this.panels.set(ids[i], r.kind === 'histogram'
        ? new HistogramPanel({ run: this.run, row: r })
        : new EntryPanel({ run: this.run, row: r, step: this.steps.get(r.key), onPick: (s) => this.remember(r.key, s) })));
      replace(this.grid, [...this.panels.values()].map((p) => p.el));
    }
    await Promise.all(rows.map((r, i) => {
      const p = this.panels.get(ids[i]);
      if (i < EAGER || p.near) return p.update(r);
      p.pending = r;
      this.near.observe(p.el);
      return null;
    }));
    performance.mark('runlog:media-drawn');
  }

  remember(key, step) {
    this.steps.set(key, step);
    setParams({ 'mstep[]': formatSteps(this.steps) });
  }

  destroy() {
    this.dead = true;
    this.near.disconnect();
    for (const p of this.panels.values()) p.destroy?.();
  }
}

const KIND_LABEL = { text: 'text', image: 'images', table: 'table', html: 'HTML', histogram: 'histogram' };

/** mediaHead(row, ...extra): a media panel's header: its key (as text), kind and count. */
export function mediaHead(row, ...extra) {
  return h('header', { class: 'chart-head media-head' },
    h('h3', { class: 'chart-title', title: row.key }, row.key),
    h('span', { class: 'media-kind' }, KIND_LABEL[row.kind] || row.kind),
    h('span', { class: 'muted small' }, `${fmtNum(row.count)} value${row.count === 1 ? '' : 's'} · steps ${fmtStep(row.first_step)}–${fmtStep(row.last_step)}`),
    ...extra);
}

/**
 * EntryPanel: the values of one key (text, image, table or HTML) at one
 * step, picked with a step slider.
 * opts: {run, row (the key's row of the media list), step (from the address, or undefined: follow the last), onPick(step)}
 */
class EntryPanel {
  constructor({ run, row, step, onPick }) {
    this.run = run;
    this.row = row;
    this.follow = step === undefined;
    this.want = step ?? row.last_step;
    this.onPick = onPick;
    const label = row.key;
    this.slider = new StepSlider({
      label, min: row.first_step, max: row.last_step, value: this.want,
      pick: (s) => { this.follow = false; this.onPick(s); return this.show(s); },
      prev: (s) => prevStep(run, row.key, s),
      next: (s) => nextStep(run, row.key, s),
    });
    this.body = h('div', { class: 'media-body' });
    this.el = h('section', { class: ['chart', 'media-panel', `media-${row.kind}`], dataset: { key: row.key, kind: row.kind } },
      mediaHead(row), this.slider.el, this.body);
  }

  /** update(row): the key's row again (a live run): the range grows, a panel that follows moves to the last step. */
  async update(row) {
    const grew = row.last_step !== this.row.last_step || row.count !== this.row.count;
    this.row = row;
    if (grew) this.el.querySelector('.media-head').replaceWith(mediaHead(row));
    this.slider.setRange(row.first_step, row.last_step);
    if (this.follow) this.want = row.last_step;
    if (grew || !this.shown) await this.show(this.want);
  }

  async show(step) {
    const gen = (this.gen = (this.gen || 0) + 1);
    this.abort?.abort();
    this.abort = new AbortController();
    let a, body;
    try {
      a = await entriesAt(this.run, this.row.key, step, this.abort.signal);
      const mine = a.entries.filter((e) => e.kind === this.row.kind);
      body = mine.length ? await this.render(mine, this.abort.signal) : h('p', { class: 'muted' }, a.step === null ? `Nothing logged at or before step ${step}.` : `No ${KIND_LABEL[this.row.kind]} at step ${a.step}.`);
    } catch (e) {
      if (e.name === 'AbortError' || gen !== this.gen) return;
      body = errorBox(e, `Could not load ${this.row.key}`);
    }
    if (gen !== this.gen) return;
    this.shown = true;
    this.want = step;
    const found = a?.step;
    this.slider.show(found ?? step, found === null || found === undefined ? `step ${step}` : found === step ? `step ${found}` : `step ${found} (≤ ${step})`);
    replace(this.body, body);
    if (this.row.kind === 'image') await imagesShown(this.body);
  }

  render(entries, signal) {
    switch (this.row.kind) {
      case 'text': return textEntries(entries);
      case 'image': return imageGrid(this.row.key, entries);
      case 'table': return Promise.all(entries.map((e) => tableEntry(this.run, e, signal))).then((els) => h('div', { class: 'media-tables' }, els));
      case 'html': return Promise.all(entries.map((e) => htmlEntry(e, signal))).then((els) => h('div', { class: 'media-htmls' }, els));
      default: return h('p', { class: 'muted' }, `This version of the UI does not show ${this.row.kind} values.`);
    }
  }

  destroy() {
    this.gen = -1;
    this.abort?.abort();
  }
}

/** textEntries(entries): texts as text (pre-wrap), several at one step numbered. */
function textEntries(entries) {
  return h('div', { class: 'media-texts' }, entries.map((e, i) => h('figure', { class: 'media-text-item' },
    entries.length > 1 ? h('figcaption', { class: 'muted small' }, `#${i + 1}`) : null,
    h('pre', { class: 'media-text' }, e.text ?? ''))));
}

/** imageInfo(key, e): what a tile says about its image: step, place in the list, pixels, bytes, format. */
function imageInfo(key, e) {
  return [key, `step ${e.step}`, e.index !== undefined && e.index !== null ? `#${e.index}` : null,
    e.width && e.height ? `${e.width} × ${e.height} px` : null, e.size ? fmtBytes(e.size) : null, e.format || null].filter(Boolean).join(' · ');
}

/**
 * imageGrid(key, entries): the images of one step as a grid of lazily
 * loaded thumbnails; hovering, focusing or clicking a tile says its step,
 * size and dimensions below the grid, with a link to the full image.
 */
function imageGrid(key, entries) {
  const info = h('div', { class: 'media-info', 'aria-live': 'polite' }, h('span', { class: 'muted' }, `${entries.length} image${entries.length === 1 ? '' : 's'} · hover or click one for its details`));
  const say = (e) => replace(info, h('span', null, imageInfo(key, e)), e.caption ? h('span', { class: 'media-caption' }, ` — ${e.caption}`) : null, ' ',
    h('a', { href: e.url, target: '_blank', rel: 'noopener', class: 'media-open' }, 'full size'));
  // Thumbnails the images' own size, between 64 and 192 px wide.
  const w = Math.max(...entries.map((e) => e.width || 128));
  const thumb = Math.min(192, Math.max(64, w));
  const tiles = entries.map((e, i) => h('figure', { class: 'media-tile' },
    h('button', {
      type: 'button', class: ['media-thumb', e.width && e.width < 64 && 'pixelated'], title: imageInfo(key, e) + (e.caption ? `\n${e.caption}` : ''),
      'aria-label': `image ${i + 1} of ${entries.length}: ${imageInfo(key, e)}`,
      onclick: () => say(e), onfocus: () => say(e), onmouseenter: () => say(e),
    }, h('img', { src: e.url, alt: e.caption || `${key} at step ${e.step}${entries.length > 1 ? ` #${i + 1}` : ''}`, loading: 'lazy', decoding: 'async', width: e.width || null, height: e.height || null })),
    e.caption ? h('figcaption', { class: 'small' }, e.caption) : null));
  return h('div', null, h('div', { class: 'media-images', style: { '--thumb': `${thumb}px` } }, tiles), info);
}

/**
 * imagesShown(el): resolves when the images of el that are in the window
 * have loaded (or failed): what "the grid is drawn" means to a reader.
 */
export function imagesShown(el) {
  const vh = innerHeight, vw = innerWidth;
  const inView = [...el.querySelectorAll('img')].filter((img) => {
    const r = img.getBoundingClientRect();
    return r.bottom > 0 && r.right > 0 && r.top < vh && r.left < vw;
  });
  return Promise.all(inView.map((img) => (img.complete ? null : new Promise((ok) => {
    img.addEventListener('load', ok, { once: true });
    img.addEventListener('error', ok, { once: true });
  })))).then(() => performance.mark('runlog:images-drawn'));
}

/**
 * tableEntry(run, e): a logged table (its JSON file) with sorting: a click
 * on a column's head (a button) sorts by it, again reverses, a third time
 * goes back to the logged order. Cells are numbers, strings, booleans or
 * images of the run folder; strings are text.
 */
async function tableEntry(run, e, signal) {
  const t = await get(apiPath(e.url), null, signal);
  const columns = Array.isArray(t.columns) ? t.columns.map(String) : [];
  const rows = Array.isArray(t.data) ? t.data.filter(Array.isArray) : [];
  let col = -1, dir = 'asc', limit = TABLE_ROWS;
  const numeric = columns.map((_, c) => rows.length > 0 && rows.every((r) => ['number', 'null'].includes(cellKind(r[c]))));
  const thead = h('thead');
  const tbody = h('tbody');
  const foot = h('div', { class: 'media-table-foot muted small' });
  const draw = () => {
    replace(thead, h('tr', null, columns.map((c, i) => h('th', {
      scope: 'col', class: numeric[i] ? 'num' : null, 'aria-sort': i === col ? (dir === 'asc' ? 'ascending' : 'descending') : 'none',
    }, h('button', { type: 'button', class: 'sort-btn', title: `sort by ${c}`, onclick: () => sortBy(i) }, c, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, i === col ? (dir === 'asc' ? ' ▲' : ' ▼') : ''))))));
    const order = sortRows(rows, col, dir);
    replace(tbody, order.slice(0, limit).map((ri) => h('tr', null, columns.map((_, c) => cell(run, rows[ri][c], numeric[c])))));
    replace(foot, `${fmtNum(rows.length)} row${rows.length === 1 ? '' : 's'}`, e.caption ? ` · ${e.caption}` : '',
      rows.length > limit ? [` · showing the first ${fmtNum(limit)} `, h('button', { type: 'button', class: 'btn-ghost', onclick: () => { limit = rows.length; draw(); } }, 'show all')] : null);
  };
  const sortBy = (i) => {
    if (col !== i) { col = i; dir = 'asc'; } else if (dir === 'asc') dir = 'desc'; else col = -1;
    draw();
    thead.querySelectorAll('.sort-btn')[i]?.focus();
  };
  draw();
  return h('div', { class: 'media-table-wrap' }, h('div', { class: 'table-scroll' }, h('table', { class: 'grid media-table' }, thead, tbody)), foot);
}

function cell(run, v, numeric) {
  switch (cellKind(v)) {
    case 'number': return h('td', { class: 'num' }, fmtNum(v));
    case 'null': return h('td', { class: 'muted' }, '–');
    case 'bool': return h('td', { class: numeric ? 'num' : null }, String(v));
    case 'string': return h('td', { class: 'media-cell-text' }, v);
    case 'image': {
      const im = v.image;
      if (!mediaPath(im.path)) return h('td', { class: 'media-cell-text muted', title: 'not a path under media/: not shown' }, im.path);
      return h('td', { class: 'media-cell-image' }, h('a', { href: fileURL(run, im.path), target: '_blank', rel: 'noopener', title: `${im.path}${im.width ? ` · ${im.width} × ${im.height} px` : ''}` },
        h('img', { src: fileURL(run, im.path), alt: im.path.split('/').pop(), loading: 'lazy', decoding: 'async', width: im.width || null, height: im.height || null })));
    }
    default: return h('td', { class: 'media-cell-text' }, JSON.stringify(v));
  }
}

/**
 * htmlEntry(e): an HTML value, rendered in a sandboxed frame (no scripts,
 * no forms, no popups, an opaque origin of its own, and the page's CSP
 * inherited) or shown as its source; a toggle switches.
 */
async function htmlEntry(e, signal) {
  let src = await getText(apiPath(e.url), null, signal);
  const cut = src.length > HTML_BYTES;
  if (cut) src = src.slice(0, HTML_BYTES);
  const view = h('div', { class: 'media-html-view' });
  const seg = (mode, label, title) => h('button', { type: 'button', class: 'seg', dataset: { mode }, title, 'aria-pressed': 'false', onclick: () => show(mode) }, label);
  const buttons = [seg('rendered', 'Rendered', 'drawn in a sandboxed frame: no scripts run'), seg('source', 'Source', 'the HTML as text')];
  const show = (mode) => {
    for (const b of buttons) {
      const on = b.dataset.mode === mode;
      b.classList.toggle('on', on);
      b.setAttribute('aria-pressed', String(on));
    }
    replace(view, mode === 'source' ? h('pre', { class: 'media-text media-html-source' }, src) : sandboxedFrame(src, e.caption || 'logged HTML'));
  };
  show('rendered');
  return h('div', { class: 'media-html' },
    h('div', { class: 'media-html-bar' }, h('div', { class: 'seg-group', role: 'group', 'aria-label': 'show the HTML' }, buttons),
      h('span', { class: 'muted small' }, [fmtBytes(e.size), cut ? 'cut to 2 MB' : null, e.caption].filter(Boolean).join(' · '))),
    view);
}

/**
 * sandboxedFrame(html, title): the one place the UI hands logged HTML to a
 * browser's parser, and only inside a frame sandboxed with no permission
 * at all (sandbox="" is set before the document: no scripts, no
 * same-origin, no forms, no popups, no top navigation). tests/unit.test.mjs
 * allows this one frame document; tests/media.test.mjs proves no script runs.
 */
function sandboxedFrame(html, title) {
  const frame = h('iframe', { sandbox: '', class: 'media-frame', title, referrerpolicy: 'no-referrer' });
  frame.srcdoc = html;
  return frame;
}
