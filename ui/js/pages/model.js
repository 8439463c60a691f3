// A registered model: description, tags, aliases and versions with their actions (set alias,
// transition stage, tags, delete), and deleting the model.

import { mlflow } from '../api.js';
import { h, replace, fmtTime, errorBox, toast, markRendered, href } from '../dom.js';
import { permissionsOf, lockActions } from '../session.js';

export const STAGES = ['None', 'Staging', 'Production', 'Archived'];

export function tagEditor(tags, onSet, onDelete) {
  const k = h('input', { placeholder: 'key', 'aria-label': 'tag key', required: true, size: 10 });
  const v = h('input', { placeholder: 'value', 'aria-label': 'tag value', size: 10 });
  return h('span', { class: 'tags' },
    tags.map((t) => h('span', { class: 'chip' }, `${t.key}=${t.value}`, h('button', { class: 'x', title: `remove tag ${t.key}`, onclick: () => onDelete(t.key) }, '×'))),
    h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); onSet(k.value.trim(), v.value); } }, k, v, h('button', { type: 'submit' }, 'Add tag')));
}

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const name = ctx.params[0];
  const page = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(root, page);
  const status = h('div');
  const act = async (fn, msg) => {
    try { await fn(); if (msg) toast(msg); render(root, ctx); } catch (err) { replace(status, errorBox(err)); }
  };
  const [{ registered_model: m }, vres] = await Promise.all([
    mlflow.get('/registered-models/get', { name }, ctx.signal),
    mlflow.get('/model-versions/search', { filter: `name='${name.replace(/'/g, "\\'")}'`, max_results: 10000, order_by: 'version_number DESC' }, ctx.signal),
  ]);
  const versions = (vres.model_versions || []).sort((a, b) => Number(b.version) - Number(a.version));
  document.title = `${name} · model`;

  const aliasByVersion = new Map();
  for (const a of m.aliases || []) aliasByVersion.set(a.version, [...(aliasByVersion.get(a.version) || []), a.alias]);

  const desc = h('textarea', { rows: 2, 'aria-label': 'description', value: m.description || '' });
  const descForm = h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => mlflow.patch('/registered-models/update', { name, description: desc.value }), 'Saved'); } }, desc, h('button', { type: 'submit' }, 'Save description'));

  const rows = versions.map((v) => {
    const aliasIn = h('input', { placeholder: 'alias', 'aria-label': `alias for version ${v.version}`, size: 10, required: true });
    const stageSel = h('select', { 'aria-label': `stage of version ${v.version}`, onchange: () => act(() => mlflow.post('/model-versions/transition-stage', { name, version: v.version, stage: stageSel.value, archive_existing_versions: false }), `Version ${v.version} → ${stageSel.value}`) },
      STAGES.map((s) => h('option', { value: s, selected: s === v.current_stage }, s)));
    return h('tr', { dataset: { version: v.version } },
      h('td', null, h('a', { href: href(`/models/${encodeURIComponent(name)}/versions/${v.version}`) }, h('b', null, `v${v.version}`))),
      h('td', null, stageSel),
      h('td', null, (aliasByVersion.get(v.version) || v.aliases || []).map((a) => h('span', { class: 'chip alias' }, `@${a}`, h('button', { class: 'x', title: `remove alias ${a}`, onclick: () => act(() => mlflow.del('/registered-models/alias', { name, alias: a }), `Removed @${a}`) }, '×'))),
        h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => mlflow.post('/registered-models/alias', { name, alias: aliasIn.value.trim(), version: v.version }), `@${aliasIn.value.trim()} → v${v.version}`); } }, aliasIn, h('button', { type: 'submit' }, 'Set alias'))),
      h('td', null, v.run_id ? h('a', { href: href(`/runs/${v.run_id}`) }, v.run_id.slice(0, 8)) : h('code', { class: 'small' }, v.source),
        v.model_id ? [' ', h('a', { class: 'lm-link', href: href(`/logged-models/${encodeURIComponent(v.model_id)}`), title: `logged model ${v.model_id}` }, 'logged model')] : null),
      h('td', null, v.status),
      h('td', null, tagEditor(v.tags || [],
        (k, val) => act(() => mlflow.post('/model-versions/set-tag', { name, version: v.version, key: k, value: val })),
        (k) => act(() => mlflow.del('/model-versions/delete-tag', { name, version: v.version, key: k })))),
      h('td', null, fmtTime(v.creation_timestamp)),
      h('td', null, h('button', { class: 'danger', onclick: () => { if (confirm(`Delete version ${v.version} of ${name}?`)) act(() => mlflow.del('/model-versions/delete', { name, version: v.version }), `Deleted v${v.version}`); } }, 'Delete')));
  });

  const delModel = h('button', { class: 'danger', onclick: async () => {
    if (!confirm(`Delete registered model ${name} and all its versions?`)) return;
    try { await mlflow.del('/registered-models/delete', { name }); toast(`Deleted ${name}`); ctx.go('/models'); } catch (err) { replace(status, errorBox(err)); }
  } }, 'Delete model');

  replace(page,
    h('div', { class: 'crumbs' }, h('a', { href: '#/models' }, 'Models'), ' / '),
    h('div', { class: 'row-between' }, h('h1', null, name), delModel),
    status,
    h('section', null, h('h2', null, 'Description'), descForm),
    h('section', null, h('h2', null, 'Tags'), tagEditor(m.tags || [],
      (k, val) => act(() => mlflow.post('/registered-models/set-tag', { name, key: k, value: val })),
      (k) => act(() => mlflow.del('/registered-models/delete-tag', { name, key: k })))),
    h('section', null, h('h2', null, 'Aliases'), (m.aliases || []).length ? (m.aliases || []).map((a) => h('span', { class: 'chip alias' }, `@${a.alias} → v${a.version}`)) : h('span', { class: 'muted' }, 'None yet: set one on a version below.')),
    h('section', null, h('h2', null, `Versions (${versions.length})`),
      versions.length ? h('table', { class: 'grid versions' },
        h('thead', null, h('tr', null, ['Version', 'Stage', 'Aliases', 'Run', 'Status', 'Tags', 'Created', ''].map((c) => h('th', null, c)))),
        h('tbody', null, rows)) : h('p', { class: 'muted' }, 'No versions. Register one from a run\'s logged models.')));
  try {
    const p = await permissionsOf({ models: [name] }, ctx.signal);
    if (p.registered_models[name] !== undefined) lockActions(page, p.registered_models[name], 'registered model');
  } catch { /* the server still decides */ }
  markRendered('model');
}
