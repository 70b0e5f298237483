// What the browser tests and the performance script share: the runlog
// binary (RUNLOG_BIN), a server of their own on a free port, seeded homes,
// and Debian's Chromium driven by playwright-core.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(WEB, '..');
export const RESULTS = join(WEB, 'test-results');

/** The flags the machine's Chromium needs headless as root, without network (see docs/server.md, web/README.md). */
export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** bin(): the runlog binary under test, built with the UI (RUNLOG_BIN). */
export function bin() {
  const b = process.env.RUNLOG_BIN;
  if (!b) throw new Error('set RUNLOG_BIN to a runlog binary built after `npm run build` (go build -o bin/runlog ./cmd/runlog)');
  if (!existsSync(b)) throw new Error(`RUNLOG_BIN=${b}: no such file`);
  return resolve(b);
}

/** scratch(name): a new temporary folder, removed with cleanup(). */
const scratches = [];
export function scratch(name) {
  const d = mkdtempSync(join(tmpdir(), `runlog-web-${name}-`));
  scratches.push(d);
  return d;
}
export function cleanup() {
  for (const d of scratches.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** freePort(): a port nothing listens on now. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** runlog(home, args, opts): run the binary to its end; throws with its output when it fails (unless opts.allowFail). */
export function runlog(home, args, opts = {}) {
  const r = spawnSync(bin(), args, { cwd: REPO, env: { ...process.env, RUNLOG_HOME: home, RUNLOG_URL: '-', NO_COLOR: '1' }, encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`runlog ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** runlogAsync(home, args): the same in the background; resolves with its exit code. */
export function runlogAsync(home, args, opts = {}) {
  const p = spawn(bin(), args, { cwd: REPO, env: { ...process.env, RUNLOG_HOME: home, RUNLOG_URL: '-', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const done = new Promise((ok, fail) => {
    p.on('error', fail);
    p.on('exit', (code) => (code === 0 || opts.allowFail ? ok(code) : fail(new Error(`runlog ${args.join(' ')}: exit ${code}\n${out}`))));
  });
  return { proc: p, done, output: () => out };
}

/** tinylm(): the example trainer, from TINYLM_BIN or built with go into a scratch folder. */
export function tinylm() {
  if (process.env.TINYLM_BIN) return resolve(process.env.TINYLM_BIN);
  const out = join(scratch('tinylm'), 'tinylm');
  const r = spawnSync('go', ['build', '-o', out, './examples/tinylm'], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`go build ./examples/tinylm: ${r.stderr}`);
  return out;
}

/** serve(home, {token, flags, env}): `runlog ui` on a free loopback port, with more flags (--accounts) and environment; {url, stop()}. */
export async function serve(home, { token, flags = [], env = {} } = {}) {
  const port = await freePort();
  const args = ['ui', '--addr', `127.0.0.1:${port}`, ...flags];
  if (token) args.push('--token', token);
  const p = spawn(bin(), args, { env: { ...process.env, RUNLOG_HOME: home, RUNLOG_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stdout.on('data', (d) => { log += d; });
  p.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  for (let i = 0; ; i++) {
    if (p.exitCode !== null) throw new Error(`runlog ui exited: ${log}`);
    try {
      const r = await fetch(`${url}/api/v1/health`, { headers });
      if (r.ok || (r.status === 401 && flags.includes('--accounts'))) break; // with accounts, nobody is signed in yet
    } catch { /* not yet */ }
    if (i > 200) throw new Error(`runlog ui did not answer on ${url}: ${log}`);
    await sleep(50);
  }
  return {
    url,
    log: () => log,
    async stop() {
      if (p.exitCode !== null) return;
      p.kill('SIGTERM');
      await Promise.race([new Promise((ok) => p.once('exit', ok)), sleep(6000)]);
      if (p.exitCode === null) p.kill('SIGKILL');
    },
  };
}

/** waitFor(fn): poll until fn() is truthy (or throw after ms). */
export async function waitFor(fn, ms = 15_000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** browser({width, height, scale, bypassCSP}): Chromium headless with a fresh profile; {context, page, close()}. bypassCSP turns the pages' CSP off (security tests: what stops a script besides it). */
export async function browser({ width = 1440, height = 900, scale = 1, bypassCSP = false } = {}) {
  const profile = scratch('chromium-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width, height },
    deviceScaleFactor: scale,
    acceptDownloads: true,
    bypassCSP,
  });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
  return { context, page, errors, close: () => context.close() };
}

/** results(): web/test-results/, made if missing (git-ignored). */
export function results() {
  mkdirSync(RESULTS, { recursive: true });
  return RESULTS;
}

/** python(home, script): run script with the Python client importable (clients/python) and RUNLOG_HOME=home; throws with its stderr when it fails. */
export function python(home, script) {
  const r = spawnSync('python3', ['-c', script], {
    cwd: REPO, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, RUNLOG_HOME: home, RUNLOG_URL: '-', PYTHONPATH: join(REPO, 'clients', 'python') },
  });
  if (r.status !== 0) throw new Error(`python client: exit ${r.status}\n${r.stderr}`);
  return r;
}
