// The runs table: every run of the home, searched and sorted by the
// server (GET /api/v1/runs: q, status, sort, order), with columns for any
// config and summary key, live as runs train, and a selection to compare.
// Rows are fetched a page at a time as they scroll into view and only the
// visible ones are in the DOM, so ten thousand runs scroll as one hundred.

import { get, onRunsChangedBatched, ApiError } from './api.js';
import { h, replace, text, debounce } from './dom.js';
import { params, list, setParams, href, followLink } from './url.js';
import { fmtNum, fmtValue, fmtDuration, fmtAgo, fmtTime, getPath, num } from './format.js';
import { badge, tag, STATUSES, errorBox } from './widgets.js';
import { openPicker } from './picker.js';

const ROW = 36; // px, fixed: the virtual scroller's arithmetic
const PAGE = 200;
const OVERSCAN = 10;

const LOADING = Symbol('loading');
const lossCell = (p) => (p ? h('span', { title: `step ${p.step}` }, fmtNum(p.value)) : '–');

const BASE_COLUMNS = [
  { id: 'status', label: 'Status', sort: 'status', width: 108, cell: (r) => badge(r.status) },
  { id: 'name', label: 'Name', sort: 'name', width: 200, asc: true, cell: (r) => h('a', { class: 'run-link', href: `/runs/${encodeURIComponent(r.id)}`, onclick: followLink, title: r.hypothesis ? `${r.name}\n${r.hypothesis}` : r.name }, r.name || r.id) },
  { id: 'id', label: 'ID', sort: 'id', width: 88, asc: true, cell: (r) => h('code', null, r.id) },
  { id: 'project', label: 'Project', sort: 'project', width: 100, asc: true, cell: (r) => r.project },
  { id: 'tags', label: 'Tags', width: 116, cell: (r) => r.tags.map(tag) },
  { id: 'start_time', label: 'Started', sort: 'start_time', width: 100, cell: (r) => h('span', { title: fmtTime(r.start_time) }, fmtAgo(r.start_time)) },
  { id: 'wallclock_time', label: 'Duration', sort: 'wallclock_time', width: 86, num: true, cell: (r) => fmtDuration(r.wallclock_time) },
  { id: 'last_step', label: 'Step', sort: 'last_step', width: 76, num: true, cell: (r) => fmtNum(r.last_step) },
  { id: 'train_loss', label: 'Train loss', sort: 'train_loss', width: 90, num: true, cell: (r) => lossCell(r.train_loss) },
  { id: 'val_loss', label: 'Val loss', sort: 'val_loss', width: 90, num: true, cell: (r) => lossCell(r.val_loss) },
];

/**
 * keyColumn('config.lr', finals): a column for a config or summary key.
 * summary.<key> is, as in the API's q and sort, the value the run set, else
 * the final value of its series <key>. The runs list sends only the values
 * set (RunRow.summary); for the others, finals(run) fetches the run's detail.
 */
function keyColumn(id, finals) {
  const [src, ...rest] = id.split('.');
  const key = rest.join('.');
  const value = src === 'config'
    ? (r) => getPath(r.config, key)
    : (r) => {
      if (r.summary && key in r.summary) return r.summary[key];
      if (r.metrics) return r.metrics[key]; // a server that sends the finals with the row
      if (key === 'train_loss' || key === 'val_loss') return r[key]?.value;
      const f = finals(r);
      return f === null ? LOADING : f[key];
    };
  return {
    id, label: key, group: src, sort: id, width: 96, num: true,
    cell: (r) => {
      const v = value(r);
      if (v === LOADING) return h('span', { class: 'muted' }, '…');
      const s = fmtValue(v);
      return typeof num(v) === 'number' ? s : h('span', { class: 'text-cell', title: s }, s);
    },
  };
}

/** varying(rows, keys): config keys whose values differ among the rows — the default columns. */
function varying(rows, keys) {
  const out = [];
  for (const k of keys) {
    const seen = new Set();
    for (const r of rows) {
      const v = getPath(r.config, k);
      if (v !== undefined) seen.add(JSON.stringify(v));
    }
    if (seen.size > 1) out.push(`config.${k}`);
    if (out.length === 3) break;
  }
  return out;
}

export class RunsView {
  constructor() {
    const p = params();
    this.q = p.get('q') || '';
    this.status = STATUSES.includes(p.get('status')) ? p.get('status') : '';
    this.sort = p.get('sort') || 'start_time';
    this.order = p.get('order') === 'asc' ? 'asc' : 'desc';
    this.cols = p.has('cols') ? list('cols').filter((c) => c !== '-') : null; // null: chosen for the runs (varying config keys)
    this.selected = list('sel');
    this.pages = new Map();
    this.total = null;
    this.keys = { config: [], summary: [] };
    this.gen = 0;
    this.first = true;
    this.badFilter = false; // the last answer was a 400 about the filter
    this.build();
  }

  build() {
    this.filter = h('input', {
      type: 'search', class: 'filter', value: this.q, spellcheck: 'false', 'aria-label': 'filter runs',
      placeholder: 'Filter ( / ) — a word, status = running, tag = sweep, config.lr > 1e-3 and summary.val_loss < 2',
      oninput: debounce(() => this.setQuery(this.filter.value.trim()), 300),
      onkeydown: (e) => { if (e.key === 'Enter') this.setQuery(this.filter.value.trim()); },
    });
    this.filterError = h('div', { class: 'filter-error', role: 'status' });
    this.chips = ['', ...STATUSES].map((s) => h('button', {
      class: ['chip', s === this.status && 'on', s && `chip-${s}`], dataset: { status: s },
      onclick: () => this.setStatus(s),
    }, s || 'all'));
    this.count = h('span', { class: 'count' });
    this.compareBtn = h('a', { class: 'btn primary compare-btn', onclick: followLink });
    this.clearBtn = h('button', { class: 'btn-ghost', onclick: () => this.setSelected([]) }, 'Clear');
    this.colsBtn = h('button', { class: 'btn', onclick: () => this.pickColumns() }, 'Columns');
    this.thead = h('thead');
    this.tbody = h('tbody');
    this.colgroup = h('colgroup');
    this.table = h('table', { class: 'runs' }, this.colgroup, this.thead, this.tbody);
    this.scroller = h('div', { class: 'runs-scroll', onscroll: () => this.onScroll() }, this.table);
    this.el = h('div', { class: 'view runs-view' },
      h('div', { class: 'runs-tools' },
        h('div', { class: 'filter-wrap' }, this.filter, this.filterError),
        h('div', { class: 'tools-row' },
          h('div', { class: 'chips', role: 'group', 'aria-label': 'status' }, this.chips),
          h('span', { class: 'spacer' }),
          this.count, this.colsBtn, this.clearBtn, this.compareBtn)),
      this.scroller);
    this.showSelection();
  }

  start() {
    document.title = 'Runs · runlog';
    // '/' jumps to the filter, as in most tools with a search box.
    this.onKey = (e) => {
      if (e.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName)) {
        e.preventDefault();
        this.filter.focus();
      }
    };
    addEventListener('keydown', this.onKey);
    this.unsub = onRunsChangedBatched(() => this.refresh());
    this.reload();
  }

  destroy() {
    this.gen++;
    removeEventListener('keydown', this.onKey);
    this.unsub?.();
    this.picker?.close();
  }

  columns() {
    const chosen = this.cols ?? this.autoCols ?? [];
    return [...BASE_COLUMNS, ...chosen.map((c) => keyColumn(c, (r) => this.finals(r)))];
  }

  saveURL() {
    setParams({
      q: this.q, status: this.status, sort: this.sort === 'start_time' ? null : this.sort,
      order: this.order === 'desc' ? null : this.order, cols: this.cols ? (this.cols.length ? this.cols : '-') : null,
      sel: this.selected,
    });
  }

  setQuery(q) {
    if (q === this.q) return;
    this.q = q;
    this.saveURL();
    this.reload();
  }

  setStatus(s) {
    this.status = s;
    this.chips.forEach((c) => c.classList.toggle('on', c.dataset.status === s));
    this.saveURL();
    this.reload();
  }

  setSort(col) {
    if (this.sort === col.sort) this.order = this.order === 'desc' ? 'asc' : 'desc';
    else {
      this.sort = col.sort;
      this.order = col.asc ? 'asc' : 'desc';
    }
    this.saveURL();
    this.reload();
  }

  setSelected(ids) {
    this.selected = ids;
    this.saveURL();
    this.showSelection();
    this.renderRows();
  }

  toggle(id, on) {
    const s = this.selected.filter((x) => x !== id);
    if (on) s.push(id);
    this.setSelected(s);
  }

  showSelection() {
    const n = this.selected.length;
    text(this.compareBtn, n ? `Compare ${n} run${n === 1 ? '' : 's'}` : 'Compare');
    this.compareBtn.setAttribute('href', href('/compare', { runs: this.selected }));
    this.compareBtn.classList.toggle('disabled', n < 1);
    this.compareBtn.title = n ? 'overlay the curves of the selected runs, with their config diff and comparison' : 'tick runs to compare them';
    this.clearBtn.hidden = !n;
  }

  apiParams(offset, limit) {
    return { q: this.q, status: this.status, sort: this.sort, order: this.order, offset, limit };
  }

  /** reload: the first page again, for a new query, filter or sort; the old rows stay until it comes. */
  async reload() {
    const gen = ++this.gen;
    try {
      const res = await get('/runs', this.apiParams(0, PAGE));
      if (gen !== this.gen) return;
      this.badFilter = false;
      text(this.filterError, '');
      this.filter.classList.remove('bad');
      this.pages = new Map([[0, res.runs]]);
      this.accept(res);
      this.renderHead();
      this.scroller.scrollTop = 0;
      this.renderRows();
      if (this.first) {
        this.first = false;
        performance.mark('runlog:interactive');
      }
    } catch (e) {
      if (gen !== this.gen) return;
      if (e instanceof ApiError && e.status === 400) {
        // The server's message says where the filter is wrong; the rows of
        // the last good filter would read as this one's answer, so they go.
        this.badFilter = true;
        text(this.filterError, e.message);
        this.filter.classList.add('bad');
        this.pages = new Map();
        this.total = 0;
        text(this.count, '');
        this.renderRows();
      } else {
        replace(this.tbody, h('tr', null, h('td', { colspan: 99 }, errorBox(e, 'Could not list the runs'))));
      }
    }
  }

  accept(res) {
    this.total = res.total;
    this.keys = { config: res.config_keys || [], summary: res.summary_keys || [] };
    if (!this.cols && !this.autoCols && res.runs.length) this.autoCols = varying(res.runs, this.keys.config);
    text(this.count, `${res.total.toLocaleString('en-US')} run${res.total === 1 ? '' : 's'}`);
  }

  /** refresh: live update — fetch again the pages in view, keeping the scroll position. */
  async refresh() {
    if (this.badFilter) return; // the same filter fails again; the next edit reloads
    const gen = this.gen;
    const [a, b] = this.visibleRange();
    const want = new Set([0]);
    for (let i = Math.floor(a / PAGE); i <= Math.floor(Math.max(a, b - 1) / PAGE); i++) want.add(i);
    try {
      const got = await Promise.all([...want].map((p) => get('/runs', this.apiParams(p * PAGE, PAGE)).then((res) => [p, res])));
      if (gen !== this.gen) return;
      this.pages = new Map(got.map(([p, res]) => [p, res.runs]));
      const headChanged = JSON.stringify(this.keys) !== JSON.stringify({ config: got[0][1].config_keys, summary: got[0][1].summary_keys });
      this.accept(got[0][1]);
      if (headChanged) this.renderHead();
      this.renderRows();
    } catch { /* the next change tries again */ }
  }

  visibleRange() {
    const top = this.scroller.scrollTop;
    // The scroller grows with its rows up to the window's height: count on that height.
    const h = Math.max(this.scroller.clientHeight, innerHeight - this.scroller.getBoundingClientRect().top, 200);
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(this.total ?? 0, Math.ceil((top + h) / ROW) + OVERSCAN);
    return [first, last];
  }

  onScroll() {
    if (this.scrollFrame) return;
    this.scrollFrame = requestAnimationFrame(() => {
      this.scrollFrame = 0;
      this.renderRows();
    });
  }

  async loadPage(p) {
    if (this.pages.has(p)) return;
    const gen = this.gen;
    this.pages.set(p, null); // loading
    try {
      const res = await get('/runs', this.apiParams(p * PAGE, PAGE));
      if (gen !== this.gen) return;
      this.pages.set(p, res.runs);
      this.renderRows();
    } catch {
      if (gen === this.gen) this.pages.delete(p);
    }
  }

  renderHead() {
    const cols = this.columns();
    const anySel = this.selected.length > 0;
    replace(this.colgroup, h('col', { style: { width: '40px' } }), cols.map((c) => h('col', { style: { width: `${c.width}px` } })));
    const width = 40 + cols.reduce((s, c) => s + c.width, 0);
    this.table.style.width = `${width}px`;
    replace(this.thead, h('tr', null,
      h('th', { class: 'sel' }, h('input', {
        type: 'checkbox', 'aria-label': 'clear the selection', checked: anySel, indeterminate: anySel, disabled: !anySel,
        onchange: () => this.setSelected([]),
      })),
      cols.map((c) => {
        const sorted = this.sort === c.sort;
        return h('th', {
          class: [c.num && 'num', c.sort && 'sortable', sorted && 'sorted'], scope: 'col',
          'aria-sort': sorted ? (this.order === 'asc' ? 'ascending' : 'descending') : undefined,
          title: c.group ? `${c.group}.${c.label}` : c.label,
          onclick: c.sort ? () => this.setSort(c) : undefined,
        }, c.group ? h('span', { class: 'col-group' }, c.group === 'config' ? 'config' : 'summary') : null, c.label,
        sorted ? h('span', { class: 'arrow' }, this.order === 'asc' ? ' ▲' : ' ▼') : null);
      })));
    this.colsCache = cols;
  }

  renderRows() {
    const cols = this.colsCache || this.columns();
    const total = this.total ?? 0;
    if (!total) {
      replace(this.tbody, h('tr', null, h('td', { class: 'empty', colspan: cols.length + 1 },
        this.badFilter ? 'Fix the filter to list runs.' : this.q || this.status ? 'No run matches this filter.' : h('span', null, 'No runs yet. Start one with ', h('code', null, 'runlog run -- python train.py'), ', or log from Python with runlog.init().'))));
      return;
    }
    const [first, last] = this.visibleRange();
    const rows = [h('tr', { class: 'spacer', style: { height: `${first * ROW}px` } })];
    const sel = new Set(this.selected);
    for (let i = first; i < last; i++) {
      const page = this.pages.get(Math.floor(i / PAGE));
      if (!page) {
        if (page === undefined) this.loadPage(Math.floor(i / PAGE));
        rows.push(h('tr', { class: 'loading-row' }, h('td', { colspan: cols.length + 1 }, '…')));
        continue;
      }
      const r = page[i % PAGE];
      if (!r) continue;
      const on = sel.has(r.id);
      rows.push(h('tr', { class: [on && 'selected', `st-${r.status}`], dataset: { id: r.id } },
        h('td', { class: 'sel' }, h('input', { type: 'checkbox', checked: on, 'aria-label': `select ${r.name}`, onchange: (e) => this.toggle(r.id, e.target.checked) })),
        cols.map((c) => h('td', { class: [c.num && 'num', `c-${c.id.replace(/\W/g, '_')}`] }, c.cell(r)))));
    }
    rows.push(h('tr', { class: 'spacer', style: { height: `${Math.max(0, total - last) * ROW}px` } }));
    replace(this.tbody, rows);
    // The header checkbox mirrors the selection.
    const hc = this.thead.querySelector('th.sel input');
    if (hc) {
      hc.checked = hc.indeterminate = sel.size > 0;
      hc.disabled = !sel.size;
    }
  }

  /** finals(row): the summary of the run's detail (set values and series finals), or null while it is fetched. */
  finals(r) {
    this.finalsCache ??= new Map();
    const key = `${r.id}@${r.last_time}`;
    const hit = this.finalsCache.get(key);
    if (hit !== undefined) return hit;
    this.finalsCache.set(key, null);
    get(`/runs/${encodeURIComponent(r.id)}`).then((d) => {
      this.finalsCache.set(key, d.summary || {});
      this.redrawSoon();
    }, () => this.finalsCache.set(key, {}));
    return null;
  }

  redrawSoon() {
    if (this.redrawTimer) return;
    this.redrawTimer = setTimeout(() => { this.redrawTimer = 0; this.renderRows(); }, 50);
  }

  pickColumns() {
    const current = new Set(this.cols ?? this.autoCols ?? []);
    this.picker = openPicker(this.colsBtn, {
      title: 'Columns',
      groups: [
        { label: 'Config', items: this.keys.config.map((k) => ({ id: `config.${k}`, label: k })) },
        { label: 'Summary and final values', items: this.keys.summary.map((k) => ({ id: `summary.${k}`, label: k })) },
      ],
      selected: current,
      onChange: (ids) => {
        this.cols = ids;
        this.saveURL();
        this.renderHead();
        this.renderRows();
      },
    });
  }
}

