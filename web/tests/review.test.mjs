// Browser tests of three things issue 14 asks the UI to show, found
// untested in a review:
//
// - a run that a sweep's median stopping rule stopped shows its status and
//   why it stopped on its page (a real `runlog sweep`);
// - a run named in the address that names no run shows the server's
//   closest names, on a run page and in the compare view; an id prefix that
//   several runs share lists them; a name that several runs share opens the
//   newest and says so, linking the others (as the command line warns);
// - in the hyperparameter view, a run name, a group, a config key and a
//   config value that are markup show as text in the parts that are DOM —
//   the parallel coordinates' and the scatter's tooltips, the group legend,
//   the axis chips and pickers — the axes themselves being drawn on
//   canvases. The page's CSP is off here, so only the UI's own care (h()
//   making text nodes) stands between the markup and a script.
//
//   RUNLOG_BIN=../bin/runlog node --test tests/review.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { scratch, cleanup, serve, browser, runlog, python, waitFor } from './harness.mjs';
import { makeAxis } from '../src/parcoords.js';

const NAME = '<img src=x onerror=alert(21)>';
const GROUP = '<img src=x onerror=alert(22)><u>grp</u>';
const VALUE = '<img src=x onerror=alert(23)>';
const KEY = '<b onmouseover=alert(24)>k</b>';

// The hyperparameter runs: name, group, lr, opt, the KEY value, val loss.
// Between the lr and opt axes the lines are well apart (the test hovers
// the middle of NAME's).
const HP = [
  ['base-1e-3', 'plain', 1e-3, 'sgd', 1, 2.0],
  ['base-3e-3', GROUP, 3e-3, 'sgd', 2, 1.6],
  [NAME, GROUP, 1e-2, VALUE, 3, 1.8],
  ['base-1e-4', 'plain', 1e-4, 'adam', 4, 2.5],
];

let server, b, page;

before(async () => {
  const home = scratch('review');
  // A sweep of three members run one after another, judged by the median
  // rule from step 2: lr=9 logs a val loss worse than the median of the
  // two before it and is stopped; the others finish.
  const dir = scratch('review-sweep');
  const train = join(dir, 'train.sh');
  writeFileSync(train, '#!/bin/sh\nv=${1#--lr=}\ni=0\nwhile [ $i -lt 20 ]; do echo "step=$i val_loss=$v"; sleep 0.05; i=$((i+1)); done\n');
  chmodSync(train, 0o755);
  writeFileSync(join(dir, 'sweep.yaml'), [
    'name: early',
    'project: sweep',
    `command: [${JSON.stringify(train)}, "\${args}"]`,
    'metric: {name: val_loss}',
    'early_terminate: {type: median, min_steps: 2, min_members: 2}',
    'parameters:',
    '  lr:',
    '    values: [1, 2, 9]',
  ].join('\n'));
  runlog(home, ['sweep', join(dir, 'sweep.yaml')]);
  // Two runs of one name, with ids that share a prefix; and the
  // hyperparameter runs, by the Python client.
  python(home, [
    'import runlog, time',
    'for i in (1, 2):',
    '    run = runlog.init(project="twins", name="twin", id=f"k7amb0{i}")',
    '    run.log({"loss": 1.0 / i}, step=0)',
    '    run.finish()',
    '    time.sleep(0.05)',
    `for name, group, lr, opt, k, loss in ${JSON.stringify(HP)}:`,
    `    run = runlog.init(project="hp", name=name, group=group, config={"lr": lr, "opt": opt, ${JSON.stringify(KEY)}: k})`,
    '    run.log({"val_loss": loss + 0.3}, step=0)',
    '    run.log({"val_loss": loss}, step=1)',
    '    run.finish()',
  ].join('\n'));
  server = await serve(home);
  b = await browser({ bypassCSP: true });
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const api = async (path) => (await fetch(`${server.url}/api/v1${path}`)).json();
const runNamed = async (project, name) => (await api(`/runs?project=${project}&limit=1000`)).runs.find((r) => r.name === name);
// unexpected(): the page's errors but the console lines of the API's 400
// and 404 answers, which the tests below ask for.
const unexpected = () => b.errors.filter((e) => !/Failed to load resource: the server responded with a status of 40[04]/.test(e));

test('a run stopped by the median rule shows its status and why it stopped', async () => {
  const stopped = await runNamed('sweep', 'lr=9');
  assert.equal(stopped.status, 'stopped');
  await page.goto(`${server.url}/runs/${stopped.id}`);
  const box = page.locator('.run-end section.run-end-box');
  await waitFor(() => box.count(), 10_000, 'the stop reason');
  assert.equal(await page.locator('.title-row .badge').textContent(), 'stopped');
  assert.equal(await box.locator('h2').textContent(), 'Why it stopped');
  assert.match(await box.locator('pre.run-error').textContent(),
    /^median stopping rule: best val_loss by step \d+ is 9, worse than the median 1\.5 of 2 members at that step$/);
  assert.equal(await box.getAttribute('role'), null, 'stopping early is not an error');
  assert.ok((await box.getAttribute('class')).split(' ').includes('stopped'));
  // The reason is also the run's event.
  const note = page.locator('ul.events li.ev-note', { hasText: 'stopped early' });
  await waitFor(() => note.count(), 10_000, 'the note');
  assert.match(await note.locator('.ev-text').textContent(), /^median stopping rule: /);
  // A member that finished has no such box.
  await page.goto(`${server.url}/runs/${(await runNamed('sweep', 'lr=1')).id}`);
  await waitFor(() => page.locator('.run-info .block').count(), 10_000, 'the finished member');
  assert.equal(await page.locator('.title-row .badge').textContent(), 'finished');
  assert.equal(await page.locator('.run-end *').count(), 0);
  assert.deepEqual(b.errors, []);
});

test('an unknown run in the address: the run page shows the closest names, as text', async () => {
  await page.goto(`${server.url}/runs/${encodeURIComponent('lr=3')}`);
  const err = page.locator('.run-head .error-box');
  await waitFor(() => err.count(), 10_000, 'the error');
  const text = await err.textContent();
  assert.ok(text.startsWith('No run “lr=3”: '), text);
  assert.ok(text.endsWith('did you mean: lr=1, lr=2, lr=9?'), text);
  // A name with markup, a character off: the suggestion is the name, as text.
  await page.goto(`${server.url}/runs/${encodeURIComponent(NAME.slice(0, -1))}`);
  await waitFor(() => err.count(), 10_000, 'the error');
  assert.ok((await err.textContent()).endsWith(`did you mean: ${NAME}?`), await err.textContent());
  assert.equal(await page.locator('main img').count(), 0);
  assert.deepEqual(unexpected(), []);
});

test('an unknown run in the compare view: the comparison shows the closest names; nothing breaks', async () => {
  const lr1 = await runNamed('sweep', 'lr=1');
  for (const runs of [`${lr1.id},lr=3`, 'lr=3']) {
    b.errors.length = 0;
    await page.goto(`${server.url}/compare?runs=${encodeURIComponent(runs)}`);
    const err = page.locator('.compare-table-wrap .error-box');
    await waitFor(() => err.count(), 10_000, 'the comparison’s error');
    assert.ok((await err.textContent()).endsWith('no run matches "lr=3": not found; did you mean: lr=1, lr=2, lr=9?'), await err.textContent());
    // The charts finish drawing, with an unknown run alone too.
    await waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:charts-drawn').length > 0), 10_000, `the charts of ${runs}`);
    assert.deepEqual(unexpected(), [], runs);
  }
});

test('an id prefix that several runs share lists them', async () => {
  b.errors.length = 0;
  await page.goto(`${server.url}/runs/k7amb0`);
  const err = page.locator('.run-head .error-box');
  await waitFor(() => err.count(), 10_000, 'the error');
  assert.equal(await err.textContent(), 'Could not load the run: ambiguous run reference: "k7amb0" matches 2 runs: k7amb02 (twin), k7amb01 (twin); use an id');
  assert.deepEqual(unexpected(), []);
});

test('a name that several runs share opens the newest, says so, and links the other', async () => {
  b.errors.length = 0;
  await page.goto(`${server.url}/runs/twin`);
  const note = page.locator('.run-head .note.namesakes');
  await waitFor(() => note.count(), 10_000, 'the note about the other run named so');
  assert.equal(await page.locator('.run-head code.run-id').textContent(), 'k7amb02', 'the newest');
  assert.equal(await note.textContent(), '2 runs are named “twin”; this is the newest. Name another by its id: k7amb01');
  await note.locator('a', { hasText: 'k7amb01' }).click();
  await waitFor(() => new URL(page.url()).pathname === '/runs/k7amb01', 5000, 'the other run');
  await waitFor(async () => (await page.locator('.run-head code.run-id').textContent().catch(() => '')) === 'k7amb01', 10_000, 'its page');
  assert.equal(await page.locator('.run-head .note.namesakes').count(), 0, 'named by its id: no note');
  // A name of one run: no note.
  await page.goto(`${server.url}/runs/${encodeURIComponent('lr=2')}`);
  await waitFor(() => page.locator('.run-info .block').count(), 10_000, 'the page of lr=2');
  assert.equal(await page.locator('.run-head .note.namesakes').count(), 0);
  assert.deepEqual(b.errors, []);
});

test('hparams: a run name, a group, a config key and a value with markup are text in the tooltips, legend and pickers', async () => {
  b.errors.length = 0;
  const axes = ['config.lr', 'config.opt', `config.${KEY}`, 'best.val_loss'];
  await page.goto(`${server.url}/hparams?project=hp&axes=${axes.map(encodeURIComponent).join(',')}&x=${encodeURIComponent(`config.${KEY}`)}&y=best.val_loss`);
  await waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:hparams-drawn').length > 0), 10_000, 'the hparams view');
  // The axis chips and the pickers name the key as typed.
  assert.deepEqual(await page.locator('.hp-axis').evaluateAll((els) => els.map((e) => e.dataset.key)), axes);
  assert.equal((await page.locator('.hp-axis').nth(2).textContent()).replace(/×$/, ''), `config.${KEY}`);
  assert.equal(await page.locator('select.hp-x').inputValue(), `config.${KEY}`);
  assert.ok((await page.locator('select.hp-y option').allTextContents()).includes(`config.${KEY}`));
  // The legend names the groups.
  assert.deepEqual((await page.locator('.hp-legend .hp-group').allTextContents()).sort(), [GROUP, 'plain'].sort());

  const rows = (await api('/runs?project=hp&limit=10000')).runs;
  const i = rows.findIndex((r) => r.name === NAME);
  assert.ok(i >= 0);

  // Parallel coordinates: hover the middle of NAME's line between the lr
  // and opt axes (70 px in from either side, y from 358 up to 34).
  const pa = axes.map((k) => makeAxis(k, rows));
  const pc = await page.locator('.pc-canvas').boundingBox();
  const ax = (k) => 70 + (k * (pc.width - 140)) / (axes.length - 1);
  const u = (pa[0].pos[i] + pa[1].pos[i]) / 2;
  await page.mouse.move(pc.x + (ax(0) + ax(1)) / 2, pc.y + 358 - u * 324);
  const pcTip = page.locator('.pc .hp-tip');
  await waitFor(() => pcTip.isVisible(), 5000, 'the parallel coordinates’ tooltip');
  assert.equal(await pcTip.locator('strong').textContent(), NAME);
  assert.deepEqual(await pcTip.locator('div').allTextContents(),
    ['config.lr = 0.01', `config.opt = ${VALUE}`, `config.${KEY} = 3`, 'best val_loss = 1.8']);

  // The scatter of val loss against the key: hover NAME's point.
  const xa = makeAxis(`config.${KEY}`, rows), ya = makeAxis('best.val_loss', rows);
  const sc = await page.locator('.sc-canvas').boundingBox();
  await page.mouse.move(sc.x + 64 + xa.pos[i] * (sc.width - 80), sc.y + 380 - 42 - ya.pos[i] * 324);
  const scTip = page.locator('.sc .hp-tip');
  await waitFor(() => scTip.isVisible(), 5000, 'the scatter’s tooltip');
  assert.equal(await scTip.locator('strong').textContent(), NAME);
  assert.deepEqual(await scTip.locator('div').allTextContents(), [`config.${KEY} = 3`, 'best val_loss = 1.8', `group ${GROUP}`]);

  // None of the markup became an element, nor ran.
  assert.equal(await page.locator('main img, main u, .hp-view b').count(), 0);
  // A click on the point opens the run, named as text.
  await page.mouse.down();
  await page.mouse.up();
  await waitFor(() => new URL(page.url()).pathname === `/runs/${rows[i].id}`, 5000, 'the run page');
  await waitFor(async () => (await page.locator('h1.run-name').textContent().catch(() => '')) === NAME, 10_000, 'its name');
  assert.equal(await page.locator('main img').count(), 0);
  assert.deepEqual(b.errors, []);
});
