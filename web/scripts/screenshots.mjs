// The README's screenshots of the grouped compare view and the hyperparameter
// view, taken of a real sweep of the tiny LM (examples/tinylm/sweep.yaml:
// 3 learning rates × 2 seeds) with Debian's Chromium and playwright-core.
//
//   cd web && npm ci && npm run build && cd ..
//   CGO_ENABLED=0 go build -o bin/runlog ./cmd/runlog
//   RUNLOG_HOME=/tmp/shots bin/runlog sweep examples/tinylm/sweep.yaml --parallel 2   # ≈ 1 min
//   cd web && RUNLOG_BIN=../bin/runlog node scripts/screenshots.mjs /tmp/shots [OUT]
//
// It serves the home on a free port and writes, into OUT (default
// ../docs/images): ui-compare-groups.png (the compare view grouped by lr,
// mean and band per group), ui-hparams.png (parallel coordinates, brushed on
// a range of lr) and ui-scatter.png (val loss against the learning rate);
// and, when the runs logged rich values (issue 15), ui-text.png (their
// generated samples side by side at one step, each beside its val loss)
// and ui-histograms.png (a run's histograms over the steps).

import { join } from 'node:path';
import { serve, browser, waitFor, REPO, sleep } from '../tests/harness.mjs';

const home = process.argv[2];
const out = process.argv[3] || join(REPO, 'docs', 'images');
if (!home) {
  console.error('usage: node scripts/screenshots.mjs HOME [OUT]  (RUNLOG_BIN: the runlog binary)');
  process.exit(2);
}
const project = process.env.PROJECT || 'tinylm';

/** shot(locator, path): the element with a margin of the page around it. */
const shot = (page, locator, path) => shotSpan(page, locator, locator, path);

/** shotSpan(first, last, path): from the top of one element to the bottom of another, with a margin. */
async function shotSpan(page, first, last, path) {
  const y = await page.evaluate(() => scrollY);
  const r0 = await first.boundingBox(), r1 = await last.boundingBox();
  const m = 10;
  // fullPage, in page coordinates: what is taller than the window is taken whole.
  await page.screenshot({ path, fullPage: true, clip: { x: Math.max(0, r0.x - m), y: Math.max(0, r0.y + y - m), width: r0.width + 2 * m, height: r1.y + r1.height - r0.y + 2 * m } });
}

const mark = (page, name) => waitFor(() => page.evaluate((n) => performance.getEntriesByName(n).length > 0, name), 30_000, name);

const srv = await serve(home);
const b = await browser({ width: 1280, height: 820, scale: 2 });
try {
  const { page } = b;
  await page.emulateMedia({ colorScheme: 'light' });
  const list = await (await fetch(`${srv.url}/api/v1/runs?limit=1000&project=${encodeURIComponent(project)}&sort=name&order=asc`)).json();
  const runs = list.runs.filter((r) => r.status === 'finished');
  if (runs.length < 2) throw new Error(`${home}: fewer than 2 finished runs in project ${project}`);
  const lrs = [...new Set(runs.map((r) => r.config?.lr).filter((x) => typeof x === 'number'))].sort((a, b) => a - b);
  console.log(`${runs.length} runs, lr ${lrs.join(', ')}`);

  // The compare view grouped by lr: a mean line and a band per group.
  await page.goto(`${srv.url}/compare?runs=${runs.map((r) => r.id).join(',')}&group=config.lr&keys=train_loss,val_loss`);
  await mark(page, 'runlog:compare-drawn');
  await sleep(500);
  await page.mouse.move(0, 0);
  await shot(page, page.locator('.chart-groups'), join(out, 'ui-compare-groups.png'));

  // Parallel coordinates, brushed on the range around the middle learning rate.
  const lo = lrs.length > 2 ? Math.sqrt(lrs[0] * lrs[1]) : lrs[0] * 0.9;
  const hi = lrs.length > 2 ? Math.sqrt(lrs[1] * lrs[2]) : lrs.at(-1) * 1.1;
  await page.goto(`${srv.url}/hparams?project=${encodeURIComponent(project)}&axes=config.lr,config.seed,best.train_loss,best.val_loss&x=config.lr&y=best.val_loss&logx=1&brush=config.lr:${lo.toPrecision(3)}:${hi.toPrecision(3)}`);
  await mark(page, 'runlog:hparams-drawn');
  await sleep(300);
  await page.mouse.move(0, 0);
  console.log(`brushed: ${await page.locator('.hp-count').textContent()}`);
  await shot(page, page.locator('.hp-pc-block'), join(out, 'ui-hparams.png'));

  // The scatter of the best val loss against the learning rate, no brush.
  await page.goto(`${srv.url}/hparams?project=${encodeURIComponent(project)}&x=config.lr&y=best.val_loss&logx=1`);
  await mark(page, 'runlog:hparams-drawn');
  await sleep(300);
  await page.mouse.move(0, 0);
  await shot(page, page.locator('.hp-sc-block'), join(out, 'ui-scatter.png'));
  const wrote = ['ui-compare-groups.png', 'ui-hparams.png', 'ui-scatter.png'];

  // Text samples side by side: one run per lr (the first seed), at the
  // evaluation step in the middle of the text's steps.
  const media = (await (await fetch(`${srv.url}/api/v1/runs/${runs[0].id}/media`)).json()).keys || [];
  const text = media.find((k) => k.kind === 'text');
  if (text) {
    const byLR = [...new Map(runs.map((r) => [r.config?.lr, r])).values()].slice(0, 4);
    const steps = [];
    for (let from = text.first_step, i = 0; i < 50; i++) {
      const a = await (await fetch(`${srv.url}/api/v1/runs/${runs[0].id}/media/entries?key=${encodeURIComponent(text.key)}&from=${from}&limit=1`)).json();
      if (!a.entries.length) break;
      steps.push(a.entries[0].step);
      if (a.next_from === undefined) break;
      from = a.next_from;
    }
    const at = steps[Math.floor((steps.length - 1) / 2)] ?? text.last_step;
    await page.goto(`${srv.url}/compare?runs=${byLR.map((r) => r.id).join(',')}&keys=val_loss&text=${encodeURIComponent(text.key)}&text_step=${at}`);
    await mark(page, 'runlog:text-drawn');
    await sleep(300);
    await page.mouse.move(0, 0);
    await shot(page, page.locator('.text-compare'), join(out, 'ui-text.png'));
    wrote.push('ui-text.png');
  } else {
    console.log(`no text samples in ${runs[0].name}: ui-text.png left as it is`);
  }
  // Histograms over the steps: the first run's, hovered at three quarters.
  if (media.some((k) => k.kind === 'histogram')) {
    await page.goto(`${srv.url}/runs/${runs[0].id}`);
    await mark(page, 'runlog:histograms-drawn');
    await sleep(300);
    const hists = page.locator('.media-histogram');
    await hists.first().scrollIntoViewIfNeeded();
    const box = await hists.first().locator('canvas').boundingBox();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.45);
    await shotSpan(page, hists.first(), hists.nth(Math.min(await hists.count(), 3) - 1), join(out, 'ui-histograms.png'));
    wrote.push('ui-histograms.png');
  } else {
    console.log(`no histograms in ${runs[0].name}: ui-histograms.png left as it is`);
  }
  if (b.errors.length) throw new Error(b.errors.join('\n'));
  console.log(`wrote ${wrote.map((f) => join(out, f)).join(', ')}`);
} finally {
  await b.close();
  await srv.stop();
}
