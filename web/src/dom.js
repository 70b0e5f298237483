// The UI's only way of making DOM: h() builds elements from tags,
// properties and children, and puts every string in as a text node. Data
// from the API never passes through innerHTML or any other HTML parser, so
// a run named <img src=x onerror=alert(1)> is shown as those characters.

const BANNED = new Set(['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'srcdoc']);

/**
 * h('a', {href: '/runs/x', class: 'link', onclick: fn}, 'text', child, [more])
 * Properties: class (string or array of strings, falsy entries skipped),
 * style (object), dataset (object), on<event> (function), any other name
 * is set as an attribute (true: present, false/null/undefined: absent).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props)) {
    if (BANNED.has(k)) throw new Error(`h(): ${k} is not allowed`);
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') {
      const list = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      if (list) el.className = list;
    } else if (k === 'style') {
      for (const [sk, sv] of Object.entries(v)) {
        if (sk.startsWith('--')) el.style.setProperty(sk, sv);
        else el.style[sk] = sv;
      }
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected' || k === 'indeterminate') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

/** append(parent, children): strings and numbers as text, nodes as they are, arrays flattened. */
export function append(parent, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === true) continue;
    if (Array.isArray(c)) append(parent, c);
    else if (c instanceof Node) parent.appendChild(c);
    else parent.appendChild(document.createTextNode(String(c)));
  }
  return parent;
}

/** replace(parent, ...children): parent's children become these. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** text(el, s): set an element's text. */
export function text(el, s) {
  el.textContent = s === null || s === undefined ? '' : String(s);
  return el;
}

/** download(name, blob): save a blob under a file name. */
export function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, style: { display: 'none' } });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** debounce(fn, ms): fn called once, ms after the last call. */
export function debounce(fn, ms) {
  let t;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}
