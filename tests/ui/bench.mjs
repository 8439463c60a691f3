// Benchmark: time to first render in headless Chromium of (1) a run whose metric has 100,000
// points, (2) a runs table of 10,000 runs, (3) a comparison of 20 runs x 100,000 points, (4) the
// experiment chart view over 300 runs of 1,000 points, and (5) the live refresh of a run that
// receives 10 points a second (the delay from logging a point to drawing it).
// Seeds the server through the REST API (log-batch, 1000 points a request), then loads each page
// in a fresh tab and reads the page's own performance mark (ms since navigation start).
// Env: UI_BASE; BENCH_RUNS (10000), BENCH_POINTS (100000), BENCH_SERIES (20), BENCH_REPEAT (3),
// BENCH_CHART_RUNS (300), BENCH_CHART_POINTS (1000), BENCH_LIVE_SECONDS (12), BENCH_POLL_MS (the
// UI's 4 s unless set).
import { launch, api } from './lib.mjs';

const BASE = process.env.UI_BASE;
const N_RUNS = Number(process.env.BENCH_RUNS || 10000);
const N_POINTS = Number(process.env.BENCH_POINTS || 100000);
const N_SERIES = Number(process.env.BENCH_SERIES || 20);
const REPEAT = Number(process.env.BENCH_REPEAT || 3);
const CHART_RUNS = Number(process.env.BENCH_CHART_RUNS || 300);
const CHART_POINTS = Number(process.env.BENCH_CHART_POINTS || 1000);
const LIVE_SECONDS = Number(process.env.BENCH_LIVE_SECONDS || 12);
const POLL_MS = Number(process.env.BENCH_POLL_MS || 0);
if (!BASE) { console.error('bench.mjs: UI_BASE is required (use run.sh bench)'); process.exit(2); }

const call = async (path, body) => {
  const r = await api(BASE, 'POST', `/api/2.0/mlflow${path}`, body);
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
  return r.json;
};
async function pool(n, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => { while (next < n) await fn(next++); }));
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function seedLongRun(exp, name, seed) {
  const { run } = await call('/runs/create', { experiment_id: exp, run_name: name, start_time: Date.now() });
  const id = run.info.run_id;
  const t0 = 1_700_000_000_000;
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  for (let b = 0; b < N_POINTS; b += 1000) {
    const metrics = [];
    for (let i = b; i < Math.min(N_POINTS, b + 1000); i++) {
      const spike = i % 9973 === 0 ? 3 : 0;
      metrics.push({ key: 'loss', value: 2 * Math.exp(-i / (N_POINTS / 5)) + 0.1 * rnd() + spike + seed * 0.01, timestamp: t0 + i * 100, step: i });
    }
    await call('/runs/log-batch', { run_id: id, metrics });
  }
  return id;
}

async function seed() {
  const t = Date.now();
  const stamp = Date.now().toString(36);
  const long = (await call('/experiments/create', { name: `bench-points-${stamp}` })).experiment_id;
  const ids = [];
  await pool(N_SERIES, 4, async (i) => { ids[i] = await seedLongRun(long, `series-${i}`, i + 1); });
  const many = (await call('/experiments/create', { name: `bench-runs-${stamp}` })).experiment_id;
  await pool(N_RUNS, 16, async (i) => {
    const { run } = await call('/runs/create', { experiment_id: many, run_name: `run-${i}`, start_time: Date.now() });
    await call('/runs/log-batch', {
      run_id: run.info.run_id,
      params: [{ key: 'lr', value: String(10 ** -(1 + (i % 4))) }, { key: 'depth', value: String(2 + (i % 7)) }, { key: 'seed', value: String(i) }],
      metrics: [{ key: 'loss', value: Math.random(), timestamp: Date.now(), step: 0 }, { key: 'accuracy', value: Math.random(), timestamp: Date.now(), step: 0 }],
      tags: [{ key: 'team', value: i % 2 ? 'nlp' : 'vision' }],
    });
  });
  // a sweep for the chart view: CHART_RUNS runs with params, CHART_POINTS steps of loss/accuracy
  const sweep = (await call('/experiments/create', { name: `bench-sweep-${stamp}` })).experiment_id;
  await pool(CHART_RUNS, 8, async (i) => {
    const { run } = await call('/runs/create', { experiment_id: sweep, run_name: `trial-${i}`, start_time: Date.now() });
    const lr = 10 ** -(1 + (i % 5) / 2);
    for (let b = 0; b < CHART_POINTS; b += 400) {
      const metrics = [];
      for (let k = b; k < Math.min(CHART_POINTS, b + 400); k++) {
        const loss = 0.1 + Math.exp(-k * lr / 20) + 0.02 * Math.sin(k + i);
        metrics.push({ key: 'loss', value: loss, timestamp: 1_700_000_000_000 + k, step: k }, { key: 'accuracy', value: 1 - loss / 2, timestamp: 1_700_000_000_000 + k, step: k });
      }
      await call('/runs/log-batch', { run_id: run.info.run_id, metrics, params: b ? [] : [{ key: 'lr', value: String(lr) }, { key: 'depth', value: String(2 + (i % 7)) }, { key: 'optimizer', value: ['sgd', 'adam', 'adamw'][i % 3] }] });
    }
  });
  console.log(`seeded ${N_SERIES} runs x ${N_POINTS.toLocaleString()} points, ${N_RUNS.toLocaleString()} runs and a sweep of ${CHART_RUNS} runs x ${CHART_POINTS.toLocaleString()} points in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  return { runIds: ids, manyExp: many, sweepExp: sweep };
}

/** Loads `url` REPEAT times in a fresh tab; the median time of each performance mark. */
async function timeTo(context, url, marks, extra) {
  const per = marks.map(() => []);
  let info = {};
  for (let i = 0; i < REPEAT; i++) {
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction((ms) => ms.every((m) => performance.getEntriesByName(`mlp:${m}`).length > 0), marks, { timeout: 300_000 });
    const t = await page.evaluate((ms) => ms.map((m) => performance.getEntriesByName(`mlp:${m}`)[0].startTime), marks);
    t.forEach((v, j) => per[j].push(v));
    if (extra) info = await extra(page);
    await page.close();
  }
  return { ms: per.map(median), all: per, info };
}

const { runIds, manyExp, sweepExp } = await seed();
const { context, close } = await launch();
const chartInfo = async (page) => page.evaluate(() => {
  const c = [...document.querySelectorAll('.chart')];
  return { points: c.reduce((a, e) => a + Number(e.dataset.points || 0), 0), drawMs: Math.max(...c.map((e) => Number(e.dataset.drawMs || 0))) };
});
// redraw cost with everything loaded: toggle log scale and smoothing, median of a few draws
const redraw = async (page) => {
  const info = await chartInfo(page);
  const times = [];
  for (const sel of ['log', 'smooth', 'log', 'smooth']) {
    if (sel === 'log') await page.click('text=log scale');
    else await page.locator('input[aria-label=smoothing]').fill(String(Math.random().toFixed(2)));
    await page.waitForTimeout(120);
    times.push((await chartInfo(page)).drawMs);
  }
  return { ...info, redrawMs: median(times) };
};

const results = [];
const r1 = await timeTo(context, `${BASE}/#/runs/${runIds[0]}`, ['run-first-chart', 'run-charts'], redraw);
results.push([`run page, 1 metric x ${N_POINTS.toLocaleString()} points`, r1, ['first chart (first page of history)', `all ${N_POINTS.toLocaleString()} points drawn`]]);
const r2 = await timeTo(context, `${BASE}/#/experiments/${manyExp}?ps=${N_RUNS}`, ['runs'], async (page) => {
  const rows = await page.locator('table.runs tbody tr[data-run]').count();
  // scroll to the end: one frame of virtualized rows
  const scrollMs = await page.evaluate(async () => {
    const s = document.querySelector('.table-scroll');
    const t = performance.now();
    s.scrollTop = s.scrollHeight;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - t;
  });
  return { domRows: rows, scrollMs: Number(scrollMs.toFixed(1)) };
});
results.push([`runs table, ${N_RUNS.toLocaleString()} runs`, r2, [`all ${N_RUNS.toLocaleString()} runs on one page (search + render)`]]);
const r3 = await timeTo(context, `${BASE}/#/experiments/${manyExp}`, ['runs']);
results.push([`runs table, same experiment`, r3, ['default page of 100 runs']]);
if (N_SERIES >= 2) {
  const ids = runIds.slice(0, Math.min(20, N_SERIES));
  const r4 = await timeTo(context, `${BASE}/#/compare?runs=${ids.join(',')}`, ['compare-first-chart', 'compare-charts'], redraw);
  results.push([`compare ${ids.length} runs x ${N_POINTS.toLocaleString()} points`, r4, ['first chart', `all ${(ids.length * N_POINTS).toLocaleString()} points drawn`]]);
}
const r5 = await timeTo(context, `${BASE}/#/experiments/${sweepExp}/charts?m=loss&bar=loss`, ['exp-charts', ...(CHART_RUNS > 100 ? ['exp-first-curves'] : []), 'exp-curves'], async (page) => page.evaluate(() => ({
  curvePoints: Number(document.querySelector('#curves .chart')?.dataset.points || 0),
  scatterPoints: Number(document.querySelector('#scatter .chart')?.dataset.points || 0),
  pcLines: Number(document.querySelector('#parallel .chart')?.dataset.lines || 0),
  bars: Number(document.querySelector('#bars .chart')?.dataset.bars || 0),
})));
results.push([`chart view, ${CHART_RUNS} runs x ${CHART_POINTS.toLocaleString()} points`, r5, ['scatter, parallel coordinates, bars (all runs read)', ...(CHART_RUNS > 100 ? ['first 100 runs\' sampled curves drawn'] : []), 'sampled curves of every run drawn']]);

// live refresh: a running run receives 10 points a second; the delay from logging a point to the
// chart showing it, and the requests the page made for it
{
  const exp = (await call('/experiments/create', { name: `bench-live-${Date.now().toString(36)}` })).experiment_id;
  const { run } = await call('/runs/create', { experiment_id: exp, run_name: 'live', start_time: Date.now() });
  const id = run.info.run_id;
  await call('/runs/log-batch', { run_id: id, metrics: Array.from({ length: 100 }, (_, k) => ({ key: 'loss', value: 1 / (k + 1), timestamp: 1_700_000_000_000 + k, step: k })) });
  const page = await context.newPage();
  if (POLL_MS) await page.addInitScript((ms) => { window.__mlpPollMs = ms; }, POLL_MS);
  let requests = 0;
  page.on('request', (r) => { if (r.url().includes('/ajax-api/')) requests++; });
  await page.goto(`${BASE}/#/runs/${id}`);
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric="loss"] .chart')?.dataset.points === '100', null, { timeout: 60_000 });
  // the page records when each new point count was first drawn
  await page.evaluate(() => {
    const el = document.querySelector('.chart-card[data-metric="loss"] .chart');
    window.__seen = [];
    new MutationObserver(() => window.__seen.push([Number(el.dataset.points), Date.now()])).observe(el, { attributes: true, attributeFilter: ['data-points'] });
  });
  const startReq = requests;
  const logged = [];
  let step = 100;
  const t0 = Date.now();
  while (Date.now() - t0 < LIVE_SECONDS * 1000) {
    await call('/runs/log-batch', { run_id: id, metrics: [{ key: 'loss', value: 1 / (step + 1), timestamp: 1_700_000_000_000 + step, step }] });
    step++;
    logged.push(Date.now());
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + logged.length * 100 - Date.now())));
  }
  await page.waitForFunction((n) => document.querySelector('.chart-card[data-metric="loss"] .chart')?.dataset.points === String(n), step, { timeout: 60_000 });
  const seen = await page.evaluate(() => window.__seen);
  const delays = logged.map((t, k) => { const s = seen.find(([n]) => n >= 101 + k); return s ? s[1] - t : NaN; }).filter(Number.isFinite);
  const rounds = await page.locator('#live').getAttribute('data-ticks');
  results.push([`live run, 10 points/s for ${LIVE_SECONDS}s (poll ${POLL_MS || 4000} ms)`, { ms: [median(delays), Math.max(...delays)], all: [[], []], info: { points: logged.length, redraws: seen.length, rounds, requests: requests - startReq } },
    ['median delay from logging a point to drawing it', 'worst delay']]);
  await page.close();
}
await close();

console.log('\nTime to first render (median of %d fresh page loads, headless Chromium):', REPEAT);
for (const [name, r, labels] of results) {
  console.log(`  ${name}`);
  labels.forEach((label, j) => console.log(`    ${r.ms[j].toFixed(0).padStart(6)} ms  ${label}${r.all[j].length ? `  [each load: ${r.all[j].map((x) => x.toFixed(0)).join(', ')}]` : ''}`));
  const extra = Object.entries(r.info).map(([k, v]) => `${k}=${v}`).join(' ');
  if (extra) console.log(`              ${extra}`);
}
console.log('  (drawMs: one full canvas draw of every series; redrawMs: median draw after toggling log scale / smoothing;');
console.log('   scrollMs: scroll to the end of the virtualized table and two frames; domRows: <tr> in the DOM)');
