// One model version (MLflow's URL `#/models/<name>/versions/<n>`): description in Markdown
// (rendered safely, editable), stage, aliases, tags, the source run and logged model, and the
// signature read from the model's MLmodel file.

import { mlflow, artifactUrl, request } from '../api.js';
import { h, replace, fmtTime, errorBox, toast, markRendered, href } from '../dom.js';
import { renderMarkdown } from '../markdown.js';
import { kvTable } from './run.js';
import { tagEditor, STAGES } from './model.js';
import { permissionsOf, lockActions } from '../session.js';

/**
 * The signature of an MLmodel file (YAML): its `signature:` block's `inputs`, `outputs` and
 * `params`, each a single-quoted YAML scalar holding JSON (possibly folded over several lines).
 * Returns null when there is no signature.
 * @param {string} text
 * @returns {{inputs: any[]|null, outputs: any[]|null, params: any[]|null}|null}
 */
export function parseSignature(text) {
  const lines = String(text || '').replace(/\r\n?/g, '\n').split('\n');
  const at = lines.findIndex((l) => /^signature:\s*$/.test(l));
  if (at < 0) return null;
  const block = [];
  for (let i = at + 1; i < lines.length && (/^\s/.test(lines[i]) || !lines[i].trim()); i++) block.push(lines[i]);
  const src = block.join('\n');
  const out = { inputs: null, outputs: null, params: null };
  for (const key of Object.keys(out)) {
    const m = new RegExp(`^\\s+${key}:[ \\t]*`, 'm').exec(src);
    if (!m) continue;
    let i = m.index + m[0].length;
    let raw = '';
    if (src[i] === "'") {
      // YAML single-quoted: '' is a quote; a line break folds into a space (an empty line: \n)
      for (i++; i < src.length; i++) {
        const c = src[i];
        if (c === "'") { if (src[i + 1] === "'") { raw += "'"; i++; continue; } break; }
        if (c === '\n') {
          let j = i + 1;
          let blank = 0;
          while (j < src.length && /[ \t\n]/.test(src[j])) { if (src[j] === '\n') blank++; j++; }
          raw = raw.replace(/[ \t]+$/, '') + (blank ? '\n'.repeat(blank) : ' ');
          i = j - 1;
          continue;
        }
        raw += c;
      }
    } else {
      raw = src.slice(i).split('\n')[0].trim();
    }
    if (!raw || raw === 'null' || raw === '~') continue;
    try { out[key] = JSON.parse(raw); } catch { /* not JSON: leave it out */ }
  }
  return out.inputs || out.outputs || out.params ? out : null;
}

export function schemaTable(title, cols) {
  if (!cols || !cols.length) return null;
  return h('div', null, h('h3', { class: 'small' }, title),
    h('table', { class: `grid signature sig-${title.toLowerCase()}` },
      h('thead', null, h('tr', null, h('th', null, 'name'), h('th', null, 'type'), h('th', null, 'required'))),
      h('tbody', null, cols.map((c, i) => h('tr', null,
        h('td', null, c.name ?? h('span', { class: 'muted' }, `#${i}`)),
        h('td', null, h('code', null, c.type === 'tensor' && c['tensor-spec'] ? `tensor ${c['tensor-spec'].dtype} ${JSON.stringify(c['tensor-spec'].shape)}` : c.type || '')),
        h('td', null, c.required === false ? 'no' : 'yes'))))));
}

/** Fetches the MLmodel of a version's files and renders its signature. */
async function signatureOf(v, loggedModel, signal) {
  let url = null;
  if (loggedModel?.info?.artifact_uri) url = artifactUrl(loggedModel.info.artifact_uri, 'MLmodel');
  const m = /^runs:\/([^/]+)\/(.+)$/.exec(v.source || '');
  if (!url && m) {
    const { run } = await mlflow.get('/runs/get', { run_id: m[1] }, signal);
    url = artifactUrl(run.info.artifact_uri, `${m[2].replace(/\/+$/, '')}/MLmodel`);
  }
  if (!url) return h('p', { class: 'muted' }, 'Signature not available: the model files are not served by this server.');
  let text;
  try {
    const res = await request('GET', url, { signal, text: true });
    text = await res.text();
  } catch (err) {
    if (err.status === 404) return h('p', { class: 'muted' }, 'No MLmodel file: no signature.');
    throw err;
  }
  const sig = parseSignature(text);
  if (!sig) return h('p', { class: 'muted' }, 'This model was logged without a signature.');
  return h('div', { id: 'signature' }, schemaTable('Inputs', sig.inputs), schemaTable('Outputs', sig.outputs), schemaTable('Params', sig.params));
}

// Each action re-renders the page; a signature that arrives for an older rendering must not mark
// the page rendered again (the tests wait for that mark after each action).
let renderSeq = 0;

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const seq = ++renderSeq;
  const [name, version] = ctx.params;
  const page = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(root, page);
  const status = h('div');
  const again = () => render(root, ctx);
  const act = async (fn, msg) => {
    try { await fn(); if (msg) toast(msg); await again(); } catch (err) { replace(status, errorBox(err)); }
  };
  const { model_version: v } = await mlflow.get('/model-versions/get', { name, version }, ctx.signal);
  document.title = `${name} v${version} · model version`;
  const modelUrl = href(`/models/${encodeURIComponent(name)}`);

  // description: rendered Markdown, and an editor (PATCH model-versions/update)
  const descBox = h('div', { id: 'mv-description' });
  const showDesc = () => replace(descBox, renderMarkdown(v.description || ''), h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: editDesc }, 'Edit description')));
  function editDesc() {
    const ta = h('textarea', { class: 'md-edit', 'aria-label': 'description', value: v.description || '' });
    const preview = h('div');
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await mlflow.patch('/model-versions/update', { name, version, description: ta.value });
        v.description = r.model_version?.description ?? ta.value;
        toast('Saved');
        showDesc();
        markRendered('model-version-description');
      } catch (err) { replace(status, errorBox(err)); }
    } }, ta, h('div', { class: 'toolbar' },
      h('button', { type: 'submit', class: 'primary' }, 'Save description'),
      h('button', { type: 'button', onclick: () => replace(preview, renderMarkdown(ta.value)) }, 'Preview'),
      h('button', { type: 'button', onclick: showDesc }, 'Cancel'),
      h('span', { class: 'muted small' }, 'Markdown: paragraphs, `code`, ``` blocks, **bold**, - lists, # headings, [links](https://…)')), preview);
    replace(descBox, form);
    ta.focus();
  }
  showDesc();

  // source run and logged model (names filled in when they arrive)
  const runLink = v.run_id ? h('a', { href: href(`/runs/${v.run_id}`), id: 'mv-run' }, v.run_id.slice(0, 8)) : h('span', { class: 'muted' }, 'none');
  if (v.run_id) mlflow.get('/runs/get', { run_id: v.run_id }, ctx.signal).then((r) => { runLink.textContent = r.run.info.run_name || v.run_id; }).catch(() => {});
  const modelBox = h('span', { id: 'mv-logged-model' }, v.model_id ? h('code', null, v.model_id) : h('span', { class: 'muted' }, 'none'));
  const loggedP = v.model_id ? mlflow.get(`/logged-models/${encodeURIComponent(v.model_id)}`, undefined, ctx.signal).then((r) => r.model).catch(() => null) : Promise.resolve(null);
  loggedP.then((lm) => {
    if (!lm) return;
    const i = lm.info;
    replace(modelBox, h('a', { href: href(`/experiments/${encodeURIComponent(i.experiment_id)}/models/${encodeURIComponent(i.model_id)}`) }, h('b', null, i.name)), ' ', h('code', { class: 'small' }, i.model_id), ' ',
      h('span', { class: 'chip' }, (i.status || '').replace('LOGGED_MODEL_', '')), i.model_type ? h('span', { class: 'chip' }, i.model_type) : null,
      i.source_run_id ? [' logged by run ', h('a', { href: href(`/runs/${i.source_run_id}`) }, i.source_run_id.slice(0, 8))] : null);
  });

  const stageSel = h('select', { 'aria-label': 'stage', onchange: () => act(() => mlflow.post('/model-versions/transition-stage', { name, version, stage: stageSel.value, archive_existing_versions: false }), `Version ${version} → ${stageSel.value}`) },
    STAGES.map((s) => h('option', { value: s, selected: s === v.current_stage }, s)));
  const aliasIn = h('input', { placeholder: 'alias', 'aria-label': 'alias', size: 12, required: true });
  const aliases = h('span', { id: 'mv-aliases' },
    (v.aliases || []).map((a) => h('span', { class: 'chip alias' }, `@${a}`, h('button', { class: 'x', title: `remove alias ${a}`, onclick: () => act(() => mlflow.del('/registered-models/alias', { name, alias: a }), `Removed @${a}`) }, '×'))),
    h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); const a = aliasIn.value.trim(); act(() => mlflow.post('/registered-models/alias', { name, alias: a, version }), `@${a} → v${version}`); } }, aliasIn, h('button', { type: 'submit' }, 'Set alias')));

  const overview = kvTable([
    ['Registered model', h('a', { href: modelUrl }, name)],
    ['Version', h('b', null, v.version)],
    ['Stage', stageSel],
    ['Aliases', aliases],
    ['Status', h('span', { class: `status st-${v.status}` }, v.status), v.status_message ? ` ${v.status_message}` : ''],
    ['Source run', runLink],
    ['Source logged model', modelBox],
    ['Source', h('code', null, v.source || '')],
    ['Created', fmtTime(v.creation_timestamp)],
    ['Last updated', fmtTime(v.last_updated_timestamp)],
    v.user_id ? ['User', v.user_id] : null,
  ].filter(Boolean), '', 'mv');

  const sigBox = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  loggedP.then((lm) => signatureOf(v, lm, ctx.signal)).then((el) => { if (seq === renderSeq) { replace(sigBox, el); markRendered('model-version-signature'); } })
    .catch((err) => { if (!ctx.signal.aborted && seq === renderSeq) { replace(sigBox, errorBox(err)); markRendered('model-version-signature'); } });

  replace(page,
    h('div', { class: 'crumbs' }, h('a', { href: '#/models' }, 'Models'), ' / ', h('a', { href: modelUrl }, name), ' / '),
    h('h1', null, `${name} `, h('span', { class: 'muted' }, `version ${v.version}`), ' ', h('span', { class: 'chip' }, v.current_stage)),
    status,
    h('div', { class: 'two-col' },
      h('section', null, h('h2', null, 'Overview'), overview),
      h('section', null, h('h2', null, 'Description'), descBox,
        h('h2', null, 'Tags'), h('div', { id: 'mv-tags' }, tagEditor(v.tags || [],
          (k, val) => act(() => mlflow.post('/model-versions/set-tag', { name, version, key: k, value: val })),
          (k) => act(() => mlflow.del('/model-versions/delete-tag', { name, version, key: k })))))),
    h('section', null, h('h2', null, 'Signature'), sigBox));
  try {
    const p = await permissionsOf({ models: [name] }, ctx.signal);
    if (p.registered_models[name] !== undefined) lockActions(page, p.registered_models[name], 'registered model');
  } catch { /* the server still decides */ }
  markRendered('model-version');
}
