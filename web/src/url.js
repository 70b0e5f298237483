// The URL holds the state of every view — which runs, which keys, the
// x-axis, smoothing, zoom, filter, sort — so that a view can be shared by
// copying the address. Views read it with params() and write it with
// setParams(), which replaces the history entry; moving between views
// pushes one.

const listeners = new Set();

/** route(): {view, id} of the current address. */
export function route() {
  const path = location.pathname;
  let m;
  if ((m = path.match(/^\/runs\/([^/]+)\/?$/))) return { view: 'run', id: decodeURIComponent(m[1]) };
  if (/^\/compare\/?$/.test(path)) return { view: 'compare' };
  if (/^\/hparams\/?$/.test(path)) return { view: 'hparams' };
  if (/^\/admin\/?$/.test(path)) return { view: 'admin' };
  return { view: 'runs' };
}

/** params(): the query of the current address. */
export function params() {
  return new URLSearchParams(location.search);
}

/** list(name): a comma-separated parameter as an array. */
export function list(name) {
  const v = params().get(name);
  return v ? v.split(',').filter(Boolean) : [];
}

/** setParams({a: 1, b: null}): change parameters in place (null removes), without a history entry. */
export function setParams(changes) {
  const sp = params();
  for (let [k, v] of Object.entries(changes)) {
    const repeat = k.endsWith('[]'); // 'target[]': one parameter per value
    if (repeat) k = k.slice(0, -2);
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) sp.delete(k);
    else if (repeat) {
      sp.delete(k);
      [].concat(v).forEach((x) => sp.append(k, x));
    } else sp.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const qs = sp.toString().replace(/%2C/g, ',');
  history.replaceState(history.state, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
}

/** href(path, query): an address of the UI. */
export function href(path, q) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(q || {})) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) continue;
    sp.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const qs = sp.toString().replace(/%2C/g, ',');
  return `${path}${qs ? `?${qs}` : ''}`;
}

/** navigate(url): go to another view (a new history entry). */
export function navigate(url) {
  history.pushState(null, '', url);
  listeners.forEach((fn) => fn());
}

/** rerender(): build the current view again from the address. */
export function rerender() {
  listeners.forEach((fn) => fn());
}

/** onNavigate(fn): fn() after navigate() and on back/forward. */
export function onNavigate(fn) {
  listeners.add(fn);
}

addEventListener('popstate', () => listeners.forEach((fn) => fn()));

/** link(e): a click handler for <a> of the UI: same-tab clicks route in place. */
export function followLink(e) {
  const a = e.currentTarget;
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
}
