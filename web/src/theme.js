// Light or dark: the reader's choice (system, light or dark, kept in
// localStorage) resolved against prefers-color-scheme into
// <html data-theme="light|dark">, which style.css keys its colour set on.
// Canvas drawing (uPlot) cannot use CSS variables, so it reads them with
// themeColors() and draws again on the `runlog-theme` event, dispatched on
// window whenever the resolved theme changes.

import { h } from './dom.js';

const KEY = 'runlog-theme';
const CHOICES = ['system', 'light', 'dark'];
const dark = matchMedia('(prefers-color-scheme: dark)');
const toggles = new Set();

/** choice(): what the reader picked: 'system', 'light' or 'dark'. */
export function choice() {
  let v = null;
  try { v = localStorage.getItem(KEY); } catch { /* storage off: follow the system */ }
  return CHOICES.includes(v) ? v : 'system';
}

/** theme(): the theme in force, 'light' or 'dark'. */
export function theme() {
  const c = choice();
  return c === 'system' ? (dark.matches ? 'dark' : 'light') : c;
}

/** setChoice(c): remember the reader's pick and apply it. */
export function setChoice(c) {
  try {
    if (c === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, c);
  } catch { /* storage off: this page only */ }
  apply();
}

/** cycle(): system → light → dark → system, the top bar's button. */
export function cycle() {
  setChoice(CHOICES[(CHOICES.indexOf(choice()) + 1) % CHOICES.length]);
}

/** flip(): the other of light and dark, as an explicit pick (the `t` key). */
export function flip() {
  setChoice(theme() === 'dark' ? 'light' : 'dark');
}

/** themeColors(): the colours charts draw with, from style.css's variables for the theme in force. */
export function themeColors() {
  const s = getComputedStyle(document.documentElement);
  const v = (name) => s.getPropertyValue(name).trim();
  return {
    axis: v('--chart-axis'),
    grid: v('--chart-grid'),
    ticks: v('--chart-ticks'),
    text: v('--text'),
    muted: v('--muted'),
    bg: v('--card'),
    accent: v('--accent'),
  };
}

/** axisStyle(c): uPlot's axis options in the theme's colours (themeColors()). */
export const axisStyle = (c) => ({ stroke: c.axis, font: '11px system-ui, sans-serif', grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.ticks, width: 1, size: 4 } });

/** themeToggle(): the top bar's button; its label says the current pick. */
export function themeToggle() {
  const b = h('button', { class: 'theme-toggle', type: 'button', onclick: cycle });
  toggles.add(b);
  label(b);
  return b;
}

function label(b) {
  const c = choice();
  b.textContent = `${c === 'dark' ? '☾' : c === 'light' ? '☀' : '◐'} ${c}`;
  b.title = `theme: ${c}${c === 'system' ? ` (${theme()} now)` : ''}; click for ${CHOICES[(CHOICES.indexOf(c) + 1) % CHOICES.length]} · t flips light and dark`;
  b.dataset.choice = c;
}

function apply() {
  const root = document.documentElement;
  const t = theme();
  const changed = root.dataset.theme !== t;
  root.dataset.theme = t;
  toggles.forEach(label);
  if (changed) dispatchEvent(new CustomEvent('runlog-theme', { detail: { theme: t } }));
}

dark.addEventListener('change', apply);
// Another tab changed the pick.
addEventListener('storage', (e) => { if (e.key === KEY || e.key === null) apply(); });
apply();
