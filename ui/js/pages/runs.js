// An experiment's runs: MLflow's filter language, server-side sorting, paging, selectable
// metric/param/tag columns, multi-select (compare, delete), nested runs under their parent
// (the mlflow.parentRunId tag; expand/collapse, `open=` in the URL) and live rows for running runs. The table is virtualized: only the
// rows in view are in the DOM, so a page of 10,000 runs renders as fast as one of 100.

import { mlflow } from '../api.js';
import { h, replace, fmtTime, fmtDuration, fmtNum, errorBox, toast, markRendered, href } from '../dom.js';
import { liveUpdates, isLive } from '../live.js';
import { permissionsOf, allows, deny } from '../session.js';

const ROW_H = 30;
// new runs: at most NEW_PAGE added a round; runs whose clock is up to NEW_SKEW_MS behind still count
const NEW_PAGE = 100;
const NEW_SKEW_MS = 60000;
// counting the matching runs: 1,000 a request, at most 10,000 (tests shrink both through window)
const countLimits = () => {
  const w = /** @type {any} */ (window);
  const page = Number(w.__mlpCountPage) >= 1 ? Number(w.__mlpCountPage) : 1000;
  const cap = Number(w.__mlpCountCap) >= 1 ? Number(w.__mlpCountCap) : 10000;
  return { page, cap };
};
const PAGE_SIZES = [25, 100, 500, 1000, 5000, 10000];
const KIND = { m: 'metrics', p: 'params', t: 'tags' };
const ATTR = [
  { id: 'name', label: 'Run', order: 'attributes.run_name' },
  { id: 'created', label: 'Created', order: 'attributes.start_time' },
  { id: 'duration', label: 'Duration', order: null },
  { id: 'status', label: 'Status', order: 'attributes.status' },
];

const quote = (k) => '`' + k.replace(/`/g, '') + '`';

/** Parses an order_by like "metrics.`loss` DESC" into {col, desc}. */
function parseOrder(order) {
  const m = /^\s*(\w+)\.(?:`([^`]*)`|"([^"]*)"|(\S+))\s*(ASC|DESC)?\s*$/i.exec(order || '');
  if (!m) return null;
  return { field: `${m[1].toLowerCase()}.${m[2] ?? m[3] ?? m[4]}`, desc: (m[5] || 'ASC').toUpperCase() === 'DESC' };
}

function index(run) {
  if (run._ix) return run._ix;
  const m = new Map();
  const p = new Map();
  const t = new Map();
  for (const x of run.data?.metrics || []) m.set(x.key, x.value);
  for (const x of run.data?.params || []) p.set(x.key, x.value);
  for (const x of run.data?.tags || []) t.set(x.key, x.value);
  run._ix = { m, p, t };
  return run._ix;
}

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const expId = ctx.params[0];
  const q = ctx.query;
  const filter = q.get('filter') || '';
  const order = q.get('order') || '';
  const ps = Number(q.get('ps')) || 100;
  const pt = q.get('pt') || '';
  const prev = (q.get('prev') || '').split(',').filter(Boolean);
  const view = q.get('view') || 'active';
  const nav = (changes) => {
    const cur = Object.fromEntries(q.entries());
    ctx.go(`/experiments/${encodeURIComponent(expId)}`, { ...cur, ...changes });
  };

  const title = h('h1', null, 'Experiment ', h('span', { class: 'muted' }, expId));
  const filterInput = h('input', { type: 'search', class: 'filter', name: 'filter', value: filter, 'aria-label': 'filter', placeholder: "metrics.loss < 0.5 and params.lr = '0.01' and tags.team = 'ml'" });
  const filterErr = h('div', { id: 'filter-error' });
  const filterForm = h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); nav({ filter: filterInput.value.trim(), pt: '', prev: '' }); } },
    filterInput, h('button', { type: 'submit' }, 'Search'),
    filter ? h('button', { type: 'button', onclick: () => nav({ filter: '', pt: '', prev: '' }) }, 'Clear') : null);
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading runs…'));
  replace(root, h('div', { class: 'page' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / '),
    title, filterForm, filterErr, body));

  const runViewType = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' }[view] || 'ACTIVE_ONLY';
  const [expRes, runsRes] = await Promise.allSettled([
    mlflow.get('/experiments/get', { experiment_id: expId }, ctx.signal),
    mlflow.post('/runs/search', { experiment_ids: [expId], filter: filter || undefined, order_by: order ? [order] : undefined, max_results: ps, page_token: pt || undefined, run_view_type: runViewType }, ctx.signal),
  ]);
  if (ctx.signal.aborted) return;
  if (expRes.status === 'fulfilled') {
    replace(title, expRes.value.experiment.name, ' ', h('span', { class: 'muted small' }, `#${expId}`));
    document.title = `${expRes.value.experiment.name} · runs`;
  } else {
    replace(body, errorBox(expRes.reason));
    return;
  }
  if (runsRes.status === 'rejected') {
    replace(filterErr, errorBox(runsRes.reason));
    filterInput.classList.add('invalid');
    replace(body, h('p', { class: 'muted' }, 'No runs shown: fix the filter above.'));
    markRendered('runs');
    return;
  }
  /** @type {any[]} */
  const runs = runsRes.value.runs || [];
  const next = runsRes.value.next_page_token;

  // available columns, from this page's runs
  const keys = { m: new Set(), p: new Set(), t: new Set() };
  for (const r of runs) {
    const ix = index(r);
    for (const k of ix.m.keys()) keys.m.add(k);
    for (const k of ix.p.keys()) keys.p.add(k);
    for (const k of ix.t.keys()) if (!k.startsWith('mlflow.')) keys.t.add(k);
  }
  const sorted = (s) => [...s].sort();
  let cols = q.has('cols')
    ? (q.get('cols') || '').split(',').filter(Boolean).map((c) => ({ kind: c[0], key: c.slice(2) })).filter((c) => KIND[c.kind])
    : [...sorted(keys.m).slice(0, 5).map((key) => ({ kind: 'm', key })), ...sorted(keys.p).slice(0, 5).map((key) => ({ kind: 'p', key }))];
  const colId = (c) => `${c.kind}:${c.key}`;

  const selected = new Set();
  const ord = parseOrder(order);

  // grouping (of this page's runs): by a param (p:key), a tag (t:key) or the datasets (d:), with
  // count and min/mean/max of one metric per group; collapsed groups are kept in the URL (gc=)
  let groupBy = q.get('group') || '';
  let aggKey = q.get('agg') || '';
  const collapsed = new Set((q.get('gc') || '').split('\u001f').filter(Boolean));
  const groupOf = (r) => {
    if (groupBy === 'd:') {
      const ds = (r.inputs?.dataset_inputs || []).map((d) => `${d.dataset?.name}${d.dataset?.digest ? ` (${d.dataset.digest})` : ''}`).sort();
      return ds.length ? ds.join(', ') : null;
    }
    return index(r)[groupBy[0]]?.get(groupBy.slice(2)) ?? null;
  };
  const groupLabel = () => (groupBy === 'd:' ? 'dataset' : `${{ p: 'param', t: 'tag' }[groupBy[0]]} ${groupBy.slice(2)}`);

  // nested runs: a run whose parent is on this page is shown under it (collapsed by default)
  const expanded = new Set((q.get('open') || '').split(',').filter(Boolean));
  /** @type {Map<string, any[]>} */
  let children = new Map();
  /** @type {{r: any, depth: number}[]} */
  let flat = [];
  const rebuild = () => {
    const byId = new Map(runs.map((r) => [r.info.run_id, r]));
    const parentOf = (r) => {
      const p = index(r).t.get('mlflow.parentRunId');
      if (!p || !byId.has(p)) return null;
      // a cycle of parent tags (never written by mlflow, but possible) shows its runs flat
      const seen = new Set([r.info.run_id]);
      for (let up = p; up; up = index(byId.get(up)).t.get('mlflow.parentRunId')) {
        if (seen.has(up)) return null;
        seen.add(up);
        if (!byId.has(up)) break;
      }
      return p;
    };
    children = new Map();
    const roots = [];
    for (const r of runs) {
      const p = parentOf(r);
      if (p) children.set(p, [...(children.get(p) || []), r]); else roots.push(r);
    }
    flat = [];
    if (groupBy) {
      // groups sorted by value (numbers as numbers), runs without a value last; runs keep the
      // server's order inside their group and are shown flat
      /** @type {Map<string, any[]>} */
      const groups = new Map();
      for (const r of runs) {
        const g = groupOf(r);
        const k = g === null ? '\u0000' : String(g);
        if (!groups.has(k)) groups.set(k, []);
        groups.get(k).push(r);
      }
      const keysSorted = [...groups.keys()].sort((a, b) => (a === '\u0000') - (b === '\u0000') || a.localeCompare(b, 'en', { numeric: true }));
      for (const k of keysSorted) {
        const members = groups.get(k);
        flat.push({ group: { key: k, label: k === '\u0000' ? null : k, runs: members } });
        if (!collapsed.has(k)) for (const r of members) flat.push({ r, depth: 1 });
      }
      return;
    }
    const walk = (r, depth) => {
      flat.push({ r, depth });
      if (expanded.has(r.info.run_id)) for (const c of children.get(r.info.run_id) || []) walk(c, depth + 1);
    };
    roots.forEach((r) => walk(r, 0));
  };
  rebuild();
  const toggle = (id) => {
    if (expanded.has(id)) expanded.delete(id); else expanded.add(id);
    ctx.setQuery({ open: [...expanded].join(',') });
    rebuild();
    drawRows();
  };

  // toolbar: columns, selection actions, paging
  const picker = h('details', { class: 'picker' });
  const pickerFilter = h('input', { type: 'search', placeholder: 'filter columns', 'aria-label': 'filter columns' });
  const pickerList = h('div', { class: 'picker-list' });
  const fillPicker = () => {
    const f = pickerFilter.value.toLowerCase();
    const chosen = new Set(cols.map(colId));
    const group = (kind, label) => {
      const ks = sorted(keys[kind]).filter((k) => k.toLowerCase().includes(f));
      if (!ks.length) return null;
      return h('fieldset', null, h('legend', null, label), ks.map((k) => h('label', null,
        h('input', { type: 'checkbox', checked: chosen.has(`${kind}:${k}`), dataset: { col: `${kind}:${k}` }, onchange: (e) => {
          const id = `${kind}:${k}`;
          if (e.target.checked) cols.push({ kind, key: k }); else cols = cols.filter((c) => colId(c) !== id);
          ctx.setQuery({ cols: cols.map(colId).join(',') || ',' });
          drawHead(); drawRows();
        } }), ` ${k}`)));
    };
    replace(pickerList, group('m', 'Metrics'), group('p', 'Parameters'), group('t', 'Tags'));
  };
  pickerFilter.addEventListener('input', fillPicker);
  replace(picker, h('summary', null, 'Columns'), h('div', { class: 'picker-pop' }, pickerFilter, pickerList));
  fillPicker();

  const selInfo = h('span', { class: 'muted' });
  const compareBtn = h('button', { class: 'primary', disabled: true, onclick: () => ctx.go('/compare', { runs: [...selected].join(','), exp: expId }) }, 'Compare');
  const deleteBtn = h('button', { class: 'danger', disabled: true, onclick: async () => {
    if (!confirm(`Delete ${selected.size} run(s)?`)) return;
    try {
      for (const id of selected) await mlflow.post('/runs/delete', { run_id: id });
      toast(`Deleted ${selected.size} run(s)`);
      render(root, ctx);
    } catch (err) { toast(err.message, 'error'); }
  } }, 'Delete');
  const restoreBtn = view !== 'active' ? h('button', { disabled: true, onclick: async () => {
    try { for (const id of selected) await mlflow.post('/runs/restore', { run_id: id }); toast('Restored'); render(root, ctx); } catch (err) { toast(err.message, 'error'); }
  } }, 'Restore') : null;
  const updateSel = () => {
    const n = selected.size;
    selInfo.textContent = n ? `${n} selected` : '';
    compareBtn.disabled = n < 2 || n > 20;
    compareBtn.title = n > 20 ? 'Compare at most 20 runs' : '';
    deleteBtn.disabled = n === 0 || !canManage;
    if (restoreBtn) restoreBtn.disabled = n === 0 || !canManage;
    allBox.checked = n > 0 && n === runs.length;
    allBox.indeterminate = n > 0 && n < runs.length;
  };
  // Deleting and restoring runs needs MANAGE on the experiment (auth on); the server decides.
  let canManage = true;
  permissionsOf({ experiments: [expId] }, ctx.signal).then((p) => {
    canManage = allows(p.experiments[expId], 'MANAGE');
    if (!canManage) for (const b of [deleteBtn, restoreBtn]) if (b) deny(b, 'MANAGE', 'experiment');
    updateSel();
  }, () => {});
  const allBox = h('input', { type: 'checkbox', 'aria-label': 'select all', onchange: () => {
    if (allBox.checked) runs.forEach((r) => selected.add(r.info.run_id)); else selected.clear();
    updateSel(); drawRows();
  } });

  const viewSel = h('select', { 'aria-label': 'lifecycle', onchange: () => nav({ view: viewSel.value === 'active' ? '' : viewSel.value, pt: '', prev: '' }) },
    ...['active', 'deleted', 'all'].map((v) => h('option', { value: v, selected: v === view }, v)));
  const psSel = h('select', { 'aria-label': 'page size', onchange: () => nav({ ps: psSel.value, pt: '', prev: '' }) },
    ...PAGE_SIZES.map((n) => h('option', { value: n, selected: n === ps }, `${n} / page`)));
  const start = prev.length * ps;
  const pager = h('span', { class: 'pager' },
    h('button', { disabled: !pt, onclick: () => nav({ pt: prev[prev.length - 1] === '-' ? '' : prev[prev.length - 1] || '', prev: prev.slice(0, -1).join(',') }) }, '‹ Prev'),
    h('span', { class: 'muted', id: 'run-count' }, runs.length ? `${start + 1}–${start + runs.length}` : '0 runs'),
    h('button', { disabled: !next, onclick: () => nav({ pt: next, prev: [...prev, pt || '-'].join(',') }) }, 'Next ›'));

  const groupSel = h('select', { 'aria-label': 'group by', title: 'group the runs of this page', onchange: () => {
    groupBy = groupSel.value;
    collapsed.clear();
    ctx.setQuery({ group: groupBy, gc: '' });
    aggSel.disabled = !groupBy;
    rebuild(); drawRows();
  } });
  const aggSel = h('select', { 'aria-label': 'aggregate metric', title: 'metric aggregated per group (min / mean / max)', disabled: !groupBy, onchange: () => {
    aggKey = aggSel.value;
    ctx.setQuery({ agg: aggKey });
    drawRows();
  } });
  const fillGroupSels = () => {
    replace(groupSel, h('option', { value: '' }, 'no grouping'), h('option', { value: 'd:', selected: groupBy === 'd:' }, 'group by dataset'),
      sorted(keys.p).map((k) => h('option', { value: `p:${k}`, selected: groupBy === `p:${k}` }, `group by param ${k}`)),
      sorted(keys.t).map((k) => h('option', { value: `t:${k}`, selected: groupBy === `t:${k}` }, `group by tag ${k}`)));
    // a choice from the URL whose key is not on this page stays selectable
    if (groupBy && groupSel.value !== groupBy) groupSel.append(h('option', { value: groupBy, selected: true }, `group by ${groupBy}`));
    replace(aggSel, h('option', { value: '' }, 'aggregate: none'), sorted(keys.m).map((k) => h('option', { value: k, selected: aggKey === k }, `aggregate ${k}`)));
    if (aggKey && aggSel.value !== aggKey) aggSel.append(h('option', { value: aggKey, selected: true }, `aggregate ${aggKey}`));
  };
  fillGroupSels();

  // the number of runs matching the filter: this page alone when it is the only one, else counted
  // by paging through the search (1,000 runs a request) up to COUNT_CAP, shown as "N+" beyond it
  const totalEl = h('span', { class: 'muted', id: 'run-total' });
  const countMatching = async () => {
    if (!pt && !next) { totalEl.textContent = `${runs.length} matching`; totalEl.dataset.total = String(runs.length); return; }
    totalEl.textContent = 'counting…';
    const { page: COUNT_PAGE, cap: COUNT_CAP } = countLimits();
    let n = 0;
    let token;
    do {
      const res = await mlflow.post('/runs/search', { experiment_ids: [expId], filter: filter || undefined, max_results: COUNT_PAGE, page_token: token, run_view_type: runViewType }, ctx.signal);
      n += (res.runs || []).length;
      token = res.next_page_token;
    } while (token && n < COUNT_CAP);
    totalEl.textContent = token ? `${n.toLocaleString('en')}+ matching` : `${n.toLocaleString('en')} matching`;
    totalEl.title = token ? `counting stops at ${COUNT_CAP.toLocaleString('en')} runs` : '';
    totalEl.dataset.total = token ? `${n}+` : String(n);
  };

  const table = h('table', { class: 'grid runs' });
  const thead = h('thead');
  const tbody = h('tbody');
  table.append(thead, tbody);
  const scroller = h('div', { class: 'table-scroll' }, table);

  // a button in each sortable header: focusable, Enter/Space sort (aria-sort says the current order)
  const sortHeader = (label, field, defaultDesc) => {
    const active = ord && ord.field === field;
    const arrow = active ? (ord.desc ? ' ↓' : ' ↑') : '';
    const desc = active ? !ord.desc : defaultDesc;
    return h('th', { class: 'sortable', dataset: { field }, 'aria-sort': active ? (ord.desc ? 'descending' : 'ascending') : 'none' },
      h('button', { type: 'button', class: 'sort', title: `sort by ${field} ${desc ? 'descending' : 'ascending'}`, onclick: () => {
        const [kind, ...rest] = field.split('.');
        const key = rest.join('.');
        nav({ order: `${kind}.${kind === 'attributes' ? key : quote(key)} ${desc ? 'DESC' : 'ASC'}`, pt: '', prev: '' });
      } }, label, arrow));
  };
  const drawHead = () => {
    replace(thead, h('tr', null,
      h('th', { class: 'sel' }, allBox),
      ATTR.map((a) => (a.order ? sortHeader(a.label, a.order, a.id === 'created') : h('th', null, a.label))),
      cols.map((c) => sortHeader(h('span', null, h('span', { class: `kind kind-${c.kind}` }, c.kind), ' ', c.key), `${KIND[c.kind]}.${c.key}`, c.kind === 'm'))));
  };
  const cell = (r, c) => {
    const v = index(r)[c.kind].get(c.key);
    return h('td', { class: c.kind === 'm' ? 'num' : '' }, c.kind === 'm' ? fmtNum(v) : (v ?? ''));
  };
  const stats = (members, key) => {
    const vs = members.map((m) => index(m).m.get(key)).filter((v) => typeof v === 'number' && Number.isFinite(v));
    if (!vs.length) return null;
    let min = Infinity; let max = -Infinity; let sum = 0;
    for (const v of vs) { if (v < min) min = v; if (v > max) max = v; sum += v; }
    return { n: vs.length, min, max, mean: sum / vs.length };
  };
  const groupRow = (g) => {
    const open = !collapsed.has(g.key);
    const name = g.label === null ? `(no ${groupLabel()})` : `${groupLabel()} = ${g.label}`;
    const st = aggKey ? stats(g.runs, aggKey) : null;
    const agg = aggKey ? h('span', { class: 'agg' }, ` · ${aggKey} `, st
      ? [h('span', { class: 'agg-min', title: 'min' }, `min ${fmtNum(st.min)}`), ' / ', h('span', { class: 'agg-mean', title: 'mean' }, `mean ${fmtNum(st.mean)}`), ' / ', h('span', { class: 'agg-max', title: 'max' }, `max ${fmtNum(st.max)}`), st.n < g.runs.length ? h('span', { class: 'muted' }, ` (${st.n} with a value)`) : null]
      : h('span', { class: 'muted' }, 'no values')) : null;
    return h('tr', { class: 'group-row', dataset: { group: g.key }, style: { height: `${ROW_H}px` } },
      h('td', { class: 'sel' }),
      h('td', { class: 'name', colspan: ATTR.length, title: st ? `${name}: ${g.runs.length} runs; ${aggKey} min ${fmtNum(st.min)}, mean ${fmtNum(st.mean)}, max ${fmtNum(st.max)}` : name },
        h('button', { type: 'button', class: 'twisty', 'aria-expanded': String(open), 'aria-label': `${open ? 'collapse' : 'expand'} group ${name}`, onclick: () => {
          if (open) collapsed.add(g.key); else collapsed.delete(g.key);
          ctx.setQuery({ gc: [...collapsed].join('\u001f') });
          rebuild(); drawRows();
        } }, open ? '▾' : '▸'),
        h('b', { class: 'group-name' }, name), ' ', h('span', { class: 'group-count muted' }, `${g.runs.length} run${g.runs.length === 1 ? '' : 's'}`), agg),
      // each metric column: the group's mean (min and max on hover)
      cols.map((c) => {
        if (c.kind !== 'm') return h('td');
        const cs = stats(g.runs, c.key);
        return h('td', { class: 'num', title: cs ? `min ${fmtNum(cs.min)} · max ${fmtNum(cs.max)} · ${cs.n} runs` : '' }, cs ? `⌀ ${fmtNum(cs.mean)}` : '');
      }));
  };
  const rowOf = (entry) => {
    if (entry.group) return groupRow(entry.group);
    const { r, depth } = entry;
    const i = r.info;
    const kids = children.get(i.run_id);
    const open = expanded.has(i.run_id);
    const label = i.run_name || i.run_id.slice(0, 8);
    const twisty = kids && !groupBy ? h('button', { type: 'button', class: 'twisty', 'aria-expanded': String(open), 'aria-label': `${open ? 'collapse' : 'expand'} ${label}`, title: `${kids.length} child run(s)`, onclick: () => toggle(i.run_id) }, open ? '▾' : '▸', h('span', { class: 'small' }, ` ${kids.length}`)) : null;
    const box = h('input', { type: 'checkbox', 'aria-label': `select ${i.run_name || i.run_id}`, checked: selected.has(i.run_id), onchange: () => {
      if (box.checked) selected.add(i.run_id); else selected.delete(i.run_id);
      updateSel();
    } });
    return h('tr', { class: `${depth ? 'child' : ''}${r._new ? ' new' : ''}`.trim(), dataset: { run: i.run_id, depth: String(depth) }, style: { height: `${ROW_H}px` } },
      h('td', { class: 'sel' }, box),
      h('td', { class: 'name', style: { paddingLeft: `${10 + depth * 18}px` } }, twisty || (depth ? h('span', { class: 'twisty-pad' }, '└') : null), h('a', { href: href(`/runs/${i.run_id}`) }, label)),
      h('td', null, fmtTime(i.start_time)),
      h('td', null, i.end_time ? fmtDuration(Number(i.end_time) - Number(i.start_time)) : ''),
      h('td', null, h('span', { class: `status st-${i.status}` }, i.status)),
      cols.map((c) => cell(r, c)));
  };
  let lastRange = '';
  const drawRows = (force = true) => {
    const top = scroller.scrollTop;
    const height = scroller.clientHeight || 600;
    const from = Math.max(0, Math.floor(top / ROW_H) - 15);
    const to = Math.min(flat.length, Math.ceil((top + height) / ROW_H) + 15);
    const key = `${from}-${to}`;
    if (!force && key === lastRange) return;
    lastRange = key;
    const span = ATTR.length + cols.length + 1;
    const pad = (px) => (px > 0 ? h('tr', { class: 'spacer', style: { height: `${px}px` } }, h('td', { colspan: span })) : null);
    replace(tbody, pad(from * ROW_H), flat.slice(from, to).map(rowOf), pad((flat.length - to) * ROW_H));
  };
  let raf = 0;
  scroller.addEventListener('scroll', () => {
    if (!raf) raf = requestAnimationFrame(() => { raf = 0; drawRows(false); });
  });

  // live: the running runs of this page are re-read (one search by run id) until they end, and
  // on the first page runs created since it was loaded are added at the top (one search a round
  // for `start_time >= load time - NEW_SKEW_MS` within the filter, ids already shown skipped)
  const watchNew = !pt && view !== 'deleted';
  const loadedAt = Date.now();
  const emptyEl = h('p', { class: 'muted empty' }, filter ? 'No run matches this filter.' : 'No runs in this experiment yet.');
  const newInfo = h('span', { class: 'muted', id: 'new-runs' });
  let newCount = 0;
  const pollNew = async () => {
    const clause = `attributes.start_time >= ${Math.max(0, loadedAt - NEW_SKEW_MS)}`;
    const res = await mlflow.post('/runs/search', { experiment_ids: [expId], filter: filter ? `${filter} and ${clause}` : clause, order_by: ['attributes.start_time DESC'], max_results: NEW_PAGE, run_view_type: runViewType }, ctx.signal);
    const known = new Set(runs.map((r) => r.info.run_id));
    const added = (res.runs || []).filter((r) => !known.has(r.info.run_id));
    if (!added.length) return false;
    for (const r of added) r._new = true;
    runs.unshift(...added);
    newCount += added.length;
    newInfo.textContent = `${newCount} new run${newCount === 1 ? '' : 's'} added at the top${res.next_page_token ? ' (more: reload)' : ''}`;
    if (emptyEl.isConnected) emptyEl.replaceWith(scroller);
    return true;
  };
  let liveBox = null;
  if (watchNew || runs.some((r) => isLive(r.info.status))) {
    liveBox = liveUpdates({ signal: ctx.signal, what: watchNew ? 'new and running runs' : 'running runs on this page', tick: async () => {
      const ids = runs.filter((r) => isLive(r.info.status)).map((r) => r.info.run_id);
      const fresh = new Map();
      for (let k = 0; k < ids.length; k += 50) {
        const chunk = ids.slice(k, k + 50);
        const res = await mlflow.post('/runs/search', { experiment_ids: [expId], filter: `attributes.run_id IN (${chunk.map((id) => `'${id}'`).join(', ')})`, max_results: chunk.length, run_view_type: 'ALL' }, ctx.signal);
        for (const r of res.runs || []) fresh.set(r.info.run_id, r);
      }
      const grew = watchNew ? await pollNew() : false;
      let newCols = false;
      runs.forEach((r, i) => {
        const f = fresh.get(r.info.run_id);
        if (f) { f._new = r._new; runs[i] = f; }
        const ix = index(runs[i]);
        for (const k of ix.m.keys()) if (!keys.m.has(k)) { keys.m.add(k); newCols = true; }
        for (const k of ix.p.keys()) if (!keys.p.has(k)) { keys.p.add(k); newCols = true; }
        for (const k of ix.t.keys()) if (!k.startsWith('mlflow.') && !keys.t.has(k)) { keys.t.add(k); newCols = true; }
      });
      if (newCols) { fillPicker(); fillGroupSels(); }
      if (grew && !q.has('cols') && !cols.length) {
        cols = [...sorted(keys.m).slice(0, 5).map((key) => ({ kind: 'm', key })), ...sorted(keys.p).slice(0, 5).map((key) => ({ kind: 'p', key }))];
        drawHead();
      }
      if (fresh.size || grew) {
        rebuild();
        drawRows();
        updateSel();
      }
      markRendered('runs-live');
      return watchNew || runs.some((r) => isLive(r.info.status));
    } }).el;
  }

  replace(body,
    h('div', { class: 'toolbar' }, picker, groupSel, aggSel, compareBtn, deleteBtn, restoreBtn, selInfo, liveBox, h('span', { class: 'spacer' }), totalEl,
      h('a', { id: 'charts-link', href: href(`/experiments/${encodeURIComponent(expId)}/charts`, { filter, view: view === 'active' ? '' : view }) }, 'Charts of all matching runs'), viewSel, psSel, pager),
    newInfo,
    runs.length ? scroller : emptyEl);
  drawHead();
  drawRows();
  updateSel();
  markRendered('runs');
  countMatching().then(() => markRendered('runs-total')).catch((err) => {
    if (ctx.signal.aborted) return;
    totalEl.textContent = '';
    console.warn('counting the matching runs failed', err);
  });
}
