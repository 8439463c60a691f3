// Registered models: search by name, create.

import { mlflow } from '../api.js';
import { h, replace, fmtTime, errorBox, markRendered, href } from '../dom.js';

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const q = ctx.query.get('q') || '';
  const search = h('input', { type: 'search', placeholder: 'Search models by name', value: q, 'aria-label': 'search models' });
  const name = h('input', { placeholder: 'New model name', 'aria-label': 'new model name', required: true });
  const err = h('div');
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  replace(root, h('div', { class: 'page' }, h('h1', null, 'Registered models'),
    h('div', { class: 'row-between' },
      h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); ctx.go('/models', { q: search.value }); } }, search, h('button', { type: 'submit' }, 'Search')),
      h('form', { class: 'toolbar', onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await mlflow.post('/registered-models/create', { name: name.value.trim() });
          ctx.go(`/models/${encodeURIComponent(r.registered_model.name)}`);
        } catch (e2) { replace(err, errorBox(e2)); }
      } }, name, h('button', { type: 'submit', class: 'primary' }, 'Create model'), err)),
    list));

  const filter = q ? `name ILIKE '%${q.replace(/'/g, "\\'")}%'` : undefined;
  let models = [];
  try {
    let token;
    do {
      const r = await mlflow.get('/registered-models/search', { filter, max_results: 1000, page_token: token, order_by: 'name ASC' }, ctx.signal);
      models = models.concat(r.registered_models || []);
      token = r.next_page_token;
    } while (token && models.length < 10000);
  } catch (e) { replace(list, errorBox(e)); return; }

  replace(list, models.length ? h('table', { class: 'grid' },
    h('thead', null, h('tr', null, ['Name', 'Latest versions', 'Aliases', 'Tags', 'Last updated'].map((c) => h('th', null, c)))),
    h('tbody', null, models.map((m) => h('tr', { dataset: { model: m.name } },
      h('td', null, h('a', { href: href(`/models/${encodeURIComponent(m.name)}`) }, m.name)),
      h('td', null, (m.latest_versions || []).map((v) => h('span', { class: 'chip' }, `v${v.version} ${v.current_stage !== 'None' ? v.current_stage : ''}`))),
      h('td', null, (m.aliases || []).map((a) => h('span', { class: 'chip alias' }, `@${a.alias} → v${a.version}`))),
      h('td', null, (m.tags || []).map((t) => h('span', { class: 'chip' }, `${t.key}=${t.value}`))),
      h('td', null, fmtTime(m.last_updated_timestamp))))))
    : h('p', { class: 'muted' }, q ? 'No model matches.' : 'No registered models yet. Register one from a run\'s logged models.'));
  markRendered('models');
}
