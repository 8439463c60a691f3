// Entry point: a hash router (`#/path?query`). Every page and its filter state live in the URL.
// Pages are ES modules exporting `render(root, ctx)`; they may return a cleanup function.

import { h, replace, errorBox, href } from './dom.js';
import { loadSession } from './session.js';

/** @typedef {{params: string[], query: URLSearchParams, signal: AbortSignal, setQuery: (q: Record<string, any>, opts?: {push?: boolean}) => void, go: (path: string, q?: Record<string, any>) => void}} Ctx */

const ROUTES = [
  [/^\/?$/, null],
  [/^\/experiments$/, () => import('./pages/experiments.js')],
  [/^\/experiments\/([^/]+)(?:\/runs)?$/, () => import('./pages/runs.js')],
  [/^\/experiments\/([^/]+)\/charts$/, () => import('./pages/exp-charts.js')],
  [/^\/runs\/([^/]+)$/, () => import('./pages/run.js')],
  // MLflow's own deep links, as the mlflow client prints them ("View run at …/#/experiments/1/runs/<id>")
  [/^\/experiments\/[^/]+\/runs\/([^/]+)$/, () => import('./pages/run.js')],
  // a logged model at MLflow 3's URL (an optional tab after it is ignored), and a short form for
  // links that do not know the experiment (the page replaces it with MLflow's)
  [/^\/experiments\/([^/]+)\/models\/([^/]+)(?:\/[^/]+)?$/, () => import('./pages/logged-model.js')],
  [/^\/logged-models()\/([^/]+)$/, () => import('./pages/logged-model.js')],
  [/^\/compare$/, () => import('./pages/compare.js')],
  [/^\/models$/, () => import('./pages/models.js')],
  [/^\/models\/([^/]+)$/, () => import('./pages/model.js')],
  [/^\/models\/([^/]+)\/versions\/([^/]+)$/, () => import('./pages/model-version.js')],
  [/^\/jobs$/, () => import('./pages/jobs.js')],
  [/^\/jobs\/([^/]+)$/, () => import('./pages/job.js')],
  [/^\/login$/, () => import('./pages/login.js')],
  [/^\/admin$/, () => import('./pages/admin.js')],
  [/^\/tokens$/, () => import('./pages/tokens.js')],
  [/^\/sweeps$/, () => import('./sweeps.js')],
  [/^\/sweeps\/([^/]+)$/, () => import('./sweeps.js')],
];

export { href };

function parse() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const i = raw.indexOf('?');
  const path = i < 0 ? raw : raw.slice(0, i);
  const query = new URLSearchParams(i < 0 ? '' : raw.slice(i + 1));
  return { path, query };
}

let current = { abort: new AbortController(), cleanup: null };

async function route() {
  const { path, query } = parse();
  current.abort.abort();
  if (typeof current.cleanup === 'function') current.cleanup();
  const abort = new AbortController();
  current = { abort, cleanup: null };
  document.body.dataset.rendered = '';

  const root = /** @type {HTMLElement} */ (document.getElementById('app'));
  for (const a of document.querySelectorAll('header nav a')) {
    const section = path.split('/')[1] || 'experiments';
    const match = a.getAttribute('data-nav') === section || (section === 'runs' || section === 'compare' ? a.getAttribute('data-nav') === 'experiments' : false);
    a.classList.toggle('active', match);
  }
  const found = ROUTES.find(([re]) => re.test(path));
  if (!found || !found[1]) {
    if (!found) replace(root, h('div', { class: 'page' }, h('h1', null, 'Not found'), h('p', null, `No page at ${path}. `, h('a', { href: '#/experiments' }, 'Experiments'))));
    else location.replace('#/experiments');
    return;
  }
  const params = /** @type {RegExpExecArray} */ (found[0].exec(path)).slice(1).map(decodeURIComponent);
  /** @type {Ctx} */
  const ctx = {
    params,
    query,
    signal: abort.signal,
    // Replace (or push) the URL's query without re-rendering: for state the page already shows.
    setQuery(q, opts = {}) {
      for (const [k, v] of Object.entries(q)) {
        if (v === undefined || v === null || v === '' || v === false) query.delete(k);
        else query.set(k, String(v));
      }
      const s = query.toString();
      const url = `#${path}${s ? `?${s}` : ''}`;
      if (opts.push) history.pushState(null, '', url);
      else history.replaceState(null, '', url);
    },
    go(p, q) {
      location.hash = href(p, q).slice(1);
    },
  };
  try {
    const mod = await found[1]();
    if (abort.signal.aborted) return;
    const cleanup = await mod.render(root, ctx);
    if (abort.signal.aborted) {
      if (typeof cleanup === 'function') cleanup();
    } else {
      current.cleanup = cleanup;
    }
  } catch (err) {
    if (abort.signal.aborted || (err && err.name === 'AbortError')) return;
    console.error(err);
    replace(root, h('div', { class: 'page' }, errorBox(err)));
  }
}

window.addEventListener('hashchange', route);
// Who is logged in first (the header's user, and what pages may offer), then the page.
loadSession().finally(route);
