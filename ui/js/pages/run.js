// A run: overview, every metric as a chart (step or time x axis, log scale, smoothing), params,
// tags, datasets, logged models (with "register"), and the artifact browser.

import { mlflow } from '../api.js';
import { h, replace, fmtTime, fmtDuration, errorBox, toast, markRendered, href, runColor } from '../dom.js';
import { metricGrid } from '../metric-grid.js';
import { artifactBrowser } from '../artifacts.js';
import { liveUpdates, isLive } from '../live.js';
import { registrationsOf } from './logged-model.js';

export function kvTable(rows, empty, cls = '') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('table', { class: `grid kv ${cls}` }, h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))));
}

export function chartState(q) {
  return { x: q.get('x') || 'step', log: q.get('log') === '1', smooth: Number(q.get('smooth')) || 0 };
}

export function chartQuery(s) {
  return { x: s.x === 'step' ? '' : s.x, log: s.log ? '1' : '', smooth: s.smooth ? String(s.smooth) : '' };
}

/** Registers a logged model (or a run artifact path) as a new version of a registered model. */
export async function registerModel(name, { source, runId, modelId }) {
  try {
    await mlflow.get('/registered-models/get', { name });
  } catch (err) {
    if (err.code !== 'RESOURCE_DOES_NOT_EXIST') throw err;
    await mlflow.post('/registered-models/create', { name });
  }
  const r = await mlflow.post('/model-versions/create', { name, source, run_id: runId, model_id: modelId });
  return r.model_version;
}

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const runId = ctx.params[0];
  const page = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'Loading run…'));
  replace(root, page);
  const { run } = await mlflow.get('/runs/get', { run_id: runId }, ctx.signal);
  const info = run.info;
  const data = run.data || {};
  const expP = mlflow.get('/experiments/get', { experiment_id: info.experiment_id }, ctx.signal).catch(() => null);
  document.title = `${info.run_name || runId} · run`;

  const tags = (data.tags || []).slice().sort((a, b) => a.key.localeCompare(b.key));
  const tag = (k) => tags.find((t) => t.key === k)?.value;
  const params = (data.params || []).slice().sort((a, b) => a.key.localeCompare(b.key));
  const metrics = (data.metrics || []).slice().sort((a, b) => a.key.localeCompare(b.key));

  const crumbExp = h('a', { href: href(`/experiments/${info.experiment_id}`) }, `experiment ${info.experiment_id}`);
  expP.then((e) => { if (e) crumbExp.textContent = e.experiment.name; });

  const statusEls = [h('span', { class: `status st-${info.status}`, id: 'run-status' }, info.status), h('span', { class: `status st-${info.status}` }, info.status)];
  const durationOf = (i) => (i.end_time ? fmtDuration(Number(i.end_time) - Number(i.start_time)) : isLive(i.status) ? `running for ${fmtDuration(Date.now() - Number(i.start_time))}` : '');
  const durationEl = h('span', null, durationOf(info));
  const parentId = tag('mlflow.parentRunId');
  const parentLink = parentId ? h('a', { href: href(`/runs/${parentId}`), id: 'parent-run' }, parentId.slice(0, 8)) : null;
  if (parentId) mlflow.get('/runs/get', { run_id: parentId }, ctx.signal).then((r) => { parentLink.textContent = r.run.info.run_name || parentId; }).catch(() => {});
  const overview = kvTable([
    ['Run ID', h('code', null, info.run_id)],
    ['Status', statusEls[1]],
    parentLink ? ['Parent run', parentLink] : null,
    ['Started', fmtTime(info.start_time)],
    ['Duration', durationEl],
    ['User', info.user_id || ''],
    ['Source', tag('mlflow.source.name') || ''],
    ['Lifecycle', info.lifecycle_stage],
    ['Artifact URI', h('code', null, info.artifact_uri || '')],
    tag('mlflow.note.content') ? ['Description', tag('mlflow.note.content')] : null,
  ].filter(Boolean), '');

  // metrics
  const grid = metricGrid({
    runs: [{ id: runId, name: info.run_name || runId, color: runColor(runId) }],
    keys: metrics.map((m) => m.key),
    state: chartState(ctx.query),
    signal: ctx.signal,
    onState: (s) => ctx.setQuery(chartQuery(s)),
    onDone: () => markRendered('run-charts'),
    onFirst: () => markRendered('run-first-chart'),
  });

  // datasets
  const datasets = (run.inputs?.dataset_inputs || []).map((d) => {
    const ds = d.dataset || {};
    const context = (d.tags || []).find((t) => t.key === 'mlflow.data.context')?.value;
    let schema = '';
    try { schema = ds.schema ? JSON.stringify(JSON.parse(ds.schema), null, 2) : ''; } catch { schema = ds.schema; }
    return h('div', { class: 'card dataset' },
      h('b', null, ds.name), ' ', h('span', { class: 'chip' }, ds.digest), context ? h('span', { class: 'chip' }, context) : null, ' ', h('span', { class: 'muted' }, ds.source_type),
      h('details', null, h('summary', null, 'source, schema, profile'), h('pre', { class: 'code' }, `source: ${ds.source}\n\nschema: ${schema}\n\nprofile: ${ds.profile || ''}`)));
  });

  // logged models
  const modelIds = [...new Set([...(run.outputs?.model_outputs || []), ...(run.inputs?.model_inputs || [])].map((m) => m.model_id))];
  const modelsBox = h('div', null, modelIds.length ? h('p', { class: 'muted' }, 'Loading…') : h('p', { class: 'muted' }, 'No logged models.'));
  if (modelIds.length) {
    Promise.all(modelIds.map((id) => mlflow.get(`/logged-models/${encodeURIComponent(id)}`, undefined, ctx.signal).then((r) => r.model).catch((err) => ({ err, id })))).then((models) => {
      replace(modelsBox, models.map((m) => {
        if (m.err) return errorBox(m.err);
        const mi = m.info;
        const regs = [...registrationsOf((mi.tags || []).find((t) => t.key === 'mlflow.modelVersions')?.value), ...(mi.registrations || [])]
          .filter((r, i, all) => all.findIndex((o) => o.name === r.name && String(o.version) === String(r.version)) === i)
          .map((r) => h('a', { class: 'chip', href: href(`/models/${encodeURIComponent(r.name)}/versions/${encodeURIComponent(r.version)}`) }, `${r.name} v${r.version}`));
        const nameIn = h('input', { placeholder: 'registered model name', 'aria-label': 'registered model name', value: mi.name, required: true });
        const out = h('span');
        const form = h('form', { class: 'inline', onsubmit: async (e) => {
          e.preventDefault();
          try {
            const v = await registerModel(nameIn.value.trim(), { source: `models:/${mi.model_id}`, runId, modelId: mi.model_id });
            toast(`Registered ${v.name} version ${v.version}`);
            replace(out, h('a', { class: 'chip', href: href(`/models/${encodeURIComponent(v.name)}`) }, `${v.name} v${v.version}`));
          } catch (err) { replace(out, errorBox(err)); }
        } }, nameIn, h('button', { type: 'submit', class: 'primary' }, 'Register model'), out);
        return h('div', { class: 'card', dataset: { model: mi.model_id } },
          h('a', { class: 'lm-link', href: href(`/experiments/${encodeURIComponent(mi.experiment_id)}/models/${encodeURIComponent(mi.model_id)}`) }, h('b', null, mi.name)), ' ', h('code', { class: 'small' }, mi.model_id), ' ', h('span', { class: 'chip' }, (mi.status || '').replace('LOGGED_MODEL_', '')), mi.model_type ? h('span', { class: 'chip' }, mi.model_type) : null,
          regs.length ? h('div', null, 'Registered as ', regs) : null, form);
      }));
    });
  }

  // child runs (nested runs: their mlflow.parentRunId tag names this run)
  const childrenBox = h('section', { id: 'child-runs', hidden: true });
  const childFilter = `tags.\`mlflow.parentRunId\` = '${runId}'`;
  // re-read by the live loop while this run runs: new children appear, their statuses change
  const loadChildren = async () => {
    const r = await mlflow.post('/runs/search', { experiment_ids: [info.experiment_id], filter: childFilter, order_by: ['attributes.start_time ASC'], max_results: 1000 }, ctx.signal);
    const kids = r.runs || [];
    if (!kids.length) return;
    replace(childrenBox, h('h2', null, `Child runs (${kids.length}${r.next_page_token ? '+' : ''})`),
      h('div', { class: 'child-list' }, kids.map((k) => h('a', { class: 'chip', href: href(`/runs/${k.info.run_id}`), dataset: { run: k.info.run_id } }, k.info.run_name || k.info.run_id.slice(0, 8), ' ', h('span', { class: `status st-${k.info.status}` }, k.info.status)))),
      h('p', null, h('a', { href: href(`/experiments/${info.experiment_id}`, { filter: childFilter }) }, 'show them in the runs table')));
    childrenBox.hidden = false;
  };
  loadChildren().catch(() => {});

  const paramsBox = h('div', null, kvTable(params.map((p) => [p.key, p.value]), 'No parameters.', 'params'));
  const paramsTitle = h('h2', null, `Parameters (${params.length})`);
  const metricsTitle = h('h2', null, `Metrics (${metrics.length})`);

  // live: a running run's status, params and metric histories refresh by themselves (tail only)
  let liveBox = null;
  if (isLive(info.status)) {
    const live = liveUpdates({ signal: ctx.signal, what: 'this run', tick: async () => {
      const { run: fresh } = await mlflow.get('/runs/get', { run_id: runId }, ctx.signal);
      const fi = fresh.info;
      for (const el of statusEls) { el.className = `status st-${fi.status}`; el.textContent = fi.status; }
      durationEl.textContent = durationOf(fi);
      const ps = (fresh.data?.params || []).slice().sort((a, b) => a.key.localeCompare(b.key));
      if (ps.length !== params.length) {
        replace(paramsBox, kvTable(ps.map((p) => [p.key, p.value]), 'No parameters.', 'params'));
        paramsTitle.textContent = `Parameters (${ps.length})`;
      }
      const keys = (fresh.data?.metrics || []).map((m) => m.key).sort();
      metricsTitle.textContent = `Metrics (${keys.length})`;
      await Promise.all([grid.refresh([runId], keys), loadChildren()]);
      markRendered('run-live');
      return isLive(fi.status);
    } });
    liveBox = live.el;
  }

  const artifacts = artifactBrowser(run, ctx.query.get('art') || '', (p) => ctx.setQuery({ art: p }));

  replace(page,
    h('div', { class: 'crumbs' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / ', crumbExp, ' / '),
    h('h1', null, info.run_name || runId, ' ', statusEls[0], ' ', liveBox),
    h('div', { class: 'two-col' },
      h('section', null, h('h2', null, 'Overview'), overview, childrenBox),
      h('section', null, paramsTitle, paramsBox)),
    h('section', null, metricsTitle, grid.el),
    h('div', { class: 'two-col' },
      h('section', null, h('h2', null, `Tags (${tags.length})`), kvTable(tags.filter((t) => !t.key.startsWith('mlflow.log-model')).map((t) => [t.key, t.value]), 'No tags.', 'tags')),
      h('section', null, h('h2', null, 'Datasets'), datasets.length ? datasets : h('p', { class: 'muted' }, 'No datasets.'), h('h2', null, 'Logged models'), modelsBox)),
    h('section', null, h('h2', null, 'Artifacts'), artifacts));
  markRendered('run');
  return () => grid.destroy();
}
