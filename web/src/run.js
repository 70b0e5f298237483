// A run's page: who it is (name, id, status, project, tags, hypothesis,
// notes, host, command, git), every series it logged as a chart, its
// summary and config, checkpoints and other files, alerts and events, why
// it failed or stopped, and the end of its output — all live while it
// trains.

import { get, runPath, onRunsChangedBatched, fileURL } from './api.js';
import { h, replace } from './dom.js';
import { setParams, followLink, href } from './url.js';
import { fmtNum, fmtValue, fmtDuration, fmtTime, fmtAgo, fmtBytes, flatten } from './format.js';
import { badge, tag, errorBox, section, kv, copyable } from './widgets.js';
import { ChartPanel, stateParams } from './panel.js';
import { chartGroups } from './groups.js';
import { color, isValidation, keyDash } from './palette.js';
import { RunEditor } from './edit.js';
import { MediaSection } from './media.js';
import { creatorLabel } from './login.js';

const TAIL = 200;
// ERROR_LINES is how much of a traceback the page shows: its end, where
// the exception is.
const ERROR_LINES = 40;

export class RunView {
  constructor({ id }) {
    this.ref = id;
    this.run = null;
    this.keys = '';
    this.namesakes = null; // the other runs of the name the address gave, when several share it
    this.tail = TAIL;
    this.head = h('div', { class: 'run-head' }, h('p', { class: 'muted' }, 'Loading run…'));
    this.endEl = h('div', { class: 'run-end' });
    this.chartsEl = h('div', { class: 'chart-groups' });
    this.mediaEl = h('div', { class: 'run-media' });
    this.info = h('div', { class: 'run-info' });
    this.logsEl = h('div');
    this.el = h('div', { class: 'view run-view' }, this.head, this.endEl, this.chartsEl, this.mediaEl, this.info, this.logsEl);
    this.editor = new RunEditor({ onChange: (d) => { this.run = d; this.renderHead(d); } });
  }

  start() {
    document.title = `${this.ref} · runlog`;
    this.unsub = onRunsChangedBatched((ids) => {
      if (this.run && (ids.includes(this.run.id) || ids.includes('*'))) this.refresh();
    });
    this.loadMedia(); // beside the run's details and charts: the API resolves the reference
    this.refresh(true);
  }

  destroy() {
    this.dead = true;
    this.unsub?.();
    this.panel?.destroy();
    this.media?.destroy();
  }

  async refresh(first) {
    let d;
    try {
      d = await get(runPath(this.ref));
    } catch (e) {
      if (this.dead) return;
      if (first) replace(this.head, errorBox(e, e.status === 404 ? `No run “${this.ref}”` : 'Could not load the run'), h('p', null, h('a', { href: '/', onclick: followLink }, '← all runs')));
      return;
    }
    if (this.dead) return;
    this.run = d;
    document.title = `${d.name || d.id} · runlog`;
    if (first) this.findNamesakes(d);
    this.renderHead(d);
    this.renderEnd(d);
    this.renderInfo(d);
    if (!first) this.loadMedia();
    // The output is loaded whatever the charts do: a run that logged no
    // series has no panel, and a chart that fails must not hide the log.
    try {
      const keys = d.series.map((s) => s.key).join('\n');
      if (keys !== this.keys || !this.panel) {
        this.keys = keys;
        this.buildCharts(d);
        await this.panel.load();
        if (first) performance.mark('runlog:run-drawn');
      } else if (!first) {
        await this.panel.load([d.id]);
      }
    } finally {
      if (!this.dead) this.loadLogs();
    }
  }

  // renderEnd says why a run did not finish: the end of a failed or killed
  // run's error (its traceback), or why a stopped one was stopped — the
  // status record's error, else the runner's "stopped early" note. Always
  // as text in a <pre>, never parsed as HTML.
  renderEnd(d) {
    let text = d.error || '';
    if (d.status === 'stopped' && !text) {
      const note = (d.events || []).filter((e) => e.kind === 'note' && e.title === 'stopped early').pop();
      text = note?.text || '';
    }
    if (!text || !['failed', 'killed', 'stopped', 'crashed'].includes(d.status)) {
      replace(this.endEl);
      return;
    }
    const lines = text.replace(/\s+$/, '').split('\n');
    const shown = lines.slice(-ERROR_LINES).join('\n');
    const stopped = d.status === 'stopped';
    replace(this.endEl, h('section', { class: ['block', 'run-end-box', stopped ? 'stopped' : 'failed'], role: stopped ? null : 'alert' },
      h('header', { class: 'block-head' },
        h('h2', null, stopped ? 'Why it stopped' : d.status === 'killed' ? 'Why it ended' : 'Error'),
        lines.length > ERROR_LINES ? h('span', { class: 'muted' }, `last ${ERROR_LINES} of ${lines.length} lines`) : null),
      h('pre', { class: 'run-error' }, shown)));
  }

  // findNamesakes: when the address named the run by a name that several
  // runs share, the server opened the newest of them (as the command line
  // does, with a warning); the page says so and links the others.
  async findNamesakes(d) {
    if (this.ref === d.id || d.name !== this.ref || d.id.startsWith(this.ref)) return;
    let res;
    try {
      res = await get('/runs', { name: this.ref, archived: 'all', limit: 1000 });
    } catch {
      return; // a courtesy: the run itself is shown
    }
    const others = (res.runs || []).filter((r) => r.name === this.ref && r.id !== d.id);
    if (this.dead || !others.length) return;
    this.namesakes = others;
    this.renderHead(this.run);
  }

  renderHead(d) {
    const meta = [
      copyable(d.id, 'run-id'),
      d.project ? h('span', null, h('span', { class: 'muted' }, 'project '), d.project) : null,
      d.group ? h('span', null, h('span', { class: 'muted' }, 'group '), d.group) : null,
      h('span', { title: fmtTime(d.start_time) }, h('span', { class: 'muted' }, 'started '), fmtAgo(d.start_time)),
      h('span', null, h('span', { class: 'muted' }, 'ran '), fmtDuration(d.wallclock_time)),
      d.total_steps !== undefined ? h('span', null, h('span', { class: 'muted' }, 'steps '), fmtNum(d.total_steps)) : null,
      d.host ? h('span', null, h('span', { class: 'muted' }, 'on '), d.host) : null,
      creatorLabel(d.id),
    ].filter(Boolean);
    replace(this.head,
      h('nav', { class: 'crumbs' }, h('a', { href: '/', onclick: followLink }, 'Runs'), ' / ',
        d.project ? h('a', { href: href('/', { q: `project = "${d.project.replace(/"/g, '')}"` }), onclick: followLink }, d.project) : 'no project'),
      h('div', { class: 'title-row' },
        h('h1', { class: 'run-name' }, d.name || d.id),
        badge(d.status),
        (d.tags || []).map(tag),
        h('span', { class: 'spacer' }),
        h('a', { class: 'btn', href: href('/', { sel: d.id }), onclick: followLink, title: 'pick runs to compare this one with' }, 'Compare with…')),
      h('div', { class: 'meta-line' }, meta.flatMap((m, i) => (i ? [h('span', { class: 'dot' }, '·'), m] : [m]))),
      this.namesakes ? h('div', { class: 'note namesakes', role: 'status' },
        `${this.namesakes.length + 1} runs are named “${d.name}”; this is the newest. Name another by its id: `,
        this.namesakes.flatMap((r, i) => [i ? ', ' : '', h('a', { href: `/runs/${encodeURIComponent(r.id)}`, onclick: followLink, title: `started ${fmtTime(r.start_time)}` }, r.id)])) : null,
      d.hypothesis ? h('div', { class: 'note hypothesis' }, h('span', { class: 'note-label' }, 'Hypothesis'), h('p', null, d.hypothesis)) : null,
      d.notes ? h('div', { class: 'note notes' }, h('span', { class: 'note-label' }, 'Notes'), h('p', null, d.notes)) : null);
    this.editor.mount(this.head, d);
  }

  buildCharts(d) {
    this.panel?.destroy();
    const names = new Map([[d.id, d.name || d.id]]);
    this.panel = new ChartPanel({
      syncKey: `run-${d.id}`, names, file: d.name || d.id,
      onState: (s) => setParams(stateParams(s)),
      onError: (e) => this.chartsEl.prepend(errorBox(e, 'Could not load the series')),
    });
    const groups = chartGroups(d.series.map((s) => s.key));
    const sections = groups.map((g) => {
      const grid = h('div', { class: 'chart-grid' });
      for (const c of g.charts) {
        const lines = c.keys.map((key, i) => {
          const val = isValidation(key);
          return {
            id: key, run: d.id, key, label: key,
            color: c.keys.length > 1 ? color(i) : color(0),
            dash: c.keys.length > 1 ? keyDash(i) : val ? keyDash(1) : null,
          };
        });
        const chart = this.panel.add({ id: c.id, title: c.title, lines, legend: c.keys.length > 1, height: 210 });
        grid.appendChild(chart.el);
      }
      return h('section', { class: ['chart-group', g.name === 'sys' && 'sys'], dataset: { group: g.name || 'metrics' } },
        h('h2', { class: 'group-title' }, g.title, h('span', { class: 'muted' }, ` · ${g.charts.length} chart${g.charts.length === 1 ? '' : 's'}`)), grid);
    });
    replace(this.chartsEl,
      h('div', { class: 'charts-head' }, h('h2', null, 'Charts'), this.panel.toolbar),
      sections.length ? sections : h('p', { class: 'muted empty-charts' }, 'This run has logged no metrics yet.'));
  }

  /** loadMedia(): the run's texts, images, tables, HTML and histograms (media.js), below its charts. */
  loadMedia() {
    if (!this.media) {
      this.media = new MediaSection({ run: this.ref });
      replace(this.mediaEl, this.media.el);
    }
    this.media.load();
  }

  renderInfo(d) {
    const metrics = d.metrics || {};
    const summary = d.summary || {};
    const setByRun = Object.keys(summary).filter((k) => !(k in metrics)).sort();
    const mkeys = Object.keys(metrics).sort((a, b) => (a.startsWith('sys/') - b.startsWith('sys/')) || a.localeCompare(b));
    const g = d.git || {};
    const env = d.environment || {};
    const details = kv([
      ['Status', h('span', null, badge(d.status), d.exit_code !== null && d.exit_code !== undefined ? ` exit code ${d.exit_code}` : '')],
      ['Started', fmtTime(d.start_time)],
      ['Ended', d.end_time ? fmtTime(d.end_time) : '–'],
      ['Wallclock', fmtDuration(d.wallclock_time), 'seconds since the run first started, gaps included'],
      ['Active', fmtDuration(d.active_time), 'seconds the run’s processes ran'],
      ['Host', [d.host, d.user ? ` (${d.user})` : ''].join('')],
      d.command?.length ? ['Command', copyable(d.command.map(shellQuote).join(' '), 'cmd')] : null,
      d.cwd ? ['Directory', h('code', null, d.cwd)] : null,
      g.commit ? ['Git', h('span', null, h('code', { title: g.commit }, g.commit.slice(0, 10)), g.branch ? ` on ${g.branch}` : '', g.dirty ? h('span', { class: 'warn-text' }, ' · uncommitted changes') : '')] : null,
      Object.keys(env).length ? ['Environment', Object.entries(env).map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ')] : null,
      d.path ? ['Folder', h('code', null, d.path)] : null,
    ], 'details');

    const summaryTable = setByRun.length
      ? kv(setByRun.map((k) => [k, h('span', { class: 'val', title: fmtValue(summary[k]) }, fmtValue(summary[k]))]))
      : h('p', { class: 'muted' }, 'The run set no summary values.');
    const stats = mkeys.length ? h('table', { class: 'grid stats' },
      h('thead', null, h('tr', null, ['series', 'final', 'at step', 'best', 'min', 'max', 'mean', 'points'].map((c, i) => h('th', { class: i ? 'num' : null }, c)))),
      h('tbody', null, mkeys.map((k) => {
        const m = metrics[k];
        return h('tr', null, h('td', { class: 'key' }, k), h('td', { class: 'num' }, fmtNum(m.final)), h('td', { class: 'num muted' }, fmtNum(m.final_step)),
          h('td', { class: 'num' }, m.best !== undefined ? h('span', { title: `${m.goal} · step ${m.best_step}` }, fmtNum(m.best)) : '–'),
          h('td', { class: 'num' }, fmtNum(m.min)), h('td', { class: 'num' }, fmtNum(m.max)), h('td', { class: 'num' }, fmtNum(m.mean)), h('td', { class: 'num muted' }, fmtNum(m.count)));
      }))) : h('p', { class: 'muted' }, 'No series yet.');

    const cfg = flatten(d.config || {});
    const cfgFilter = h('input', { type: 'search', class: 'mini-filter', placeholder: 'filter', 'aria-label': 'filter config',
      oninput: () => { const q = cfgFilter.value.toLowerCase(); cfgBody.querySelectorAll('tr').forEach((tr) => { tr.hidden = q && !tr.dataset.k.includes(q); }); } });
    const cfgBody = h('tbody', null, cfg.map(([k, v]) => h('tr', { dataset: { k: k.toLowerCase() } }, h('th', { scope: 'row' }, k), h('td', null, fmtValue(v)))));
    const config = cfg.length ? h('table', { class: 'kv config' }, cfgBody) : h('p', { class: 'muted' }, 'No config.');

    const best = d.best_checkpoint?.path;
    const arts = (d.artifacts || []).slice().sort((a, b) => (a.kind === 'checkpoint') === (b.kind === 'checkpoint') ? (a.step ?? -1) - (b.step ?? -1) : a.kind === 'checkpoint' ? -1 : 1);
    const files = arts.length ? h('table', { class: 'grid files' },
      h('thead', null, h('tr', null, h('th', null, 'file'), h('th', null, 'kind'), h('th', { class: 'num' }, 'step'), h('th', { class: 'num' }, 'size'), h('th', null, 'metadata'))),
      h('tbody', null, arts.map((a) => h('tr', { class: [a.superseded && 'superseded', a.path === best && 'best'] },
        h('td', null, h('a', { href: fileURL(d.id, a.path, true), download: a.path.split('/').pop(), title: a.sha256 ? `sha256 ${a.sha256}` : a.path }, a.path),
          a.path === best ? h('span', { class: 'best-mark', title: `best checkpoint by ${d.best_checkpoint.key} = ${fmtNum(d.best_checkpoint.value)}` }, '★ best') : null,
          a.superseded ? h('span', { class: 'muted' }, ' superseded') : null),
        h('td', null, a.kind), h('td', { class: 'num' }, a.step ?? '–'), h('td', { class: 'num' }, fmtBytes(a.size)),
        h('td', { class: 'meta' }, Object.entries(a.metadata || {}).map(([k, v]) => `${k}=${fmtValue(v)}`).join(' '))))))
      : h('p', { class: 'muted' }, 'No checkpoints or files.');

    const events = d.events || [];
    const evs = events.length ? h('ul', { class: 'events' }, events.map((e) => h('li', { class: [`ev-${e.kind}`, e.level && `lv-${e.level}`] },
      h('span', { class: 'ev-kind' }, e.kind === 'alert' ? `⚠ ${e.level || 'alert'}` : e.kind),
      h('span', { class: 'ev-when', title: fmtTime(e.time) }, e.step !== undefined && e.step !== null ? `step ${e.step}` : fmtTime(e.time)),
      h('span', { class: 'ev-title' }, e.title || ''), e.text ? h('span', { class: 'ev-text' }, e.text) : null)))
      : h('p', { class: 'muted' }, 'No alerts or events.');
    const alerts = events.filter((e) => e.kind === 'alert').length;

    replace(this.info,
      h('div', { class: 'cols' },
        h('div', { class: 'col' },
          section('Summary', h('span', { class: 'muted' }, 'set by the run'), summaryTable),
          section('Series statistics', h('span', { class: 'muted' }, 'computed from every point'), stats),
          section('Config', cfgFilter, config)),
        h('div', { class: 'col' },
          section('Run', null, details),
          section('Checkpoints and files', best ? h('span', { class: 'muted' }, `best: ${best}`) : null, files),
          section(alerts ? `Alerts and events (${alerts} alert${alerts === 1 ? '' : 's'})` : 'Alerts and events', null, evs))));
  }

  async loadLogs() {
    let res;
    try {
      res = await get(`${runPath(this.run.id)}/logs`, { tail: this.tail });
    } catch (e) {
      if (!this.dead) replace(this.logsEl, section('Output', null, errorBox(e, 'Could not read training.log')));
      return;
    }
    if (this.dead) return;
    const old = this.logsEl.querySelector('pre');
    const atBottom = !old || old.scrollTop + old.clientHeight >= old.scrollHeight - 4;
    const pre = h('pre', { class: 'logs' }, res.lines.map((l) => h('div', { class: ['log', l.stream === 'stderr' && 'stderr'] },
      l.time ? h('span', { class: 'log-time', title: l.time }, l.time.slice(11, 19)) : null, l.text)));
    const more = res.lines.length >= this.tail && this.tail < 10000
      ? h('button', { class: 'btn-ghost', onclick: () => { this.tail = Math.min(10000, this.tail * 5); this.loadLogs(); } }, 'Show more') : null;
    if (!res.captured) {
      replace(this.logsEl, section('Output', null, h('p', { class: 'muted no-output' },
        'No output was captured: only `runlog run` saves a program’s output (training.log); this run was logged by a client alone.')));
      return;
    }
    replace(this.logsEl, section(`Output`, h('span', { class: 'muted' }, res.lines.length ? `last ${res.lines.length} lines of training.log` : 'training.log is empty'), more, pre));
    if (atBottom) pre.scrollTop = pre.scrollHeight;
    else pre.scrollTop = old.scrollTop;
  }
}

function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
