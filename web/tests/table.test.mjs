// The runs table's projects and selecting many runs: unit tests of the pure
// parts (table.js: the default columns, a shift-click's range) and browser
// tests on a home of their own — two real sweeps under `runlog sweep` (an
// lr × seed grid in project vision, a dropout sweep in nlp), four runs
// beside the vision sweep that vary batch_size more than it varies lr, and
// 210 quick runs in project big (Python client), more than one page.
//
//   RUNLOG_BIN=../bin/runlog node --test tests/table.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, scratch, cleanup, serve, browser, results, runlogAsync, waitFor } from './harness.mjs';
import { defaultColumns, rangeSelect, addAll } from '../src/table.js';

// ---- the pure parts ----

const run = (group, config) => ({ group, config });

test('defaultColumns: the keys a sweep varies first, then by distinct values, never alphabetically', () => {
  const sweep = (lr, seed, m) => run('lrsweep', { lr, seed, batch_size: 32, optimizer: 'adam', sweep: { name: 'lrsweep', member: m } });
  const rows = [
    sweep(1e-3, 0, 0), sweep(1e-3, 1, 1), sweep(3e-3, 0, 2), sweep(3e-3, 1, 3), sweep(1e-2, 0, 4), sweep(1e-2, 1, 5),
    ...[8, 16, 64, 128].map((bs) => run('', { batch_size: bs, optimizer: 'adam', aug: bs > 16 })),
  ];
  const keys = ['aug', 'batch_size', 'lr', 'optimizer', 'seed', 'sweep.member', 'sweep.name'];
  assert.deepEqual(defaultColumns(rows, keys), ['config.lr', 'config.seed', 'config.batch_size']);
  assert.deepEqual(defaultColumns(rows, keys, 5), ['config.lr', 'config.seed', 'config.batch_size', 'config.aug'], 'constant keys and runlog’s sweep key never');
  // Without a sweep: by how many values, then by name.
  const plain = [run('', { a: 1, b: 1, c: 1, d: 'x' }), run('', { a: 2, b: 2, c: 1, d: 'y' }), run('', { a: 3, b: 2, c: 1 })];
  assert.deepEqual(defaultColumns(plain, ['a', 'b', 'c', 'd']), ['config.a', 'config.b', 'config.d']);
  // A key that differs only between two sweeps, constant within each, is no sweep key.
  const two = [run('s1', { lr: 1, wd: 0, sweep: { name: 's1' } }), run('s1', { lr: 2, wd: 0, sweep: { name: 's1' } }),
    run('s2', { lr: 1, wd: 1, sweep: { name: 's2' } }), run('s2', { lr: 1, wd: 1, sweep: { name: 's2' } }),
    run('', { wd: 2 })];
  assert.deepEqual(defaultColumns(two, ['lr', 'wd']), ['config.lr', 'config.wd']);
  assert.deepEqual(defaultColumns([], ['lr']), []);
  // Nested keys are read by path.
  assert.deepEqual(defaultColumns([run('', { optim: { lr: 1 } }), run('', { optim: { lr: 2 } })], ['optim.lr']), ['config.optim.lr']);
});

test('rangeSelect: a shift-click adds or takes out the rows between, either way round', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  assert.deepEqual(rangeSelect([], ids, 1, 3, true), ['b', 'c', 'd']);
  assert.deepEqual(rangeSelect(['x', 'c'], ids, 3, 1, true), ['x', 'c', 'b', 'd'], 'upwards; kept ones keep their place');
  assert.deepEqual(rangeSelect(['a', 'b', 'c', 'x'], ids, 2, 0, false), ['x']);
  assert.deepEqual(rangeSelect(['a'], ids, 4, 4, true), ['a', 'e']);
  assert.deepEqual(rangeSelect([], ids, 3, 9, true), ['d', 'e'], 'past the end');
  assert.deepEqual(addAll(['c', 'z'], ids), ['c', 'z', 'a', 'b', 'd', 'e']);
  assert.deepEqual(addAll(['c'], []), ['c']);
});

// ---- the browser ----

let server, b, page;

before(async () => {
  const home = scratch('table-home');
  const files = scratch('table-sweeps');
  const echo = ['sh', '-c', 'echo \'{"step": 1, "loss": 2}\''];
  const cmd = 'command: ["sh", "-c", "echo \'{\\"step\\": 1, \\"loss\\": 2}\'"]\n';
  writeFileSync(join(files, 'lrsweep.yaml'), 'name: lrsweep\nproject: vision\nmethod: grid\nconfig: {batch_size: 32, optimizer: adam, width: 64}\n' +
    'parameters:\n  lr:\n    values: [1e-3, 3e-3, 1e-2]\nseeds: [0, 1]\n' + cmd);
  writeFileSync(join(files, 'dsweep.yaml'), 'name: dsweep\nproject: nlp\nmethod: grid\nconfig: {layers: 2}\n' +
    'parameters:\n  dropout:\n    values: [0, 0.1, 0.2]\n' + cmd);
  await Promise.all([
    runlogAsync(home, ['sweep', join(files, 'lrsweep.yaml'), '-j', '6']).done,
    runlogAsync(home, ['sweep', join(files, 'dsweep.yaml'), '-j', '3']).done,
    ...[8, 16, 64, 128].map((bs) => runlogAsync(home, ['run', '--project', 'vision', '--name', `bs-${bs}`,
      '--set', `batch_size=${bs}`, '--set', 'optimizer=adam', '--', ...echo]).done),
  ]);
  const py = spawnSync('python3', ['-c', `
import sys
sys.path.insert(0, sys.argv[2])
import runlog
for i in range(210):
    r = runlog.init(dir=sys.argv[1], project="big", name="big-%03d" % i, config={"i": i}, mode="offline")
    r.log({"loss": 1.0 / (i + 1)}, step=1)
    r.finish()
`, home, join(REPO, 'clients', 'python')], { encoding: 'utf8', env: { ...process.env, RUNLOG_URL: '-' }, timeout: 120_000 });
  if (py.status !== 0) throw new Error(`seeding project big: ${py.stderr}`);
  server = await serve(home);
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const rows = () => page.locator('table.runs tbody tr[data-id]');
const rowOf = (name) => page.locator('table.runs tbody tr[data-id]', { has: page.locator('a.run-link', { hasText: name }) });
const url = () => new URL(page.url());
const sel = () => (url().searchParams.get('sel') || '').split(',').filter(Boolean);
const count = () => page.locator('.count').textContent();
const headCols = () => page.locator('table.runs thead th[title^="config."]').evaluateAll((ths) => ths.map((t) => t.title));
const interactive = () => waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:interactive').length > 0), 10_000, 'the runs table');
const picker = () => page.getByLabel('project', { exact: true });

test('project picker: every project with its runs, all by default; one shown at a time, remembered', async () => {
  await page.goto(server.url);
  await interactive();
  assert.equal(await count(), '223 runs');
  assert.deepEqual(await picker().locator('option').allTextContents(), ['All projects (223)', 'big (210)', 'nlp (3)', 'vision (10)']);
  assert.equal(await picker().inputValue(), '');
  assert.equal(await page.locator('table.runs thead th', { hasText: 'Project' }).count(), 1);

  await picker().selectOption('vision');
  await waitFor(async () => (await count()) === '10 runs', 5000, 'the runs of vision');
  assert.equal(url().searchParams.get('project'), 'vision');
  assert.equal(await rows().count(), 10);
  assert.equal(await page.locator('table.runs thead th', { hasText: 'Project' }).count(), 0, 'no project column for one project');

  // A new visit without project= shows the project of the last one, and says so in the address.
  await page.goto(server.url);
  await interactive();
  await waitFor(async () => (await count()) === '10 runs', 5000, 'vision remembered');
  assert.equal(await picker().inputValue(), 'vision');
  assert.equal(url().searchParams.get('project'), 'vision');
  // The address wins over what was remembered.
  await page.goto(`${server.url}/?project=nlp`);
  await interactive();
  assert.equal(await count(), '3 runs');
  assert.equal(await picker().inputValue(), 'nlp');
});

test('default columns: the keys the sweep varies first (lr), then by distinct values; a group column', async () => {
  await page.goto(`${server.url}/?project=vision`);
  await interactive();
  assert.deepEqual(await headCols(), ['config.lr', 'config.seed', 'config.batch_size']);
  assert.equal(await rowOf('lr=3e-3 seed=1').locator('td.c-config_lr').textContent(), '0.003');
  assert.equal(await rowOf('bs-128').locator('td.c-config_batch_size').textContent(), '128');
  // The group column: a sweep's name on its members, nothing on the others.
  assert.equal(await page.locator('table.runs thead th', { hasText: 'Group' }).count(), 1);
  assert.equal(await rowOf('lr=1e-2 seed=0').locator('td.c-group .group-name').textContent(), 'lrsweep');
  assert.equal(await rowOf('bs-8').locator('td.c-group').textContent(), '');
  // Another project, its own defaults.
  await picker().selectOption('nlp');
  await waitFor(async () => (await count()) === '3 runs', 5000, 'nlp');
  assert.deepEqual(await headCols(), ['config.dropout']);
});

test('columns are kept per project', async () => {
  await picker().selectOption('vision');
  await waitFor(async () => (await count()) === '10 runs', 5000, 'vision');
  await page.getByRole('button', { name: 'Columns' }).click();
  await page.locator('.picker-item', { hasText: 'width' }).locator('input').check();
  await page.getByRole('button', { name: 'Done' }).click();
  assert.deepEqual(await headCols(), ['config.lr', 'config.seed', 'config.batch_size', 'config.width']);
  await picker().selectOption('nlp');
  await waitFor(async () => (await count()) === '3 runs', 5000, 'nlp');
  assert.deepEqual(await headCols(), ['config.dropout'], 'nlp keeps its defaults');
  assert.equal(url().searchParams.get('cols'), null);
  await picker().selectOption('vision');
  await waitFor(async () => (await count()) === '10 runs', 5000, 'vision again');
  assert.deepEqual(await headCols(), ['config.lr', 'config.seed', 'config.batch_size', 'config.width']);
  assert.equal(url().searchParams.get('cols'), 'config.lr,config.seed,config.batch_size,config.width');
});

test('select group: a group cell’s action selects the group’s runs', async () => {
  await page.goto(`${server.url}/?project=vision&sort=name&order=asc`);
  await interactive();
  await rowOf('lr=1e-3 seed=0').locator('button.group-sel').click();
  await waitFor(async () => sel().length === 6, 5000, 'the six members selected');
  assert.equal(await page.locator('table.runs tbody tr.selected').count(), 6);
  assert.equal(await rowOf('bs-8').locator('td.sel input').isChecked(), false);
  assert.equal(await page.locator('a.compare-btn').textContent(), 'Compare 6 runs');
  // Six runs are more than the chips show one by one: one chip says how many.
  assert.equal(await page.locator('.sel-chips .sel-chip').count(), 0);
  assert.equal(await page.locator('.sel-chips .sel-count').textContent(), '6 selected');
  await page.screenshot({ path: join(results(), 'runs-project.png') });
  await rowOf('bs-8').locator('td.sel input').check();
  await waitFor(async () => sel().length === 7, 5000, 'seven');
  assert.equal(await page.locator('a.compare-btn').textContent(), 'Compare 7 runs');
  await page.getByRole('button', { name: 'Clear' }).click();
  assert.deepEqual(sel(), []);
});

test('shift-click selects the rows between, and takes them out again', async () => {
  const names = await rows().locator('a.run-link').allTextContents();
  assert.deepEqual(names.slice(0, 4), ['bs-128', 'bs-16', 'bs-64', 'bs-8']);
  const box = (i) => rows().nth(i).locator('td.sel input');
  await box(1).click();
  await box(5).click({ modifiers: ['Shift'] });
  await waitFor(async () => sel().length === 5, 5000, 'rows 1 to 5');
  const ids = await rows().evaluateAll((trs) => trs.map((t) => t.dataset.id));
  assert.deepEqual(new Set(sel()), new Set(ids.slice(1, 6)));
  // Upwards from the last ticked row, unticking: 3 … 5 go, 1 and 2 stay.
  await box(3).click({ modifiers: ['Shift'] });
  await waitFor(async () => sel().length === 2, 5000, 'rows 3 to 5 out');
  assert.deepEqual(new Set(sel()), new Set(ids.slice(1, 3)));
  // Few runs: a chip each, with its name; its × takes it out.
  assert.deepEqual(await page.locator('.sel-chips .sel-chip .sel-name').allTextContents(), names.slice(1, 3));
  await page.getByRole('button', { name: `deselect ${names[1]}` }).click();
  assert.deepEqual(sel(), [ids[2]]);
  await page.getByRole('button', { name: 'Clear' }).click();
});

test('the header checkbox selects every run of the filter, past the first page', async () => {
  await page.goto(`${server.url}/?project=big`);
  await interactive();
  assert.equal(await count(), '210 runs');
  await page.locator('input.filter').fill('config.i >= 5');
  await page.locator('input.filter').press('Enter');
  await waitFor(async () => (await count()) === '205 runs', 5000, '205 runs');
  const head = page.locator('table.runs thead th.sel input');
  assert.equal(await head.getAttribute('aria-label'), 'select all 205 runs of the filter');
  const answer = page.waitForResponse((r) => r.url().includes('ids_only=1'));
  await head.click();
  assert.equal(new URL((await answer).url()).searchParams.get('q'), 'config.i >= 5');
  await waitFor(async () => sel().length === 205, 5000, 'all 205 selected');
  assert.equal(sel().includes((await rows().first().getAttribute('data-id'))), true);
  assert.equal(await head.isChecked(), true);
  assert.equal(await page.locator('a.compare-btn').textContent(), 'Compare 205 runs');
  assert.equal(await page.locator('.sel-chips .sel-count').textContent(), '205 selected');
  // The selection stays when the filter changes; the box is half ticked there.
  await page.locator('input.filter').fill('');
  await page.locator('input.filter').press('Enter');
  await waitFor(async () => (await count()) === '210 runs', 5000, 'all of big');
  await waitFor(() => head.evaluate((e) => e.indeterminate), 5000, 'half ticked');
  await head.click();
  await waitFor(async () => sel().length === 210, 5000, 'all 210');
  await waitFor(() => head.isChecked(), 5000, 'ticked');
  await head.click();
  await waitFor(async () => sel().length === 0, 5000, 'none');
  assert.deepEqual(b.errors, []);
});
