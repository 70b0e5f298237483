// Browser tests of what the server sends back from run folders: an HTML or
// SVG file uploaded as an MLflow artifact, opened in Chromium, runs no
// script in the server's origin, whichever API serves it.
//
// Each hostile file's script, if it ran, would create an MLflow experiment
// named after the file through the server's own API (same origin, so no
// check would stop it); the test then asks whether that experiment exists.
// A control runs the same call from a page of the server, to prove the
// detection works.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scratch, cleanup, serve, browser, sleep } from './harness.mjs';

let srv;
let run;
let exp;

const mlflow = (path, body) =>
  fetch(`${srv.url}/api/2.0/mlflow/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

// payload(marker): script that creates the experiment `marker` if it runs.
const payload = (marker) =>
  `fetch('/api/2.0/mlflow/experiments/create',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({name:'${marker}'})});document.title='${marker}';`;

const files = {
  'evil.html': (m) => `<!doctype html><html><body><h1>report</h1><script>${payload(m)}</script><img src=x onerror="${payload(m + '-img')}"></body></html>`,
  'evil.svg': (m) => `<svg xmlns="http://www.w3.org/2000/svg" onload="${payload(m + '-onload')}"><script>${payload(m)}</script></svg>`,
  'evil.txt': (m) => `<html><script>${payload(m)}</script></html>`,
  'evil.xhtml': (m) => `<html xmlns="http://www.w3.org/1999/xhtml"><script>${payload(m)}</script></html>`,
};

const exists = async (name) => (await mlflow(`experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`)).status === 200;

before(async () => {
  srv = await serve(scratch('security-home'));
  const created = await (await mlflow('experiments/create', { name: 'security' })).json();
  exp = created.experiment_id;
  run = (await (await mlflow('runs/create', { experiment_id: exp, run_name: 'hostile' })).json()).run.info.run_id;
  for (const [name, body] of Object.entries(files)) {
    const r = await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/${run}/artifacts/${name}`, { method: 'PUT', body: body(`pwned-${name}`) });
    assert.equal(r.status, 200, `upload ${name}: ${await r.text()}`);
  }
});

after(async () => {
  await srv?.stop();
  cleanup();
});

test('control: a script on a page of the server can create an experiment', async () => {
  const b = await browser();
  try {
    await b.page.goto(`${srv.url}/api/v1/health`);
    await b.page.evaluate(payload('control'));
    await sleep(500);
    assert.ok(await exists('control'), 'the detection does not work: the control experiment was not created');
  } finally {
    await b.close();
  }
});

for (const api of ['mlflow', 'v1']) {
  test(`uploaded HTML and SVG artifacts opened from the ${api} API run no script`, async () => {
    const b = await browser();
    try {
      for (const name of Object.keys(files)) {
        const url = api === 'mlflow'
          ? `${srv.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/${run}/artifacts/${name}`
          : `${srv.url}/api/v1/runs/${run}/files/artifacts/${name}`;
        const res = await fetch(url);
        assert.equal(res.status, 200, `${url}: ${res.status}`);
        assert.match(res.headers.get('content-security-policy') || '', /^sandbox/, `${name}: CSP`);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${name}: nosniff`);
        if (name !== 'evil.txt') assert.match(res.headers.get('content-disposition') || '', /^attachment/, `${name}: Content-Disposition`);
        // Opened as a user would: a link followed in the browser. An
        // attachment turns into a download; plain text is shown as text.
        try {
          await b.page.goto(url, { waitUntil: 'load' });
        } catch (e) {
          assert.match(String(e), /Download is starting|net::ERR_ABORTED/, `${name}: ${e}`);
        }
        // The same file in an iframe of a page of the server.
        await b.page.goto(`${srv.url}/api/v1/health`);
        await b.page.evaluate((u) => new Promise((ok) => {
          const f = document.createElement('iframe');
          f.src = u;
          f.onload = ok;
          setTimeout(ok, 1500);
          document.body.appendChild(f);
        }), url);
        await sleep(500);
        const title = await b.page.title();
        assert.ok(!title.startsWith('pwned'), `${name}: the page title was set by the file's script (${title})`);
      }
      await sleep(500);
      for (const name of Object.keys(files)) {
        for (const suffix of ['', '-img', '-onload']) {
          assert.ok(!(await exists(`pwned-${name}${suffix}`)), `${name} (${api} API): its script ran in the server's origin`);
        }
      }
      assert.deepEqual(b.errors.filter((e) => e.startsWith('dialog')), []);
    } finally {
      await b.close();
    }
  });
}
