// Keyboard shortcuts, for the whole UI: `?` lists them in an overlay.
// Keys typed into a field are the field's (only Esc, which leaves it);
// with Ctrl, Alt or Meta held they are the browser's. `/` is the runs
// table's own (runs.js), listed here so the overlay tells of it.

import { h } from './dom.js';
import { navigate, route } from './url.js';
import { flip } from './theme.js';

const SHORTCUTS = [
  ['?', 'show or hide this list'],
  ['/', 'focus the filter (runs table)'],
  ['Esc', 'close this list, leave a field'],
  ['g r', 'go to the runs table'],
  ['g c', 'go to compare'],
  ['j / k', 'next / previous run in the table'],
  ['Enter', 'open the focused run'],
  ['t', 'flip light and dark'],
];

const TYPING = /^(INPUT|TEXTAREA|SELECT)$/;
const PREFIX_MS = 1200;

let overlay = null;
let prefix = 0; // when `g` was pressed, waiting for its second key
let current = null; // the run j/k last moved to: the table's rows are drawn again as it scrolls

/** mountKeys(): listen for the shortcuts on the whole page. */
export function mountKeys() {
  addEventListener('keydown', onKey);
}

function onKey(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  const t = e.target;
  if (e.key === 'Escape') {
    if (overlay) close();
    else if (t instanceof HTMLElement && (TYPING.test(t.tagName) || t.isContentEditable)) t.blur();
    return;
  }
  if (t instanceof HTMLElement && (TYPING.test(t.tagName) || t.isContentEditable)) return;
  if (prefix && Date.now() - prefix < PREFIX_MS) {
    prefix = 0;
    if (e.key === 'r') go(e, '/');
    else if (e.key === 'c') go(e, '/compare');
    return;
  }
  prefix = 0;
  switch (e.key) {
    case '?': e.preventDefault(); overlay ? close() : open(); break;
    case 'g': prefix = Date.now(); break;
    case 't': e.preventDefault(); flip(); break;
    case 'j': move(e, 1); break;
    case 'k': move(e, -1); break;
    default:
  }
}

function go(e, path) {
  e.preventDefault();
  close();
  if (location.pathname !== path) navigate(path);
}

/** move(e, d): focus the run link d rows on from the current one, in the runs table. */
function move(e, d) {
  if (route().view !== 'runs') return;
  const rows = [...document.querySelectorAll('table.runs tbody tr[data-id]')];
  if (!rows.length) return;
  e.preventDefault();
  const at = document.activeElement?.closest?.('tr[data-id]')?.dataset.id ?? current;
  const i = rows.findIndex((r) => r.dataset.id === at);
  const next = rows[i < 0 ? (d > 0 ? 0 : rows.length - 1) : Math.max(0, Math.min(rows.length - 1, i + d))];
  current = next.dataset.id;
  const link = next.querySelector('a.run-link') || next.querySelector('input, a');
  link?.focus();
  link?.scrollIntoView({ block: 'nearest' });
}

function open() {
  overlay = h('div', { class: 'keys-overlay', onclick: (e) => { if (e.target === overlay) close(); } },
    h('div', { class: 'keys-box', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'keyboard shortcuts' },
      h('div', { class: 'keys-head' },
        h('h2', null, 'Keyboard shortcuts'),
        h('button', { class: 'btn-ghost', type: 'button', 'aria-label': 'close', onclick: close }, '×')),
      h('table', { class: 'keys' },
        h('tbody', null, SHORTCUTS.map(([k, what]) => h('tr', null,
          h('th', null, k.split(' ').map((p) => (p === '/' && k !== '/' ? ' / ' : h('kbd', null, p)))),
          h('td', null, what)))))));
  document.body.appendChild(overlay);
  overlay.querySelector('button').focus();
}

function close() {
  overlay?.remove();
  overlay = null;
}
