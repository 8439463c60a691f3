// Live updates for pages that show running runs: a bounded poll loop with a visible indicator
// and a pause toggle. One tick at a time (setTimeout chain, never overlapping), no polling while
// the tab is hidden, backoff on errors, and a stop when the page is left (the router aborts the
// page's signal) or when the tick says nothing is running any more.

import { h } from './dom.js';

/** Poll interval in ms: 4 s, or `window.__mlpPollMs` (the tests set it; at least 200 ms). */
export function pollInterval() {
  const t = Number(/** @type {any} */ (window).__mlpPollMs);
  return Number.isFinite(t) && t >= 200 ? t : 4000;
}

const MAX_BACKOFF_MS = 30000;

/**
 * @param {{signal: AbortSignal, tick: () => Promise<boolean>, what?: string}} o
 *   tick() fetches and applies what changed; it resolves false once nothing is live any more.
 * @returns {{el: HTMLElement, stop: (reason?: string) => void, setPaused: (p: boolean) => void}}
 */
export function liveUpdates(o) {
  const interval = pollInterval();
  const label = h('span', { class: 'live-label' }, 'live');
  const btn = h('button', { type: 'button', class: 'live-toggle', 'aria-label': 'pause live updates', onclick: () => setPaused(!paused) }, 'Pause');
  const el = h('span', { class: 'live', id: 'live', role: 'status', dataset: { live: 'on', ticks: '0', busy: '0' }, title: `${o.what || 'running runs'}: refreshed every ${interval / 1000} s` },
    h('span', { class: 'live-dot' }), label, btn);
  let timer = 0;
  let paused = false;
  let stopped = false;
  let busy = false;
  let failures = 0;
  let ticks = 0;

  const schedule = (ms) => {
    clearTimeout(timer);
    if (!stopped && !paused) timer = window.setTimeout(run, ms);
  };
  const run = async () => {
    if (stopped || paused || busy) return;
    if (document.hidden) { schedule(interval); return; }
    busy = true;
    el.dataset.busy = '1';
    let more = true;
    try {
      more = await o.tick();
      failures = 0;
      label.textContent = paused ? 'paused' : 'live';
    } catch (err) {
      if (o.signal.aborted) { stop(); return; }
      failures++;
      label.textContent = 'live (retrying)';
      console.warn('live update failed', err);
    } finally {
      busy = false;
      el.dataset.ticks = String(++ticks);
      el.dataset.busy = '0';
    }
    if (!more) { stop('finished'); return; }
    schedule(Math.min(interval * 2 ** failures, MAX_BACKOFF_MS));
  };
  function setPaused(p) {
    if (stopped) return;
    paused = p;
    el.dataset.live = p ? 'paused' : 'on';
    label.textContent = p ? 'paused' : 'live';
    btn.textContent = p ? 'Resume' : 'Pause';
    btn.setAttribute('aria-label', p ? 'resume live updates' : 'pause live updates');
    if (p) clearTimeout(timer); else schedule(0);
  }
  function stop(reason) {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    el.dataset.live = 'off';
    label.textContent = reason || 'stopped';
    btn.hidden = true;
  }
  const onVisible = () => { if (!document.hidden && !paused && !stopped) schedule(0); };
  document.addEventListener('visibilitychange', onVisible);
  const onAbort = () => { stop(); document.removeEventListener('visibilitychange', onVisible); };
  if (o.signal.aborted) onAbort(); else o.signal.addEventListener('abort', onAbort, { once: true });
  schedule(interval);
  return { el, stop, setPaused };
}

/** True for the statuses of a run that may still change (and log points). */
export const isLive = (status) => status === 'RUNNING' || status === 'SCHEDULED';
