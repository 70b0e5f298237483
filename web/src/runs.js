// The runs table: every run of the home, searched and sorted by the
// server (GET /api/v1/runs: q, status, sort, order), with columns for any
// config and summary key, live as runs train, and a selection to compare.
// Rows are fetched a page at a time as they scroll into view and only the
// visible ones are in the DOM, so ten thousand runs scroll as one hundred.
// One project at a time, or all of them (project=, remembered in
// localStorage with each project's columns). The header checkbox selects
// every run of the filter, all pages (ids_only=1); a shift-click a range;
// a group cell its group.

import { get, onRunsChangedBatched, ApiError } from './api.js';
import { h, replace, text, debounce } from './dom.js';
import { params, list, setParams, href, followLink } from './url.js';
import { fmtNum, fmtValue, fmtDuration, fmtAgo, fmtTime, getPath, num } from './format.js';
import { badge, tag, STATUSES, errorBox } from './widgets.js';
import { openPicker } from './picker.js';
import { defaultColumns, rangeSelect, addAll } from './table.js';
import './table.css';

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
  { id: 'group', label: 'Group', sort: 'group', width: 128, asc: true },
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

/** CHIPS: up to this many selected runs show as chips, one each; more collapse to a count. */
const CHIPS = 4;

// What the table remembers in the browser: the last project shown, and the
// columns chosen for each project ('' is all projects).
const STORE_PROJECT = 'runlog.project';
const STORE_COLS = 'runlog.cols';
function stored(key) {
  try { return JSON.parse(localStorage.getItem(key)); } catch { return null; }
}
function store(key, v) {
  try { localStorage.setItem(key, JSON.stringify(v)); } catch { /* storage off: the URL still holds it */ }
}
const storedCols = (project) => {
  const c = stored(STORE_COLS)?.[project];
  return Array.isArray(c) ? c.filter((x) => typeof x === 'string') : null;
};

export class RunsView {
  constructor() {
    const p = params();
    const remembered = stored(STORE_PROJECT);
    this.project = p.has('project') ? p.get('project') : typeof remembered === 'string' ? remembered : '';
    this.projectFromStore = !p.has('project') && !!this.project; // dropped if the server has no such project
    this.projects = [];
    this.q = p.get('q') || '';
    this.status = STATUSES.includes(p.get('status')) ? p.get('status') : '';
    this.sort = p.get('sort') || 'start_time';
    this.order = p.get('order') === 'asc' ? 'asc' : 'desc';
    // null: chosen for the runs (defaultColumns); else the URL's, else those last chosen for the project
    this.cols = p.has('cols') ? list('cols').filter((c) => c !== '-') : storedCols(this.project);
    this.selected = list('sel');
    this.names = new Map(); // id → name of the runs seen, for the selection chips
    this.anchor = null; // the row index of the last ticked box: a shift-click selects from it
    this.matching = null; // {key, ids}: every run of the filter, when known
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
    this.projectSel = h('select', { class: 'project-picker', 'aria-label': 'project', onchange: () => this.setProject(this.projectSel.value) });
    this.drawProjects();
    this.selChips = h('span', { class: 'sel-chips', role: 'group', 'aria-label': 'selected runs' });
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
        h('div', { class: 'project-row' }, h('label', { class: 'project-label' }, 'Project', this.projectSel)),
        h('div', { class: 'filter-wrap' }, this.filter, this.filterError),
        h('div', { class: 'tools-row' },
          h('div', { class: 'chips', role: 'group', 'aria-label': 'status' }, this.chips),
          h('span', { class: 'spacer' }),
          this.count, this.colsBtn, this.selChips, this.clearBtn, this.compareBtn)),
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
    if (this.projectFromStore) this.saveURL(); // the address says which project (and columns) it shows
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
    const base = BASE_COLUMNS.filter((c) => !(c.id === 'project' && this.project))
      .map((c) => (c.id === 'group' ? { ...c, cell: (r) => this.groupCell(r) } : c));
    return [...base, ...chosen.map((c) => keyColumn(c, (r) => this.finals(r)))];
  }

  groupCell(r) {
    if (!r.group) return '';
    return h('span', { class: 'group-cell' }, h('span', { class: 'group-name', title: r.group }, r.group),
      h('button', {
        class: 'group-sel', title: `select the runs of group ${r.group}`, 'aria-label': `select group ${r.group}`,
        onclick: () => this.selectGroup(r.group),
      }, 'select'));
  }

  /** drawProjects: the picker's options, all projects first, each with its number of runs. */
  drawProjects() {
    const all = this.projects.reduce((n, p) => n + p.runs, 0);
    const opts = [{ name: '', label: this.projects.length ? `All projects (${all})` : 'All projects' },
      ...this.projects.map((p) => ({ name: p.name, label: `${p.name} (${p.runs})` }))];
    if (this.project && !this.projects.some((p) => p.name === this.project)) opts.push({ name: this.project, label: `${this.project} (0)` });
    replace(this.projectSel, opts.map((o) => h('option', { value: o.name, selected: o.name === this.project }, o.label)));
    this.projectSel.value = this.project;
  }

  setProject(name) {
    if (name === this.project) return;
    this.project = name;
    this.projectFromStore = false;
    store(STORE_PROJECT, name);
    this.cols = storedCols(name);
    this.autoCols = null;
    this.drawProjects();
    this.saveURL();
    this.reload();
  }

  saveURL() {
    setParams({
      project: this.project, q: this.q, status: this.status, sort: this.sort === 'start_time' ? null : this.sort,
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

  /** tick(e, i, id): a row's box clicked; with shift, every row from the last ticked one to it follows. */
  async tick(e, i, id) {
    const on = e.target.checked;
    const from = this.anchor;
    this.anchor = i;
    if (!e.shiftKey || from === null || from === i) {
      this.toggle(id, on);
      return;
    }
    const gen = this.gen;
    const ids = await this.idsBetween(Math.min(from, i), Math.max(from, i));
    if (gen !== this.gen) return;
    this.setSelected(rangeSelect(this.selected, ids, 0, ids.length - 1, on));
  }

  /** idsBetween(a, b): the ids of rows a to b, from the pages at hand, else from the server. */
  async idsBetween(a, b) {
    const out = [];
    for (let i = a; i <= b; i++) {
      const r = this.pages.get(Math.floor(i / PAGE))?.[i % PAGE];
      if (!r) return (await this.matchingIds()).slice(a, b + 1);
      out.push(r.id);
    }
    return out;
  }

  filterKey() {
    return JSON.stringify([this.project, this.q, this.status, this.sort, this.order]);
  }

  /** matchingIds(): the id of every run of the filter, in the table's order. */
  async matchingIds() {
    const key = this.filterKey();
    if (this.matching?.key === key) return this.matching.ids;
    const res = await get('/runs', { ...this.apiParams(0, 0), ids_only: 1 });
    this.matching = { key, ids: res.ids || [] };
    return this.matching.ids;
  }

  allSelected() {
    if (this.matching?.key !== this.filterKey() || !this.matching.ids.length) return false;
    const sel = new Set(this.selected);
    return this.matching.ids.every((id) => sel.has(id));
  }

  /** selectAll: the header checkbox — every run of the filter, on every page; when all are, none of them. */
  async selectAll() {
    const gen = this.gen;
    if (this.allSelected()) {
      const drop = new Set(this.matching.ids);
      this.setSelected(this.selected.filter((id) => !drop.has(id)));
      return;
    }
    try {
      const ids = await this.matchingIds();
      if (gen === this.gen) this.setSelected(addAll(this.selected, ids));
    } catch (err) {
      this.renderRows();
      text(this.filterError, `Could not select the runs: ${err.message}`);
    }
  }

  /** selectGroup(g): the runs of group g (of the project shown) join the selection. */
  async selectGroup(g) {
    try {
      const res = await get('/runs', { project: this.project, group: g, sort: this.sort, order: this.order, ids_only: 1 });
      this.setSelected(addAll(this.selected, res.ids || []));
    } catch (err) {
      text(this.filterError, `Could not select group ${g}: ${err.message}`);
    }
  }

  showSelection() {
    const n = this.selected.length;
    text(this.compareBtn, n ? `Compare ${n} run${n === 1 ? '' : 's'}` : 'Compare');
    this.compareBtn.setAttribute('href', href('/compare', { runs: this.selected }));
    this.compareBtn.classList.toggle('disabled', n < 1);
    this.compareBtn.title = n ? 'overlay the curves of the selected runs, with their config diff and comparison' : 'tick runs to compare them';
    this.clearBtn.hidden = !n;
    // A chip a run while they fit; past CHIPS one chip says how many, its title lists them.
    const name = (id) => this.names.get(id) || id;
    replace(this.selChips, n > CHIPS
      ? h('span', { class: 'chip sel-count', title: this.selected.slice(0, 40).map(name).join('\n') + (n > 40 ? `\n… and ${n - 40} more` : '') }, `${n} selected`)
      : this.selected.map((id) => h('span', { class: 'chip sel-chip', title: id }, h('span', { class: 'sel-name' }, name(id)),
        h('button', { class: 'chip-x', 'aria-label': `deselect ${name(id)}`, onclick: () => this.toggle(id, false) }, '×'))));
  }

  apiParams(offset, limit) {
    // created_by (a server with accounts): the runs one user created, from the run page's "by <user>".
    return { project: this.project, q: this.q, status: this.status, sort: this.sort, order: this.order, offset, limit, created_by: params().get('created_by') };
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
      this.anchor = null;
      this.accept(res);
      if (gen !== this.gen) return; // accept() went back to all projects
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
    this.remember(res.runs);
    if (res.total <= res.runs.length) this.matching = { key: this.filterKey(), ids: res.runs.map((r) => r.id) };
    const projects = res.projects || [];
    if (JSON.stringify(projects) !== JSON.stringify(this.projects)) {
      this.projects = projects;
      if (this.projectFromStore && !projects.some((p) => p.name === this.project)) {
        // The project remembered from last time is gone: show all of them.
        this.projectFromStore = false;
        this.project = '';
        this.cols = storedCols('');
        this.autoCols = null;
        this.saveURL();
        this.drawProjects();
        this.reload();
        return;
      }
      this.drawProjects();
    }
    this.keys = { config: res.config_keys || [], summary: res.summary_keys || [] };
    if (!this.cols && !this.autoCols && res.runs.length) this.autoCols = defaultColumns(res.runs, this.keys.config);
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
      if (gen !== this.gen) return;
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
      this.remember(res.runs);
      this.renderRows();
    } catch {
      if (gen === this.gen) this.pages.delete(p);
    }
  }

  remember(runs) {
    for (const r of runs) this.names.set(r.id, r.name || r.id);
    if (this.names.size > 50_000) this.names.clear(); // a long session over a huge home: forget, the ids still show
  }

  renderHead() {
    const cols = this.columns();
    replace(this.colgroup, h('col', { style: { width: '40px' } }), cols.map((c) => h('col', { style: { width: `${c.width}px` } })));
    const width = 40 + cols.reduce((s, c) => s + c.width, 0);
    this.table.style.width = `${width}px`;
    replace(this.thead, h('tr', null,
      h('th', { class: 'sel' }, h('input', { type: 'checkbox', onclick: () => this.selectAll() })),
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
      this.showHeadBox();
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
        h('td', { class: 'sel' }, h('input', { type: 'checkbox', checked: on, 'aria-label': `select ${r.name}`, onclick: (e) => this.tick(e, i, r.id) })),
        cols.map((c) => h('td', { class: [c.num && 'num', `c-${c.id.replace(/\W/g, '_')}`] }, c.cell(r)))));
    }
    rows.push(h('tr', { class: 'spacer', style: { height: `${Math.max(0, total - last) * ROW}px` } }));
    replace(this.tbody, rows);
    this.showHeadBox();
  }

  /** showHeadBox: the header checkbox ticked when every run of the filter is selected, half when some runs are. */
  showHeadBox() {
    const hc = this.thead.querySelector('th.sel input');
    if (!hc) return;
    const all = this.allSelected();
    hc.checked = all;
    hc.indeterminate = !all && this.selected.length > 0;
    hc.disabled = !this.total;
    const n = this.total ?? 0;
    hc.setAttribute('aria-label', all ? `deselect the ${n} runs of the filter` : `select all ${n.toLocaleString('en-US')} runs of the filter`);
    hc.title = hc.getAttribute('aria-label');
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
        store(STORE_COLS, { ...(stored(STORE_COLS) || {}), [this.project]: ids });
        this.saveURL();
        this.renderHead();
        this.renderRows();
      },
    });
  }
}

