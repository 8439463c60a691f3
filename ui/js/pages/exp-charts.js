// Charts over a whole experiment: every run of the current filter (the runs page's filter and
// lifecycle view) as a scatter of any param/metric/attribute against another, as parallel
// coordinates over chosen columns, bars of a latest metric, one metric's curves for all of them
// (sampled on the server by get-history-bulk-interval, so that hundreds of runs stay cheap), and
// a difference view of two runs. Runs can be hidden (`hide=` in the URL); each run keeps its
// color (runColor: a hash of its id) in every view.

import { mlflow } from '../api.js';
import { h, replace, errorBox, markRendered, href, runColor, fmtNum, pool } from '../dom.js';
import { ScatterPlot, ParallelPlot, BarPlot, axisOf } from '../plots.js';
import { LineChart } from '../chart.js';

const MAX_RUNS = 5000;
const CURVE_RUNS = 300;
const SAMPLES = 500;
const VIEWS = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' };
const ATTRS = { duration: 'duration (s)', start: 'start time' };

/** The value of a column (`m:key`, `p:key`, `a:duration|start`) for a run. */
function valueOf(run, col) {
  const kind = col[0];
  const key = col.slice(2);
  if (kind === 'm') return run.data?.metrics?.find((m) => m.key === key)?.value;
  if (kind === 'p') return run.data?.params?.find((p) => p.key === key)?.value;
  if (key === 'duration') return run.info.end_time ? (Number(run.info.end_time) - Number(run.info.start_time)) / 1000 : undefined;
  if (key === 'start') return Number(run.info.start_time);
  return undefined;
}
const colLabel = (col) => (col[0] === 'a' ? ATTRS[col.slice(2)] || col : col.slice(2));

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const expId = ctx.params[0];
  const q = ctx.query;
  const filter = q.get('filter') || '';
  const view = q.get('view') || 'active';
  const title = h('h1', null, 'Charts ', h('span', { class: 'muted small' }, `experiment ${expId}`));
  const status = h('div', { id: 'charts-status', class: 'muted' }, 'Loading runs…');
  const filterInput = h('input', { type: 'search', class: 'filter', name: 'filter', value: filter, 'aria-label': 'filter', placeholder: "metrics.loss < 0.5 and params.lr = '0.01'" });
  const body = h('div');
  replace(root, h('div', { class: 'page' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / ', h('a', { href: href(`/experiments/${encodeURIComponent(expId)}`, { filter, view: view === 'active' ? '' : view }) }, 'runs'), ' / '),
    title,
    h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); ctx.go(`/experiments/${encodeURIComponent(expId)}/charts`, { ...Object.fromEntries(q.entries()), filter: filterInput.value.trim() }); } },
      filterInput, h('button', { type: 'submit' }, 'Search'),
      h('a', { href: href(`/experiments/${encodeURIComponent(expId)}`, { filter, view: view === 'active' ? '' : view }) }, 'back to the runs table')),
    status, body));

  mlflow.get('/experiments/get', { experiment_id: expId }, ctx.signal).then((e) => {
    replace(title, 'Charts · ', e.experiment.name);
    document.title = `${e.experiment.name} · charts`;
  }).catch(() => {});

  // every run of the filter, 1000 a page, up to MAX_RUNS
  const runs = [];
  let token;
  let truncated = false;
  try {
    do {
      const r = await mlflow.post('/runs/search', { experiment_ids: [expId], filter: filter || undefined, max_results: 1000, page_token: token, run_view_type: VIEWS[view] || 'ACTIVE_ONLY', order_by: ['attributes.start_time DESC'] }, ctx.signal);
      runs.push(...(r.runs || []));
      token = r.next_page_token;
      if (runs.length >= MAX_RUNS && token) { truncated = true; break; }
    } while (token);
  } catch (err) {
    if (ctx.signal.aborted) return;
    replace(status, errorBox(err));
    filterInput.classList.add('invalid');
    markRendered('exp-charts');
    return;
  }
  if (ctx.signal.aborted) return;
  replace(status, `${runs.length.toLocaleString()} run(s)`, truncated ? ` (the first ${MAX_RUNS.toLocaleString()})` : '', filter ? ' matching the filter' : '');
  if (!runs.length) {
    replace(body, h('p', { class: 'muted empty' }, 'No runs to chart.'));
    markRendered('exp-charts');
    return;
  }

  const mkeys = [...new Set(runs.flatMap((r) => (r.data?.metrics || []).map((m) => m.key)))].sort();
  const pkeys = [...new Set(runs.flatMap((r) => (r.data?.params || []).map((p) => p.key)))].sort();
  const cols = [...mkeys.map((k) => `m:${k}`), ...pkeys.map((k) => `p:${k}`), 'a:duration', 'a:start'];
  const varies = (col) => new Set(runs.map((r) => String(valueOf(r, col) ?? ''))).size > 1;
  const label = (r) => r.info.run_name || r.info.run_id.slice(0, 8);
  const open = (p) => ctx.go(`/runs/${p.id}`);
  const colSelect = (aria, value, onChange) => {
    const s = h('select', { 'aria-label': aria, onchange: () => onChange(s.value) },
      h('optgroup', { label: 'Metrics' }, mkeys.map((k) => h('option', { value: `m:${k}`, selected: value === `m:${k}` }, k))),
      h('optgroup', { label: 'Parameters' }, pkeys.map((k) => h('option', { value: `p:${k}`, selected: value === `p:${k}` }, k))),
      h('optgroup', { label: 'Attributes' }, Object.entries(ATTRS).map(([k, l]) => h('option', { value: `a:${k}`, selected: value === `a:${k}` }, l))));
    return s;
  };
  const valid = (c) => (c && cols.includes(c) ? c : null);
  const color = (r) => runColor(r.info.run_id);

  // show/hide per run: the hidden ids are kept in the URL (hide=); every view draws `shown()`
  const ids = new Set(runs.map((r) => r.info.run_id));
  const hidden = new Set((q.get('hide') || '').split(',').filter((id) => ids.has(id)));
  const shown = () => runs.filter((r) => !hidden.has(r.info.run_id));
  const redraw = () => {
    ctx.setQuery({ hide: [...hidden].join(',') });
    legendCount.textContent = `${runs.length - hidden.size} of ${runs.length} shown`;
    drawScatter(); drawParallel(); drawBars(); drawCurves(); drawDiff();
  };
  const legendFind = h('input', { type: 'search', placeholder: 'find a run', 'aria-label': 'find a run', oninput: () => fillLegend() });
  const legendList = h('div', { class: 'run-legend', id: 'run-legend' });
  const legendCount = h('span', { class: 'muted small', id: 'legend-count' });
  const LEGEND_MAX = 500;
  const fillLegend = () => {
    const f = legendFind.value.toLowerCase();
    const match = runs.filter((r) => !f || label(r).toLowerCase().includes(f));
    replace(legendList, match.slice(0, LEGEND_MAX).map((r) => {
      const box = h('input', { type: 'checkbox', checked: !hidden.has(r.info.run_id), 'aria-label': `show ${label(r)}`, onchange: () => {
        if (box.checked) hidden.delete(r.info.run_id); else hidden.add(r.info.run_id);
        redraw();
      } });
      return h('label', { class: 'legend-run', dataset: { run: r.info.run_id } }, box, h('span', { class: 'swatch', style: { background: color(r) } }), label(r));
    }), match.length > LEGEND_MAX ? h('span', { class: 'muted small' }, `${match.length - LEGEND_MAX} more: type to find them`) : null);
  };
  const setAll = (show) => {
    const f = legendFind.value.toLowerCase();
    for (const r of runs) if (!f || label(r).toLowerCase().includes(f)) { if (show) hidden.delete(r.info.run_id); else hidden.add(r.info.run_id); }
    fillLegend(); redraw();
  };
  const legend = h('div', null, h('div', { class: 'toolbar' }, legendFind,
    h('button', { type: 'button', onclick: () => setAll(true) }, 'Show all'),
    h('button', { type: 'button', onclick: () => setAll(false) }, 'Hide all'), legendCount), legendList);

  // scatter
  const st = {
    x: valid(q.get('x')) || pkeys.map((k) => `p:${k}`).find(varies) || cols[0],
    y: valid(q.get('y')) || (mkeys.length ? `m:${mkeys[0]}` : cols[0]),
    lx: q.get('lx') === '1',
    ly: q.get('ly') === '1',
  };
  const scatterBox = h('div', { class: 'chart-card', id: 'scatter' });
  const scatter = new ScatterPlot(scatterBox, { onClick: open });
  const drawScatter = () => {
    ctx.setQuery({ x: st.x, y: st.y, lx: st.lx ? '1' : '', ly: st.ly ? '1' : '' });
    const pts = shown().map((r) => ({ x: valueOf(r, st.x), y: valueOf(r, st.y), label: label(r), id: r.info.run_id, color: color(r) }));
    scatter.set(pts, axisOf(colLabel(st.x), pts.map((p) => p.x), st.lx), axisOf(colLabel(st.y), pts.map((p) => p.y), st.ly));
  };
  const logBox = (key, text) => {
    const b = h('input', { type: 'checkbox', checked: st[key], onchange: () => { st[key] = b.checked; drawScatter(); } });
    return h('label', null, b, ` ${text}`);
  };
  const scatterControls = h('div', { class: 'toolbar' },
    h('label', null, 'x ', colSelect('scatter x', st.x, (v) => { st.x = v; drawScatter(); })), logBox('lx', 'log x'),
    h('label', null, 'y ', colSelect('scatter y', st.y, (v) => { st.y = v; drawScatter(); })), logBox('ly', 'log y'),
    h('span', { class: 'muted small' }, 'hover a point for its run, click to open it'));

  // parallel coordinates: chosen columns; the last one colors the lines
  let pc = (q.get('pc') || '').split(',').map(valid).filter(Boolean);
  if (!q.has('pc')) pc = [...pkeys.map((k) => `p:${k}`).filter(varies).slice(0, 5), ...(mkeys.length ? [`m:${mkeys[0]}`] : [])];
  const pcBox = h('div', { class: 'chart-card', id: 'parallel' });
  // brushes (ranges on axes, 0..1 from the bottom) in the URL: pcb=[[col, lo, hi], …] as JSON
  const brushInfo = h('span', { class: 'muted small', id: 'brush-info' });
  const brushActions = h('span', { class: 'inline' });
  const showBrush = (inside) => {
    if (!inside) { replace(brushInfo, 'drag along an axis to brush a range'); replace(brushActions); return; }
    replace(brushInfo, `${inside.length} of ${shown().length} shown runs in the brush`);
    replace(brushActions,
      h('button', { type: 'button', onclick: () => {
        const keep = new Set(inside.map((r) => r.id));
        for (const r of shown()) if (!keep.has(r.info.run_id)) hidden.add(r.info.run_id);
        parallel.setBrushes(new Map());
        saveBrushes(new Map());
        fillLegend(); redraw();
      } }, 'Show only these'),
      h('button', { type: 'button', onclick: () => { parallel.setBrushes(new Map()); saveBrushes(new Map()); showBrush(null); } }, 'Clear brush'));
  };
  const saveBrushes = (b) => ctx.setQuery({ pcb: b.size ? JSON.stringify([...b].map(([k, v]) => [k, Number(v.lo.toFixed(4)), Number(v.hi.toFixed(4))])) : '' });
  const parallel = new ParallelPlot(pcBox, { onClick: open, onBrush: (inside, b) => { saveBrushes(b); showBrush(inside); } });
  try {
    const init = JSON.parse(q.get('pcb') || '[]');
    if (Array.isArray(init)) {
      parallel.setBrushes(new Map(init.filter((b) => Array.isArray(b) && typeof b[0] === 'string' && Number.isFinite(b[1]) && Number.isFinite(b[2]))
        .map(([k, lo, hi]) => [k, { lo: Math.max(0, Math.min(lo, hi)), hi: Math.min(1, Math.max(lo, hi)) }])));
    }
  } catch { /* a malformed pcb= is ignored */ }
  const pcChosen = h('span', { class: 'pc-chosen' });
  const drawParallel = () => {
    ctx.setQuery({ pc: pc.join(',') || ',' });
    replace(pcChosen, pc.map((c, i) => h('span', { class: 'chip', dataset: { col: c } }, colLabel(c),
      i > 0 ? h('button', { class: 'x', type: 'button', title: 'move left', 'aria-label': `move ${colLabel(c)} left`, onclick: () => { [pc[i - 1], pc[i]] = [pc[i], pc[i - 1]]; drawParallel(); } }, '‹') : null,
      h('button', { class: 'x', type: 'button', title: `remove ${colLabel(c)}`, 'aria-label': `remove ${colLabel(c)}`, onclick: () => { pc = pc.filter((x) => x !== c); drawParallel(); } }, '×'))));
    const vis = shown();
    const axes = pc.map((c) => Object.assign(axisOf(colLabel(c), vis.map((r) => valueOf(r, c))), { id: c }));
    parallel.set(vis.map((r) => ({ values: pc.map((c) => valueOf(r, c)), label: label(r), id: r.info.run_id })), axes);
    saveBrushes(parallel.brushes);
    showBrush(parallel.brushed());
  };
  const addSel = colSelect('add axis', '', (v) => { if (v && !pc.includes(v)) { pc.push(v); drawParallel(); } addSel.value = ''; });
  addSel.prepend(h('option', { value: '', selected: true }, 'add an axis…'));
  addSel.value = '';
  const pcControls = h('div', { class: 'toolbar' }, pcChosen, addSel, h('span', { class: 'muted small' }, 'the last axis colors the lines'), brushInfo, brushActions);

  // one metric's curves for all the runs, sampled on the server
  const curveKey = { m: mkeys.includes(q.get('m') || '') ? q.get('m') : mkeys[0] };
  const curveBox = h('div', { class: 'chart-card', id: 'curves' });
  const curveInfo = h('span', { class: 'muted small' });
  const curve = new LineChart(curveBox);
  const loadCurves = async () => {
    if (!curveKey.m) { replace(curveInfo, 'No metrics.'); return; }
    ctx.setQuery({ m: curveKey.m });
    replace(curveInfo, 'loading…');
    const fetched = runs.slice(0, CURVE_RUNS);
    const byRun = new Map();
    // 100 runs a request, up to three in flight; the chart is drawn as each one arrives
    const chunks = [];
    for (let k = 0; k < fetched.length; k += 100) chunks.push(fetched.slice(k, k + 100).map((r) => r.info.run_id));
    try {
      await pool(chunks, 3, async (chunk) => {
        const r = await mlflow.get('/metrics/get-history-bulk-interval', { run_ids: chunk, metric_key: curveKey.m, max_results: SAMPLES }, ctx.signal);
        for (const m of r.metrics || []) {
          if (!byRun.has(m.run_id)) byRun.set(m.run_id, { x: [], y: [] });
          const s = byRun.get(m.run_id);
          s.x.push(Number(m.step || 0));
          s.y.push(typeof m.value === 'number' ? m.value : Number(m.value));
        }
        if (!ctx.signal.aborted && chunks.length > 1) { curveData = { runs: fetched, byRun }; drawCurves(); markRendered('exp-first-curves'); }
      });
    } catch (err) {
      if (!ctx.signal.aborted) replace(curveInfo, errorBox(err));
      return;
    }
    if (ctx.signal.aborted) return;
    curveData = { runs: fetched, byRun };
    drawCurves();
    requestAnimationFrame(() => requestAnimationFrame(() => markRendered('exp-curves')));
  };
  /** @type {{runs: any[], byRun: Map<string, {x: number[], y: number[]}>}|null} */
  let curveData = null;
  const drawCurves = () => {
    if (!curveData) return;
    const { byRun } = curveData;
    const series = curveData.runs.filter((r) => byRun.has(r.info.run_id) && !hidden.has(r.info.run_id)).map((r) => ({ name: label(r), color: color(r), x: Float64Array.from(byRun.get(r.info.run_id).x), y: Float64Array.from(byRun.get(r.info.run_id).y) }));
    curve.setSeries(series);
    const n = series.reduce((a, s) => a + s.x.length, 0);
    replace(curveInfo, `${series.length} run(s), ${n.toLocaleString()} points, at most ${SAMPLES} steps a run (sampled on the server)`, runs.length > CURVE_RUNS ? `; of the ${CURVE_RUNS} latest runs` : '');
  };
  const curveSel = h('select', { 'aria-label': 'curve metric', onchange: () => { curveKey.m = curveSel.value; loadCurves(); } },
    mkeys.map((k) => h('option', { value: k, selected: k === curveKey.m }, k)));

  // bars: one metric's latest value per shown run, sorted
  const bar = { m: mkeys.includes(q.get('bar') || '') ? q.get('bar') : mkeys[0], desc: q.get('bs') === 'desc' };
  const barBox = h('div', { class: 'chart-card', id: 'bars' });
  const bars = new BarPlot(barBox, { onClick: open });
  const drawBars = () => {
    ctx.setQuery({ bar: bar.m || '', bs: bar.desc ? 'desc' : '' });
    if (!bar.m) return;
    const rows = shown().map((r) => ({ value: Number(valueOf(r, `m:${bar.m}`)), label: label(r), id: r.info.run_id, color: color(r) }))
      .filter((r) => Number.isFinite(r.value)).sort((a, b) => (bar.desc ? b.value - a.value : a.value - b.value));
    bars.set(rows, `${bar.m} (latest)`);
  };
  const barSel = h('select', { 'aria-label': 'bar metric', onchange: () => { bar.m = barSel.value; drawBars(); } }, mkeys.map((k) => h('option', { value: k, selected: k === bar.m }, k)));
  const barOrder = h('select', { 'aria-label': 'bar order', onchange: () => { bar.desc = barOrder.value === 'desc'; drawBars(); } },
    h('option', { value: 'asc', selected: !bar.desc }, 'smallest first'), h('option', { value: 'desc', selected: bar.desc }, 'largest first'));

  // difference view: two runs' params and latest metrics side by side, with deltas
  const diffBox = h('div', { id: 'diff' });
  const diff = { a: q.get('da') || '', b: q.get('db') || '', only: q.get('dd') === '1' };
  const runSel = (aria, key) => {
    const s = h('select', { 'aria-label': aria, onchange: () => { diff[key] = s.value; drawDiff(); } });
    return s;
  };
  const selA = runSel('difference run A', 'a');
  const selB = runSel('difference run B', 'b');
  const onlyBox = h('input', { type: 'checkbox', checked: diff.only, onchange: () => { diff.only = onlyBox.checked; drawDiff(); } });
  const drawDiff = () => {
    const vis = shown();
    const byId = new Map(runs.map((r) => [r.info.run_id, r]));
    if (!byId.has(diff.a)) diff.a = vis[0]?.info.run_id || '';
    if (!byId.has(diff.b) || diff.b === diff.a) diff.b = vis.find((r) => r.info.run_id !== diff.a)?.info.run_id || '';
    for (const [s, cur] of [[selA, diff.a], [selB, diff.b]]) {
      // the shown runs, and the chosen one even when hidden
      const opts = runs.filter((r) => !hidden.has(r.info.run_id) || r.info.run_id === cur);
      replace(s, opts.slice(0, 2000).map((r) => h('option', { value: r.info.run_id, selected: r.info.run_id === cur }, label(r))));
    }
    ctx.setQuery({ da: diff.a, db: diff.b, dd: diff.only ? '1' : '' });
    const A = byId.get(diff.a);
    const B = byId.get(diff.b);
    if (!A || !B) { replace(diffBox, h('p', { class: 'muted' }, 'Show at least two runs to compare them.')); return; }
    const num = (v) => (v === undefined || v === null || v === '' ? NaN : Number(v));
    const rowsOf = (kind, title) => {
      const pick = (r, k) => r.data?.[kind]?.find((x) => x.key === k)?.value;
      const keys = [...new Set([A, B].flatMap((r) => (r.data?.[kind] || []).map((x) => x.key)))].sort();
      const rows = keys.map((k) => {
        const a = pick(A, k);
        const b = pick(B, k);
        const differs = String(a ?? '∅') !== String(b ?? '∅');
        const na = num(a);
        const nb = num(b);
        const numeric = Number.isFinite(na) && Number.isFinite(nb);
        const d = numeric ? nb - na : NaN;
        const rel = numeric && na !== 0 ? (d / Math.abs(na)) * 100 : NaN;
        const fmt = (v) => (v === undefined ? h('span', { class: 'muted' }, '∅') : kind === 'metrics' ? fmtNum(v) : String(v));
        return (!diff.only || differs) ? h('tr', { class: differs ? 'diff' : '', dataset: { key: k, kind } },
          h('th', null, k), h('td', null, fmt(a)), h('td', null, fmt(b)),
          h('td', { class: `num delta${numeric && d > 0 ? ' up' : numeric && d < 0 ? ' down' : ''}` }, numeric ? `${d > 0 ? '+' : ''}${fmtNum(d)}` : ''),
          h('td', { class: 'num' }, Number.isFinite(rel) ? `${rel > 0 ? '+' : ''}${rel.toFixed(1)}%` : '')) : null;
      }).filter(Boolean);
      return [h('tr', { class: 'group' }, h('th', { colspan: 5 }, `${title} (${rows.length})`)), rows];
    };
    replace(diffBox, h('div', { class: 'table-wrap' }, h('table', { class: 'grid compare diff-view' },
      h('thead', null, h('tr', null, h('th', null, 'key'),
        h('th', null, h('span', { class: 'swatch', style: { background: color(A) } }), h('a', { href: href(`/runs/${A.info.run_id}`) }, `A: ${label(A)}`)),
        h('th', null, h('span', { class: 'swatch', style: { background: color(B) } }), h('a', { href: href(`/runs/${B.info.run_id}`) }, `B: ${label(B)}`)),
        h('th', null, 'B − A'), h('th', null, 'relative'))),
      h('tbody', null, rowsOf('metrics', 'Metrics (latest)'), rowsOf('params', 'Parameters')))));
  };

  replace(body,
    h('section', null, h('h2', null, 'Runs'), legend),
    h('section', null, h('h2', null, 'Scatter'), scatterControls, scatterBox),
    h('section', null, h('h2', null, 'Parallel coordinates'), pcControls, pcBox),
    h('section', null, h('h2', null, 'Bars'), h('div', { class: 'toolbar' }, h('label', null, 'metric ', barSel), barOrder, h('span', { class: 'muted small' }, 'latest value per run; click a bar to open its run')), barBox),
    h('section', null, h('h2', null, 'Metric curves'), h('div', { class: 'toolbar' }, h('label', null, 'metric ', curveSel), curveInfo), curveBox),
    h('section', null, h('h2', null, 'Difference'), h('div', { class: 'toolbar' }, h('label', null, 'A ', selA), h('label', null, 'B ', selB),
      h('button', { type: 'button', onclick: () => { [diff.a, diff.b] = [diff.b, diff.a]; drawDiff(); } }, 'Swap'),
      h('label', null, onlyBox, ' only differences')), diffBox));
  fillLegend();
  legendCount.textContent = `${runs.length - hidden.size} of ${runs.length} shown`;
  drawScatter();
  drawParallel();
  drawBars();
  drawDiff();
  loadCurves();
  requestAnimationFrame(() => requestAnimationFrame(() => markRendered('exp-charts')));
  return () => { scatter.destroy(); parallel.destroy(); bars.destroy(); curve.destroy(); };
}

