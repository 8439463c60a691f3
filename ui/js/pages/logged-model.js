// A logged model (MLflow 3's URL `#/experiments/<e>/models/<id>`, also `#/logged-models/<id>`):
// its MLmodel file (flavors, signature, input example), requirements.txt / conda.yaml /
// python_env.yaml, its own files, metrics, params, tags, and the registered versions made from
// it (the `mlflow.modelVersions` tag). Everything the server sends is rendered as text nodes.

import { mlflow, artifactUrl, request } from '../api.js';
import { h, replace, fmtTime, fmtNum, errorBox, markRendered, href } from '../dom.js';
import { kvTable } from './run.js';
import { parseSignature, schemaTable } from './model-version.js';
import { artifactBrowser } from '../artifacts.js';

/** Unquotes a YAML scalar (single or double quoted, or plain). */
function scalar(v) {
  const s = v.trim();
  if (s.length >= 2 && s[0] === "'" && s.endsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  if (s.length >= 2 && s[0] === '"' && s.endsWith('"')) {
    try { return JSON.parse(s); } catch { return s.slice(1, -1); }
  }
  return s;
}

/**
 * Flattens the block-style YAML of an MLmodel file into [dotted.key, value] pairs: nested maps
 * give dotted keys, list items join with ", ", quoted scalars folded over several lines are
 * joined. The `signature` block is left out (parseSignature reads it). Enough for the files
 * mlflow writes; anything it cannot read is skipped, never evaluated.
 * @param {string} text
 * @returns {[string, string][]}
 */
export function flattenYaml(text) {
  const lines = String(text || '').replace(/\r\n?/g, '\n').split('\n');
  /** @type {[string, string][]} */
  const out = [];
  /** @type {{indent: number, key: string}[]} */
  const stack = [];
  const emit = (key, value) => {
    const prev = out.find((e) => e[0] === key);
    if (prev) prev[1] = `${prev[1]}, ${value}`; else out.push([key, value]);
  };
  let skipTop = false;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (!line.trim() || /^\s*#/.test(line)) continue;
    const indent = line.length - line.trimStart().length;
    if (indent === 0) skipTop = /^signature:/.test(line);
    if (skipTop) continue;
    // a quoted scalar folded over several lines: join until its closing quote
    const q = /:\s+(['"])/.exec(line);
    if (q && !closed(line.slice(q.index + q[0].length - 1), q[1])) {
      while (i + 1 < lines.length && !closed(line.slice(q.index + q[0].length - 1), q[1])) line += ` ${lines[++i].trim()}`;
    }
    let body = line.trim();
    // a list item may sit at its key's own indentation ("key:\n- a"): it is still its child
    const depth = body.startsWith('-') ? indent + 1 : indent;
    while (stack.length && stack[stack.length - 1].indent >= depth) stack.pop();
    const path = stack.map((s) => s.key);
    if (body.startsWith('- ') || body === '-') {
      body = body.slice(1).trim();
      const kv = /^([^\s:'"][^:]*):(?:\s+(.*))?$/.exec(body);
      if (kv && kv[2] !== undefined) emit([...path, kv[1].trim()].join('.'), scalar(kv[2]));
      else if (body) emit(path.join('.'), scalar(body));
      continue;
    }
    const kv = /^([^\s:'"-][^:]*|'[^']*'|"[^"]*"):(?:\s+(.*))?$/.exec(body);
    if (!kv) continue;
    const key = scalar(kv[1]);
    if (kv[2] !== undefined && kv[2].trim() !== '') emit([...path, key].join('.'), scalar(kv[2]));
    stack.push({ indent, key });
  }
  return out;
}

function closed(quoted, quote) {
  // quoted starts at its opening quote; '' (or \" in double quotes) does not close it
  for (let i = 1; i < quoted.length; i++) {
    if (quote === "'" && quoted[i] === "'") { if (quoted[i + 1] === "'") { i++; continue; } return true; }
    if (quote === '"' && quoted[i] === '\\') { i++; continue; }
    if (quote === '"' && quoted[i] === '"') return true;
  }
  return false;
}

/**
 * The parts of an MLmodel file the page shows.
 * @param {string} text
 */
export function parseMLmodel(text) {
  const flat = flattenYaml(text);
  /** @type {Map<string, [string, string][]>} */
  const flavors = new Map();
  const top = [];
  const example = {};
  for (const [k, v] of flat) {
    const parts = k.split('.');
    if (parts[0] === 'flavors' && parts.length >= 2) {
      const name = parts[1];
      if (!flavors.has(name)) flavors.set(name, []);
      if (parts.length > 2) flavors.get(name).push([parts.slice(2).join('.'), v]);
    } else if (parts[0] === 'saved_input_example_info' && parts.length === 2) {
      example[parts[1]] = v;
    } else {
      top.push([k, v]);
    }
  }
  return {
    top,
    flavors: [...flavors].map(([name, props]) => ({ name, props })),
    inputExample: example.artifact_path ? example : null,
    signature: parseSignature(text),
  };
}

/** The registrations named by the `mlflow.modelVersions` tag (a JSON list of {name, version}). */
export function registrationsOf(tagValue) {
  if (!tagValue) return [];
  try {
    const v = JSON.parse(tagValue);
    if (!Array.isArray(v)) return [];
    return v.filter((r) => r && typeof r === 'object' && r.name !== undefined && r.version !== undefined)
      .map((r) => ({ name: String(r.name), version: String(r.version) }));
  } catch { return []; }
}

/** Fetches a text file of the model; null when it does not exist. */
async function fetchText(uri, path, signal) {
  const url = artifactUrl(uri, path);
  if (!url) return null;
  try {
    const res = await request('GET', url, { signal, text: true });
    return await res.text();
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

/** An input example: a table for pandas' "split" orient ({columns, data}), JSON otherwise. */
function exampleView(text) {
  let j;
  try { j = JSON.parse(text); } catch { return h('pre', { class: 'code' }, text); }
  const split = j && j.dataframe_split ? j.dataframe_split : j;
  if (split && Array.isArray(split.columns) && Array.isArray(split.data)) {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'grid input-example' },
      h('thead', null, h('tr', null, split.columns.map((c) => h('th', null, String(c))))),
      h('tbody', null, split.data.slice(0, 100).map((row) => h('tr', null, (Array.isArray(row) ? row : [row]).map((c) => h('td', null, typeof c === 'string' ? c : JSON.stringify(c))))))));
  }
  return h('pre', { class: 'code json' }, JSON.stringify(j, null, 2));
}

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const [expParam, modelId] = ctx.params;
  const page = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'Loading logged model…'));
  replace(root, page);
  const { model } = await mlflow.get(`/logged-models/${encodeURIComponent(modelId)}`, undefined, ctx.signal);
  const info = model.info;
  const data = model.data || {};
  const expId = info.experiment_id;
  // the short URL (#/logged-models/<id>, for links that do not know the experiment) becomes MLflow's
  if (expParam !== expId) {
    const q = ctx.query.toString();
    location.replace(`#/experiments/${encodeURIComponent(expId)}/models/${encodeURIComponent(modelId)}${q ? `?${q}` : ''}`);
    return;
  }
  document.title = `${info.name} · logged model`;

  const tags = (info.tags || []).slice().sort((a, b) => a.key.localeCompare(b.key));
  const params = (data.params || []).slice().sort((a, b) => a.key.localeCompare(b.key));
  const metrics = (data.metrics || []).slice().sort((a, b) => a.key.localeCompare(b.key) || Number(a.step || 0) - Number(b.step || 0));
  // mlflow.* system tags (source, user, git) behind a toggle; the registrations have their own list
  const userTags = tags.filter((t) => !t.key.startsWith('mlflow.'));
  const sysTags = tags.filter((t) => t.key.startsWith('mlflow.') && t.key !== 'mlflow.modelVersions');
  const regs = [...registrationsOf(tags.find((t) => t.key === 'mlflow.modelVersions')?.value), ...(info.registrations || [])]
    .filter((r, i, all) => all.findIndex((o) => o.name === r.name && String(o.version) === String(r.version)) === i);

  const crumbExp = h('a', { href: href(`/experiments/${encodeURIComponent(expId)}`) }, `experiment ${expId}`);
  mlflow.get('/experiments/get', { experiment_id: expId }, ctx.signal).then((e) => { crumbExp.textContent = e.experiment.name; }).catch(() => {});
  const runLink = info.source_run_id ? h('a', { href: href(`/runs/${info.source_run_id}`), id: 'lm-run' }, info.source_run_id.slice(0, 8)) : h('span', { class: 'muted' }, 'none');
  if (info.source_run_id) mlflow.get('/runs/get', { run_id: info.source_run_id }, ctx.signal).then((r) => { runLink.textContent = r.run.info.run_name || info.source_run_id; }).catch(() => {});

  const status = (info.status || '').replace('LOGGED_MODEL_', '');
  const overview = kvTable([
    ['Model ID', h('code', null, info.model_id)],
    ['Name', info.name],
    ['Status', h('span', { class: `status st-${status}` }, status), info.status_message ? ` ${info.status_message}` : ''],
    info.model_type ? ['Type', info.model_type] : null,
    ['Source run', runLink],
    ['Created', fmtTime(info.creation_timestamp_ms)],
    ['Last updated', fmtTime(info.last_updated_timestamp_ms)],
    ['Artifact URI', h('code', null, info.artifact_uri || '')],
  ].filter(Boolean), '');

  const regsBox = h('div', { id: 'lm-registrations' }, regs.length
    ? regs.map((r) => h('a', { class: 'chip', href: href(`/models/${encodeURIComponent(r.name)}/versions/${encodeURIComponent(r.version)}`) }, `${r.name} v${r.version}`))
    : h('p', { class: 'muted' }, 'Not registered yet: register it from its run\'s page.'));

  const metricsTable = metrics.length ? h('table', { class: 'grid lm-metrics' },
    h('thead', null, h('tr', null, ['key', 'value', 'step', 'dataset', 'run'].map((c) => h('th', null, c)))),
    h('tbody', null, metrics.map((m) => h('tr', null,
      h('td', null, m.key), h('td', { class: 'num' }, fmtNum(m.value)), h('td', { class: 'num' }, String(m.step ?? '')),
      h('td', null, m.dataset_name ? `${m.dataset_name}${m.dataset_digest ? ` (${m.dataset_digest})` : ''}` : ''),
      h('td', null, m.run_id ? h('a', { href: href(`/runs/${m.run_id}`) }, m.run_id.slice(0, 8)) : '')))))
    : h('p', { class: 'muted' }, 'No metrics.');

  // the MLmodel file and the environment files, fetched through the artifact proxy
  const mlmodelBox = h('div', { id: 'lm-mlmodel' }, h('p', { class: 'muted' }, 'Loading MLmodel…'));
  const sigBox = h('div', { id: 'lm-signature' }, h('p', { class: 'muted' }, 'Loading…'));
  const exampleBox = h('div', { id: 'lm-example' }, h('p', { class: 'muted' }, 'Loading…'));
  const envBox = h('div', { id: 'lm-env' });
  const uri = info.artifact_uri;
  const mlmodelP = artifactUrl(uri, 'MLmodel') ? fetchText(uri, 'MLmodel', ctx.signal) : Promise.resolve(undefined);
  const mlmodelDone = mlmodelP.then(async (text) => {
    if (text === undefined) {
      const msg = `The files of this model (${uri}) are not served by this server.`;
      replace(mlmodelBox, h('p', { class: 'muted' }, msg)); replace(sigBox); replace(exampleBox);
      return;
    }
    if (text === null) {
      replace(mlmodelBox, h('p', { class: 'muted' }, 'No MLmodel file (the model\'s files may not be uploaded yet).'));
      replace(sigBox, h('p', { class: 'muted' }, 'No signature.')); replace(exampleBox, h('p', { class: 'muted' }, 'No input example.'));
      return;
    }
    const mm = parseMLmodel(text);
    replace(mlmodelBox,
      h('h3', { class: 'small' }, 'Flavors'),
      mm.flavors.length ? h('table', { class: 'grid flavors' },
        h('thead', null, h('tr', null, h('th', null, 'flavor'), h('th', null, 'properties'))),
        h('tbody', null, mm.flavors.map((f) => h('tr', { dataset: { flavor: f.name } }, h('td', null, h('b', null, f.name)),
          h('td', { class: 'props' }, f.props.length ? f.props.map(([k, v]) => h('div', null, h('span', { class: 'muted' }, `${k}: `), v)) : h('span', { class: 'muted' }, '—'))))))
        : h('p', { class: 'muted' }, 'No flavors.'),
      kvTable(mm.top, '', 'mlmodel-top'),
      h('details', null, h('summary', null, 'MLmodel file'), h('pre', { class: 'code' }, text)));
    replace(sigBox, mm.signature ? h('div', { id: 'signature' }, schemaTable('Inputs', mm.signature.inputs), schemaTable('Outputs', mm.signature.outputs), schemaTable('Params', mm.signature.params))
      : h('p', { class: 'muted' }, 'This model was logged without a signature.'));
    if (!mm.inputExample) { replace(exampleBox, h('p', { class: 'muted' }, 'No input example.')); return; }
    const ex = await fetchText(uri, mm.inputExample.artifact_path, ctx.signal);
    replace(exampleBox, ex === null ? h('p', { class: 'muted' }, `Input example ${mm.inputExample.artifact_path} is missing.`)
      : [h('p', { class: 'muted small' }, mm.inputExample.artifact_path, mm.inputExample.type ? ` (${mm.inputExample.type})` : ''), exampleView(ex)]);
  }).catch((err) => { if (!ctx.signal.aborted) replace(mlmodelBox, errorBox(err)); });
  const envDone = Promise.all(['requirements.txt', 'conda.yaml', 'python_env.yaml'].map((f) => (artifactUrl(uri, f) ? fetchText(uri, f, ctx.signal) : Promise.resolve(null)).catch(() => null)
    .then((text) => h('div', { class: 'card env-file', dataset: { file: f } }, h('b', null, f), text === null ? h('p', { class: 'muted' }, 'not logged') : h('pre', { class: 'code' }, text)))))
    .then((cards) => replace(envBox, cards));

  const files = artifactBrowser({ info: { run_id: null, artifact_uri: uri } }, ctx.query.get('art') || '', (p) => ctx.setQuery({ art: p }),
    (path) => mlflow.get(`/logged-models/${encodeURIComponent(modelId)}/artifacts/directories`, { artifact_directory_path: path || undefined }, ctx.signal));

  replace(page,
    h('div', { class: 'crumbs' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / ', crumbExp, ' / ', 'models / '),
    h('h1', null, info.name, ' ', h('span', { class: 'muted small' }, 'logged model'), ' ', h('span', { class: `status st-${status}` }, status)),
    h('div', { class: 'two-col' },
      h('section', null, h('h2', null, 'Overview'), overview, h('h2', null, `Registered versions (${regs.length})`), regsBox),
      h('section', null, h('h2', null, `Metrics (${metrics.length})`), metricsTable,
        h('h2', null, `Parameters (${params.length})`), kvTable(params.map((p) => [p.key, p.value]), 'No parameters.', 'lm-params'),
        h('h2', null, `Tags (${userTags.length})`), kvTable(userTags.map((t) => [t.key, t.value]), 'No tags.', 'lm-tags'),
        sysTags.length ? h('details', { class: 'sys-tags' }, h('summary', null, `${sysTags.length} mlflow.* system tags`), kvTable(sysTags.map((t) => [t.key, t.value]), '', 'lm-sys-tags')) : null)),
    h('div', { class: 'two-col' },
      h('section', null, h('h2', null, 'MLmodel'), mlmodelBox),
      h('section', null, h('h2', null, 'Signature'), sigBox, h('h2', null, 'Input example'), exampleBox)),
    h('section', null, h('h2', null, 'Environment'), envBox),
    h('section', null, h('h2', null, 'Files'), files));
  markRendered('logged-model');
  Promise.all([mlmodelDone, envDone]).then(() => { if (!ctx.signal.aborted) markRendered('logged-model-files'); });
}
