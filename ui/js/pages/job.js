// One job: its spec and status, a live tail of its log (`/logs?offset=N`, following
// `x-next-offset`), and cancel.

import { jobs, isMissingEndpoint } from '../api.js';
import { h, replace, fmtTime, errorBox, toast, markRendered, href } from '../dom.js';
import { kvTable } from './run.js';
import { unavailable } from './jobs.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const MAX_LOG_CHARS = 2_000_000;

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const id = ctx.params[0];
  const page = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(root, page);
  let job;
  try {
    job = (await jobs.get(id, ctx.signal)).job;
  } catch (err) {
    if (isMissingEndpoint(err)) { replace(page, h('h1', null, 'Job'), unavailable(err)); return; }
    throw err;
  }
  const head = h('div');
  const details = h('div');
  const log = h('pre', { class: 'code log', id: 'job-log' });
  const follow = h('input', { type: 'checkbox', checked: true });
  const cancel = h('button', { class: 'danger', onclick: async () => {
    try { job = (await jobs.cancel(id)).job; toast(`Cancelling ${job.name}`); draw(); } catch (err) { toast(err.message, 'error'); }
  } }, 'Cancel job');
  const draw = () => {
    cancel.disabled = TERMINAL.has(job.state);
    replace(head, h('h1', null, job.name || id, ' ', h('span', { class: `status st-${job.state}`, id: 'job-state' }, job.state)));
    const spec = { ...job };
    replace(details, kvTable([
      ['Job ID', h('code', null, job.job_id)],
      ['Kind', job.kind],
      ['Command', h('code', null, (job.command || []).join(' '))],
      ['Image', job.image || ''],
      ['Resources', job.resources ? JSON.stringify(job.resources) : ''],
      ['Created', fmtTime(job.created_at)],
      ['Started', fmtTime(job.started_at)],
      ['Finished', fmtTime(job.finished_at)],
      ['Attempts', String(job.attempts ?? '')],
      ['Exit code', job.exit_code ?? ''],
      ['Reason', job.reason || ''],
      ['Run', job.run_id ? h('a', { href: href(`/runs/${job.run_id}`) }, job.run_id) : ''],
    ], ''), h('details', null, h('summary', null, 'full spec'), h('pre', { class: 'code' }, JSON.stringify(spec, null, 2))));
  };
  draw();
  replace(page, h('div', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ' / '), h('div', { class: 'row-between' }, head, cancel), details,
    h('h2', null, 'Log ', h('label', { class: 'small' }, follow, ' follow')), log);
  markRendered('job');

  let offset = 0;
  let timer = 0;
  let text = '';
  const tick = async () => {
    try {
      const r = await jobs.logs(id, offset, ctx.signal);
      if (r.text) {
        text += r.text;
        if (text.length > MAX_LOG_CHARS) text = text.slice(-MAX_LOG_CHARS);
        log.textContent = text;
        if (follow.checked) log.scrollTop = log.scrollHeight;
      }
      offset = r.next;
      if (!TERMINAL.has(job.state)) {
        job = (await jobs.get(id, ctx.signal)).job;
        draw();
      }
      // one last read after the job ends, then stop
      if (TERMINAL.has(job.state) && !r.text) return;
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (!log.textContent) log.replaceChildren(errorBox(err));
    }
    timer = setTimeout(tick, 1000);
  };
  tick();
  return () => clearTimeout(timer);
}
