// The Account page (/admin) of a server with accounts: the user's API keys
// (made here and shown once, revoked), the members of the projects it
// administers, and for the server's admins the users (added with a password
// shown once, disabled, reset), new projects and the audit log.

import { h, replace } from './dom.js';
import { currentSession, send } from './login.js';

const ROLES = ['viewer', 'writer', 'admin'];
const when = (t) => (t ? new Date(t).toLocaleString() : '–');

export class AdminView {
  constructor() {
    this.keys = h('section', { class: 'admin-keys' });
    this.projects = h('section', { class: 'admin-projects' });
    this.users = h('section', { class: 'admin-users' });
    this.audit = h('section', { class: 'admin-audit' });
    this.el = h('div', { class: 'admin-page' }, this.keys, this.projects, this.users, this.audit);
  }

  async start() {
    const s = currentSession();
    if (!s.accounts) {
      replace(this.keys, h('p', null, 'This server has no accounts: start it with --accounts.'));
      return;
    }
    await Promise.all([this.renderKeys(), this.renderProjects(), s.admin ? this.renderUsers() : null, s.admin ? this.renderAudit() : null]);
  }

  destroy() {}

  async renderKeys(shown) {
    const err = h('p', { class: 'admin-error', role: 'alert' });
    let keys = [];
    try { keys = (await send('GET', '/keys')).keys; } catch (e) { replace(err, e.message); }
    const name = h('input', { name: 'key-name', placeholder: 'what it is for (laptop, CI…)', required: true });
    const readOnly = h('input', { type: 'checkbox', name: 'read-only' });
    const days = h('input', { type: 'number', name: 'days', min: 0, value: 90, title: 'days until it expires; 0: never' });
    const form = h('form', {
      class: 'key-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const made = await send('POST', '/keys', { name: name.value, read_only: readOnly.checked, expires_in_days: Number(days.value) || 0 });
          await this.renderKeys(made.secret);
        } catch (e) { replace(err, e.message); }
      },
    }, name, h('label', null, readOnly, ' read-only'), h('label', null, 'expires in ', days, ' days'), h('button', { class: 'btn primary', type: 'submit' }, 'Make key'));
    replace(this.keys,
      h('h2', null, 'Your API keys'),
      shown ? h('p', { class: 'key-shown' }, 'Copy the key now: it is not shown again. ', h('code', { class: 'key-secret' }, shown)) : null,
      h('table', { class: 'admin-table' },
        h('thead', null, h('tr', null, ...['Key', 'Name', 'Scope', 'Expires', 'Last used', ''].map((t) => h('th', null, t)))),
        h('tbody', null, ...keys.map((k) => h('tr', { class: k.revoked ? 'revoked' : '' },
          h('td', null, h('code', null, k.id)), h('td', null, k.name),
          h('td', null, k.read_only ? 'read-only' : k.projects ? `write ${k.projects.join(', ')}` : 'write'),
          h('td', null, when(k.expires)), h('td', null, when(k.last_used)),
          h('td', null, k.revoked ? `revoked ${when(k.revoked)}` : h('button', {
            class: ['btn', 'btn-small', 'danger', 'key-revoke'], type: 'button',
            onclick: async () => {
              try { await send('POST', `/keys/${encodeURIComponent(k.id)}/revoke`); await this.renderKeys(); } catch (e) { replace(err, e.message); }
            },
          }, 'Revoke')))))),
      form, err);
  }

  async renderProjects() {
    let projects = [];
    try { projects = (await send('GET', '/projects')).projects; } catch { /* shown empty */ }
    const mine = projects.filter((p) => p.role === 'admin');
    replace(this.projects, h('h2', null, 'Projects you administer'),
      mine.length ? null : h('p', null, 'None.'));
    for (const p of mine) this.projects.appendChild(await this.membersOf(p));
  }

  async membersOf(p) {
    const box = h('div', { class: 'project-members', dataset: { project: p.name } });
    const err = h('p', { class: 'admin-error', role: 'alert' });
    const render = (members) => {
      const user = h('input', { name: 'member-user', placeholder: 'user', required: true });
      const role = h('select', { name: 'member-role' }, ...ROLES.map((r) => h('option', { value: r }, r)));
      const set = async (u, r) => {
        try { render((await send('POST', `/projects/${encodeURIComponent(p.name)}/members`, { user: u, role: r })).members); } catch (e) { replace(err, e.message); }
      };
      replace(box,
        h('h3', null, p.name, ' ', h('span', { class: 'badge' }, p.visibility)),
        h('table', { class: 'admin-table' },
          h('thead', null, h('tr', null, h('th', null, 'Member'), h('th', null, 'Role'), h('th', null, ''))),
          h('tbody', null, ...members.map((m) => h('tr', { dataset: { user: m.user } },
            h('td', null, m.user),
            h('td', null, h('select', { class: 'member-role', onchange: (ev) => set(m.user, ev.target.value) },
              ...ROLES.map((r) => h('option', { value: r, selected: r === m.role }, r)))),
            h('td', null, h('button', { class: ['btn', 'btn-small', 'danger', 'member-remove'], type: 'button', onclick: () => set(m.user, '') }, 'Remove')))))),
        h('form', { class: 'member-form', onsubmit: (ev) => { ev.preventDefault(); set(user.value, role.value); } },
          user, role, h('button', { class: 'btn primary', type: 'submit' }, 'Add member')),
        err);
    };
    try { render((await send('GET', `/projects/${encodeURIComponent(p.name)}/members`)).members); } catch (e) { replace(box, e.message); }
    return box;
  }

  /** renderUsers(shown): the users, for the server's admins: add (the password made is shown once), disable, enable, reset; add a project. */
  async renderUsers(shown) {
    const err = h('p', { class: 'admin-error', role: 'alert' });
    let users = [];
    try { users = (await send('GET', '/users')).users; } catch (e) { replace(err, e.message); }
    const act = async (fn) => {
      try {
        await this.renderUsers(await fn());
        await this.renderAudit();
      } catch (e) { replace(err, e.message); }
    };
    const name = h('input', { name: 'user-name', placeholder: 'user name', required: true });
    const admin = h('input', { type: 'checkbox', name: 'user-admin' });
    const project = h('input', { name: 'project-name', placeholder: 'project name', required: true });
    const visible = h('input', { type: 'checkbox', name: 'project-visible' });
    replace(this.users,
      h('h2', null, 'Users'),
      shown ? h('p', { class: 'password-shown' }, `The password of ${shown.user}, shown this once: `, h('code', { class: 'user-password' }, shown.password)) : null,
      h('table', { class: 'admin-table users-table' },
        h('thead', null, h('tr', null, ...['User', 'Admin', 'Created', '', ''].map((t) => h('th', null, t)))),
        h('tbody', null, ...users.map((u) => h('tr', { dataset: { user: u.name }, class: u.disabled ? 'revoked' : '' },
          h('td', null, u.name), h('td', null, u.admin ? 'admin' : ''), h('td', null, when(u.created)),
          h('td', null, h('button', { class: ['btn', 'btn-small', 'user-disable'], type: 'button', onclick: () => act(() => send('POST', `/users/${encodeURIComponent(u.name)}`, { disabled: !u.disabled })) }, u.disabled ? 'Enable' : 'Disable')),
          h('td', null, h('button', { class: ['btn', 'btn-small', 'user-reset'], type: 'button', onclick: () => act(() => send('POST', `/users/${encodeURIComponent(u.name)}`, { reset_password: true })) }, 'Reset password')))))),
      h('form', { class: 'member-form user-form', onsubmit: (ev) => { ev.preventDefault(); act(() => send('POST', '/users', { name: name.value, admin: admin.checked })); } },
        name, h('label', null, admin, ' administers the server'), h('button', { class: 'btn primary', type: 'submit' }, 'Add user')),
      h('form', {
        class: 'member-form project-form',
        onsubmit: async (ev) => {
          ev.preventDefault();
          try {
            await send('POST', '/projects', { name: project.value, visibility: visible.checked ? 'visible' : 'private' });
            project.value = '';
            replace(err, '');
          } catch (e) { replace(err, e.message); }
        },
      }, project, h('label', null, visible, ' visible to every user'), h('button', { class: 'btn', type: 'submit' }, 'Add project')),
      err);
  }

  async renderAudit() {
    let events = [];
    try { events = (await send('GET', '/audit', undefined)).events; } catch (e) { replace(this.audit, e.message); return; }
    replace(this.audit, h('h2', null, 'Audit log'),
      h('table', { class: 'admin-table audit-table' },
        h('thead', null, h('tr', null, ...['When', 'Who', 'From', 'What', 'Target', 'Detail'].map((t) => h('th', null, t)))),
        h('tbody', null, ...events.slice(-500).reverse().map((e) => h('tr', null,
          h('td', null, when(e.time)), h('td', null, e.actor), h('td', null, e.addr || '–'),
          h('td', null, e.action), h('td', null, e.target), h('td', null, e.detail || ''))))));
  }
}
