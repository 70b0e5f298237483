// The UI's performance in headless Chromium, measured through the marks the
// UI sets (performance.mark):
//
//   runlog:interactive     the runs table's first rows are drawn and it answers input
//   runlog:compare-drawn   the compare view's last chart is drawn
//   runlog:charts-drawn    a panel of charts drawn again (after a zoom)
//
//   runlog:hparams-drawn   the hyperparameter view drawn (with the measures
//                          runlog:hparams-parcoords, -scatter and -brushed)
//
//   runlog:text-drawn      the compare view's text samples drawn
//   runlog:images-drawn    an image grid shown: the images in the window loaded
//
// It seeds two synthetic homes with the Python client (tests/seed_perf.py):
// 1,000 runs, and 20 runs of 100,000 points each; and, for issue 14's
// goals, three more straight in the run.log format (tests/seedperf, a Go
// program, seconds where a client would take minutes): 10,000 runs in one
// project, 100 runs of 100,000 points in 10 lr groups, and one run of 1 M
// points; and, for issue 15's, a home of rich values from the Python client
// (tests/seed_media.py): a sweep with a step of 64 images, 10 runs with
// text samples. It starts `runlog ui` on each (RUNLOG_BIN) and loads the pages
// with the browser cache off, each time in a new tab, after one load that
// warms the server (its first answer reads every run). Prints a table of
// medians of 3; asserts no timing.
//
//   RUNLOG_BIN=../bin/runlog node tests/perf.mjs [--keep DIR] [--repeat N]

import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEB, REPO, runlog, scratch, cleanup, serve, browser, waitFor, results } from './harness.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const REPEAT = Number(opt('--repeat', 3));
const keep = opt('--keep', process.env.RUNLOG_PERF_DIR);

function seed(kind, dir, ...extra) {
  if (existsSync(join(dir, '.seeded'))) return 0;
  mkdirSync(dir, { recursive: true });
  const t = Date.now();
  const r = spawnSync('python3', [join(WEB, 'tests', 'seed_perf.py'), kind, dir, ...extra], { stdio: 'inherit', env: { ...process.env, RUNLOG_URL: '-' } });
  if (r.status !== 0) throw new Error(`seed_perf.py ${kind} failed`);
  writeFileSync(join(dir, '.seeded'), '');
  return Date.now() - t;
}

function seedGo(kind, dir, ...extra) {
  if (existsSync(join(dir, '.seeded'))) return 0;
  mkdirSync(dir, { recursive: true });
  const t = Date.now();
  const r = spawnSync('go', ['run', './web/tests/seedperf', kind, dir, ...extra], { cwd: REPO, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`seedperf ${kind} failed`);
  writeFileSync(join(dir, '.seeded'), '');
  return Date.now() - t;
}

const health = async (srv, n, ms, what) => waitFor(async () => (await (await fetch(`${srv.url}/api/v1/health`)).json()).runs >= n, ms, what);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;

async function markTime(page, name, timeout = 30_000) {
  return waitFor(() => page.evaluate((n) => {
    const e = performance.getEntriesByName(n);
    return e.length ? e[e.length - 1].startTime : null;
  }, name), timeout, name);
}

/** markAfter(page, mark, act): act() run in the page (it returns performance.now() as it starts), then the time until the mark is set again. */
async function markAfter(page, name, act) {
  const before = await page.evaluate((n) => performance.getEntriesByName(n).length, name);
  const t0 = await page.evaluate(act);
  const t1 = await waitFor(() => page.evaluate(([n, k]) => {
    const e = performance.getEntriesByName(n);
    return e.length > k ? e[e.length - 1].startTime : null;
  }, [name, before]), 10_000, name);
  return t1 - t0;
}

/** load(context, url, mark): navigation start → the mark, in a new tab with the cache off. */
async function load(ctx, url, mark) {
  const page = await ctx.context.newPage();
  const cdp = await ctx.context.newCDPSession(page);
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await page.goto(url);
  const t = await markTime(page, mark);
  return { page, t };
}

async function main() {
  const base = keep || scratch('perf');
  const runsHome = join(base, 'runs-1000');
  const longHome = join(base, 'runs-20x100k');
  console.log(`seeding synthetic homes in ${base} (Python client) …`);
  const s1 = seed('runs', runsHome, '1000');
  const s2 = seed('series', longHome, '20', '100000');
  if (s1 || s2) console.log(`seeded in ${((s1 + s2) / 1000).toFixed(1)} s`);
  const bigHome = join(base, 'runs-10000');
  const groupsHome = join(base, 'groups-100x100k');
  const megaHome = join(base, 'series-1m');
  console.log('seeding 10,000 runs, 100 × 100k points and 1 M points (tests/seedperf, run.log written directly) …');
  const s3 = seedGo('table', bigHome, '10000') + seedGo('groups', groupsHome, '10', '10', '100000') + seedGo('million', megaHome, '1000000');
  if (s3) console.log(`seeded in ${(s3 / 1000).toFixed(1)} s`);
  const mediaHome = join(base, 'media');
  if (!existsSync(join(mediaHome, '.seeded'))) {
    console.log('seeding rich values: a sweep of 3 runs with images, 10 runs with text samples (Python client) …');
    mkdirSync(mediaHome, { recursive: true });
    for (const args of [['sweep'], ['text', '10']]) {
      const r = spawnSync('python3', [join(WEB, 'tests', 'seed_media.py'), mediaHome, ...args], { stdio: 'inherit', env: { ...process.env, RUNLOG_URL: '-' } });
      if (r.status !== 0) throw new Error(`seed_media.py ${args.join(' ')} failed`);
    }
    writeFileSync(join(mediaHome, '.seeded'), '');
  }
  for (const home of [bigHome, groupsHome, megaHome]) {
    const t = Date.now();
    runlog(home, ['index'], { timeout: 600_000 }); // here rather than when `runlog ui` starts
    console.log(`runlog index ${home}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }

  const b = await browser({ width: 1440, height: 900 });
  const rows = [];
  try {
    // Runs table: 1,000 runs.
    let srv = await serve(runsHome);
    try {
      await waitFor(async () => (await (await fetch(`${srv.url}/api/v1/health`)).json()).runs >= 1000, 60_000, 'the server to index 1,000 runs');
      const cold = await load(b, `${srv.url}/`, 'runlog:interactive');
      await cold.page.close();
      const inter = [], sort = [], scroll = [];
      for (let i = 0; i < REPEAT; i++) {
        const { page, t } = await load(b, `${srv.url}/`, 'runlog:interactive');
        inter.push(t);
        if (await page.locator('table.runs tbody tr[data-id]').count() < 20) throw new Error('the runs table shows too few rows');
        // Sort by a config column: the click, the server's answer, the rows drawn again.
        sort.push(await page.evaluate(async () => {
          const th = [...document.querySelectorAll('table.runs thead th')].find((e) => e.textContent.includes('Val loss'));
          const first = document.querySelector('table.runs tbody tr[data-id]').dataset.id;
          const t0 = performance.now();
          th.click();
          for (;;) {
            await new Promise((r) => requestAnimationFrame(r));
            const now = document.querySelector('table.runs tbody tr[data-id]');
            if (now && now.dataset.id !== first) return performance.now() - t0;
            if (performance.now() - t0 > 10_000) return NaN;
          }
        }));
        // Scroll to the last run: its page fetched and drawn.
        scroll.push(await page.evaluate(async () => {
          const sc = document.querySelector('.runs-scroll');
          const t0 = performance.now();
          sc.scrollTop = sc.scrollHeight;
          for (;;) {
            await new Promise((r) => requestAnimationFrame(r));
            const spacers = document.querySelectorAll('table.runs tbody tr.spacer');
            const bottom = spacers[spacers.length - 1];
            if (bottom && bottom.style.height === '0px' && !document.querySelector('table.runs tr.loading-row') && sc.scrollTop > 0) return performance.now() - t0;
            if (performance.now() - t0 > 10_000) return NaN;
          }
        }));
        await page.close();
      }
      rows.push(['runs table, 1,000 runs: navigation → interactive', inter, cold.t, '≤ 1000 ms']);
      rows.push(['… sort by val loss: click → rows drawn', sort, null, '']);
      rows.push(['… scroll to the last run: rows fetched and drawn', scroll, null, '']);

      // Hyperparameters: the same 1,000 runs, every project.
      const hpURL = `${srv.url}/hparams?project=`;
      const hcold = await load(b, hpURL, 'runlog:hparams-drawn');
      const hpCount = await hcold.page.locator('.hp-count').textContent();
      const hpAxes = await hcold.page.locator('.hp-axis').count();
      await hcold.page.close();
      const hpNav = [], pc = [], sc = [], brush = [];
      let brushMax = 0, moves = 0, selectedText = '';
      for (let i = 0; i < REPEAT; i++) {
        const { page, t } = await load(b, hpURL, 'runlog:hparams-drawn');
        hpNav.push(t);
        const m = await page.evaluate(() => ({
          pc: performance.getEntriesByName('runlog:hparams-parcoords')[0].duration,
          sc: performance.getEntriesByName('runlog:hparams-scatter')[0].duration,
        }));
        pc.push(m.pc);
        sc.push(m.sc);
        // Brush the first axis: a drag of 20 moves; each move's selection, charts and links updated.
        const box = await page.locator('.pc-canvas').boundingBox();
        await page.mouse.move(box.x + 70, box.y + 100);
        await page.mouse.down();
        for (let s = 0; s < 20; s++) await page.mouse.move(box.x + 70, box.y + 100 + s * 10);
        await page.mouse.up();
        const d = await page.evaluate(() => performance.getEntriesByName('runlog:hparams-brushed').map((e) => e.duration));
        if (d.length < 5) throw new Error(`brushing: ${d.length} moves measured`);
        brush.push(median(d));
        brushMax = Math.max(brushMax, ...d);
        moves += d.length;
        selectedText = await page.locator('.hp-count').textContent();
        await page.close();
      }
      rows.push([`hparams, 1,000 runs (${hpAxes} axes): navigation → both charts drawn`, hpNav, hcold.t, '']);
      rows.push(['… parallel coordinates drawn', pc, null, '≤ 300 ms']);
      rows.push(['… scatter drawn', sc, null, '≤ 300 ms']);
      rows.push(['… brushing an axis: selection, charts and links updated (median move)', brush, null, '≤ 50 ms']);
      console.log(`(hparams: ${hpCount}; brushing ${moves} moves, ${brushMax.toFixed(1)} ms at most; ${selectedText})`);
    } finally {
      await srv.stop();
    }

    // Compare view: 20 runs × 100,000 points.
    srv = await serve(longHome);
    try {
      await waitFor(async () => (await (await fetch(`${srv.url}/api/v1/health`)).json()).runs >= 20, 60_000, 'the server to index 20 runs');
      const list = await (await fetch(`${srv.url}/api/v1/runs?limit=20&sort=name&order=asc`)).json();
      const ids = list.runs.map((r) => r.id);
      const url = `${srv.url}/compare?runs=${ids.join(',')}`;
      const cold = await load(b, url, 'runlog:compare-drawn');
      const pts = await cold.page.evaluate(() => [...document.querySelectorAll('.chart-info')].map((e) => e.textContent));
      await cold.page.close();
      const drawn = [], zoom = [], smooth = [];
      for (let i = 0; i < REPEAT; i++) {
        const { page, t } = await load(b, url, 'runlog:compare-drawn');
        drawn.push(t);
        // Zoom to a tenth of the steps: refetched for the range, drawn again.
        const box = await page.locator('[data-chart=loss] .u-over').boundingBox();
        const before = await page.evaluate(() => performance.getEntriesByName('runlog:charts-drawn').length);
        const t0 = await page.evaluate(() => performance.now());
        await page.mouse.move(box.x + box.width * 0.45, box.y + 50);
        await page.mouse.down();
        await page.mouse.move(box.x + box.width * 0.55, box.y + 80, { steps: 4 });
        await page.mouse.up();
        await waitFor(() => page.evaluate((n) => performance.getEntriesByName('runlog:charts-drawn').length > n, before), 10_000, 'the zoomed charts');
        zoom.push(await page.evaluate((t) => performance.getEntriesByName('runlog:charts-drawn').at(-1).startTime - t, t0));
        // Smoothing: the EMA of every curve computed again and drawn.
        smooth.push(await page.evaluate(async () => {
          const el = document.querySelector('.smooth input');
          const t1 = performance.now();
          el.value = '0.95';
          el.dispatchEvent(new Event('input', { bubbles: true }));
          await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          return performance.now() - t1;
        }));
        await page.close();
      }
      rows.push([`compare, 20 runs × 100k points: navigation → last chart drawn`, drawn, cold.t, '≤ 1000 ms']);
      rows.push(['… drag-zoom to a tenth: refetched and drawn', zoom, null, '']);
      rows.push(['… smoothing slider moved: 20 EMAs, drawn', smooth, null, '']);
      console.log(`(compare charts: ${pts.join('; ')})`);
    } finally {
      await srv.stop();
    }

    // Runs table: 10,000 runs in one project.
    srv = await serve(bigHome);
    try {
      await health(srv, 10_000, 300_000, 'the server to index 10,000 runs');
      const url = `${srv.url}/?project=big`;
      const cold = await load(b, url, 'runlog:interactive');
      await cold.page.close();
      const inter = [];
      for (let i = 0; i < REPEAT; i++) {
        const { page, t } = await load(b, url, 'runlog:interactive');
        inter.push(t);
        if (await page.locator('table.runs tbody tr[data-id]').count() < 20) throw new Error('the runs table shows too few rows');
        await page.close();
      }
      rows.push(['runs table, 10,000 runs in one project: navigation → interactive', inter, cold.t, '≤ 400 ms']);
    } finally {
      await srv.stop();
    }

    // Compare grouped: 100 runs in 10 lr groups × 100,000 points, bands.
    srv = await serve(groupsHome);
    try {
      await health(srv, 100, 120_000, 'the server to index 100 runs');
      const list = await (await fetch(`${srv.url}/api/v1/runs?limit=100&sort=name&order=asc`)).json();
      const url = `${srv.url}/compare?runs=${list.runs.map((r) => r.id).join(',')}&group=config.lr`;
      const cold = await load(b, url, 'runlog:compare-drawn');
      const info = await cold.page.evaluate(() => ({
        legend: document.querySelectorAll('.group-legend > *, .bands-legend > *').length,
        charts: [...document.querySelectorAll('[data-chart]')].map((e) => e.dataset.chart),
      }));
      await cold.page.close();
      const drawn = [];
      for (let i = 0; i < REPEAT; i++) {
        const { page, t } = await load(b, url, 'runlog:compare-drawn');
        drawn.push(t);
        await page.close();
      }
      rows.push(['compare, 100 runs in 10 groups × 100k points: navigation → bands drawn', drawn, cold.t, '≤ 1000 ms']);
      console.log(`(grouped compare: charts ${info.charts.join(', ')}; ${info.legend} legend entries)`);
    } finally {
      await srv.stop();
    }

    // The series endpoint: 1 M points → 2,000, the first request on a fresh server, then later ones.
    const first = [], later = [];
    for (let i = 0; i < REPEAT; i++) {
      srv = await serve(megaHome);
      try {
        await health(srv, 1, 60_000, 'the server to index the 1 M-point run');
        const u = `${srv.url}/api/v1/runs/mega0001/series?keys=train_loss&points=2000`;
        const get = async () => {
          const t0 = performance.now();
          const r = await fetch(u);
          const j = await r.json();
          const dt = performance.now() - t0;
          if (!r.ok || j.series[0].total !== 1_000_000) throw new Error(`series: ${r.status} ${JSON.stringify(j).slice(0, 200)}`);
          return dt;
        };
        first.push(await get());
        const l = [];
        for (let k = 0; k < 9; k++) l.push(await get());
        later.push(median(l));
      } finally {
        await srv.stop();
      }
    }
    rows.push(['series endpoint, 1 M points → 2,000: first request (fresh server), HTTP', first, null, '≤ 10 ms']);
    rows.push(['… later requests (median of 9 each)', later, null, '≤ 2 ms']);

    // Issue 15's rich values, logged by the Python client: 10 runs' text
    // samples side by side, and a step of 64 images.
    srv = await serve(mediaHome);
    try {
      await health(srv, 13, 60_000, 'the server to index the media runs');
      const list = await (await fetch(`${srv.url}/api/v1/runs?limit=100&sort=name&order=asc`)).json();
      const textIDs = list.runs.filter((r) => r.project === 'text').map((r) => r.id);
      const imageRun = list.runs.find((r) => r.name === 'lr1e-3').id;
      const textURL = `${srv.url}/compare?runs=${textIDs.join(',')}&keys=val_loss`;
      const cold = await load(b, textURL, 'runlog:text-drawn');
      const cards = await cold.page.locator('.text-card pre').count();
      if (cards !== 10) throw new Error(`the text panel shows ${cards} samples`);
      await cold.page.close();
      const nav = [], step = [];
      for (let i = 0; i < REPEAT; i++) {
        const { page, t } = await load(b, textURL, 'runlog:text-drawn');
        nav.push(t);
        // ← on the slider: the previous step of any run found, 10 samples fetched and drawn.
        step.push(await markAfter(page, 'runlog:text-drawn', () => { const t = performance.now(); document.querySelector('.text-compare .step-range').dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true })); return t; }));
        if (!(await page.locator('.text-at').first().textContent()).startsWith('step 900')) throw new Error('the slider did not move to step 900');
        await page.close();
      }
      rows.push(['text panel, 10 runs at one step: navigation → samples drawn', nav, cold.t, '≤ 300 ms']);
      rows.push(['… ← on the step slider: the step before found, 10 samples drawn', step, null, '≤ 300 ms']);

      const gridURL = `${srv.url}/runs/${imageRun}?mstep=samples:1000`;
      const gcold = await load(b, gridURL, 'runlog:images-drawn');
      await gcold.page.close();
      const gnav = [], gstep = [];
      for (let i = 0; i < REPEAT; i++) {
        const { page, t } = await load(b, gridURL, 'runlog:images-drawn');
        gnav.push(t);
        if (await page.locator('.media-image .media-images img').count() !== 64) throw new Error('the grid does not show 64 images');
        await page.close();
        // From step 800 (4 images), End: the 64 images of step 1000 fetched, decoded and shown.
        const p2 = await load(b, `${srv.url}/runs/${imageRun}?mstep=samples:800`, 'runlog:images-drawn');
        gstep.push(await markAfter(p2.page, 'runlog:images-drawn', () => { const t = performance.now(); document.querySelector('.media-image .step-range').dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true })); return t; }));
        if (await p2.page.locator('.media-image .media-images img').count() !== 64) throw new Error('End did not show the 64 images');
        await p2.page.close();
      }
      rows.push(['image grid, 64 images (32×32 PNG): navigation → images in view loaded', gnav, gcold.t, '≤ 300 ms']);
      rows.push(['… End on the step slider (4 → 64 images): fetched and shown', gstep, null, '≤ 300 ms']);
    } finally {
      await srv.stop();
    }
  } finally {
    await b.close();
  }

  const version = execFileSync(process.env.CHROMIUM || '/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  console.log(`\n${version}, headless; ${(await import('node:os')).cpus().length} cores; cache off; medians of ${REPEAT} (the first load, with a cold server, apart)\n`);
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`| ${'what'.padEnd(w)} | median | runs | first load | goal |`);
  console.log(`|${'-'.repeat(w + 2)}|---|---|---|---|`);
  for (const [what, xs, first, goal] of rows) {
    console.log(`| ${what.padEnd(w)} | **${ms(median(xs))}** | ${xs.map((x) => Math.round(x)).join(' / ')} | ${first === null ? '' : ms(first)} | ${goal} |`);
  }
  writeFileSync(join(results(), 'perf.json'), JSON.stringify(rows, null, 1));
  if (!keep) cleanup();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
