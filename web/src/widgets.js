// Small pieces the views share.

import { h } from './dom.js';

export const STATUSES = ['running', 'finished', 'failed', 'crashed', 'killed', 'stopped'];

const STATUS_TITLE = {
  running: 'running: the run is writing records',
  finished: 'finished: ended with exit code 0',
  failed: 'failed: ended with an error',
  crashed: 'crashed: no heartbeat for 2 minutes and no end recorded (killed -9, machine lost)',
  killed: 'killed: stopped by a signal (Ctrl-C, SIGTERM)',
  stopped: 'stopped: ended early on purpose by the median stopping rule of a sweep; not a failure',
};

/** badge(status): the status as a coloured label (the word is always there: colour is not the only cue). */
export function badge(status) {
  const s = STATUSES.includes(status) ? status : 'unknown';
  return h('span', { class: `badge badge-${s}`, title: STATUS_TITLE[s] || status }, h('i', { 'aria-hidden': 'true' }), status || 'unknown');
}

/** tag(t): a tag chip. */
export const tag = (t) => h('span', { class: 'tag' }, t);

/** errorBox(e): an API error, said plainly. */
export function errorBox(e, what) {
  const msg = e && e.message ? e.message : String(e);
  return h('div', { class: 'error-box', role: 'alert' }, what ? h('strong', null, `${what}: `) : null, msg);
}

/** section(title, ...children): a titled block of a page. */
export function section(title, extra, ...children) {
  return h('section', { class: 'block' }, h('header', { class: 'block-head' }, h('h2', null, title), extra), ...children);
}

/** kv(rows): a two-column table of label and value. */
export function kv(rows, cls) {
  return h('table', { class: ['kv', cls] }, h('tbody', null, rows.filter(Boolean).map(([k, v, title]) =>
    h('tr', null, h('th', { scope: 'row', title: title || k }, k), h('td', null, v)))));
}

/** copyable(text): monospace text that copies itself on click. */
export function copyable(text, cls) {
  const el = h('code', {
    class: ['copy', cls], title: 'click to copy',
    onclick: () => {
      navigator.clipboard?.writeText(text).then(() => {
        el.classList.add('copied');
        setTimeout(() => el.classList.remove('copied'), 900);
      }, () => {});
    },
  }, text);
  return el;
}
