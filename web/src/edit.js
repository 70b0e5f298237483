// Changing a run from its page: rename in place, tags, hypothesis and
// notes, archive, and "Move to trash" with an undo. Every change is a POST
// to the API (docs/api/openapi.yaml), which appends it to the run folder
// and answers the run as the store then holds it. Errors are shown beside
// the control that caused them; everything is text, made with h().

import { h, replace } from './dom.js';
import { navigate } from './url.js';
import { post, runPath } from './api.js';
import { canChange } from './login.js';
import './edit.css';

const errorEl = () => h('span', { class: 'edit-error', role: 'alert' });
const showError = (el, e) => replace(el, e ? (e.message || String(e)) : '');

/**
 * RunEditor: the editing controls of one run page. mount(head, run) puts
 * them into the page's header after each render; editors that are open
 * keep what was typed across renders (a live run re-renders every second).
 * onChange(run) receives the run detail the server answered.
 */
export class RunEditor {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.run = null;
    this.open = new Map(); // what → its editor element
    this.tagDraft = ''; // the tag being typed, kept across renders
    this.tagFocus = false;
  }

  mount(head, run) {
    this.run = run;
    if (!canChange(run)) return; // a viewer: no controls it may not use
    const title = head.querySelector('.run-name');
    if (this.open.has('name')) {
      title?.replaceWith(this.open.get('name'));
    } else if (title) {
      title.after(h('button', { class: ['btn', 'btn-small', 'edit-rename'], type: 'button', title: 'rename the run', onclick: () => this.openName(head) }, 'Rename'));
    }
    const bar = h('div', { class: 'run-edit' },
      this.tagsEditor(run),
      h('button', { class: ['btn', 'btn-small', 'edit-hypothesis'], type: 'button', onclick: () => this.openText(head, 'hypothesis') }, run.hypothesis ? 'Edit hypothesis' : 'Add hypothesis'),
      h('button', { class: ['btn', 'btn-small', 'edit-notes'], type: 'button', onclick: () => this.openText(head, 'notes') }, run.notes ? 'Edit notes' : 'Add notes'),
      this.archiveButton(run),
      this.trashButton(run));
    head.appendChild(bar);
    for (const what of ['hypothesis', 'notes']) {
      if (this.open.has(what)) this.placeText(head, what);
    }
  }

  async save(body, errEl) {
    showError(errEl, null);
    try {
      const d = await post(`${runPath(this.run.id)}/annotate`, body);
      this.run = d;
      return d;
    } catch (e) {
      showError(errEl, e);
      return null;
    }
  }

  done(what, d) {
    this.open.delete(what);
    this.onChange(d);
  }

  openName(head) {
    const input = h('input', { class: 'edit-name-input', type: 'text', value: this.run.name || '', 'aria-label': 'run name', maxlength: 256 });
    const err = errorEl();
    const submit = async (e) => {
      e.preventDefault();
      const d = await this.save({ name: input.value }, err);
      if (d) this.done('name', d);
    };
    const form = h('form', { class: 'edit-name', onsubmit: submit },
      input,
      h('button', { class: ['btn', 'btn-small', 'primary'], type: 'submit' }, 'Save'),
      h('button', { class: ['btn', 'btn-small'], type: 'button', onclick: () => { this.open.delete('name'); this.onChange(this.run); } }, 'Cancel'),
      err);
    input.addEventListener('keydown', (e) => { if (e.key === 'Escape') { this.open.delete('name'); this.onChange(this.run); } });
    this.open.set('name', form);
    head.querySelector('.run-name')?.replaceWith(form);
    head.querySelector('.edit-rename')?.remove();
    input.focus();
    input.select();
  }

  tagsEditor(run) {
    const err = errorEl();
    const input = h('input', { class: 'edit-tag-input', type: 'text', placeholder: 'add a tag', 'aria-label': 'add a tag', size: 12 });
    // The page renders again on every change of a live run: what was typed
    // (and the focus) moves to the new field.
    input.value = this.tagDraft || '';
    input.addEventListener('input', () => { this.tagDraft = input.value; });
    input.addEventListener('focus', () => { this.tagFocus = true; });
    input.addEventListener('blur', () => { this.tagFocus = false; });
    if (this.tagFocus) queueMicrotask(() => { if (input.isConnected) input.focus(); });
    const change = async (body) => {
      const d = await this.save(body, err);
      if (d) {
        if (body.add_tags) this.tagDraft = '';
        this.onChange(d);
      }
    };
    const chips = (run.tags || []).map((t) => h('span', { class: ['tag', 'edit-tag'], dataset: { tag: t } }, t,
      h('button', { class: 'edit-tag-remove', type: 'button', title: `remove the tag ${t}`, 'aria-label': `remove the tag ${t}`, onclick: () => change({ remove_tags: [t] }) }, '×')));
    const form = h('form', {
      class: 'edit-tag-add',
      onsubmit: (e) => {
        e.preventDefault();
        const t = input.value.trim();
        if (t) change({ add_tags: [t] });
      },
    }, input, h('button', { class: ['btn', 'btn-small'], type: 'submit' }, 'Add'));
    return h('div', { class: 'edit-tags' }, h('span', { class: 'muted' }, 'Tags'), chips, form, err);
  }

  openText(head, what) {
    const value = this.run[what] || '';
    const area = h('textarea', { class: `edit-${what}-input`, rows: what === 'notes' ? 6 : 2, 'aria-label': what });
    area.value = value;
    const err = errorEl();
    const form = h('form', {
      class: ['edit-text', `edit-${what}-form`],
      onsubmit: async (e) => {
        e.preventDefault();
        const d = await this.save({ [what]: area.value }, err);
        if (d) this.done(what, d);
      },
    }, h('span', { class: 'note-label' }, what === 'notes' ? 'Notes' : 'Hypothesis'), area,
    h('div', { class: 'edit-actions' },
      h('button', { class: ['btn', 'btn-small', 'primary'], type: 'submit' }, 'Save'),
      h('button', { class: ['btn', 'btn-small'], type: 'button', onclick: () => { this.open.delete(what); this.onChange(this.run); } }, 'Cancel'),
      err));
    this.open.set(what, form);
    this.placeText(head, what);
    area.focus();
  }

  // placeText puts the open editor of the notes or the hypothesis where
  // the page shows them, or at the end of the header.
  placeText(head, what) {
    const form = this.open.get(what);
    const shown = head.querySelector(`.note.${what}`);
    if (shown) shown.replaceWith(form);
    else head.appendChild(form);
  }

  archiveButton(run) {
    const err = errorEl();
    const archived = !!run.archived;
    return h('span', { class: 'edit-archive-wrap' },
      archived ? h('span', { class: ['badge', 'edit-archived'] }, 'archived') : null,
      h('button', {
        class: ['btn', 'btn-small', 'edit-archive'], type: 'button',
        title: archived ? 'show the run in the list of runs again' : 'hide the run from the list of runs, keeping it',
        onclick: async () => {
          const d = await this.save({ archived: !archived }, err);
          if (d) this.onChange(d);
        },
      }, archived ? 'Unarchive' : 'Archive'), err);
  }

  trashButton(run) {
    const err = errorEl();
    return h('span', { class: 'edit-trash-wrap' },
      h('button', {
        class: ['btn', 'btn-small', 'danger', 'edit-trash'], type: 'button', title: 'move the run folder to the trash of the home; undo brings it back',
        onclick: async () => {
          showError(err, null);
          try {
            await post(`${runPath(run.id)}/trash`, {});
          } catch (e) {
            showError(err, e);
            return;
          }
          undoToast(run);
          navigate('/');
        },
      }, 'Move to trash'), err);
  }
}

let toastEl = null;

/** undoToast(run): says that run went to the trash, with a button that brings it back. */
function undoToast(run) {
  toastEl?.remove();
  const err = errorEl();
  const el = h('div', { class: 'toast edit-toast', role: 'status' },
    h('span', null, 'Moved “', run.name || run.id, '” to the trash.'),
    h('button', {
      class: ['btn', 'btn-small', 'edit-undo'], type: 'button',
      onclick: async () => {
        showError(err, null);
        try {
          await post(`/trash/${encodeURIComponent(run.id)}/restore`, {});
        } catch (e) {
          showError(err, e);
          return;
        }
        el.remove();
        navigate(`/runs/${encodeURIComponent(run.id)}`);
      },
    }, 'Undo'),
    h('button', { class: ['btn', 'btn-small', 'edit-toast-close'], type: 'button', 'aria-label': 'close', onclick: () => el.remove() }, '×'),
    err);
  toastEl = el;
  document.body.appendChild(el);
  setTimeout(() => { if (el.isConnected && !el.querySelector('.edit-error').textContent) el.remove(); }, 30_000);
}
