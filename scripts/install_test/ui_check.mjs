// The browser half of scripts/install_test: `runlog ui` of an installed
// wheel's runlog command (RUNLOG_BIN) on a home, in headless Chromium: the
// runs table shows the run and the header the version.
//
//   RUNLOG_BIN=<venv>/bin/runlog node scripts/install_test/ui_check.mjs HOME RUN_NAME VERSION
//
// Exits non-zero, saying what it saw, when either is missing; saves a
// screenshot to web/test-results/install-ui.png.

import { join } from 'node:path';
import { serve, browser, results, waitFor, cleanup } from '../../web/tests/harness.mjs';

const [home, name, version] = process.argv.slice(2);
if (!home || !name || !version) {
  console.error('usage: RUNLOG_BIN=... node scripts/install_test/ui_check.mjs HOME RUN_NAME VERSION');
  process.exit(2);
}
const server = await serve(home);
const b = await browser();
try {
  const { page, errors } = b;
  await page.goto(server.url);
  const row = page.locator('table.runs tbody tr[data-id]', { has: page.locator('a.run-link', { hasText: name }) });
  await waitFor(async () => (await row.count()) === 1, 15_000, `the run ${name} in the runs table`);
  await waitFor(async () => (await page.locator('.version').textContent()) === `v${version}`, 5_000,
    `the header's version v${version} (it says ${JSON.stringify(await page.locator('.version').textContent())})`);
  await page.screenshot({ path: join(results(), 'install-ui.png') });
  if (errors.length) throw new Error(`the page reported errors:\n${errors.join('\n')}`);
  console.log(`ok: ${server.url} shows ${name}, v${version}`);
} catch (e) {
  console.error(`${e.message}\npage text: ${(await b.page.locator('body').innerText().catch(() => '')).slice(0, 500)}\nserver: ${server.log()}`);
  process.exitCode = 1;
} finally {
  await b.close();
  await server.stop();
  cleanup();
}
