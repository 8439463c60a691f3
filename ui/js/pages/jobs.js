// Jobs: list by state and kind, submit from a form. Refreshes while jobs are queued or running.
// Talks to `/api/v1/jobs`; a server without it gets a clear "not available" state.

import { jobs, isMissingEndpoint, mlflow } from '../api.js';
import { me, permissionsOf, allows, deny } from '../session.js';
import { h, replace, fmtTime, fmtDuration, errorBox, toast, markRendered, href } from '../dom.js';

export const STATES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

export function unavailable(err) {
  return h('div', { class: 'card notice', id: 'jobs-unavailable' }, h('h2', null, 'Jobs API not available'),
    h('p', null, 'This server does not serve ', h('code', null, '/api/v1/jobs'), ' (or jobs are disabled), so jobs cannot be listed or submitted here.'),
    err ? h('p', { class: 'muted small' }, `${err.code}: ${err.message}`) : null);
}

/** Splits a command line into arguments (single and double quotes, backslash escapes). */
export function splitArgs(s) {
  const out = [];
  let cur = '';
  let q = '';
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === q) q = '';
      else if (c === '\\' && q === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") { q = c; any = true; }
    else if (c === '\\' && i + 1 < s.length) { cur += s[++i]; any = true; }
    else if (/\s/.test(c)) { if (cur || any) out.push(cur); cur = ''; any = false; }
    else { cur += c; any = true; }
  }
  if (cur || any) out.push(cur);
  return out;
}

function submitForm(onDone) {
  const f = (name, attrs = {}) => h('input', { name, 'aria-label': name, ...attrs });
  const name = f('name', { required: true, placeholder: 'train-resnet (lowercase, digits, -)' });
  const kind = h('select', { name: 'kind', 'aria-label': 'kind' }, h('option', { value: 'training' }, 'training'), h('option', { value: 'data-processing' }, 'data-processing'));
  const command = f('command', { required: true, placeholder: 'python train.py --epochs 5', class: 'wide' });
  const image = f('image', { placeholder: 'default image' });
  const env = h('textarea', { name: 'env', 'aria-label': 'env', rows: 2, placeholder: 'KEY=value, one per line' });
  const cpu = f('cpu', { type: 'number', min: 0, step: 'any', placeholder: 'default' });
  const memory = f('memory', { placeholder: 'default, e.g. 2Gi' });
  const gpu = f('gpu', { type: 'number', min: 0, placeholder: '0' });
  const nodeGroup = f('node_group', { placeholder: 'any' });
  const timeout = f('timeout_seconds', { type: 'number', min: 1, placeholder: 'default' });
  const retries = f('max_retries', { type: 'number', min: 0, placeholder: '0' });
  const expName = f('experiment_name', { placeholder: 'optional' });
  const shards = f('shards', { type: 'number', min: 1, placeholder: '1 (data-processing)' });
  // Distributed training: replicas × processes per replica ranks with torch.distributed's
  // rendezvous environment (README, Distributed training).
  const replicas = f('replicas', { type: 'number', min: 1, max: 64, placeholder: '1 (training)' });
  const ppr = f('processes_per_replica', { type: 'number', min: 1, max: 16, placeholder: '1' });
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Submit');
  const num = (el) => (el.value === '' ? undefined : Number(el.value));
  const form = h('form', { class: 'card job-form', onsubmit: async (e) => {
    e.preventDefault();
    const envObj = {};
    for (const line of env.value.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) envObj[line.slice(0, i).trim()] = line.slice(i + 1);
    }
    const spec = {
      name: name.value.trim(), kind: kind.value, command: splitArgs(command.value), env: envObj,
      resources: { cpu: num(cpu), memory: memory.value.trim() || undefined, gpu: num(gpu) },
      image: image.value || undefined, node_group: nodeGroup.value || undefined, timeout_seconds: num(timeout), max_retries: num(retries),
      experiment_name: expName.value || undefined, shards: num(shards),
      replicas: num(replicas), processes_per_replica: num(ppr),
    };
    try {
      const r = await jobs.submit(spec);
      toast(`Submitted ${r.job.name}`);
      onDone(r.job);
    } catch (e2) { replace(err, errorBox(e2)); }
  } },
  h('h2', null, 'Submit a job'),
  h('div', { class: 'form-grid' },
    h('label', null, 'Name', name), h('label', null, 'Kind', kind), h('label', { class: 'span2' }, 'Command', command),
    h('label', null, 'Image', image), h('label', null, 'Node group', nodeGroup), h('label', null, 'CPU', cpu), h('label', null, 'Memory', memory), h('label', null, 'GPU', gpu),
    h('label', null, 'Timeout (s)', timeout), h('label', null, 'Max retries', retries), h('label', null, 'Shards', shards),
    h('label', null, 'Replicas', replicas), h('label', null, 'Processes per replica', ppr), h('label', null, 'Experiment', expName),
    h('label', { class: 'span2' }, 'Environment', env)),
  submit, err);
  // Submitting needs EDIT on the experiment the job logs into (none named: Default; a new name
  // is created for the submitter): the button says so before the server refuses.
  const checkExperiment = async () => {
    submit.disabled = false;
    submit.title = '';
    delete submit.dataset.denied;
    if (!me.auth_enabled || me.is_admin) return;
    if (me.may_run_jobs === false) {
      submit.disabled = true;
      submit.title = 'Running jobs needs the jobs capability: ask an admin for a role that grants it';
      submit.dataset.denied = 'jobs';
      return;
    }
    const wanted = expName.value.trim();
    let id = '0';
    if (wanted) {
      try { id = (await mlflow.get('/experiments/get-by-name', { experiment_name: wanted })).experiment.experiment_id; } catch { return; }
    }
    if (expName.value.trim() !== wanted) return;
    const p = await permissionsOf({ experiments: [id] }).catch(() => null);
    if (p && !allows(p.experiments[id], 'EDIT')) deny(submit, 'EDIT', 'experiment');
  };
  expName.addEventListener('change', checkExperiment);
  checkExperiment();
  return form;
}

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const state = ctx.query.get('state') || '';
  const kind = ctx.query.get('kind') || '';
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const tabs = h('div', { class: 'tabs' }, ['', ...STATES].map((s) => h('a', { href: href('/jobs', { state: s, kind }), class: s === state ? 'active' : '' }, s || 'ALL')));
  const kindSel = h('select', { 'aria-label': 'kind filter', onchange: () => ctx.go('/jobs', { state, kind: kindSel.value }) },
    ['', 'training', 'data-processing'].map((k) => h('option', { value: k, selected: k === kind }, k || 'all kinds')));
  const showForm = ctx.query.get('new') === '1';
  const formBox = h('div');
  const newBtn = h('button', { class: 'primary', onclick: () => ctx.go('/jobs', { state, kind, new: showForm ? '' : '1' }) }, showForm ? 'Hide form' : 'Submit a job');
  replace(root, h('div', { class: 'page' }, h('div', { class: 'row-between' }, h('h1', null, 'Jobs'), newBtn), formBox, h('div', { class: 'toolbar' }, tabs, kindSel), list));

  let timer = 0;
  let token = ctx.query.get('pt') || '';
  const load = async () => {
    let r;
    try {
      r = await jobs.list({ state, kind, max_results: 100, page_token: token }, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (isMissingEndpoint(err)) { replace(root.querySelector('.page') || root, h('h1', null, 'Jobs'), unavailable(err)); markRendered('jobs'); return; }
      replace(list, errorBox(err));
      return;
    }
    const items = r.jobs || [];
    replace(list, items.length ? h('table', { class: 'grid jobs' },
      h('thead', null, h('tr', null, ['Job', 'Kind', 'State', 'Created', 'Duration', 'Attempts', 'Exit', 'Run'].map((c) => h('th', null, c)))),
      h('tbody', null, items.map((j) => h('tr', { dataset: { job: j.job_id } },
        h('td', null, h('a', { href: href(`/jobs/${encodeURIComponent(j.job_id)}`) }, j.name || j.job_id)),
        h('td', null, j.kind),
        h('td', null, h('span', { class: `status st-${j.state}` }, j.state)),
        h('td', null, fmtTime(j.created_at)),
        h('td', null, j.started_at ? fmtDuration((j.finished_at ? Number(j.finished_at) : Date.now()) - Number(j.started_at)) : ''),
        h('td', null, j.attempts ?? ''),
        h('td', null, j.exit_code ?? ''),
        h('td', null, j.run_id ? h('a', { href: href(`/runs/${j.run_id}`) }, j.run_id.slice(0, 8)) : '')))))
      : h('p', { class: 'muted' }, 'No jobs.'),
      r.next_page_token ? h('button', { onclick: () => ctx.go('/jobs', { state, kind, pt: r.next_page_token }) }, 'Next page ›') : null);
    markRendered('jobs');
    if (items.some((j) => j.state === 'QUEUED' || j.state === 'RUNNING')) timer = setTimeout(load, 2000);
  };
  if (showForm) formBox.appendChild(submitForm((job) => ctx.go(`/jobs/${encodeURIComponent(job.job_id)}`)));
  await load();
  return () => clearTimeout(timer);
}
