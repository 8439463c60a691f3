// A grid of metric charts, one per key, each overlaying one series per run. Used by the run
// page (one run) and the compare page (2 to 20 runs). Histories are fetched in full with paged
// get-history, a few at a time, and drawn at pixel resolution by LineChart.

import { metricHistory } from './api.js';
import { h, replace, pool, errorBox, fmtNum } from './dom.js';
import { LineChart, chartControls, xOf } from './chart.js';

/**
 * @param {{runs: {id: string, name: string, color: string}[], keys: string[], state: {x: string, log: boolean, smooth: number}, signal: AbortSignal, onState: (s: object) => void, onDone?: () => void, onFirst?: () => void}} o
 */
export function metricGrid(o) {
  const state = { ...o.state };
  const grid = h('div', { class: 'chart-grid' });
  const charts = [];
  const hist = new Map(); // `${key}\u0000${runId}` -> history

  const xIsTime = () => (state.x === 'step' ? false : state.x === 'time' ? 'wall' : 'rel');
  const seriesFor = (key) => {
    // relative time is measured from the earliest point of each run
    return o.runs.filter((r) => hist.has(`${key}\u0000${r.id}`)).map((r) => {
      const hh = hist.get(`${key}\u0000${r.id}`);
      return { name: r.name, color: r.color, x: xOf(hh, state.x), y: hh.value };
    });
  };
  const controls = chartControls(state, (s) => {
    Object.assign(state, s);
    o.onState(state);
    for (const c of charts) {
      if (s.x !== undefined) { c.chart.setOptions({ xIsTime: xIsTime() }); c.chart.setSeries(seriesFor(c.key)); }
      c.chart.setOptions({ logY: state.log, smoothing: state.smooth });
    }
  });
  const el = h('div', { class: 'metric-grid' }, controls, o.keys.length ? grid : h('p', { class: 'muted' }, 'No metrics logged.'));

  for (const key of o.keys) {
    const info = h('span', { class: 'muted small' }, 'loading…');
    const card = h('div', { class: 'chart-card', dataset: { metric: key } }, h('div', { class: 'chart-title' }, h('b', null, key), ' ', info));
    grid.appendChild(card);
    const chart = new LineChart(card);
    chart.setOptions({ logY: state.log, smoothing: state.smooth, xIsTime: xIsTime() });
    charts.push({ key, chart, card, info });
  }

  const finish = (c) => {
    const series = seriesFor(c.key);
    c.chart.setSeries(series);
    const n = series.reduce((a, s) => a + s.x.length, 0);
    const latest = o.runs.length === 1 && series[0] ? series[0].y[series[0].y.length - 1] : undefined;
    replace(c.info, `${n.toLocaleString()} points`, latest !== undefined ? ` · last ${fmtNum(latest)}` : '');
  };
  let firstPaint = false;
  const partialDraw = (c) => {
    c.chart.setSeries(seriesFor(c.key));
    replace(c.info, 'loading…');
    if (!firstPaint) {
      firstPaint = true;
      requestAnimationFrame(() => o.onFirst && o.onFirst());
    }
  };
  const jobs = [];
  for (const c of charts) {
    c.remaining = o.runs.length;
    for (const r of o.runs) jobs.push({ c, r });
  }
  pool(jobs, 6, async ({ c, r }) => {
    try {
      // progressive: draw what has arrived after every page of a long history
      const hh = await metricHistory(r.id, c.key, o.signal, (partial) => {
        hist.set(`${c.key}\u0000${r.id}`, partial);
        partialDraw(c);
      });
      hist.set(`${c.key}\u0000${r.id}`, hh);
    } catch (err) {
      if (o.signal.aborted) return;
      c.card.appendChild(errorBox(err));
    }
    if (--c.remaining === 0 && !o.signal.aborted) {
      finish(c);
      if (!firstPaint) { firstPaint = true; requestAnimationFrame(() => o.onFirst && o.onFirst()); }
    }
  }).then(() => {
    if (o.signal.aborted) return;
    // two frames: the charts' scheduled draws have run
    requestAnimationFrame(() => requestAnimationFrame(() => o.onDone && o.onDone()));
  });
  return { el, destroy: () => charts.forEach((c) => c.chart.destroy()) };
}
