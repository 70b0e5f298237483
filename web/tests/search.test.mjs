// Browser tests of the runs table's filter: or, in (…), and an invalid
// filter, whose server message shows under the box with no rows left from
// the filter before it. A home of its own with four quick runs.
//
//   RUNLOG_BIN=../bin/runlog node --test tests/search.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scratch, cleanup, serve, browser, runlogAsync, waitFor } from './harness.mjs';

let server, b, page;

before(async () => {
  const home = scratch('search-home');
  await Promise.all([['lr-1e-3', '1e-3', 'adam'], ['lr-2e-3', '2e-3', 'sgd'], ['lr-3e-3', '3e-3', 'adam'], ['lr-1e-2', '1e-2', 'sgd']].map(([name, lr, opt]) =>
    runlogAsync(home, ['run', '--project', 'search', '--name', name, '--set', `lr=${lr}`, '--set', `opt=${opt}`, '--',
      'sh', '-c', 'echo "{\\"step\\": 1, \\"loss\\": 2}"']).done));
  server = await serve(home);
  b = await browser();
  page = b.page;
  await page.goto(server.url);
  await waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:interactive').length > 0), 10_000, 'the runs table');
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const rows = () => page.locator('table.runs tbody tr[data-id]');
const shown = async () => (await rows().locator('a.run-link').allTextContents()).sort().join(',');
const filterBy = async (q) => {
  await page.locator('input.filter').fill(q);
  await page.locator('input.filter').press('Enter');
};

test('filter: or', async () => {
  assert.equal(await rows().count(), 4);
  await filterBy('config.lr = 0.001 or config.lr = 0.003');
  await waitFor(async () => (await shown()) === 'lr-1e-3,lr-3e-3', 5000, 'the two runs of either lr');
  assert.equal(await page.locator('.count').textContent(), '2 runs');
  await filterBy('config.opt = sgd and config.lr > 5e-3 or name ~ 1E-3');
  await waitFor(async () => (await shown()) === 'lr-1e-2,lr-1e-3', 5000, 'and binding tighter than or');
  assert.equal(await page.locator('.filter-error').isVisible(), false);
});

test('filter: in (…)', async () => {
  await filterBy('config.lr in (1e-3, 2e-3)');
  await waitFor(async () => (await shown()) === 'lr-1e-3,lr-2e-3', 5000, 'the runs of the listed lrs');
  await filterBy('config.opt in ("adam") and not name in (lr-1e-3)');
  await waitFor(async () => (await shown()) === 'lr-3e-3', 5000, 'in, not and quoted strings');
  assert.equal(new URL(page.url()).searchParams.get('q'), 'config.opt in ("adam") and not name in (lr-1e-3)');
});

test('filter: an invalid one shows the server’s error and no rows; a valid one clears it', async () => {
  await filterBy('config.lr in (1e-3, 2e-3)');
  await waitFor(async () => (await rows().count()) === 2, 5000, 'two runs');
  await filterBy('config.lr in (1e-3, 2e-3');
  const error = page.locator('.filter-error');
  await waitFor(() => error.isVisible(), 5000, 'the server’s message about the filter');
  assert.match(await error.textContent(), /^q: at the end: expected , or \) in the list of config\.lr in/);
  assert.equal(await rows().count(), 0, 'no rows of the filter before');
  assert.equal(await page.locator('.count').textContent(), '');
  assert.match(await page.locator('table.runs tbody').textContent(), /Fix the filter/);
  await filterBy('config.lr = 0.001 or');
  await waitFor(async () => /at the end: expected a condition/.test(await error.textContent()), 5000, 'the next error');
  assert.equal(await rows().count(), 0);
  await filterBy('config.lr in (1e-3, 2e-3) or name = lr-1e-2');
  await waitFor(async () => (await rows().count()) === 3, 5000, 'three runs again');
  assert.equal(await error.isVisible(), false, 'the error is gone');
  assert.equal(await page.locator('input.filter.bad').count(), 0);
  // The 400 answers show as console messages; nothing else went wrong.
  assert.deepEqual(b.errors.filter((e) => !/status of 400/.test(e)), []);
});
