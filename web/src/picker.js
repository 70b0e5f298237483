// A popover of checkboxes with a search box: the runs table's column
// picker and the compare view's metric picker.

import { h, replace } from './dom.js';

/**
 * openPicker(anchor, {title, groups: [{label, items: [{id, label}]}], selected: Set, onChange(ids)})
 * Returns {close}. Closes on Escape, on a click outside, or with its button.
 */
export function openPicker(anchor, { title, groups, selected, onChange, single }) {
  document.querySelector('.picker')?.remove();
  const chosen = [...selected];
  const search = h('input', { type: 'search', placeholder: 'search keys', 'aria-label': 'search keys', oninput: () => draw() });
  const body = h('div', { class: 'picker-body' });
  const el = h('div', { class: 'picker', role: 'dialog', 'aria-label': title },
    h('div', { class: 'picker-head' }, h('strong', null, title), h('span', { class: 'spacer' }),
      h('button', { class: 'btn-ghost', onclick: () => { chosen.length = 0; onChange([]); draw(); } }, 'None'),
      h('button', { class: 'btn-ghost', onclick: () => close() }, 'Done')),
    search, body);

  function draw() {
    const q = search.value.trim().toLowerCase();
    const on = new Set(chosen);
    replace(body, groups.map((g) => {
      const items = g.items.filter((it) => !q || it.label.toLowerCase().includes(q));
      if (!items.length) return null;
      return h('div', { class: 'picker-group' }, h('div', { class: 'picker-label' }, g.label),
        items.map((it) => h('label', { class: 'picker-item' },
          h('input', {
            type: 'checkbox', checked: on.has(it.id),
            onchange: (e) => {
              const i = chosen.indexOf(it.id);
              if (e.target.checked && i < 0) chosen.push(it.id);
              if (!e.target.checked && i >= 0) chosen.splice(i, 1);
              onChange([...chosen]);
              if (single) close();
            },
          }), h('span', null, it.label))));
    }).filter(Boolean));
    if (!body.childNodes.length) body.appendChild(h('p', { class: 'muted' }, 'No keys.'));
  }

  const r = anchor.getBoundingClientRect();
  el.style.top = `${r.bottom + window.scrollY + 6}px`;
  el.style.left = `${Math.max(8, Math.min(r.left + window.scrollX, document.documentElement.clientWidth - 340))}px`;
  document.body.appendChild(el);
  draw();
  search.focus();

  const outside = (e) => { if (!el.contains(e.target) && e.target !== anchor) close(); };
  const esc = (e) => { if (e.key === 'Escape') close(); };
  setTimeout(() => document.addEventListener('mousedown', outside), 0);
  document.addEventListener('keydown', esc);
  function close() {
    el.remove();
    document.removeEventListener('mousedown', outside);
    document.removeEventListener('keydown', esc);
  }
  return { close };
}
