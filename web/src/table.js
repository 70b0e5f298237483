// The runs table's pure parts, tested in tests/table.test.mjs: which
// config keys are its default columns, and what a shift-click selects.

import { getPath } from './format.js';

/** isSweepKey(k): runlog's own `sweep` key ({name, member}), never a column by default: it says which run, not how. */
const isSweepKey = (k) => k === 'sweep' || k.startsWith('sweep.');

const distinct = (rows, k) => {
  const seen = new Set();
  for (const r of rows) {
    const v = getPath(r.config, k);
    if (v !== undefined) seen.add(JSON.stringify(v));
  }
  return seen.size;
};

/**
 * defaultColumns(rows, keys, n): the config keys worth a column among these
 * runs, as 'config.<key>', at most n. Only keys whose values differ count.
 * First the keys a sweep varies — within the runs of one group whose config
 * has runlog's `sweep` key — then the others; each by how many distinct
 * values it takes (most first), then by name.
 */
export function defaultColumns(rows, keys, n = 3) {
  const sweeps = new Map(); // group → its member runs
  for (const r of rows) {
    const s = getPath(r.config, 'sweep');
    if (s === undefined) continue;
    const g = r.group || (s && typeof s === 'object' ? String(s.name ?? '') : String(s));
    if (!sweeps.has(g)) sweeps.set(g, []);
    sweeps.get(g).push(r);
  }
  const ranked = [];
  for (const k of keys) {
    if (isSweepKey(k)) continue;
    const all = distinct(rows, k);
    if (all < 2) continue;
    let swept = 0;
    for (const members of sweeps.values()) swept = Math.max(swept, distinct(members, k));
    ranked.push({ k, swept: swept > 1 ? swept : 0, all });
  }
  ranked.sort((a, b) => (b.swept > 0) - (a.swept > 0) || b.swept - a.swept || b.all - a.all || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return ranked.slice(0, n).map((x) => `config.${x.k}`);
}

/**
 * rangeSelect(selected, ids, from, to, on): the selection after a
 * shift-click: every id of ids[from..to] (either order, both ends in) added
 * when on, else taken out; the rest of the selection keeps its order.
 */
export function rangeSelect(selected, ids, from, to, on) {
  const [a, b] = from <= to ? [from, to] : [to, from];
  const range = ids.slice(Math.max(0, a), b + 1).filter(Boolean);
  if (!on) {
    const drop = new Set(range);
    return selected.filter((id) => !drop.has(id));
  }
  const have = new Set(selected);
  return [...selected, ...range.filter((id) => !have.has(id))];
}

/** addAll(selected, ids): the selection with ids added (those not in it yet, in order). */
export function addAll(selected, ids) {
  return rangeSelect(selected, ids, 0, ids.length - 1, true);
}
