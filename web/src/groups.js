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
  if (/(^|[_/])(lr|learning_rate)($|[_/])/i.test(k)) return 2;
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
