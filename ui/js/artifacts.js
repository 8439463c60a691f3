// The artifact browser of a run: a lazily expanded tree and previews of text, JSON, images and
// CSV/TSV tables. Files are fetched through the proxied artifact service.

import { mlflow, artifactUrl } from './api.js';
import { h, replace, fmtBytes, errorBox } from './dom.js';

const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const TABLE = /\.(csv|tsv)$/i;
const JSONX = /\.(json|jsonl)$/i;
const TEXT = /(\.(txt|log|md|py|ya?ml|cfg|ini|toml|sh|r|sql|html?|xml|js|ts|rs|go|java|c|h|cpp|ipynb|pyi|properties|env)$)|(^|\/)(MLmodel|requirements[^/]*|Dockerfile|conda[^/]*|LICENSE|README[^/]*|python_env[^/]*)$/i;
const PREVIEW_LIMIT = 5 * 1024 * 1024;

/** A small CSV/TSV parser (quotes, escaped quotes, newlines in quotes). */
export function parseDelimited(text, sep, maxRows) {
  const rows = [];
  let row = [];
  let field = '';
  let inQ = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQ) {
      if (c === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else inQ = false; } else field += c;
    } else if (c === '"' && field === '') inQ = true;
    else if (c === sep) { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      rows.push(row); row = [];
      if (rows.length >= maxRows) return rows;
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/**
 * @param {any} run a run, or anything with `info.artifact_uri` when `list` is given
 * @param {string} selected
 * @param {(path: string) => void} onSelect
 * @param {(path: string) => Promise<any>} [list] lists a directory (default: the run's listing);
 *   a logged model passes its own artifact endpoint
 */
export function artifactBrowser(run, selected, onSelect, list) {
  const runId = run.info.run_id;
  const uri = run.info.artifact_uri;
  const lister = list || ((path) => mlflow.get('/artifacts/list', { run_id: runId, path: path || undefined }));
  const tree = h('ul', { class: 'tree', role: 'tree' });
  const preview = h('div', { class: 'preview' }, h('p', { class: 'muted' }, 'Select a file to preview it.'));
  const el = h('div', { class: 'artifacts' }, h('div', { class: 'tree-pane' }, tree), preview);

  const show = async (f) => {
    onSelect(f.path);
    for (const a of tree.querySelectorAll('.file.active')) a.classList.remove('active');
    tree.querySelector(`[data-path="${CSS.escape(f.path)}"]`)?.classList.add('active');
    const url = artifactUrl(uri, f.path);
    if (!url) { replace(preview, h('p', { class: 'muted' }, `Artifacts at ${uri} are not served by this server.`)); return; }
    const head = h('div', { class: 'preview-head' }, h('b', null, f.path), ' ', h('span', { class: 'muted' }, fmtBytes(f.file_size)), ' ', h('a', { href: url, download: f.path.split('/').pop() }, 'download'));
    const name = f.path;
    if (IMAGE.test(name)) { replace(preview, head, h('img', { src: url, alt: name, class: 'preview-img' })); return; }
    const textual = TABLE.test(name) || JSONX.test(name) || TEXT.test(name) || !/\.[^/]+$/.test(name);
    if (!textual) { replace(preview, head, h('p', { class: 'muted' }, 'No preview for this file type.')); return; }
    if ((f.file_size || 0) > PREVIEW_LIMIT) { replace(preview, head, h('p', { class: 'muted' }, 'Too large to preview.')); return; }
    replace(preview, head, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const res = await fetch(url, { headers: { 'x-requested-with': 'XMLHttpRequest' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      let content;
      if (JSONX.test(name)) {
        try { content = h('pre', { class: 'code json' }, JSON.stringify(JSON.parse(text), null, 2)); } catch { content = h('pre', { class: 'code' }, text); }
      } else if (TABLE.test(name)) {
        const rows = parseDelimited(text, /\.tsv$/i.test(name) ? '\t' : ',', 1001);
        const [header, ...rest] = rows;
        content = h('div', { class: 'table-wrap' }, h('table', { class: 'grid csv' },
          h('thead', null, h('tr', null, (header || []).map((c) => h('th', null, c)))),
          h('tbody', null, rest.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))),
        rows.length > 1000 ? h('p', { class: 'muted' }, 'First 1000 rows.') : null);
      } else {
        content = h('pre', { class: 'code' }, text);
      }
      replace(preview, head, content);
    } catch (err) { replace(preview, head, errorBox(err)); }
  };

  const load = async (path, ul) => {
    try {
      const r = await lister(path);
      const files = (r.files || []).slice().sort((a, b) => (b.is_dir - a.is_dir) || a.path.localeCompare(b.path));
      if (!files.length && !path) { replace(ul, h('li', { class: 'muted' }, 'No artifacts.')); return; }
      replace(ul, files.map((f) => {
        const label = f.path.split('/').pop();
        if (f.is_dir) {
          const sub = h('ul', { hidden: true });
          let loaded = false;
          // href '#' keeps the link focusable; the click never navigates (the CSP forbids javascript: URLs).
          const toggle = h('a', { class: 'dir', href: '#', dataset: { path: f.path }, onclick: (e) => {
            e.preventDefault();
            sub.hidden = !sub.hidden;
            toggle.classList.toggle('open', !sub.hidden);
            if (!loaded) { loaded = true; load(f.path, sub); }
          } }, label);
          if (selected && selected.startsWith(`${f.path}/`)) { loaded = true; sub.hidden = false; toggle.classList.add('open'); load(f.path, sub); }
          return h('li', null, toggle, sub);
        }
        const a = h('a', { class: 'file', href: '#', dataset: { path: f.path }, onclick: (e) => { e.preventDefault(); show(f); } }, label, ' ', h('span', { class: 'muted small' }, fmtBytes(f.file_size)));
        if (selected === f.path) setTimeout(() => show(f));
        return h('li', null, a);
      }));
    } catch (err) { replace(ul, h('li', null, errorBox(err))); }
  };
  load('', tree);
  return el;
}
