// Hyperparameter sweeps (`/api/v1/sweeps`): the list, and one sweep with its trials table, the
// objective over time (each trial's value and the best so far) and parallel coordinates of the
// parameters against the objective. Refreshes while the sweep runs; cancel stops every trial.

import { request, isMissingEndpoint } from './api.js';
import { h, replace, fmtTime, fmtNum, errorBox, toast, markRendered, href } from './dom.js';
import { LineChart } from './chart.js';
import { ParallelPlot, axisOf } from './plots.js';

const api = {
  list: (query, signal) => request('GET', '/api/v1/sweeps', { query, signal }),
  get: (id, signal) => request('GET', `/api/v1/sweeps/${encodeURIComponent(id)}`, { signal }),
  cancel: (id) => request('POST', `/api/v1/sweeps/${encodeURIComponent(id)}/cancel`, { body: {} }),
  create: (spec) => request('POST', '/api/v1/sweeps', { body: spec }),
};

/** What the form starts with: examples/sweep_sklearn.yaml as JSON, the same spec the CLI takes. */
const EXAMPLE_SPEC = {
  name: 'iris-logreg-sweep',
  experiment_name: 'iris-logreg-sweep',
  trial: { command: ['python', 'examples/train_sklearn.py', '--epochs', '9', '--no-model'], resources: { cpu: 1, memory: '1Gi' }, timeout_seconds: 900 },
  search_space: { C: { type: 'log_uniform', lo: 0.001, hi: 100.0 }, max_iter: { type: 'choice', values: [50, 200] } },
  strategy: { type: 'asha', seed: 42, sampler: 'random', min_resource: 1, max_resource: 8, reduction_factor: 3 },
  objective: { metric: 'test_loss', direction: 'minimize' },
  budget: { max_trials: 8, parallelism: 2, max_duration_seconds: 1800 },
};

/** A sweep from its spec (JSON), checked by the server, which names the field at fault. */
function createForm(onCreated) {
  const spec = h('textarea', { name: 'spec', 'aria-label': 'sweep spec', rows: 18, class: 'mono wide', spellcheck: 'false' });
  spec.value = JSON.stringify(EXAMPLE_SPEC, null, 2);
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create sweep');
  return h('form', { class: 'card sweep-form', onsubmit: async (e) => {
    e.preventDefault();
    let body;
    try { body = JSON.parse(spec.value); } catch (e2) { replace(err, h('div', { class: 'error' }, `Not JSON: ${e2.message}`)); return; }
    try {
      const r = await api.create(body);
      toast(`Created sweep ${r.sweep.spec.name}`);
      onCreated(r.sweep);
    } catch (e2) { replace(err, errorBox(e2)); }
  } }, h('h2', null, 'New sweep'),
  h('p', { class: 'muted small' }, 'The spec the CLI takes (', h('code', null, 'mlp sweep submit --file'), '), as JSON: a trial job, a search space, a strategy (grid, random, asha), an objective and a budget.'),
  spec, submit, err);
}

const STATES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

function unavailable(err) {
  return h('div', { class: 'card notice', id: 'sweeps-unavailable' }, h('h2', null, 'Sweeps API not available'),
    h('p', null, 'This server does not serve ', h('code', null, '/api/v1/sweeps'), ' (or jobs are disabled).'),
    err ? h('p', { class: 'muted small' }, `${err.code}: ${err.message}`) : null);
}

const paramText = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/** The best trial by the objective among those that ran to the end (else any with a value). */
export function bestTrial(trials, direction) {
  const better = (a, b) => (direction === 'maximize' ? a > b : a < b);
  const pick = (ok) => trials.filter((t) => Number.isFinite(t.objective) && ok(t))
    .reduce((b, t) => (b === null || better(t.objective, b.objective) ? t : b), null);
  return pick((t) => t.state === 'SUCCEEDED' && !t.early_stopped) || pick(() => true);
}

/** (seconds since the sweep started, objective, best so far), in the order trials finished. */
export function bestSoFar(trials, direction, t0) {
  const done = trials.filter((t) => Number.isFinite(t.objective) && t.finished_at)
    .sort((a, b) => a.finished_at - b.finished_at);
  const out = [];
  let best = null;
  for (const t of done) {
    if (best === null || (direction === 'maximize' ? t.objective > best : t.objective < best)) best = t.objective;
    out.push({ x: (t.finished_at - t0) / 1000, y: t.objective, best, index: t.index });
  }
  return out;
}

async function renderList(root, ctx) {
  const state = ctx.query.get('state') || '';
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const tabs = h('div', { class: 'tabs' }, ['', ...STATES].map((s) => h('a', { href: href('/sweeps', { state: s }), class: s === state ? 'active' : '' }, s || 'ALL')));
  const showForm = ctx.query.get('new') === '1';
  const form = showForm ? createForm((sw) => ctx.go(`/sweeps/${encodeURIComponent(sw.sweep_id)}`)) : null;
  replace(root, h('div', { class: 'page' }, h('h1', null, 'Sweeps'),
    h('p', { class: 'muted small' }, 'Or from the command line: ', h('code', null, 'mlp sweep submit --file sweep.yaml'), '.'),
    h('div', { class: 'toolbar' }, tabs,
      h('button', { class: 'primary', onclick: () => ctx.go('/sweeps', { state, new: showForm ? '' : '1' }) }, showForm ? 'Hide form' : 'New sweep')),
    form, list));
  let timer = 0;
  const load = async () => {
    let r;
    try {
      r = await api.list({ state, max_results: 100 }, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (isMissingEndpoint(err)) { replace(list, unavailable(err)); markRendered('sweeps'); return; }
      replace(list, errorBox(err));
      return;
    }
    const items = r.sweeps || [];
    replace(list, items.length ? h('table', { class: 'grid sweeps' },
      h('thead', null, h('tr', null, ['Sweep', 'State', 'Strategy', 'Trials', 'Objective', 'Best', 'Created'].map((c) => h('th', null, c)))),
      h('tbody', null, items.map((s) => h('tr', { dataset: { sweep: s.sweep_id } },
        h('td', null, h('a', { href: href(`/sweeps/${encodeURIComponent(s.sweep_id)}`) }, s.spec.name)),
        h('td', null, h('span', { class: `status st-${s.state}` }, s.state)),
        h('td', null, s.spec.strategy.type),
        h('td', null, String(s.spec.budget.max_trials ?? '')),
        h('td', null, `${s.spec.objective.metric} (${s.spec.objective.direction})`),
        h('td', null, s.best_value !== undefined ? `${fmtNum(s.best_value)} (trial ${s.best_trial})` : ''),
        h('td', null, fmtTime(s.created_at))))))
      : h('p', { class: 'muted' }, 'No sweeps.'));
    markRendered('sweeps');
    if (items.some((s) => s.state === 'RUNNING')) timer = setTimeout(load, 3000);
  };
  await load();
  return () => clearTimeout(timer);
}

async function renderSweep(root, ctx, id) {
  const page = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(root, page);
  let data;
  try {
    data = await api.get(id, ctx.signal);
  } catch (err) {
    if (isMissingEndpoint(err)) { replace(page, h('h1', null, 'Sweep'), unavailable(err)); return null; }
    throw err;
  }
  const head = h('div');
  const details = h('div');
  const table = h('div');
  const overTime = h('div', { class: 'card', id: 'sweep-over-time' });
  const pcBox = h('div', { class: 'card', id: 'sweep-parallel' });
  const cancel = h('button', { class: 'danger', onclick: async () => {
    try {
      await api.cancel(id);
      toast('Cancelling the sweep and its trials');
      data = await api.get(id, ctx.signal);
      draw();
    } catch (err) { toast(err.message, 'error'); }
  } }, 'Cancel sweep');
  replace(page, h('div', { class: 'crumbs' }, h('a', { href: '#/sweeps' }, 'Sweeps'), ' / '),
    h('div', { class: 'row-between' }, head, cancel), details,
    h('h2', null, 'Trials'), table,
    h('h2', null, 'Objective over time'), overTime,
    h('h2', null, 'Parameters vs objective'), pcBox);
  const chart = new LineChart(overTime, { height: 240 });
  const parallel = new ParallelPlot(pcBox, { onClick: (p) => ctx.go(`/runs/${p.id}`) });

  const draw = () => {
    const { sweep, trials } = data;
    const spec = sweep.spec;
    const dir = spec.objective.direction;
    const names = Object.keys(spec.search_space);
    const running = sweep.state === 'RUNNING';
    cancel.disabled = !running || sweep.cancel_requested;
    replace(head, h('h1', null, spec.name, ' ', h('span', { class: `status st-${sweep.state}`, id: 'sweep-state' }, running && sweep.cancel_requested ? 'CANCELLING' : sweep.state)));
    const best = running ? bestTrial(trials, dir) : trials.find((t) => t.index === sweep.best_trial) || null;
    replace(details, h('table', { class: 'grid kv' }, h('tbody', null, [
      ['Sweep ID', h('code', null, sweep.sweep_id)],
      ['Experiment', sweep.experiment_id ? h('a', { href: href(`/experiments/${sweep.experiment_id}`) }, spec.experiment_name || sweep.experiment_id) : ''],
      ['Parent run', sweep.parent_run_id ? h('a', { href: href(`/runs/${sweep.parent_run_id}`) }, sweep.parent_run_id) : ''],
      ['Strategy', h('code', null, JSON.stringify(spec.strategy))],
      ['Objective', `${spec.objective.direction} ${spec.objective.metric}`],
      ['Budget', `${spec.budget.max_trials} trials, ${spec.budget.parallelism} at once${spec.budget.max_duration_seconds ? `, ${spec.budget.max_duration_seconds} s at most` : ''}`],
      ['Created', fmtTime(sweep.created_at)],
      ['Finished', fmtTime(sweep.finished_at)],
      ['Best trial', best ? h('span', { id: 'sweep-best' }, `#${best.index}: ${fmtNum(best.objective)} (`, names.map((n) => `${n}=${paramText(best.params[n])}`).join(', '), ')') : ''],
      ['Reason', sweep.reason || ''],
    ].map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v))))));

    replace(table, trials.length ? h('table', { class: 'grid trials' },
      h('thead', null, h('tr', null, ['#', ...names, 'State', spec.objective.metric, 'Early stopped', 'Run', 'Job'].map((c) => h('th', null, c)))),
      h('tbody', null, trials.map((t) => h('tr', { dataset: { trial: String(t.index) }, class: best && t.index === best.index ? 'best' : '' },
        h('td', null, String(t.index), best && t.index === best.index ? h('span', { class: 'chip', title: 'best trial' }, 'best') : null),
        ...names.map((n) => h('td', null, paramText(t.params[n]))),
        h('td', null, h('span', { class: `status st-${t.state}` }, t.state)),
        h('td', null, Number.isFinite(t.objective) ? fmtNum(t.objective) : ''),
        h('td', null, t.early_stopped ? 'yes' : ''),
        h('td', null, t.run_id ? h('a', { href: href(`/runs/${t.run_id}`) }, t.run_id.slice(0, 8)) : ''),
        h('td', null, h('a', { href: href(`/jobs/${encodeURIComponent(t.job_id)}`) }, 'job'))))))
      : h('p', { class: 'muted' }, 'No trial started yet.'));

    const pts = bestSoFar(trials, dir, sweep.created_at);
    chart.setOptions({ xLabel: 's since the sweep started' });
    chart.setSeries(pts.length ? [
      { name: 'trial', color: '#9aa5b1', x: Float64Array.from(pts.map((p) => p.x)), y: Float64Array.from(pts.map((p) => p.y)) },
      { name: 'best so far', color: '#2563eb', x: Float64Array.from(pts.map((p) => p.x)), y: Float64Array.from(pts.map((p) => p.best)) },
    ] : []);

    const rows = trials.filter((t) => Number.isFinite(t.objective));
    const cols = [...names.map((n) => ({ id: `p:${n}`, label: n, values: rows.map((t) => t.params[n]), log: spec.search_space[n].type === 'log_uniform' })),
      { id: 'objective', label: spec.objective.metric, values: rows.map((t) => t.objective), log: false }];
    parallel.set(rows.map((t, j) => ({ values: cols.map((c) => c.values[j]), label: `trial ${t.index}${t.early_stopped ? ' (stopped early)' : ''}`, id: t.run_id })),
      cols.map((c) => Object.assign(axisOf(c.label, c.values, c.log), { id: c.id })));
    markRendered('sweep');
  };
  draw();

  let timer = 0;
  const tick = async () => {
    try {
      data = await api.get(id, ctx.signal);
      draw();
    } catch (err) {
      if (ctx.signal.aborted) return;
    }
    if (data.sweep.state === 'RUNNING') timer = setTimeout(tick, 2000);
  };
  if (data.sweep.state === 'RUNNING') timer = setTimeout(tick, 2000);
  return () => { clearTimeout(timer); parallel.destroy(); chart.destroy(); };
}

/** @param {HTMLElement} root @param {import('./main.js').Ctx} ctx */
export async function render(root, ctx) {
  return ctx.params[0] ? renderSweep(root, ctx, ctx.params[0]) : renderList(root, ctx);
}
