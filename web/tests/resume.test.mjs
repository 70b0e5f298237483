// A resumed run on a time axis (issue 19): the line breaks where the run
// resumed instead of crossing the time it lay dead, and the resume is
// marked; on the step axis nothing changes. The pure function in node,
// then the run page in Chromium on a run resumed by `runlog run --resume`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { breakAt, parseSeries, drawable, join as joinCurves } from '../src/chartdata.js';
import { scratch, cleanup, serve, browser, results, runlog, waitFor, sleep } from './harness.mjs';

test('breakAt: a null at each resume between points on both sides, nowhere else', () => {
  const s = parseSeries({ key: 'loss', total: 6, x: [1, 2, 3, 1001, 1002, 1003], y: [3, 2.5, 2, 1.9, 1.8, 'NaN'], steps: [0, 1, 2, 3, 4, 5], resumes: [1000] });
  assert.deepEqual(s.resumes, [1000]);
  const { x, ys } = breakAt(s.x, [drawable(s.y, false)], s.resumes);
  // golden: the gap sits at the resume, the points keep their values, a NaN stays a gap
  assert.deepEqual([...x], [1, 2, 3, 1000, 1001, 1002, 1003]);
  assert.deepEqual(ys[0], [3, 2.5, 2, null, 1.9, 1.8, null]);
  // joined with a curve that has no resume, uPlot gets null (break) for this one and undefined (span) for the other
  const data = joinCurves([{ x, ys }, { x: Float64Array.from([2, 1001]), ys: [[5, 6]] }]);
  assert.deepEqual([...data[0]], [1, 2, 3, 1000, 1001, 1002, 1003]);
  assert.deepEqual(data[1], [3, 2.5, 2, null, 1.9, 1.8, null]);
  assert.deepEqual(data[2], [undefined, 5, undefined, undefined, 6, undefined, undefined]);
  // resumes outside the points, none, or a step axis's series: unchanged
  for (const r of [[0.5], [5000], [], undefined]) {
    const out = breakAt(s.x, [drawable(s.y, false)], r);
    assert.equal(out.x.length, 6, String(r));
  }
  // two resumes, unsorted, several arrays (raw and smoothed)
  const two = breakAt(Float64Array.from([0, 10, 20]), [[1, 2, 3], [4, 5, 6]], [15, 5]);
  assert.deepEqual([...two.x], [0, 5, 10, 15, 20]);
  assert.deepEqual(two.ys, [[1, null, 2, null, 3], [4, null, 5, null, 6]]);
});

let home, server, b, page, id;

before(async () => {
  home = scratch('resume');
  const steps = (from, to) => `i=${from}; while [ $i -le ${to} ]; do echo "{\\"step\\": $i, \\"train_loss\\": $((100 - i))}"; i=$((i + 1)); sleep 0.02; done`;
  runlog(home, ['run', '--name', 'resumed', '--', 'sh', '-c', steps(0, 49)]);
  await sleep(2500); // the run lies dead
  runlog(home, ['run', '--resume', 'resumed', '--', 'sh', '-c', steps(50, 99)]);
  server = await serve(home);
  id = (await (await fetch(`${server.url}/api/v1/runs?name=resumed`)).json()).runs[0].id;
  b = await browser();
  page = b.page;
});

after(async () => {
  await b?.close();
  await server?.stop();
  cleanup();
});

const drawn = () => waitFor(() => page.evaluate(() => performance.getEntriesByName('runlog:run-drawn').length > 0), 15_000, 'the run’s charts');

test('the wallclock chart of a resumed run breaks and marks the resume; the step chart does not', async () => {
  const api = await (await fetch(`${server.url}/api/v1/runs/${id}/series?keys=train_loss&x=wallclock&points=0`)).json();
  const s = api.series[0];
  assert.equal(s.resumes.length, 1);
  const before = s.x.filter((x) => x < s.resumes[0]).length;
  assert.equal(before, 50, `50 points before the resume at ${s.resumes[0]} s: ${s.x}`);
  assert.ok(s.x[50] - s.x[49] > 2, 'the run lay dead between them');

  await page.goto(`${server.url}/runs/${id}?x=wallclock`);
  await drawn();
  // the chart of train_loss (whatever the page calls it) marks the resume
  const marked = page.locator('[data-chart][data-resumes="1"]');
  await waitFor(async () => (await marked.count()) > 0, 5000, 'the resume marked on the loss chart');
  assert.match(await marked.first().textContent(), /train_loss/);
  await page.screenshot({ path: join(results(), 'resume-wallclock.png') });

  await page.goto(`${server.url}/runs/${id}?x=step`);
  await drawn();
  await waitFor(async () => (await page.locator('[data-chart][data-resumes="0"]').count()) > 0, 5000, 'the charts drawn on the step axis');
  assert.equal(await page.locator('[data-chart][data-resumes="1"]').count(), 0, 'no resume on the step axis');
  assert.deepEqual(b.errors, []);
});
