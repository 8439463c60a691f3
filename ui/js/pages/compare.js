// Compare 2 to 20 runs: overlaid metric charts, and params / latest metrics / tags side by side
// with the rows that differ highlighted ("only differences" hides the rest).

import { mlflow } from '../api.js';
import { h, replace, fmtNum, fmtTime, errorBox, markRendered, href, runColor } from '../dom.js';
import { metricGrid } from '../metric-grid.js';
import { chartState, chartQuery } from './run.js';
import { liveUpdates, isLive } from '../live.js';

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const ids = [...new Set((ctx.query.get('runs') || '').split(',').filter(Boolean))];
  const page = h('div', { class: 'page' });
  replace(root, page);
  if (ids.length < 2 || ids.length > 20) {
    replace(page, h('h1', null, 'Compare runs'), errorBox(`Select between 2 and 20 runs to compare (got ${ids.length}).`));
    return;
  }
  replace(page, h('p', { class: 'muted' }, 'Loading runs…'));
  const runs = await Promise.all(ids.map((id) => mlflow.get('/runs/get', { run_id: id }, ctx.signal).then((r) => r.run)));
  const expId = runs[0].info.experiment_id;
  const color = (i) => runColor(runs[i].info.run_id);
  const label = (r) => r.info.run_name || r.info.run_id.slice(0, 8);
  let onlyDiff = ctx.query.get('diff') === '1';

  const table = h('div', { class: 'table-wrap' });
  const section = (title, kind, pick, fmt) => {
    const keys = [...new Set(runs.flatMap((r) => (r.data?.[kind] || []).map((x) => x.key)))].filter((k) => kind !== 'tags' || !k.startsWith('mlflow.')).sort();
    const rows = keys.map((k) => {
      const vals = runs.map((r) => pick(r, k));
      const differs = new Set(vals.map((v) => String(v ?? '∅'))).size > 1;
      return { k, vals, differs };
    });
    return { title, rows, fmt };
  };
  const sectionsOf = () => [
    section('Parameters', 'params', (r, k) => r.data?.params?.find((p) => p.key === k)?.value, (v) => v ?? ''),
    section('Metrics (latest)', 'metrics', (r, k) => r.data?.metrics?.find((p) => p.key === k)?.value, fmtNum),
    section('Tags', 'tags', (r, k) => r.data?.tags?.find((p) => p.key === k)?.value, (v) => v ?? ''),
  ];
  const drawTable = () => {
    const sections = sectionsOf();
    replace(table, h('table', { class: 'grid compare' },
      h('thead', null, h('tr', null, h('th', null, 'Run'), runs.map((r, i) => h('th', null, h('span', { class: 'swatch', style: { background: color(i) } }), h('a', { href: href(`/runs/${r.info.run_id}`) }, label(r)))))),
      h('tbody', null,
        h('tr', null, h('th', null, 'Started'), runs.map((r) => h('td', null, fmtTime(r.info.start_time)))),
        h('tr', { dataset: { key: 'status' } }, h('th', null, 'Status'), runs.map((r) => h('td', null, h('span', { class: `status st-${r.info.status}` }, r.info.status)))),
        sections.map((s) => [
          h('tr', { class: 'group' }, h('th', { colspan: runs.length + 1 }, s.title, ' ', h('span', { class: 'muted small' }, `${s.rows.filter((r) => r.differs).length} of ${s.rows.length} differ`))),
          s.rows.filter((r) => !onlyDiff || r.differs).map((r) => h('tr', { class: r.differs ? 'diff' : '', dataset: { key: r.k } }, h('th', null, r.k), r.vals.map((v) => h('td', null, s.fmt(v))))),
        ]))));
  };
  const diffBox = h('input', { type: 'checkbox', checked: onlyDiff, onchange: () => { onlyDiff = diffBox.checked; ctx.setQuery({ diff: onlyDiff ? '1' : '' }); drawTable(); } });
  drawTable();

  const keys = [...new Set(runs.flatMap((r) => (r.data?.metrics || []).map((m) => m.key)))].sort();
  const grid = metricGrid({
    // sampled first (one request per chart for all runs), full resolution on demand per chart
    sampleSteps: 1000,
    runs: runs.map((r, i) => ({ id: r.info.run_id, name: label(r), color: color(i) })),
    keys,
    state: chartState(ctx.query),
    signal: ctx.signal,
    onState: (s) => ctx.setQuery(chartQuery(s)),
    onDone: () => markRendered('compare-charts'),
    onFirst: () => markRendered('compare-first-chart'),
  });
  // live: the running runs' rows, statuses and metric tails refresh by themselves
  let liveBox = null;
  if (runs.some((r) => isLive(r.info.status))) {
    liveBox = liveUpdates({ signal: ctx.signal, what: 'the running runs', tick: async () => {
      const live = runs.map((r, i) => ({ r, i })).filter(({ r }) => isLive(r.info.status));
      const fresh = await Promise.all(live.map(({ r }) => mlflow.get('/runs/get', { run_id: r.info.run_id }, ctx.signal).then((x) => x.run)));
      live.forEach(({ i }, j) => { runs[i] = fresh[j]; });
      drawTable();
      const keys = [...new Set(runs.flatMap((r) => (r.data?.metrics || []).map((m) => m.key)))].sort();
      await grid.refresh(live.map(({ r }) => r.info.run_id), keys);
      markRendered('compare-live');
      return runs.some((r) => isLive(r.info.status));
    } }).el;
  }
  const crumbExp = h('a', { href: href(`/experiments/${expId}`) }, `experiment ${expId}`);
  mlflow.get('/experiments/get', { experiment_id: expId }, ctx.signal).then((e) => { crumbExp.textContent = e.experiment.name; }).catch(() => {});
  const legend = h('div', { class: 'legend' }, runs.map((r, i) => h('span', null, h('span', { class: 'swatch', style: { background: color(i) } }), label(r))));
  replace(page,
    h('div', { class: 'crumbs' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / ', crumbExp, ' / '),
    h('h1', null, `Compare ${runs.length} runs `, liveBox),
    h('section', null, h('div', { class: 'toolbar' }, h('label', null, diffBox, ' only differences')), table),
    h('section', null, h('h2', null, 'Metrics'), legend, grid.el));
  markRendered('compare');
  return () => grid.destroy();
}
