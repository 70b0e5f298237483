// Browser tests of changing a run from its page (web/src/edit.js): rename
// in place, tags, notes, hypothesis, archive, and the trash with its undo.
// Each change is checked in the page and in the API, and in the run
// folder: it survives a restart of the server on a store rebuilt from the
// folders (`runlog index --rebuild`). Hostile text stays text.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, scratch, cleanup, serve, browser, runlog, waitFor } from './harness.mjs';

const ID = 'k3v9x2ab'; // internal/runfmt/testdata/basic.runlog: "baseline-17m", tags baseline and cs336
const HOSTILE_NAME = '<img src=x onerror=alert(1)>';
const HOSTILE_NOTE = '<script>alert("notes")</script><b>bold</b>';

let home, server, b, page;

const api = async (path) => {
  const r = await fetch(`${server.url}/api/v1${path}`);
  return { status: r.status, body: r.ok ? await r.json() : null };
};
const run = async () => (await api(`/runs/${ID}`)).body;

before(async () => {
  home = scratch('edit');
  mkdirSync(join(home, 'runs', ID), { recursive: true });
  copyFileSync(join(REPO, 'internal', 'runfmt', 'testdata', 'basic.runlog'), join(home, 'runs', ID, 'run.log'));
  server = await serve(home);
  b = await browser();
  page = b.page;
  await page.goto(`${server.url}/runs/${ID}`);
  await page.waitForSelector('.run-edit .edit-rename, .edit-rename');
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

// hostile(): whether anything of the hostile text became markup.
const noMarkup = () => page.evaluate(() => !document.querySelector('.run-head img, .run-head script, .run-head b'));

test('rename in place, a hostile name as text', async () => {
  await page.click('.edit-rename');
  await page.fill('.edit-name-input', HOSTILE_NAME);
  await page.click('.edit-name button[type=submit]');
  await waitFor(async () => (await page.textContent('.run-name')) === HOSTILE_NAME, 10_000, 'the new name');
  assert.ok(await noMarkup(), 'the name became markup');
  assert.equal((await run()).name, HOSTILE_NAME);
  assert.equal((await api(`/runs/${encodeURIComponent(HOSTILE_NAME)}`)).status, 200, 'the run is found by its new name');
});

test('a name the server refuses: the error beside the field', async () => {
  await page.click('.edit-rename');
  await page.fill('.edit-name-input', '   ');
  await page.click('.edit-name button[type=submit]');
  await waitFor(async () => /name/.test((await page.textContent('.edit-name .edit-error')) || ''), 10_000, 'the error');
  await page.click('.edit-name button[type=button]');
  await waitFor(async () => (await page.textContent('.run-name')) === HOSTILE_NAME, 10_000, 'the name back after cancel');
  assert.equal((await run()).name, HOSTILE_NAME);
});

test('tags: add one, remove one', async () => {
  await page.fill('.edit-tag-input', 'edited');
  await page.click('.edit-tag-add button');
  await page.waitForSelector('.edit-tag[data-tag="edited"]');
  await page.click('.edit-tag[data-tag="cs336"] .edit-tag-remove');
  await waitFor(async () => !(await page.$('.edit-tag[data-tag="cs336"]')), 10_000, 'the tag gone');
  assert.deepEqual((await run()).tags, ['baseline', 'edited']);
});

test('notes and hypothesis: edit, save, cancel; hostile notes as text', async () => {
  await page.click('.edit-notes');
  await page.fill('.edit-notes-input', HOSTILE_NOTE);
  await page.click('.edit-notes-form button[type=submit]');
  await waitFor(async () => (await page.textContent('.note.notes p').catch(() => '')) === HOSTILE_NOTE, 10_000, 'the notes');
  assert.ok(await noMarkup(), 'the notes became markup');
  assert.equal((await run()).notes, HOSTILE_NOTE);

  await page.click('.edit-hypothesis');
  await page.fill('.edit-hypothesis-input', 'a smaller lr ends lower');
  await page.click('.edit-hypothesis-form button[type=submit]');
  await waitFor(async () => (await page.textContent('.note.hypothesis p').catch(() => '')) === 'a smaller lr ends lower', 10_000, 'the hypothesis');
  assert.equal((await run()).hypothesis, 'a smaller lr ends lower');

  // Cancel changes nothing.
  await page.click('.edit-hypothesis');
  await page.fill('.edit-hypothesis-input', 'not this');
  await page.click('.edit-hypothesis-form button[type=button]');
  await waitFor(async () => !(await page.$('.edit-hypothesis-form')), 10_000, 'the editor closed');
  assert.equal(await page.textContent('.note.hypothesis p'), 'a smaller lr ends lower');
  assert.equal((await run()).hypothesis, 'a smaller lr ends lower');
});

test('archive, and the changes survive a restart on a rebuilt store', async () => {
  await page.click('.edit-archive');
  await waitFor(async () => (await page.textContent('.edit-archive')) === 'Unarchive', 10_000, 'Unarchive');
  assert.equal((await run()).archived, true);
  assert.ok(!(await api('/runs')).body.runs.some((r) => r.id === ID), 'an archived run is listed');

  assert.ok(existsSync(join(home, 'runs', ID, 'run.cli.log')), 'no record in the run folder');
  await server.stop();
  runlog(home, ['index', '--rebuild']);
  server = await serve(home);
  const d = await run();
  assert.equal(d.name, HOSTILE_NAME);
  assert.deepEqual(d.tags, ['baseline', 'edited']);
  assert.equal(d.notes, HOSTILE_NOTE);
  assert.equal(d.hypothesis, 'a smaller lr ends lower');
  assert.equal(d.archived, true);

  await page.goto(`${server.url}/runs/${ID}`);
  await page.waitForSelector('.edit-archive');
  assert.equal(await page.textContent('.edit-archive'), 'Unarchive');
  await page.click('.edit-archive');
  await waitFor(async () => (await page.textContent('.edit-archive')) === 'Archive', 10_000, 'Archive');
  assert.equal((await run()).archived, false);
});

test('move to trash, then undo', async () => {
  await page.click('.edit-trash');
  await page.waitForSelector('.edit-toast');
  await waitFor(() => new URL(page.url()).pathname === '/', 10_000, 'the runs list');
  assert.match(await page.textContent('.edit-toast'), /Moved “<img src=x onerror=alert\(1\)>” to the trash/);
  assert.equal((await api(`/runs/${ID}`)).status, 404);
  assert.ok(existsSync(join(home, 'trash', 'runs', ID, 'run.log')), 'the folder is not in the trash');

  await page.click('.edit-undo');
  await waitFor(() => new URL(page.url()).pathname === `/runs/${ID}`, 10_000, 'the run page');
  await waitFor(async () => (await page.textContent('.run-name').catch(() => '')) === HOSTILE_NAME, 10_000, 'the run back');
  assert.equal((await api(`/runs/${ID}`)).status, 200);
  assert.ok(existsSync(join(home, 'runs', ID, 'run.log')), 'the folder is not back');
  assert.equal(await page.$('.edit-toast'), null);
  assert.deepEqual(b.errors.filter((e) => !e.startsWith('console: Failed to load resource')), []);
});
