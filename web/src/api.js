// The JSON API (docs/api/openapi.yaml) and its live events.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const authListeners = new Set();

/** onAuthRequired(fn): fn() when the server answers 401 (it needs a token). */
export function onAuthRequired(fn) {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

/** query({a: 1, b: [2, 3], c: null}) → 'a=1&b=2&b=3': arrays repeat, empty values are left out. */
export function query(params) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => sp.append(k, String(x)));
    else sp.set(k, String(v));
  }
  return sp.toString();
}

/** get('/runs', {limit: 10}, signal): the parsed answer of GET /api/v1/runs?limit=10. */
export async function get(path, params, signal) {
  return (await request(path, params, signal, 'application/json')).json();
}

/** getText(path, params, signal): the body of an API answer as text (a run folder's file: an HTML value's source). */
export async function getText(path, params, signal) {
  return (await request(path, params, signal, '*/*')).text();
}

/**
 * post('/runs/x/annotate', body, signal): the parsed answer of POST
 * /api/v1<path> with body as JSON. The X-Runlog-Client header marks it as
 * the UI's own request, which the server's cross-site checks ask of a
 * browser's writes.
 */
export async function post(path, body, signal) {
  const init = { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Runlog-Client': 'runlog-web' }, body: JSON.stringify(body || {}) };
  return (await request(path, null, signal, 'application/json', init)).json();
}

/** request(path, params, signal, accept, init): the answer of a request to the API; refusals as ApiError, a 401 told to onAuthRequired's listeners. */
async function request(path, params, signal, accept, init = {}) {
  const qs = query(params);
  const url = `/api/v1${path}${qs ? `?${qs}` : ''}`;
  let res;
  try {
    res = await fetch(url, { ...init, headers: { ...init.headers, Accept: accept }, credentials: 'same-origin', signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'cannot reach the runlog server: is `runlog ui` still running?');
  }
  if (res.status === 401) {
    authListeners.forEach((fn) => fn());
  }
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && typeof body.error === 'string') msg = body.error;
    } catch { /* not JSON */ }
    throw new ApiError(res.status, msg);
  }
  return res;
}

/** runPath(id): the API path of a run, its id escaped. */
export const runPath = (id) => `/runs/${encodeURIComponent(id)}`;

/** fileURL(run, path, download): where a file of the run folder is served. */
export function fileURL(run, path, dl = false) {
  const p = path.split('/').map(encodeURIComponent).join('/');
  return `/api/v1/runs/${encodeURIComponent(run)}/files/${p}${dl ? '?download=1' : ''}`;
}

// Live updates: one EventSource for the whole page; views subscribe to the
// ids of changed runs.

const changeListeners = new Set();
const stateListeners = new Set();
let source = null;
let live = 'connecting';
let lost = false; // the stream was lost since it last opened

/**
 * onRunsChanged(fn): fn(ids) when runs got new data, appeared or went;
 * ids is ['*'] after the stream was lost and came back (anything may have
 * changed meanwhile). Returns an unsubscribe function.
 */
export function onRunsChanged(fn) {
  changeListeners.add(fn);
  return () => changeListeners.delete(fn);
}

/**
 * onRunsChangedBatched(fn, ms): like onRunsChanged, but fn(ids) at most once
 * every ms with every id that changed since the last call. Returns an
 * unsubscribe function.
 */
export function onRunsChangedBatched(fn, ms = 1000) {
  const pending = new Set();
  let timer = null, last = 0;
  const flush = () => {
    timer = null;
    last = performance.now();
    const ids = [...pending];
    pending.clear();
    fn(ids);
  };
  const off = onRunsChanged((ids) => {
    ids.forEach((id) => pending.add(id));
    if (!timer) timer = setTimeout(flush, Math.max(0, last + ms - performance.now()));
  });
  return () => {
    off();
    clearTimeout(timer);
  };
}

/** onLiveState(fn): fn('live' | 'connecting' | 'offline') as the event stream comes and goes. */
export function onLiveState(fn) {
  stateListeners.add(fn);
  fn(live);
  return () => stateListeners.delete(fn);
}

function setLive(s) {
  if (s === live) return;
  live = s;
  stateListeners.forEach((fn) => fn(s));
}

/** connectEvents(): open /api/v1/events (EventSource reconnects by itself, every 2 s as the server says). */
export function connectEvents() {
  if (source) return;
  source = new EventSource('/api/v1/events');
  source.onopen = () => {
    if (lost) changeListeners.forEach((fn) => fn(['*']));
    lost = false;
    setLive('live');
  };
  source.onerror = () => {
    lost = true;
    setLive(source.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
    if (source.readyState === EventSource.CLOSED) {
      // A 401 (or another refusal) closes the stream for good: ask the API why, then try again later.
      get('/health').catch(() => {});
      source = null;
      setTimeout(connectEvents, 5000);
    }
  };
  source.addEventListener('runs', (ev) => {
    let ids = [];
    try {
      ids = JSON.parse(ev.data).changed || [];
    } catch { return; }
    if (ids.length) changeListeners.forEach((fn) => fn(ids));
  });
}
