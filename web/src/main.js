// runlog's web UI: the runs table, run pages and the compare view, routed
// by the address (url.js), on the JSON API (api.js).

import './style.css';
import { h, replace } from './dom.js';
import { connectEvents, onAuthRequired, onLiveState, get } from './api.js';
import { route, onNavigate, followLink } from './url.js';
import { RunsView } from './runs.js';
import { RunView } from './run.js';
import { CompareView } from './compare.js';
import { HparamsView } from './hparams.js';
import { themeToggle } from './theme.js';
import { mountKeys } from './keys.js';
import { loadSession, currentSession, userMenu, LoginView } from './login.js';
import { AdminView } from './admin.js';

const VIEWS = { runs: RunsView, run: RunView, compare: CompareView, hparams: HparamsView, admin: AdminView };

const app = document.getElementById('app');
const liveDot = h('span', { class: 'live', title: 'live updates' }, h('i'), h('span', { class: 'live-text' }, 'connecting'));
const version = h('span', { class: 'version' });
const nav = {
  runs: h('a', { href: '/', onclick: followLink }, 'Runs'),
  compare: h('a', { href: '/compare', onclick: followLink }, 'Compare'),
  hparams: h('a', { href: '/hparams', onclick: followLink }, 'Hyperparameters'),
  admin: h('a', { href: '/admin', onclick: followLink, hidden: true }, 'Account'),
};
const account = h('span', { class: 'account' });
const banner = h('div', { class: 'banner', hidden: true });
const main = h('main');
replace(app,
  h('header', { class: 'top' },
    h('a', { class: 'brand', href: '/', onclick: followLink }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'runlog'),
    h('nav', null, nav.runs, nav.compare, nav.hparams, nav.admin),
    h('span', { class: 'spacer' }),
    liveDot, version, account, themeToggle()),
  banner, main);

onLiveState((s) => {
  liveDot.className = `live ${s}`;
  liveDot.lastChild.textContent = s === 'live' ? 'live' : s === 'connecting' ? 'connecting…' : 'offline';
});

// Off loopback the server wants a token: the API answers 401 until the
// browser has logged in through /login?token=…, which sets a cookie.
onAuthRequired(() => {
  if (currentSession().accounts) {
    location.reload(); // the session ended: the login page
    return;
  }
  if (!banner.hidden) return;
  const input = h('input', { type: 'password', name: 'token', placeholder: 'access token', autocomplete: 'current-password', required: true });
  replace(banner,
    h('strong', null, 'This runlog server needs an access token.'),
    ' It was started with --token (or RUNLOG_TOKEN); `runlog ui --open` prints a link that logs in. Or enter the token here:',
    h('form', { class: 'login', method: 'get', action: '/login' }, input, h('button', { class: 'btn primary', type: 'submit' }, 'Log in')));
  banner.hidden = false;
  banner.dataset.auth = '401';
});

let view = null;
function render() {
  const r = route();
  if (view) view.destroy();
  for (const [k, a] of Object.entries(nav)) a.classList.toggle('on', k === r.view || (k === 'runs' && r.view === 'run'));
  view = new VIEWS[r.view](r);
  replace(main, view.el);
  view.start();
}

// With accounts, nobody signed in sees the login page and nothing else.
loadSession().then((s) => {
  if (s.accounts && !s.user) {
    view = new LoginView();
    replace(main, view.el);
    view.start();
    return;
  }
  if (s.accounts) {
    replace(account, userMenu());
    nav.admin.hidden = false;
  }
  onNavigate(render);
  mountKeys();
  render();
  connectEvents();
  get('/health').then((hl) => { version.textContent = hl.version ? `v${hl.version.replace(/^v/, '')}` : ''; }).catch(() => {});
});
