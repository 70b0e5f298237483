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
// a range of lr) and ui-scatter.png (val loss against the learning rate).

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
async function shot(page, locator, path) {
  const r = await locator.boundingBox();
  const m = 10;
  await page.screenshot({ path, clip: { x: Math.max(0, r.x - m), y: Math.max(0, r.y - m), width: r.width + 2 * m, height: r.height + 2 * m } });
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
  await page.goto(`${srv.url}/hparams?project=${encodeURIComponent(project)}&axes=config.lr,config.seed,metric.train_loss,metric.val_loss&x=config.lr&y=metric.val_loss&logx=1&brush=config.lr:${lo.toPrecision(3)}:${hi.toPrecision(3)}`);
  await mark(page, 'runlog:hparams-drawn');
  await sleep(300);
  await page.mouse.move(0, 0);
  console.log(`brushed: ${await page.locator('.hp-count').textContent()}`);
  await shot(page, page.locator('.hp-pc-block'), join(out, 'ui-hparams.png'));

  // The scatter of the final val loss against the learning rate, no brush.
  await page.goto(`${srv.url}/hparams?project=${encodeURIComponent(project)}&x=config.lr&y=metric.val_loss&logx=1`);
  await mark(page, 'runlog:hparams-drawn');
  await sleep(300);
  await page.mouse.move(0, 0);
  await shot(page, page.locator('.hp-sc-block'), join(out, 'ui-scatter.png'));
  if (b.errors.length) throw new Error(b.errors.join('\n'));
  console.log(`wrote ${out}/ui-compare-groups.png, ui-hparams.png, ui-scatter.png`);
} finally {
  await b.close();
  await srv.stop();
}
