// A grid of metric charts, one per key, each overlaying one series per run. Used by the run
// page (one run) and the compare page (2 to 20 runs). The run page fetches histories in full with
// paged get-history, a few at a time, and LineChart draws every point. With `sampleSteps` (the
// compare page) each chart first fetches all its runs' histories sampled in one request
// (get-history-bulk-interval), and an "all points" button on the chart fetches them in full.

import { metricHistory, metricTail, sampledHistories } from './api.js';
import { h, replace, pool, errorBox, fmtNum } from './dom.js';
import { LineChart, chartControls, xOf, seriesCsv, download } from './chart.js';

/**
 * @param {{sampleSteps?: number, runs: {id: string, name: string, color: string}[], keys: string[], state: {x: string, log: boolean, smooth: number, zoom?: number[]|null}, signal: AbortSignal, onState: (s: object) => void, onDone?: () => void, onFirst?: () => void}} o
 */
export function metricGrid(o) {
  const state = { perKey: {}, ...o.state };
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
    if (s.x !== undefined) state.zoom = null; // a range of steps means nothing on a time axis
    o.onState(state);
    for (const c of charts) {
      if (s.x !== undefined) { c.chart.setOptions({ xIsTime: xIsTime() }); c.chart.setSeries(seriesFor(c.key)); }
      c.chart.setOptions({ logY: state.log || !!state.perKey[c.key]?.log, smoothing: state.smooth });
    }
  });
  // zooming one chart zooms them all to the same x range, and the URL keeps it
  const onZoom = (z) => {
    state.zoom = z;
    for (const c of charts) c.chart.setZoom(z);
    o.onState(state);
  };
  const el = h('div', { class: 'metric-grid' }, controls, o.keys.length ? grid : h('p', { class: 'muted' }, 'No metrics logged.'));

  const addChart = (key) => {
    const info = h('span', { class: 'muted small' }, 'loading…');
    const safe = key.replace(/[^\w.-]+/g, '_');
    const xName = () => ({ step: 'step', rel: 'relative_time_ms', time: 'timestamp_ms' }[state.x] || 'x');
    const exportBtns = h('span', { class: 'chart-export' },
      h('button', { type: 'button', class: 'x', title: `download ${key} as CSV`, 'aria-label': `download ${key} as CSV`, onclick: () => download(new Blob([seriesCsv(seriesFor(key), xName())], { type: 'text/csv' }), `${safe}.csv`) }, 'CSV'),
      h('button', { type: 'button', class: 'x', title: `download ${key} as PNG`, 'aria-label': `download ${key} as PNG`, onclick: async () => download(await chart.png(), `${safe}.png`) }, 'PNG'));
    // per chart: log scale (also on when the page's log scale is), a fixed y range, fullscreen
    const own = state.perKey[key] || {};
    const logBox = h('input', { type: 'checkbox', checked: !!own.log, 'aria-label': `log scale for ${key}`, onchange: () => setOwn({ log: logBox.checked }) });
    const num = (v) => (v === '' || v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v));
    const yMinIn = h('input', { type: 'number', step: 'any', size: 6, placeholder: 'auto', value: own.yMin ?? '', 'aria-label': `y min for ${key}`, onchange: () => setOwn({ yMin: num(yMinIn.value) }) });
    const yMaxIn = h('input', { type: 'number', step: 'any', size: 6, placeholder: 'auto', value: own.yMax ?? '', 'aria-label': `y max for ${key}`, onchange: () => setOwn({ yMax: num(yMaxIn.value) }) });
    const setOwn = (change) => {
      const next = { ...(state.perKey[key] || {}), ...change };
      if (!next.log) delete next.log;
      if (next.yMin === null) delete next.yMin;
      if (next.yMax === null) delete next.yMax;
      if (Object.keys(next).length) state.perKey[key] = next; else delete state.perKey[key];
      applyOwn();
      o.onState(state);
    };
    const applyOwn = () => {
      const cur = state.perKey[key] || {};
      chart.setOptions({ logY: state.log || !!cur.log, yMin: cur.yMin ?? null, yMax: cur.yMax ?? null });
    };
    let full = false;
    const fullBtn = h('button', { type: 'button', class: 'x', 'aria-label': `fullscreen ${key}`, title: 'fullscreen (Esc to leave)', onclick: () => setFull(!full) }, '⤢');
    const onKey = (e) => { if (e.key === 'Escape') setFull(false); };
    const setFull = (f) => {
      full = f;
      card.classList.toggle('fullscreen', f);
      fullBtn.setAttribute('aria-label', f ? `leave fullscreen ${key}` : `fullscreen ${key}`);
      card.style.height = '';
      chart.setHeight(f ? Math.max(240, window.innerHeight - 140) : 220);
      if (f) document.addEventListener('keydown', onKey); else document.removeEventListener('keydown', onKey);
    };
    o.signal.addEventListener('abort', () => document.removeEventListener('keydown', onKey), { once: true });
    const opts = h('details', { class: 'chart-opts' }, h('summary', { title: `options of ${key}`, 'aria-label': `options of ${key}` }, '⚙'),
      h('div', { class: 'chart-opts-pop' }, h('label', null, logBox, ' log scale'), h('label', null, 'y min ', yMinIn), h('label', null, 'y max ', yMaxIn)));
    const card = h('div', { class: 'chart-card', dataset: { metric: key } }, h('div', { class: 'chart-title' }, h('b', null, key), ' ', info, exportBtns, opts, fullBtn));
    grid.appendChild(card);
    const chart = new LineChart(card);
    // resizable: the card's resize handle (CSS resize: vertical) sets its height; the chart follows
    const titleEl = /** @type {HTMLElement} */ (card.firstChild);
    const ro = new ResizeObserver(() => {
      if (full || !card.style.height) return;
      const want = Math.max(120, Math.round(card.clientHeight - titleEl.offsetHeight - 20));
      if (Math.abs(want - chart.height) > 1) chart.setHeight(want);
    });
    ro.observe(card);
    o.signal.addEventListener('abort', () => ro.disconnect(), { once: true });
    chart.setOptions({ logY: state.log, smoothing: state.smooth, xIsTime: xIsTime() });
    applyOwn();
    chart.setZoom(state.zoom || null);
    chart.onZoom = onZoom;
    const c = { key, chart, card, info, remaining: 0 };
    charts.push(c);
    return c;
  };
  for (const key of o.keys) addChart(key);

  const finish = (c) => {
    const series = seriesFor(c.key);
    c.chart.setSeries(series);
    const n = series.reduce((a, s) => a + s.x.length, 0);
    const latest = o.runs.length === 1 && series[0] ? series[0].y[series[0].y.length - 1] : undefined;
    replace(c.info, `${n.toLocaleString()} points`, latest !== undefined ? ` · last ${fmtNum(latest)}` : '',
      c.sampled ? [' · sampled (≤ ', o.sampleSteps.toLocaleString(), ' steps per run) ', h('button', { type: 'button', class: 'link', 'aria-label': `all points of ${c.key}`, onclick: () => loadFull(c) }, 'all points')] : '');
    // a text alternative of the canvas: per run its last value and range (the first five runs)
    const per = series.slice(0, 5).map((s) => {
      let lo = Infinity; let hi = -Infinity;
      for (const v of s.y) { if (v < lo) lo = v; if (v > hi) hi = v; }
      return `${s.name}: ${s.x.length} points, last ${fmtNum(s.y[s.y.length - 1])}, min ${fmtNum(lo)}, max ${fmtNum(hi)}`;
    });
    c.chart.el.setAttribute('role', 'img');
    c.chart.el.setAttribute('aria-label', `Chart of ${c.key} by ${state.x === 'step' ? 'step' : 'time'}. ${per.join('; ')}${series.length > 5 ? `; and ${series.length - 5} more runs` : ''}.`);
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
  const ids = o.runs.map((r) => r.id);
  const loadSampled = async (c, runIds = ids) => {
    const got = await sampledHistories(runIds, c.key, o.sampleSteps, o.signal);
    for (const [id, hh] of got) hist.set(`${c.key}\u0000${id}`, hh);
    c.sampled = true;
  };
  /** The chart's histories in full (the "all points" button of a sampled chart). */
  const loadFull = async (c) => {
    replace(c.info, 'loading all points…');
    try {
      await pool(o.runs, 4, async (r) => hist.set(`${c.key}\u0000${r.id}`, await metricHistory(r.id, c.key, o.signal)));
      c.sampled = false;
    } catch (err) {
      if (o.signal.aborted) return;
      c.card.appendChild(errorBox(err));
    }
    if (!o.signal.aborted) finish(c);
  };
  const jobs = [];
  for (const c of charts) {
    c.remaining = o.sampleSteps ? 1 : o.runs.length;
    if (o.sampleSteps) jobs.push({ c, r: null });
    else for (const r of o.runs) jobs.push({ c, r });
  }
  const loaded = pool(jobs, o.sampleSteps ? 3 : 6, async ({ c, r }) => {
    if (!r) {
      try {
        await loadSampled(c);
      } catch (err) {
        if (o.signal.aborted) return;
        c.card.appendChild(errorBox(err));
      }
      c.remaining = 0;
      if (!o.signal.aborted) {
        finish(c);
        if (!firstPaint) { firstPaint = true; requestAnimationFrame(() => o.onFirst && o.onFirst()); }
      }
      return;
    }
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

  /**
   * Live update: appends the points logged since the last fetch (only the tail of each history:
   * metricTail) for the given runs, and adds a chart for every key not shown yet. Resolves to the
   * number of new points.
   * @param {string[]} runIds @param {string[]} keys
   */
  const refresh = async (runIds, keys) => {
    await loaded; // the first full load, then only tails
    if (keys.length && !el.contains(grid)) el.replaceChildren(controls, grid);
    const todo = [];
    for (const key of keys) {
      let c = charts.find((x) => x.key === key);
      if (!c) c = addChart(key);
      for (const id of runIds) todo.push({ c, id });
    }
    const changed = new Set();
    let added = 0;
    // A sampled chart is sampled again for the refreshed runs (one request), not extended by tails.
    const resampled = [...new Set(todo.filter(({ c }) => o.sampleSteps && c.sampled !== false).map(({ c }) => c))];
    await pool(resampled, 3, async (c) => {
      const count = () => runIds.reduce((a, id) => a + (hist.get(`${c.key}\u0000${id}`)?.step.length || 0), 0);
      const before = count();
      await loadSampled(c, runIds);
      added += count() - before;
      changed.add(c);
    });
    todo.splice(0, todo.length, ...todo.filter(({ c }) => !resampled.includes(c)));
    await pool(todo, 4, async ({ c, id }) => {
      const k = `${c.key}\u0000${id}`;
      const had = hist.get(k);
      let next = had ? await metricTail(id, c.key, had, o.signal) : null;
      if (!next) next = await metricHistory(id, c.key, o.signal);
      if (next === had) return;
      added += next.step.length - (had ? had.step.length : 0);
      hist.set(k, next);
      changed.add(c);
    });
    if (o.signal.aborted) return 0;
    for (const c of changed) finish(c);
    return added;
  };
  return { el, refresh, destroy: () => charts.forEach((c) => c.chart.destroy()) };
}
