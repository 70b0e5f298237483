// Browser tests of a server with accounts (runlog ui --accounts;
// web/src/login.js, admin.js): signing in and out, a viewer shown no
// controls that change a run and refused by the API if it tries, and a
// project's admin managing its members on the Account page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, scratch, cleanup, serve, browser, runlog, waitFor } from './harness.mjs';

const ID = 'k3v9x2ab'; // internal/runfmt/testdata/basic.runlog, of project tinystories

let home, server, b, page;

const signIn = async (user, password) => {
  await page.goto(`${server.url}/`);
  await page.waitForSelector('.login-form');
  await page.fill('.login-form input[name=user]', user);
  await page.fill('.login-form input[name=password]', password);
  await page.click('.login-form button[type=submit]');
};

const signOut = async () => {
  await page.click('.user-menu .logout');
  await page.waitForSelector('.login-form');
};

before(async () => {
  home = scratch('accounts');
  mkdirSync(join(home, 'runs', ID), { recursive: true });
  copyFileSync(join(REPO, 'internal', 'runfmt', 'testdata', 'basic.runlog'), join(home, 'runs', ID, 'run.log'));
  for (const u of ['vera', 'adam', 'otto']) runlog(home, ['user', 'add', u, '--password-stdin'], { input: `password-of-${u}\n` });
  runlog(home, ['project', 'add', 'tinystories']);
  runlog(home, ['project', 'member', 'tinystories', 'vera', 'viewer']);
  runlog(home, ['project', 'member', 'tinystories', 'adam', 'admin']);
  server = await serve(home, { flags: ['--accounts'], env: { RUNLOG_ADMIN_PASSWORD: 'admin-password-1' } });
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

test('sign in, a wrong password refused, sign out', async () => {
  await signIn('vera', 'not her password');
  await waitFor(async () => (await page.textContent('.login-error')).includes('wrong user name or password'), 10_000, 'the refusal');
  await page.fill('.login-form input[name=password]', 'password-of-vera');
  await page.click('.login-form button[type=submit]');
  await page.waitForSelector(`text=baseline-17m`);
  assert.equal((await page.textContent('.user-menu .user-name')).trim(), 'vera');
  const cookies = await b.context.cookies();
  const session = cookies.find((c) => c.name === 'runlog_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
  await signOut();
  const after = await page.evaluate(async () => (await fetch('/api/v1/runs')).status);
  assert.equal(after, 401);
});

test('a viewer sees no controls that change a run, and the API refuses its writes', async () => {
  await signIn('vera', 'password-of-vera');
  await page.waitForSelector('.user-menu');
  await page.goto(`${server.url}/runs/${ID}`);
  await page.waitForSelector('.run-name');
  assert.equal(await page.locator('.edit-rename, .run-edit, .edit-trash').count(), 0);
  const status = await page.evaluate(async (id) => (await fetch(`/api/v1/runs/${id}/annotate`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Runlog-Client': 'runlog-web' }, body: '{"name": "mine"}',
  })).status, ID);
  assert.equal(status, 403);
  const trash = await page.evaluate(async (id) => (await fetch(`/api/v1/runs/${id}/trash`, { method: 'POST', headers: { 'X-Runlog-Client': 'runlog-web' } })).status, ID);
  assert.equal(trash, 403);
  await signOut();
});

test('an admin of the project sees the controls and manages its members', async () => {
  await signIn('adam', 'password-of-adam');
  await page.waitForSelector('.user-menu');
  await page.goto(`${server.url}/runs/${ID}`);
  await page.waitForSelector('.edit-rename');
  await page.goto(`${server.url}/admin`);
  const box = '.project-members[data-project=tinystories]';
  await page.waitForSelector(`${box} tr[data-user=vera]`);
  await page.fill(`${box} input[name=member-user]`, 'otto');
  await page.selectOption(`${box} select[name=member-role]`, 'writer');
  await page.click(`${box} .member-form button`);
  await page.waitForSelector(`${box} tr[data-user=otto]`);
  await page.selectOption(`${box} tr[data-user=vera] select.member-role`, 'writer');
  await waitFor(async () => {
    const m = await page.evaluate(async () => (await (await fetch('/api/v1/projects/tinystories/members')).json()).members);
    return m.some((x) => x.user === 'otto' && x.role === 'writer') && m.some((x) => x.user === 'vera' && x.role === 'writer');
  }, 10_000, 'the roles in the API');
  await page.click(`${box} tr[data-user=otto] .member-remove`);
  await waitFor(async () => (await page.locator(`${box} tr[data-user=otto]`).count()) === 0, 10_000, 'otto removed');
  // A key made here is shown once and works as RUNLOG_TOKEN.
  await page.fill('.key-form input[name=key-name]', 'laptop');
  await page.click('.key-form button[type=submit]');
  const secret = (await (await page.waitForSelector('.key-secret')).textContent()).trim();
  const r = await fetch(`${server.url}/api/v1/runs`, { headers: { Authorization: `Bearer ${secret}` } });
  assert.equal(r.status, 200);
  assert.ok((await r.text()).includes('baseline-17m'));
  // The server's admin sees the audit log with these changes.
  await signOut();
  await signIn('admin', 'admin-password-1');
  await page.waitForSelector('.user-menu');
  await page.goto(`${server.url}/admin`);
  await page.waitForSelector('.audit-table');
  // It adds a user, whose password is shown once and signs in, and disables it.
  await page.fill('.user-form input[name=user-name]', 'nina');
  await page.click('.user-form button');
  const pw = (await (await page.waitForSelector('.user-password')).textContent()).trim();
  const login = async () => (await fetch(`${server.url}/api/v1/session`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Runlog-Client': 't' }, body: JSON.stringify({ user: 'nina', password: pw }),
  })).status;
  assert.equal(await login(), 200);
  await page.click('.users-table tr[data-user=nina] .user-disable');
  await page.waitForSelector('.users-table tr[data-user=nina].revoked');
  assert.equal(await login(), 401);
  const audit = await page.textContent('.audit-table');
  for (const want of ['project.member', 'tinystories/otto', 'key.add', 'adam', 'user.add', 'user.disable']) assert.ok(audit.includes(want), `audit has no ${want}`);
});
