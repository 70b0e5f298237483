// Which charts a run's series make, and in what order: the train and
// validation losses together on one chart (train solid, validation dashed
// with markers), then every other series on its own chart, grouped by the
// prefix of its key (`val/…`, `train/…`), system metrics (`sys/…`) apart
// and last.

import { isValidation } from './palette.js';

export const TRAIN_LOSS = ['train_loss', 'train/loss', 'loss', 'training_loss', 'train/loss_step'];
export const VAL_LOSS = ['val_loss', 'val/loss', 'eval/loss', 'eval_loss', 'validation_loss', 'valid_loss', 'validation/loss', 'valid/loss', 'test_loss'];

const rank = (k) => {
  if (/loss/i.test(k)) return 0;
  if (/perplex|ppl|acc|error|score|bleu/i.test(k)) return 1;
  if (isLrKey(k)) return 2;
  return 3;
};

/**
 * chartGroups(keys): [{name, title, charts: [{id, title, keys: [k…]}]}]
 * A chart of two keys is the loss chart.
 */
export function chartGroups(keys) {
  const set = new Set(keys);
  const train = TRAIN_LOSS.find((k) => set.has(k));
  const val = VAL_LOSS.find((k) => set.has(k));
  const groups = new Map();
  const add = (name, chart) => {
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(chart);
  };
  if (train && val) add('', { id: 'loss', title: 'loss', keys: [train, val] });
  for (const k of keys) {
    if (train && val && (k === train || k === val)) continue;
    const i = k.indexOf('/');
    const g = i > 0 ? k.slice(0, i) : '';
    add(g, { id: k, title: k, keys: [k] });
  }
  const names = [...groups.keys()].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  return names.map((name) => ({
    name,
    title: name === '' ? 'Metrics' : name === 'sys' ? 'System' : name,
    charts: groups.get(name).sort((a, b) => (a.id === 'loss' ? -1 : b.id === 'loss' ? 1 : rank(a.id) - rank(b.id) || a.id.localeCompare(b.id))),
  }));
}

function order(g) {
  if (g === '') return 0;
  if (g === 'sys') return 3;
  if (isValidation(g)) return 2;
  return 1;
}

/**
 * isScheduleKey(key): whether a key is a schedule the trainer sets rather
 * than a measurement — learning rate, momentum, betas, weight decay,
 * warmup — which smoothing would only distort (an EMA moves a warmup's
 * peak), so it is never smoothed. Judged on the last part of the key
 * (`optim/lr`, `lr_head`, `head_lr`, `adam_beta2`), by whole words.
 */
export function isScheduleKey(key) {
  const name = String(key).split('/').pop().toLowerCase();
  const words = name.split(/[^a-z0-9]+/).filter(Boolean);
  if (!words.length) return false;
  if (/^learning[^a-z0-9]*rate/.test(name) || /(^|[^a-z0-9])(lr|learning_rate)s?([^a-z0-9]|$)/.test(name)) return true;
  const SCHEDULE = /^(lr\d*|momentum|beta\d*|betas|wd|weight_?decay|warmup|schedule|scheduler)$/;
  if (words.some((w) => SCHEDULE.test(w))) return true;
  return /weight_?decay/.test(name);
}

/** keyName(key): the last part of a series key or config path (`optim/lr`, `config.model.lr` → `lr`), in lower case. */
const keyName = (key) => String(key).split(/[./]/).pop().toLowerCase();

/**
 * isLrKey(key): whether a series key or config path names a learning rate:
 * `lr`, `learning_rate`, `optim/lr`, `config.lr`, `lr_head`, `head_lr`.
 */
export function isLrKey(key) {
  const k = keyName(key);
  return /^(lr\d*|learning_?rate)$/.test(k) || /^lr_|_lr$/.test(k);
}

/**
 * isRateKey(key): whether a key names a rate that sweeps vary by factors —
 * a learning rate, weight decay, eta, alpha, eps or any `…_rate` — whose
 * positive values are drawn on a log axis. The same rule as `runlog plot
 * --sweep`'s (isRate in internal/chart/sweep.go).
 */
export function isRateKey(key) {
  const k = keyName(key);
  return isLrKey(k) || /^(weight_?decay|wd|eta|alpha|eps|epsilon)$/.test(k) || /_rate$/.test(k);
}

/**
 * xSeriesCandidates(keys): the keys that look like they only grow, and so
 * could be an x-axis (tokens_seen, epoch, samples, examples) — not rates
 * such as tokens_per_sec. The server checks that they really never go down.
 */
export function xSeriesCandidates(keys) {
  return [...new Set(keys)].filter((k) => /tokens|epoch|samples|examples/i.test(k) && !/per_?s(ec)?\b|per_step|\/s$|rate|throughput|speed/i.test(k)).sort();
}
