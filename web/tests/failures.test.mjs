// Browser tests of how the run page shows failures: a failed `runlog run`
// run shows the end of its traceback as text (markup in it included) and
// its captured output; a run that a Python client logged alone, whose loss
// became NaN, shows the alert that indexing derived.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO, scratch, cleanup, serve, browser, runlog, waitFor } from './harness.mjs';

const HOSTILE = '<script>alert(7)</script><img src=x onerror=alert(8)>';

let home, server, b, page;

before(async () => {
  home = scratch('failures');
  runlog(home, ['run', '--project', 'fail', '--name', 'traceback', '--', 'sh', '-c',
    `echo "{\\"step\\": 1, \\"loss\\": 3}"; echo "first line"; i=0; while [ $i -lt 60 ]; do echo "  frame $i" >&2; i=$((i+1)); done; echo 'ValueError: ${HOSTILE}' >&2; exit 1`], { allowFail: true });
  const py = [
    'import runlog',
    'run = runlog.init(project="fail", name="diverged")',
    'for i in range(40):',
    '    run.log({"train_loss": 2.0 / (i + 1) if i < 25 else float("nan")}, step=i)',
    'run.finish()',
  ].join('\n');
  const r = spawnSync('python3', ['-c', py], {
    cwd: REPO, encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, RUNLOG_HOME: home, RUNLOG_URL: '-', PYTHONPATH: join(REPO, 'clients', 'python') },
  });
  if (r.status !== 0) throw new Error(`python client run: ${r.stderr}`);
  server = await serve(home);
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

async function openRun(name) {
  const runs = await (await fetch(`${server.url}/api/v1/runs`)).json();
  const list = Array.isArray(runs) ? runs : runs.runs;
  const run = list.find((x) => x.name === name);
  assert.ok(run, `run ${name} listed`);
  await page.goto(`${server.url}/runs/${run.id}`);
  await waitFor(() => page.locator('.run-info .block').count(), 10_000, `the page of ${name}`);
  return run;
}

test('a failed run shows the end of its traceback as text, and its output', async () => {
  await openRun('traceback');
  const pre = page.locator('.run-end pre.run-error');
  await waitFor(() => pre.count(), 10_000, 'the error box');
  const text = await pre.textContent();
  assert.ok(text.endsWith(`ValueError: ${HOSTILE}`), `the traceback's last line, as typed: ${text.slice(-200)}`);
  assert.ok(!text.includes('frame 0\n'), 'only the tail of a long traceback');
  assert.ok(text.includes('frame 59'));
  assert.match(await page.locator('.run-end .block-head').textContent(), /Error.*last 40 of \d+ lines/);
  // The markup is text: nothing of it became an element.
  assert.equal(await page.locator('.run-view script, .run-view img').count(), 0);
  assert.equal(await page.locator('.run-end pre.run-error *').count(), 0);
  // The captured output is in the log box.
  await waitFor(() => page.locator('pre.logs .log').count(), 10_000, 'the output');
  assert.ok((await page.locator('pre.logs').textContent()).includes('first line'));
  assert.deepEqual(b.errors, []);
});

test('a client run that diverged to NaN shows the derived alert', async () => {
  await openRun('diverged');
  const alert = page.locator('ul.events li.ev-alert', { hasText: 'train_loss is NaN' });
  await waitFor(() => alert.count(), 10_000, 'the NaN alert');
  assert.equal(await alert.count(), 1);
  assert.match(await alert.textContent(), /step 25/);
  assert.match(await page.locator('.run-info h2', { hasText: 'Alerts and events' }).textContent(), /1 alert\)/);
  assert.equal(await page.locator('.run-end pre').count(), 0, 'a finished run has no error box');
  await waitFor(() => page.locator('.no-output').count(), 10_000, 'the output section');
  assert.deepEqual(b.errors, []);
});
