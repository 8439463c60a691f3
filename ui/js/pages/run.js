// A run: overview, every metric as a chart (step or time x axis, log scale, smoothing), params,
// tags, datasets, logged models (with "register"), and the artifact browser.

import { mlflow } from '../api.js';
import { h, replace, fmtTime, fmtDuration, errorBox, toast, markRendered, href, runColor } from '../dom.js';
import { metricGrid } from '../metric-grid.js';
import { artifactBrowser } from '../artifacts.js';
import { liveUpdates, isLive } from '../live.js';
import { registrationsOf } from './logged-model.js';
import { renderMarkdown } from '../markdown.js';
import { permissionsOf, allows } from '../session.js';

export function kvTable(rows, empty, cls = '') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('table', { class: `grid kv ${cls}` }, h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))));
}

export function chartState(q) {
  // zoom: the x range all charts show, "from,to" in the x axis' units (kept for the same x mode)
  const z = (q.get('zoom') || '').split(',').map(Number);
  // per chart: ck=<JSON {key: {log, yMin, yMax}}>
  let perKey = {};
  try {
    const j = JSON.parse(q.get('ck') || '{}');
    if (j && typeof j === 'object' && !Array.isArray(j)) perKey = j;
  } catch { /* a malformed ck= is ignored */ }
  return { x: q.get('x') || 'step', log: q.get('log') === '1', smooth: Number(q.get('smooth')) || 0, zoom: z.length === 2 && z.every(Number.isFinite) && z[1] > z[0] ? z : null, perKey };
}

export function chartQuery(s) {
  return {
    x: s.x === 'step' ? '' : s.x, log: s.log ? '1' : '', smooth: s.smooth ? String(s.smooth) : '',
    zoom: s.zoom ? s.zoom.map((v) => Number(v.toPrecision(10))).join(',') : '',
    ck: s.perKey && Object.keys(s.perKey).length ? JSON.stringify(s.perKey) : '',
  };
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

  // description: the mlflow.note.content tag (what MLflow's UI edits), rendered as Markdown
  let note = tag('mlflow.note.content') || '';
  // Set once the user's permission is known (auth on): without EDIT the editors are hidden.
  let readOnly = false;
  const descBox = h('div', { id: 'run-description' });
  const descStatus = h('div');
  const showDesc = () => replace(descBox, renderMarkdown(note), readOnly ? null : h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: editDesc }, 'Edit description')));
  function editDesc() {
    const ta = h('textarea', { class: 'md-edit', 'aria-label': 'run description', value: note });
    const preview = h('div');
    replace(descBox, h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await mlflow.post('/runs/set-tag', { run_id: runId, key: 'mlflow.note.content', value: ta.value });
        note = ta.value;
        toast('Saved');
        replace(descStatus);
        showDesc();
        markRendered('run-description');
      } catch (err) { replace(descStatus, errorBox(err)); }
    } }, ta, h('div', { class: 'toolbar' },
      h('button', { type: 'submit', class: 'primary' }, 'Save description'),
      h('button', { type: 'button', onclick: () => replace(preview, renderMarkdown(ta.value)) }, 'Preview'),
      h('button', { type: 'button', onclick: showDesc }, 'Cancel'),
      h('span', { class: 'muted small' }, 'Markdown: paragraphs, `code`, ``` blocks, **bold**, - lists, # headings, [links](https://…)')), preview));
    ta.focus();
  }
  showDesc();

  // tags: editable (set-tag / delete-tag); mlflow.* system tags behind a toggle (sys=1 in the URL)
  let tagList = tags.slice();
  let showSys = ctx.query.get('sys') === '1';
  const tagsTitle = h('h2');
  const tagsBox = h('div', { id: 'run-tags' });
  const tagStatus = h('div');
  const drawTags = () => {
    const user = tagList.filter((t) => !t.key.startsWith('mlflow.'));
    const sys = tagList.filter((t) => t.key.startsWith('mlflow.') && t.key !== 'mlflow.note.content' && !t.key.startsWith('mlflow.log-model'));
    tagsTitle.textContent = `Tags (${user.length})`;
    const keyIn = h('input', { placeholder: 'key', 'aria-label': 'new tag key', required: true, size: 14 });
    const valIn = h('input', { placeholder: 'value', 'aria-label': 'new tag value', size: 18 });
    const rowOf = (t, editable) => h('tr', { dataset: { key: t.key } }, h('th', null, t.key), h('td', null, t.value),
      editable && !readOnly ? h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'x', title: `edit tag ${t.key}`, 'aria-label': `edit tag ${t.key}`, onclick: () => { keyIn.value = t.key; valIn.value = t.value; valIn.focus(); } }, '✎'),
        h('button', { type: 'button', class: 'x', title: `remove tag ${t.key}`, 'aria-label': `remove tag ${t.key}`, onclick: async () => {
          try {
            await mlflow.post('/runs/delete-tag', { run_id: runId, key: t.key });
            tagList = tagList.filter((x) => x.key !== t.key);
            drawTags();
            markRendered('run-tags');
          } catch (err) { replace(tagStatus, errorBox(err)); }
        } }, '×')) : h('td'));
    replace(tagsBox,
      user.length ? h('table', { class: 'grid kv tags' }, h('tbody', null, user.map((t) => rowOf(t, true)))) : h('p', { class: 'muted' }, 'No tags.'),
      readOnly ? null : h('form', { class: 'inline', onsubmit: async (e) => {
        e.preventDefault();
        const key = keyIn.value.trim();
        try {
          await mlflow.post('/runs/set-tag', { run_id: runId, key, value: valIn.value });
          tagList = [...tagList.filter((x) => x.key !== key), { key, value: valIn.value }].sort((a, b) => a.key.localeCompare(b.key));
          replace(tagStatus);
          drawTags();
          markRendered('run-tags');
        } catch (err) { replace(tagStatus, errorBox(err)); }
      } }, keyIn, valIn, h('button', { type: 'submit' }, 'Set tag')),
      tagStatus,
      sys.length ? h('div', { class: 'sys-tags' },
        h('button', { type: 'button', class: 'link', 'aria-expanded': String(showSys), onclick: () => { showSys = !showSys; ctx.setQuery({ sys: showSys ? '1' : '' }); drawTags(); } },
          `${showSys ? 'Hide' : 'Show'} ${sys.length} mlflow.* system tag${sys.length === 1 ? '' : 's'}`),
        showSys ? h('table', { class: 'grid kv sys' }, h('tbody', null, sys.map((t) => rowOf(t, false)))) : null) : null);
  };
  drawTags();
  permissionsOf({ experiments: [info.experiment_id] }, ctx.signal).then((p) => {
    const perm = p.experiments[info.experiment_id];
    if (perm === undefined || allows(perm, 'EDIT')) return;
    readOnly = true;
    showDesc();
    drawTags();
    descBox.dataset.denied = tagsBox.dataset.denied = 'EDIT';
  }, () => {});

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
      h('section', null, h('h2', null, 'Overview'), overview, h('h2', null, 'Description'), descStatus, descBox, childrenBox),
      h('section', null, paramsTitle, paramsBox)),
    h('section', null, metricsTitle, grid.el),
    h('div', { class: 'two-col' },
      h('section', null, tagsTitle, tagsBox),
      h('section', null, h('h2', null, 'Datasets'), datasets.length ? datasets : h('p', { class: 'muted' }, 'No datasets.'), h('h2', null, 'Logged models'), modelsBox)),
    h('section', null, h('h2', null, 'Artifacts'), artifacts));
  markRendered('run');
  return () => grid.destroy();
}
