// Colours of curves: the palette of runlog's chart files (internal/chart,
// docs/charts.md) — Okabe and Ito's colour-blind-safe colours, the most
// distinct on white first, then Paul Tol's muted ones; past sixteen runs
// the colours repeat, dotted.

export const PALETTE = [
  '#0072B2', // blue
  '#D55E00', // vermillion
  '#009E73', // bluish green
  '#CC79A7', // reddish purple
  '#E69F00', // orange
  '#56B4E9', // sky blue
  '#000000', // black
  '#C9B800', // yellow, darkened to be seen on white
  '#332288', // indigo
  '#882255', // wine
  '#44AA99', // teal
  '#999933', // olive
  '#CC6677', // rose
  '#117733', // green
  '#AA4499', // purple
  '#88CCEE', // cyan
];

/** color(i): the colour of the i-th run (or key). */
export const color = (i) => PALETTE[i % PALETTE.length];

/** runDash(i): the dash pattern of the i-th run: solid for the first round of the palette, then dotted. */
export const runDash = (i) => (Math.floor(i / PALETTE.length) % 2 === 1 ? [2, 3] : null);

/** keyDash(k): the dash pattern of the k-th key of a chart of several runs: train solid, validation dashed. */
export function keyDash(k) {
  switch (k % 4) {
    case 1: return [7, 4];
    case 2: return [11, 4];
    case 3: return [8, 3, 2, 3];
    default: return null;
  }
}

/** fade('#0072B2', 0.25): the colour with that opacity. */
export function fade(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

/** isValidation(key): validation metrics, drawn dashed with markers and never smoothed. */
export const isValidation = (key) => /^(val|valid|validation|eval|test)([_/.-]|$)/i.test(key) || /(^|[_/])val([_/]|$)/i.test(key);
