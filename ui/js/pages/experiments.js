// Experiments: search by name, create, rename, delete and restore.

import { mlflow } from '../api.js';
import { h, replace, fmtTime, errorBox, toast, markRendered, href } from '../dom.js';
import { permissionsOf, allows, deny } from '../session.js';

const esc = (s) => s.replace(/'/g, "\\'");

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const q = ctx.query.get('q') || '';
  const view = ctx.query.get('view') || 'active';
  const search = h('input', { type: 'search', placeholder: 'Search experiments by name', value: q, 'aria-label': 'search experiments', name: 'q' });
  const viewSel = h('select', { 'aria-label': 'view', onchange: () => ctx.go('/experiments', { q: search.value, view: viewSel.value === 'active' ? '' : viewSel.value }) },
    ...['active', 'deleted', 'all'].map((v) => h('option', { value: v, selected: v === view }, v)));
  const searchForm = h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); ctx.go('/experiments', { q: search.value, view: view === 'active' ? '' : view }); } },
    search, viewSel, h('button', { type: 'submit' }, 'Search'));
  const name = h('input', { placeholder: 'New experiment name', 'aria-label': 'new experiment name', required: true });
  const createErr = h('div');
  const createForm = h('form', { class: 'toolbar', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const r = await mlflow.post('/experiments/create', { name: name.value.trim() });
      toast(`Created experiment ${name.value}`);
      ctx.go(`/experiments/${r.experiment_id}`);
    } catch (err) { replace(createErr, errorBox(err)); }
  } }, name, h('button', { type: 'submit', class: 'primary' }, 'Create experiment'), createErr);

  const list = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  replace(root, h('div', { class: 'page' }, h('h1', null, 'Experiments'), h('div', { class: 'row-between' }, searchForm, createForm), list));

  const viewType = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' }[view] || 'ACTIVE_ONLY';
  const filter = q ? `name ILIKE '%${esc(q)}%'` : undefined;
  let exps = [];
  try {
    let token;
    do {
      const r = await mlflow.post('/experiments/search', { max_results: 1000, filter, view_type: viewType, order_by: ['last_update_time DESC'], page_token: token }, ctx.signal);
      exps = exps.concat(r.experiments || []);
      token = r.next_page_token;
    } while (token && exps.length < 10000);
  } catch (err) {
    replace(list, errorBox(err));
    return;
  }
  // What the user may do on each (auth on): buttons that would be refused are disabled.
  let perms = { experiments: {} };
  try { perms = await permissionsOf({ experiments: exps.map((e) => e.experiment_id) }, ctx.signal); } catch { /* the server still decides */ }
  const may = (e, need) => allows(perms.experiments[e.experiment_id], need);
  const guard = (el, e, need) => (may(e, need) ? el : deny(el, need, 'experiment'));

  const rows = exps.map((e) => {
    const nameCell = h('td', null, h('a', { href: href(`/experiments/${e.experiment_id}`) }, e.name));
    const deleted = e.lifecycle_stage === 'deleted';
    const rename = () => {
      const input = h('input', { value: e.name, 'aria-label': 'new name' });
      const save = async (ev) => {
        ev.preventDefault();
        try {
          await mlflow.post('/experiments/update', { experiment_id: e.experiment_id, new_name: input.value.trim() });
          toast('Renamed');
          render(root, ctx);
        } catch (err) { nameCell.appendChild(errorBox(err)); }
      };
      replace(nameCell, h('form', { class: 'inline', onsubmit: save }, input, h('button', { type: 'submit' }, 'Save'), h('button', { type: 'button', onclick: () => render(root, ctx) }, 'Cancel')));
      input.focus();
    };
    const del = async () => {
      if (!confirm(`Delete experiment "${e.name}"? Its runs are deleted with it (restorable).`)) return;
      try { await mlflow.post('/experiments/delete', { experiment_id: e.experiment_id }); toast('Deleted'); render(root, ctx); } catch (err) { toast(err.message, 'error'); }
    };
    const restore = async () => {
      try { await mlflow.post('/experiments/restore', { experiment_id: e.experiment_id }); toast('Restored'); render(root, ctx); } catch (err) { toast(err.message, 'error'); }
    };
    const tags = (e.tags || []).filter((t) => !t.key.startsWith('mlflow.'));
    return h('tr', { dataset: { id: e.experiment_id } },
      nameCell,
      h('td', { class: 'mono' }, e.experiment_id),
      h('td', null, fmtTime(e.creation_time)),
      h('td', null, fmtTime(e.last_update_time)),
      h('td', null, tags.map((t) => h('span', { class: 'chip' }, `${t.key}=${t.value}`))),
      h('td', { class: 'actions' },
        deleted ? guard(h('button', { onclick: restore }, 'Restore'), e, 'MANAGE')
          : [guard(h('button', { onclick: rename }, 'Rename'), e, 'EDIT'), guard(h('button', { class: 'danger', onclick: del }, 'Delete'), e, 'MANAGE')]));
  });
  replace(list, exps.length
    ? h('table', { class: 'grid' }, h('thead', null, h('tr', null, ...['Name', 'ID', 'Created', 'Last updated', 'Tags', ''].map((c) => h('th', null, c)))), h('tbody', null, rows))
    : h('p', { class: 'muted' }, q ? 'No experiment matches.' : 'No experiments.'));
  markRendered('experiments');
}
