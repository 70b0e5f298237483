// Accounts in the browser (a server started with --accounts): who is signed
// in (GET /api/v1/session), the login page, Sign out, and whether the user
// may change a run, so that a viewer is shown no controls it may not use.
// Without accounts the session says so, and every control shows.

import { h, replace } from './dom.js';
import './accounts.css';

let session = { accounts: false };

const writes = new Set(['writer', 'admin']);

/** loadSession(): the server's answer to GET /api/v1/session; {accounts: true} with no user when nobody is signed in. A server with a token but no accounts answers 401: the views' banner asks for the token. */
export async function loadSession() {
  try {
    const res = await fetch('/api/v1/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.ok) session = await res.json();
  } catch { /* the server is away: the views say so */ }
  return session;
}

/** currentSession(): what loadSession last read. */
export const currentSession = () => session;

/** canChange(run): whether the user may change a run of its project (the server decides whose runs: a writer changes its own). */
export function canChange(run) {
  if (!session.accounts) return true;
  if (session.read_only) return false;
  if (session.admin) return true;
  return writes.has((session.roles || {})[run.project || 'default']);
}

/** send(method, path, body): a request of the accounts' API, as the UI makes its writes (X-Runlog-Client); the parsed answer, or an Error with the server's reason. */
export async function send(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', 'X-Runlog-Client': 'runlog-web' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/api/v1${path}`, init);
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* no body */ }
  if (!res.ok) {
    const e = new Error((data && data.error) || `${res.status} ${res.statusText}`);
    e.status = res.status;
    throw e;
  }
  return data;
}

/** LoginView: the sign-in form; reloads the page once signed in. */
export class LoginView {
  constructor() {
    const user = h('input', { name: 'user', autocomplete: 'username', required: true, placeholder: 'user name' });
    const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, placeholder: 'password' });
    const err = h('p', { class: 'login-error', role: 'alert' });
    const button = h('button', { class: 'btn primary', type: 'submit' }, 'Sign in');
    const form = h('form', {
      class: 'login-form', method: 'post',
      onsubmit: async (ev) => {
        ev.preventDefault();
        button.disabled = true;
        replace(err, '');
        try {
          await send('POST', '/session', { user: user.value, password: password.value });
          location.reload();
        } catch (e) {
          replace(err, e.status === 429 ? 'Too many failed sign-ins: wait a few minutes and try again.' : e.message);
          button.disabled = false;
          password.select();
        }
      },
    },
    h('h1', null, 'Sign in to runlog'),
    h('label', null, 'User', user), h('label', null, 'Password', password), button, err,
    h('p', { class: 'login-hint' }, 'Ask an admin of this server for an account (runlog user add).'));
    this.el = h('section', { class: 'login-page' }, form);
    this.focus = user;
  }

  start() { this.focus.focus(); }

  destroy() {}
}

/** userMenu(): the signed-in user's name and Sign out, for the header; null without accounts. */
export function userMenu() {
  if (!session.accounts || !session.user) return null;
  return h('span', { class: 'user-menu' },
    h('span', { class: 'user-name', title: session.admin ? 'administers this server' : '' }, session.user),
    h('button', {
      class: ['btn', 'btn-small', 'logout'], type: 'button',
      onclick: async () => {
        await send('DELETE', '/session').catch(() => {});
        location.assign('/');
      },
    }, 'Sign out'));
}

const creators = new Map(); // run id → its creator's name, or '' when the server did not see it made

/** creatorLabel(id): "by <user>", a link to the runs that user created, filled in once the server answers; null without accounts. */
export function creatorLabel(id) {
  if (!session.accounts) return null;
  const el = h('span', { class: 'run-creator' });
  const fill = (user) => {
    if (user) replace(el, h('span', { class: 'muted' }, 'by '), h('a', { href: `/?created_by=${encodeURIComponent(user)}` }, user));
  };
  if (creators.has(id)) fill(creators.get(id));
  else {
    send('GET', `/runs/${encodeURIComponent(id)}/creator`).then((o) => o.user, () => '').then((user) => {
      creators.set(id, user);
      fill(user);
    });
  }
  return el;
}
