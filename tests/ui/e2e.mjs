// End-to-end tests of the web UI in headless Chromium against a real `mlp server` that run.sh
// started and seeded through the mlflow client. Env: UI_BASE (server URL), UI_SEED (seed.py's
// JSON), UI_SCREENSHOTS (where the committed screenshots go), UI_OUT (other screenshots),
// UI_ONLY (substring filter on test names).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, inkedPixels, api } from './lib.mjs';

const BASE = process.env.UI_BASE;
const SEED = JSON.parse(process.env.UI_SEED || '{}');
const SHOTS = process.env.UI_SCREENSHOTS;
const OUT = process.env.UI_OUT || '/tmp';
const ONLY = process.env.UI_ONLY || '';
const EXP = SEED.experiment_id;
const RUNS = SEED.runs || {};
if (!BASE || !EXP) { console.error('e2e.mjs: UI_BASE and UI_SEED are required (use run.sh)'); process.exit(2); }

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const shot = async (page, name, committed) => {
  const dir = committed && SHOTS ? SHOTS : OUT;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) });
};
/** Runs `action` and waits until the page rendered again (a page re-renders after each change). */
const rerender = async (page, action) => {
  const gen = await page.evaluate(() => Number(document.body.dataset.gen || 0));
  await action();
  await page.waitForFunction((g) => Number(document.body.dataset.gen || 0) > g, gen);
};
const rowsOf = (page) => page.locator('table.runs tbody tr[data-run]');
const runNames = (page) => page.locator('table.runs tbody tr[data-run] td:nth-child(2)').allInnerTexts();

test('server: UI at /, immutable assets with ETags, API 404 stays JSON', async () => {
  const index = await api(BASE, 'GET', '/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const m = /\/static\/([0-9a-f]+)\/js\/main\.js/.exec(index.text);
  assert.ok(m, 'index.html references the hashed main.js');
  const etag = index.headers.get('etag');
  const again = await fetch(`${BASE}/`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  const js = await api(BASE, 'GET', `/static/${m[1]}/js/main.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /text\/javascript/);
  assert.match(js.headers.get('cache-control'), /immutable/);
  const css = await api(BASE, 'GET', `/static/${m[1]}/app.css`);
  assert.match(css.headers.get('content-type'), /text\/css/);
  const missing = await api(BASE, 'GET', `/static/${m[1]}/nope.js`);
  assert.equal(missing.status, 404);
  for (const p of ['/api/2.0/mlflow/nope', '/ajax-api/2.0/mlflow/runs/everything', '/api/v0/whatever']) {
    const r = await api(BASE, 'GET', p);
    assert.equal(r.status, 404, p);
    assert.equal(r.json?.error_code, 'ENDPOINT_NOT_FOUND', p);
  }
});

test('experiments: search, create, rename, delete', async (page) => {
  page.on('dialog', (d) => d.accept());
  await page.goto(`${BASE}/`);
  await page.waitForSelector('body[data-rendered~=experiments]');
  await page.locator('tr', { hasText: 'ui-e2e' }).first().waitFor();
  await page.fill('input[aria-label="new experiment name"]', 'ui-temp');
  await page.click('text=Create experiment');
  await page.waitForURL(/#\/experiments\/\d+$/);
  await page.waitForSelector('text=No runs in this experiment yet.');
  await page.goto(`${BASE}/#/experiments?q=temp`);
  await page.waitForSelector('body[data-rendered~=experiments]');
  const row = page.locator('tr', { hasText: 'ui-temp' });
  await row.getByRole('button', { name: 'Rename' }).click();
  await page.fill('input[aria-label="new name"]', 'ui-temp-renamed');
  await page.click('text=Save');
  const renamed = page.locator('tr', { hasText: 'ui-temp-renamed' });
  await renamed.waitFor();
  assert.equal(await page.locator('tbody tr').count(), 1, 'search narrows to one experiment');
  await renamed.getByRole('button', { name: 'Delete' }).click();
  await page.waitForSelector('text=No experiment matches.');
  await page.goto(`${BASE}/#/experiments?view=deleted`);
  await page.locator('tr', { hasText: 'ui-temp-renamed' }).waitFor();
});

test('runs: open an experiment, see its runs and default columns', async (page) => {
  await page.goto(`${BASE}/#/experiments`);
  await page.click('a:text-is("ui-e2e")');
  await page.waitForSelector('body[data-rendered~=runs]');
  assert.equal(await rowsOf(page).count(), 6);
  const heads = await page.locator('table.runs thead th').allInnerTexts();
  for (const col of ['loss', 'accuracy', 'lr', 'depth', 'optimizer']) assert.ok(heads.some((t) => t.includes(col)), `column ${col} in ${heads}`);
  await shot(page, 'runs', true);
});

test('runs: filter and sort, state in the URL', async (page) => {
  await page.goto(`${BASE}/#/experiments/${EXP}`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.fill('input[name=filter]', "params.optimizer = 'adam' and params.depth = '4' and metrics.loss < 5");
  await page.press('input[name=filter]', 'Enter');
  await page.waitForFunction(() => location.hash.includes('filter='));
  await page.waitForFunction(() => document.querySelectorAll('table.runs tbody tr[data-run]').length === 2);
  assert.deepEqual((await runNames(page)).sort(), ['tiny-lr', 'wide']);
  // sort by the loss column: first click descending, second ascending
  await page.goto(`${BASE}/#/experiments/${EXP}`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.click('th[data-field="metrics.loss"]');
  await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1] || '').get('order') === 'metrics.`loss` DESC');
  await page.waitForSelector('th[data-field="metrics.loss"]:has-text("↓")');
  assert.equal((await runNames(page))[0], 'diverged');
  await page.click('th[data-field="metrics.loss"]');
  await page.waitForSelector('th[data-field="metrics.loss"]:has-text("↑")');
  assert.equal((await runNames(page))[0], 'best');
  // the URL alone restores filter + sort + columns + page size
  const url = page.url();
  const fresh = await page.context().newPage();
  await fresh.goto(url.replace(/$/, '&cols=p%3Aoptimizer%2Cm%3Aloss&ps=25'));
  await fresh.waitForSelector('body[data-rendered~=runs]');
  assert.equal((await runNames(fresh))[0], 'best');
  const heads = await fresh.locator('table.runs thead th').allInnerTexts();
  assert.ok(heads.some((t) => t.includes('optimizer')) && !heads.some((t) => t.includes('depth')), `columns from URL: ${heads}`);
  assert.equal(await fresh.locator('select[aria-label="page size"]').inputValue(), '25');
  await fresh.close();
});

test('runs: a bad filter shows the server error inline', async (page) => {
  await page.goto(`${BASE}/#/experiments/${EXP}`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.fill('input[name=filter]', 'metrics.loss <<< oops');
  await page.press('input[name=filter]', 'Enter');
  const err = page.locator('#filter-error .error');
  await err.waitFor();
  const text = await err.innerText();
  assert.match(text, /INVALID_PARAMETER_VALUE/);
  assert.ok(text.length > 'INVALID_PARAMETER_VALUE'.length + 5, `the parser's message is shown: ${text}`);
  assert.equal(await rowsOf(page).count(), 0);
});

test('runs: column picker and paging', async (page) => {
  await page.goto(`${BASE}/#/experiments/${EXP}?ps=25`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.click('details.picker summary');
  await page.check('input[data-col="t:team"]');
  await page.waitForFunction(() => decodeURIComponent(location.hash).includes('t:team'));
  assert.ok((await page.locator('table.runs thead th').allInnerTexts()).some((t) => t.includes('team')));
  await page.uncheck('input[data-col="m:accuracy"]');
  assert.ok(!(await page.locator('table.runs thead th').allInnerTexts()).some((t) => /(^|\s)accuracy\b/.test(t)));
  // paging: 4 per page -> 2 pages
  await page.selectOption('select[aria-label="page size"]', '25');
  await page.goto(`${BASE}/#/experiments/${EXP}?ps=4`);
  await page.waitForSelector('body[data-rendered~=runs]');
  assert.equal(await rowsOf(page).count(), 4);
  await page.click('text=Next ›');
  await page.waitForFunction(() => location.hash.includes('pt='));
  await page.waitForFunction(() => document.querySelectorAll('table.runs tbody tr[data-run]').length === 2);
  assert.equal(await page.locator('#run-count').innerText(), '5–6');
  await page.click('text=‹ Prev');
  await page.waitForFunction(() => document.querySelectorAll('table.runs tbody tr[data-run]').length === 4);
});

test('run: charts draw (step and time axes, log scale, smoothing)', async (page) => {
  await page.goto(`${BASE}/#/experiments/${EXP}`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.click('a:text-is("best")');
  await page.waitForSelector('body[data-rendered~=run-charts]');
  const card = page.locator('.chart-card[data-metric=loss]');
  assert.match(await card.locator('.chart-title').innerText(), /200 points/);
  const canvas = card.locator('canvas.chart-canvas');
  const ink = await inkedPixels(canvas);
  assert.ok(ink > 2000, `the loss chart drew (${ink} pixels)`);
  assert.equal(await card.locator('.chart').getAttribute('data-points'), '200');
  await page.check('text=log scale');
  await page.waitForFunction(() => location.hash.includes('log=1'));
  await page.selectOption('select[aria-label="x axis"]', 'rel');
  await page.waitForFunction(() => location.hash.includes('x=rel'));
  await page.locator('input[aria-label=smoothing]').fill('0.8');
  await page.waitForFunction(() => location.hash.includes('smooth=0.8'));
  await page.waitForTimeout(100);
  assert.ok((await inkedPixels(canvas)) > 2000, 'still drawn after changing the axes');
  await page.selectOption('select[aria-label="x axis"]', 'step');
  await page.locator('input[aria-label=smoothing]').fill('0');
  await page.uncheck('text=log scale');
  // hover shows a tooltip with the value
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForSelector('.chart-card[data-metric=loss] .chart-tip:not([hidden])');
  await page.mouse.move(0, 0);
  // params, tags, datasets, logged model
  assert.match(await page.locator('table.params').innerText(), /optimizer\s+adamw/);
  assert.match(await page.locator('table.tags').innerText(), /team/);
  await page.locator('.dataset', { hasText: 'toy-train' }).waitFor();
  await page.locator(`[data-model="${SEED.runs.model_id}"]`).waitFor();
  await shot(page, 'run', true);
});

test('charts: CSV and PNG export, a text alternative, readable log-axis labels', async (page) => {
  await page.goto(`${BASE}/#/runs/${RUNS.best}?log=1`);
  await page.waitForSelector('body[data-rendered~=run-charts]');
  const chart = page.locator('.chart-card[data-metric=loss] .chart');
  assert.equal(await chart.getAttribute('role'), 'img');
  assert.match(await chart.getAttribute('aria-label'), /^Chart of loss by step\. best: 200 points, last [-\d.e]+, min [-\d.e]+, max [-\d.e]+\.$/);
  // log axis: 1-2-5 values, never 10^0.5 = 3.16228
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric=loss] .chart')?.dataset.yTicks);
  const ticks = (await chart.getAttribute('data-y-ticks')).split(' ');
  assert.ok(ticks.length >= 3, `${ticks}`);
  for (const t of ticks) assert.match(t, /^(0\.0*[125]|[125]0*)$/, `log tick ${t} of ${ticks}`);
  // CSV: every point of the series
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'download loss as CSV' }).click()]);
  assert.equal(csv.suggestedFilename(), 'loss.csv');
  const text = await readFile(await csv.path(), 'utf8');
  const lines = text.trim().split('\n');
  assert.equal(lines[0], 'run,step,value');
  assert.equal(lines.length, 201);
  assert.match(lines[1], /^best,0,[\d.]+$/);
  // PNG: the drawn chart on white
  const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'download loss as PNG' }).click()]);
  assert.equal(png.suggestedFilename(), 'loss.png');
  const bytes = await readFile(await png.path());
  assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.ok(bytes.length > 3000, `${bytes.length} bytes`);
});

test('charts: a drag zooms every chart to the same x range, kept in the URL; wide y labels widen the margin', async (page) => {
  const exp = await newExperiment('ui-zoom');
  const run = await newRun(exp, 'zoomed');
  await logPoints(run, 'loss', 0, 100);
  await logPoints(run, 'revenue', 0, 100, (s) => 1_000_000 + s * 12345.678);
  await finishRun(run);
  await page.goto(`${BASE}/#/runs/${run}`);
  await page.waitForSelector('body[data-rendered~=run-charts]');
  const card = (k) => page.locator(`.chart-card[data-metric="${k}"] .chart`);
  assert.equal(await card('loss').getAttribute('data-pad-l'), '56');
  assert.ok(Number(await card('revenue').getAttribute('data-pad-l')) > 56, 'the 1.2e+6 labels get a wider margin');
  const overlay = page.locator('.chart-card[data-metric="loss"] canvas.chart-overlay');
  const b = await overlay.boundingBox();
  const pad = 56;
  await page.mouse.move(b.x + pad + (b.width - pad - 12) * 0.25, b.y + 60);
  await page.mouse.down();
  await page.mouse.move(b.x + pad + (b.width - pad - 12) * 0.5, b.y + 60, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1]).get('zoom'));
  const [z0, z1] = new URLSearchParams(page.url().split('?')[1]).get('zoom').split(',').map(Number);
  assert.ok(z0 > 15 && z0 < 35 && z1 > 40 && z1 < 60, `zoom ${z0},${z1}`);
  for (const k of ['loss', 'revenue']) await page.waitForFunction((key) => Number(document.querySelector(`.chart-card[data-metric="${key}"] .chart`)?.dataset.points) < 40, k);
  await page.reload();
  await page.waitForSelector('body[data-rendered~=run-charts]');
  await page.waitForFunction(() => Number(document.querySelector('.chart-card[data-metric="revenue"] .chart')?.dataset.points) < 40);
  await page.locator('.chart-card[data-metric="revenue"] canvas.chart-overlay').dblclick();
  await page.waitForFunction(() => !new URLSearchParams(location.hash.split('?')[1]).get('zoom'));
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric="loss"] .chart')?.dataset.points === '100');
});

test('charts: per-chart log scale and y range (in the URL), fullscreen, resizable', async (page) => {
  await page.goto(`${BASE}/#/runs/${RUNS.best}`);
  await page.waitForSelector('body[data-rendered~=run-charts]');
  const chart = (k) => page.locator(`.chart-card[data-metric="${k}"] .chart`);
  const ticks = async (k) => (await chart(k).getAttribute('data-y-ticks')).split(' ').map(Number);
  await page.locator('.chart-card[data-metric=loss] .chart-opts summary').click();
  await page.check('input[aria-label="log scale for loss"]');
  await page.waitForFunction(() => JSON.parse(new URLSearchParams(location.hash.split('?')[1]).get('ck') || '{}').loss?.log === true);
  await page.waitForFunction(() => /^(0\.0*[125]|[125]0*)( (0\.0*[125]|[125]0*))+$/.test(document.querySelector('.chart-card[data-metric=loss] .chart')?.dataset.yTicks || ''));
  assert.ok(!/log=1/.test(page.url()), 'only this chart');
  const accBefore = await ticks('accuracy');
  assert.ok(accBefore.some((t) => t === 0.2 || t === 0.4), `accuracy keeps its linear axis: ${accBefore}`);
  // a fixed y range
  await page.uncheck('input[aria-label="log scale for loss"]');
  await page.fill('input[aria-label="y min for loss"]', '0.5');
  await page.press('input[aria-label="y min for loss"]', 'Enter');
  await page.fill('input[aria-label="y max for loss"]', '1');
  await page.press('input[aria-label="y max for loss"]', 'Enter');
  await page.waitForFunction(() => { const t = (document.querySelector('.chart-card[data-metric=loss] .chart')?.dataset.yTicks || '').split(' ').map(Number); return t[0] >= 0.5 && t[t.length - 1] <= 1 && t.length >= 2; });
  await page.reload();
  await page.waitForSelector('body[data-rendered~=run-charts]');
  const t = await ticks('loss');
  assert.ok(t[0] >= 0.5 && t[t.length - 1] <= 1, `y range from the URL: ${t}`);
  assert.equal(await page.locator('input[aria-label="y max for loss"]').inputValue(), '1');
  // fullscreen and back with Escape
  await page.getByRole('button', { name: 'fullscreen loss' }).click();
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric=loss]')?.classList.contains('fullscreen'));
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric=loss] canvas.chart-canvas')?.clientHeight > 500);
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric=loss] canvas.chart-canvas')?.clientHeight === 220);
  // resizable: drag the card's resize handle (bottom right) down by 150 px
  const card = page.locator('.chart-card[data-metric=loss]');
  await card.scrollIntoViewIfNeeded();
  const cb = await card.boundingBox();
  await page.mouse.move(cb.x + cb.width - 3, cb.y + cb.height - 3);
  await page.mouse.down();
  await page.mouse.move(cb.x + cb.width - 3, cb.y + cb.height + 147, { steps: 6 });
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric=loss] canvas.chart-canvas')?.clientHeight > 330);
  assert.ok((await inkedPixels(page.locator('.chart-card[data-metric=loss] canvas.chart-canvas'))) > 2000, 'redrawn at the new height');
});

test('run: artifact tree and previews (text, JSON, CSV, image)', async (page) => {
  await page.goto(`${BASE}/#/runs/${RUNS.best}`);
  await page.waitForSelector('body[data-rendered~=run]');
  const tree = page.locator('.tree');
  await tree.locator('a.file[data-path="notes.txt"]').click();
  await page.locator('.preview pre', { hasText: 'best run so far' }).waitFor();
  await page.waitForFunction(() => location.hash.includes('art=notes.txt'));
  await tree.locator('a.file[data-path="config.json"]').click();
  await page.locator('.preview pre.json', { hasText: '"optimizer": "adamw"' }).waitFor();
  await tree.locator('a.dir[data-path="data"]').click();
  await tree.locator('a.file[data-path="data/sample.csv"]').click();
  await page.locator('.preview table.csv th', { hasText: 'y' }).waitFor();
  assert.equal(await page.locator('.preview table.csv tbody tr').count(), 20);
  await tree.locator('a.dir[data-path="plots"]').click();
  await tree.locator('a.file[data-path="plots/curve.png"]').click();
  const img = page.locator('.preview img');
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('.preview img')?.naturalWidth === 120);
  // a deep link opens the tree at the file
  await page.goto(`${BASE}/#/runs/${RUNS.best}?art=data%2Fsample.csv`);
  await page.locator('.preview table.csv').waitFor();
  // MLflow-style deep links, as the mlflow client prints them
  await page.goto(`${BASE}/#/experiments/${EXP}/runs/${RUNS.best}`);
  await page.waitForSelector('body[data-rendered~=run]');
});

test('compare: select runs, overlaid charts, differing params highlighted', async (page) => {
  await page.goto(`${BASE}/#/experiments/${EXP}?order=attributes.run_name%20ASC`);
  await page.waitForSelector('body[data-rendered~=runs]');
  const compare = page.getByRole('button', { name: 'Compare' });
  await page.check('input[aria-label="select baseline"]');
  assert.ok(await compare.isDisabled(), 'compare needs 2 runs');
  await page.check('input[aria-label="select best"]');
  await page.check('input[aria-label="select wide"]');
  const urls = recordApi(page);
  await compare.click();
  await page.waitForSelector('body[data-rendered~=compare-charts]');
  assert.equal((new URL(page.url().replace('#', '')).searchParams.get('runs') || '').split(',').length, 3);
  // sampled first: one bulk-interval request per chart for all runs, no full history
  assert.ok(urls.some((u) => u.includes('get-history-bulk-interval')), 'sampled histories');
  assert.ok(!urls.some((u) => u.includes('/get-history?')), `no full history yet: ${urls.filter((u) => u.includes('/get-history?'))}`);
  const lr = page.locator('table.compare tr[data-key=lr]');
  assert.equal(await lr.getAttribute('class'), 'diff');
  const stage = page.locator('table.compare tr[data-key=stage]');
  assert.notEqual(await stage.getAttribute('class'), 'diff');
  const chart = page.locator('.chart-card[data-metric=loss] .chart');
  assert.equal(await chart.getAttribute('data-points'), '600');
  assert.ok((await inkedPixels(chart.locator('canvas.chart-canvas'))) > 3000);
  // "all points" fetches the chart's histories in full: same points (fewer than the sample size)
  await page.getByRole('button', { name: 'all points of loss' }).click();
  await page.waitForFunction(() => !document.querySelector('.chart-card[data-metric=loss] button[aria-label="all points of loss"]'));
  assert.ok(urls.some((u) => u.includes('/get-history?')), 'full histories fetched');
  assert.equal(await chart.getAttribute('data-points'), '600');
  await page.check('text=only differences');
  await page.waitForFunction(() => location.hash.includes('diff=1'));
  assert.equal(await page.locator('table.compare tr[data-key=stage]').count(), 0);
  await shot(page, 'compare', false);
});

test('models: register a logged model, alias it, transition and tag it', async (page) => {
  page.on('dialog', (d) => d.accept());
  await page.goto(`${BASE}/#/runs/${RUNS.best}`);
  await page.waitForSelector('body[data-rendered~=run]');
  const card = page.locator(`[data-model="${SEED.runs.model_id}"]`);
  await card.locator('input[aria-label="registered model name"]').fill('ui-classifier');
  await card.getByRole('button', { name: 'Register model' }).click();
  await card.locator('a.chip', { hasText: 'ui-classifier v1' }).click();
  await page.waitForSelector('body[data-rendered~=model]');
  const v1 = page.locator('tr[data-version="1"]');
  await v1.locator('input[aria-label="alias for version 1"]').fill('champion');
  await v1.getByRole('button', { name: 'Set alias' }).click();
  await page.locator('tr[data-version="1"] .chip.alias', { hasText: '@champion' }).waitFor();
  await rerender(page, () => page.selectOption('select[aria-label="stage of version 1"]', 'Staging'));
  const tagRow = page.locator('tr[data-version="1"]');
  await tagRow.locator('input[aria-label="tag key"]').fill('validated');
  await tagRow.locator('input[aria-label="tag value"]').fill('yes');
  await tagRow.getByRole('button', { name: 'Add tag' }).click();
  await page.locator('tr[data-version="1"] .chip', { hasText: 'validated=yes' }).waitFor();
  // the server agrees
  const alias = await api(BASE, 'GET', '/api/2.0/mlflow/registered-models/alias?name=ui-classifier&alias=champion');
  assert.equal(alias.json.model_version.version, '1');
  assert.equal(alias.json.model_version.current_stage, 'Staging');
  await page.goto(`${BASE}/#/models`);
  await page.locator('tr[data-model="ui-classifier"] .chip.alias', { hasText: '@champion' }).waitFor();
  await shot(page, 'models', false);
});

test('jobs: submit a job, follow its log until it finishes (or "not available")', async (page) => {
  const probe = await api(BASE, 'GET', '/api/v1/jobs?max_results=1');
  await page.goto(`${BASE}/#/jobs`);
  if (probe.status === 404 || probe.status === 501) {
    await page.waitForSelector('#jobs-unavailable');
    console.log(`    SKIP jobs submit: /api/v1/jobs answers ${probe.status} on this server (checked the "not available" state only)`);
    return;
  }
  await page.waitForSelector('body[data-rendered~=jobs]');
  await page.click('text=Submit a job');
  await page.fill('input[name=name]', 'ui-echo');
  await page.fill('input[name=command]', "sh -c 'echo hello-from-ui; sleep 1; echo done'");
  await page.click('form.job-form button[type=submit]');
  await page.waitForSelector('body[data-rendered~=job]');
  await page.waitForSelector('#job-state:text-is("SUCCEEDED"), #job-state:text-is("FAILED")', { timeout: 120_000 });
  assert.equal(await page.locator('#job-state').innerText(), 'SUCCEEDED');
  await page.locator('#job-log', { hasText: 'hello-from-ui' }).waitFor({ timeout: 15_000 });
  await page.goto(`${BASE}/#/jobs?state=SUCCEEDED`);
  await page.locator('table.jobs tr', { hasText: 'ui-echo' }).waitFor();
});

test('jobs: cancel a running job from its page', async (page) => {
  const probe = await api(BASE, 'GET', '/api/v1/jobs?max_results=1');
  if (probe.status === 404 || probe.status === 501) { console.log(`    SKIP jobs cancel: /api/v1/jobs answers ${probe.status} on this server`); return; }
  await page.goto(`${BASE}/#/jobs?new=1`);
  await page.fill('input[name=name]', 'ui-sleeper');
  await page.fill('input[name=command]', "sh -c 'echo sleeping; sleep 120'");
  await page.click('form.job-form button[type=submit]');
  await page.waitForSelector('body[data-rendered~=job]');
  await page.waitForSelector('#job-state:text-is("RUNNING")', { timeout: 60_000 });
  await page.locator('#job-log', { hasText: 'sleeping' }).waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.waitForSelector('#job-state:text-is("CANCELLED")', { timeout: 60_000 });
  assert.ok(await page.getByRole('button', { name: 'Cancel job' }).isDisabled());
});

test('sweeps: a finished sweep shows its trials, the best one and the parameter plot', async (page) => {
  const probe = await api(BASE, 'GET', '/api/v1/sweeps?max_results=1');
  if (probe.status === 404 || probe.status === 501) { console.log(`    SKIP sweeps: /api/v1/sweeps answers ${probe.status} on this server`); return; }
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const python = join(process.env.COMPAT_VENV || join(repo, '.venv'), 'bin', 'python');
  const created = await api(BASE, 'POST', '/api/v1/sweeps', {
    name: 'ui-sweep',
    trial: { command: [python, join(repo, 'tests', 'jobs', 'sweep', 'trial.py')], env: { STEPS: '3', STEP_SECONDS: '0.05' } },
    search_space: { x: { type: 'choice', values: [3, 1, 2] } },
    strategy: { type: 'grid' },
    objective: { metric: 'loss', direction: 'minimize' },
    budget: { parallelism: 2 },
  });
  assert.equal(created.status, 200, created.text);
  const id = created.json.sweep.sweep_id;
  const deadline = Date.now() + 120_000;
  let state = 'RUNNING';
  while (state === 'RUNNING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    state = (await api(BASE, 'GET', `/api/v1/sweeps/${id}`)).json.sweep.state;
  }
  assert.equal(state, 'SUCCEEDED');
  await page.goto(`${BASE}/#/sweeps`);
  await page.waitForSelector('body[data-rendered~=sweeps]');
  await page.locator(`table.sweeps tr[data-sweep="${id}"]`, { hasText: 'SUCCEEDED' }).waitFor();
  await page.click(`table.sweeps tr[data-sweep="${id}"] a`);
  await page.waitForSelector('body[data-rendered~=sweep]');
  assert.equal(await page.locator('#sweep-state').innerText(), 'SUCCEEDED');
  assert.equal(await page.locator('table.trials tbody tr').count(), 3);
  // x = 1 (trial 1) is the best: marked in the table and in the summary
  const best = page.locator('table.trials tr.best');
  assert.equal(await best.count(), 1);
  assert.equal(await best.getAttribute('data-trial'), '1');
  assert.match(await page.locator('#sweep-best').innerText(), /#1: .*x=1/);
  assert.ok(await page.getByRole('button', { name: 'Cancel sweep' }).isDisabled());
  assert.ok(await inkedPixels(page.locator('#sweep-parallel canvas').first()) > 200, 'the parallel coordinates are drawn');
  assert.ok(await inkedPixels(page.locator('#sweep-over-time canvas').first()) > 200, 'the objective over time is drawn');
  await shot(page, 'sweep', false);
});

test('sweeps: a sweep created from the form runs to its page; a bad spec names the field', async (page) => {
  const probe = await api(BASE, 'GET', '/api/v1/sweeps?max_results=1');
  if (probe.status === 404 || probe.status === 501) { console.log(`    SKIP sweeps form: /api/v1/sweeps answers ${probe.status} on this server`); return; }
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const python = join(process.env.COMPAT_VENV || join(repo, '.venv'), 'bin', 'python');
  await page.goto(`${BASE}/#/sweeps`);
  await page.waitForSelector('body[data-rendered~=sweeps]');
  await page.getByRole('button', { name: 'New sweep' }).click();
  const spec = page.locator('textarea[name=spec]');
  assert.match(await spec.inputValue(), /"strategy"/, 'the form starts from an example spec');
  // Refused by the server with the field at fault, nothing created.
  await spec.fill(JSON.stringify({ name: 'ui-bad-sweep', trial: { command: ['true'] }, search_space: {}, strategy: { type: 'grid' }, objective: { metric: 'loss', direction: 'minimize' }, budget: {} }));
  await page.getByRole('button', { name: 'Create sweep' }).click();
  await page.locator('form.sweep-form .error').waitFor();
  assert.match(await page.locator('form.sweep-form .error').innerText(), /search_space/);
  await spec.fill(JSON.stringify({
    name: 'ui-form-sweep',
    trial: { command: [python, join(repo, 'tests', 'jobs', 'sweep', 'trial.py')], env: { STEPS: '2', STEP_SECONDS: '0.05' } },
    search_space: { x: { type: 'choice', values: [2, 1] } },
    strategy: { type: 'grid' },
    objective: { metric: 'loss', direction: 'minimize' },
    budget: { parallelism: 2 },
  }));
  await page.getByRole('button', { name: 'Create sweep' }).click();
  await page.waitForSelector('body[data-rendered~=sweep]');
  await page.waitForSelector('#sweep-state:text-is("SUCCEEDED")', { timeout: 120_000 });
  assert.equal(await page.locator('table.trials tbody tr').count(), 2);
});

test('jobs: a 2-replica job from the form gets the rendezvous environment', async (page) => {
  const probe = await api(BASE, 'GET', '/api/v1/jobs?max_results=1');
  if (probe.status === 404 || probe.status === 501) { console.log(`    SKIP jobs replicas: /api/v1/jobs answers ${probe.status} on this server`); return; }
  await page.goto(`${BASE}/#/jobs?new=1`);
  await page.waitForSelector('body[data-rendered~=jobs]');
  await page.fill('input[name=name]', 'ui-ddp');
  await page.fill('input[name=command]', 'sh -c \'echo "rank $RANK of $WORLD_SIZE via $MASTER_ADDR"\'');
  await page.fill('input[name=replicas]', '2');
  await page.click('form.job-form button[type=submit]');
  await page.waitForSelector('body[data-rendered~=job]');
  await page.waitForSelector('#job-state:text-is("SUCCEEDED"), #job-state:text-is("FAILED")', { timeout: 120_000 });
  assert.equal(await page.locator('#job-state').innerText(), 'SUCCEEDED');
  // The job page shows rank 0's log.
  await page.locator('#job-log', { hasText: 'rank 0 of 2 via 127.0.0.1' }).waitFor({ timeout: 15_000 });
});

// ---------------------------------------------------------------- runs table: sorting, grouping, count
test('runs: headers sort from the keyboard (button in th, aria-sort)', async (page) => {
  await page.goto(`${BASE}/#/experiments/${EXP}`);
  await page.waitForSelector('body[data-rendered~=runs]');
  const th = (f) => page.locator(`th[data-field="${f}"]`);
  assert.equal(await th('metrics.loss').getAttribute('aria-sort'), 'none');
  await th('metrics.loss').locator('button').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1] || '').get('order') === 'metrics.`loss` DESC');
  await page.waitForSelector('th[data-field="metrics.loss"][aria-sort=descending]');
  assert.equal((await runNames(page))[0], 'diverged');
  // Tab reaches the header buttons; Space sorts the other way
  await th('metrics.loss').locator('button').focus();
  await page.keyboard.press('Space');
  await page.waitForSelector('th[data-field="metrics.loss"][aria-sort=ascending]');
  assert.equal((await runNames(page))[0], 'best');
  assert.equal(await th('attributes.run_name').getAttribute('aria-sort'), 'none');
  await page.locator('input[aria-label="select all"]').focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.closest('th')?.dataset.field), 'attributes.run_name');
  await page.keyboard.press('Enter');
  await page.waitForSelector('th[data-field="attributes.run_name"][aria-sort=ascending]');
  assert.equal((await runNames(page))[0], 'baseline');
});

test('runs: group by a param, a tag or the dataset, with count and min/mean/max of a metric', async (page) => {
  // the expected aggregates, from the API
  const all = await ok('POST', '/runs/search', { experiment_ids: [EXP], max_results: 100 });
  const loss = new Map(all.runs.map((r) => [r.info.run_name, r.data.metrics.find((m) => m.key === 'loss').value]));
  const fmt = (v) => String(Number(v.toPrecision(6)));
  const adam = ['wide', 'deep', 'tiny-lr'].map((n) => loss.get(n));
  await page.goto(`${BASE}/#/experiments/${EXP}?order=attributes.run_name%20ASC`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.selectOption('select[aria-label="group by"]', 'p:optimizer');
  await page.selectOption('select[aria-label="aggregate metric"]', 'loss');
  await page.waitForFunction(() => decodeURIComponent(location.hash).includes('group=p:optimizer') && location.hash.includes('agg=loss'));
  const groups = page.locator('table.runs tr.group-row');
  assert.deepEqual(await groups.locator('.group-name').allInnerTexts(), ['param optimizer = adam', 'param optimizer = adamw', 'param optimizer = sgd']);
  assert.deepEqual(await groups.locator('.group-count').allInnerTexts(), ['3 runs', '1 run', '2 runs']);
  const g = page.locator('tr.group-row[data-group=adam]');
  assert.equal(await g.locator('.agg-min').innerText(), `min ${fmt(Math.min(...adam))}`);
  assert.equal(await g.locator('.agg-max').innerText(), `max ${fmt(Math.max(...adam))}`);
  assert.equal(await g.locator('.agg-mean').innerText(), `mean ${fmt(adam.reduce((a, b) => a + b) / 3)}`);
  assert.equal(await rowsOf(page).count(), 6);
  await shot(page, 'runs-grouped', false);
  // collapse a group from the keyboard; the URL keeps it
  await g.getByRole('button', { name: 'collapse group param optimizer = adam' }).focus();
  await page.keyboard.press('Enter');
  assert.equal(await rowsOf(page).count(), 3);
  await page.reload();
  await page.waitForSelector('body[data-rendered~=runs]');
  assert.equal(await groups.count(), 3);
  assert.equal(await rowsOf(page).count(), 3);
  assert.equal(await page.locator('select[aria-label="aggregate metric"]').inputValue(), 'loss');
  // by tag and by dataset; runs without one get their own group
  await page.selectOption('select[aria-label="group by"]', 't:team');
  assert.deepEqual(await groups.locator('.group-count').allInnerTexts(), ['3 runs', '3 runs']);
  await page.selectOption('select[aria-label="group by"]', 'd:');
  assert.deepEqual(await groups.locator('.group-name').allInnerTexts(), [await groups.locator('.group-name').first().innerText(), '(no dataset)']);
  assert.match(await groups.locator('.group-name').first().innerText(), /^dataset = toy-train \(\w+\)$/);
  assert.deepEqual(await groups.locator('.group-count').allInnerTexts(), ['1 run', '5 runs']);
  await page.selectOption('select[aria-label="group by"]', '');
  assert.equal(await groups.count(), 0);
});

test('runs: total count of matching runs, bounded paging ("N+" beyond the cap)', async (page) => {
  const urls = recordApi(page);
  await page.goto(`${BASE}/#/experiments/${EXP}?ps=4`);
  await page.waitForSelector('body[data-rendered~=runs-total]');
  assert.equal(await page.locator('#run-total').innerText(), '6 matching');
  await page.goto(`${BASE}/#/experiments/${EXP}?filter=${encodeURIComponent("params.optimizer = 'adam'")}`);
  await page.waitForSelector('body[data-rendered~=runs-total]');
  assert.equal(await page.locator('#run-total').innerText(), '3 matching');
  // beyond the cap: "N+", with a bounded number of requests
  await page.evaluate(() => { window.__mlpCountPage = 2; window.__mlpCountCap = 4; });
  urls.length = 0;
  await page.goto(`${BASE}/#/experiments/${EXP}?ps=2`);
  await page.waitForSelector('body[data-rendered~=runs-total]');
  assert.equal(await page.locator('#run-total').innerText(), '4+ matching');
  assert.equal(urls.filter((u) => u.includes('/runs/search')).length, 3, `the page's search and two counting pages: ${urls}`);
});

// ---------------------------------------------------------------- live runs
const M = '/api/2.0/mlflow';
const ok = async (method, path, body) => {
  const r = await api(BASE, method, M + path, body);
  assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
  return r.json;
};
const newExperiment = async (prefix) => (await ok('POST', '/experiments/create', { name: `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}` })).experiment_id;
const newRun = async (exp, name) => (await ok('POST', '/runs/create', { experiment_id: exp, run_name: name, start_time: Date.now() })).run.info.run_id;
const logPoints = (runId, key, from, to, value = (s) => 1 / (s + 1)) => ok('POST', '/runs/log-batch', {
  run_id: runId, metrics: Array.from({ length: to - from }, (_, i) => ({ key, value: value(from + i), timestamp: 1_700_000_000_000 + (from + i) * 1000, step: from + i })),
});
const finishRun = (runId) => ok('POST', '/runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
/** Records the API requests a page makes (URL strings). */
const recordApi = (page) => {
  const urls = [];
  page.on('request', (r) => { if (r.url().includes('/ajax-api/')) urls.push(r.url()); });
  return urls;
};
const fastPoll = (page) => page.addInitScript(() => { window.__mlpPollMs = 300; });
const points = (page, key) => page.locator(`.chart-card[data-metric="${key}"] .chart`).getAttribute('data-points');

test('live: a running run appends only new points, pauses, shows the status change and stops', async (page) => {
  const exp = await newExperiment('ui-live');
  const run = await newRun(exp, 'live-run');
  await logPoints(run, 'loss', 0, 10);
  await fastPoll(page);
  const urls = recordApi(page);
  await page.goto(`${BASE}/#/runs/${run}`);
  await page.waitForSelector('body[data-rendered~=run-charts]');
  assert.equal(await points(page, 'loss'), '10');
  await page.waitForSelector('#live[data-live=on]');
  assert.equal(await page.locator('#run-status').innerText(), 'RUNNING');
  urls.length = 0;
  await logPoints(run, 'loss', 10, 15);
  await logPoints(run, 'lr', 0, 3, () => 0.01);
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric="loss"] .chart')?.dataset.points === '15');
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric="lr"] .chart')?.dataset.points === '3');
  // only the tail was fetched: every later get-history of "loss" starts at an offset
  const lossCalls = urls.filter((u) => u.includes('/metrics/get-history?') && u.includes('metric_key=loss'));
  assert.ok(lossCalls.length >= 1, 'the loss history was polled');
  for (const u of lossCalls) assert.ok(new URL(u).searchParams.get('page_token'), `tail fetch with a start offset: ${u}`);
  assert.match(await page.locator('.chart-card[data-metric="loss"] .chart-title').innerText(), /15 points/);
  await shot(page, 'run-live', false);
  // pause: nothing changes while paused, resume catches up
  await page.getByRole('button', { name: 'pause live updates' }).click();
  await page.waitForSelector('#live[data-live=paused][data-busy="0"]'); // a round in flight when pausing ends first
  const ticks = await page.locator('#live').getAttribute('data-ticks');
  await logPoints(run, 'loss', 15, 20);
  await page.waitForTimeout(1200);
  assert.equal(await points(page, 'loss'), '15', 'paused: no update');
  assert.equal(await page.locator('#live').getAttribute('data-ticks'), ticks);
  await page.getByRole('button', { name: 'resume live updates' }).click();
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric="loss"] .chart')?.dataset.points === '20');
  // the run ends: status shown, polling stops
  await finishRun(run);
  await page.waitForSelector('#run-status:text-is("FINISHED")');
  await page.waitForSelector('#live[data-live=off]');
  const n = urls.length;
  await page.waitForTimeout(1200);
  assert.equal(urls.length, n, `no requests after the run finished: ${urls.slice(n).join(' ')}`);
  // a finished run's page has no live indicator at all
  await page.reload();
  await page.waitForSelector('body[data-rendered~=run-charts]');
  assert.equal(await page.locator('#live').count(), 0);
});

test('live: runs and compare pages refresh running runs; leaving the page stops polling', async (page) => {
  const exp = await newExperiment('ui-live2');
  const a = await newRun(exp, 'live-a');
  const b = await newRun(exp, 'live-b');
  await logPoints(a, 'loss', 0, 5);
  await logPoints(b, 'loss', 0, 5);
  await fastPoll(page);
  const urls = recordApi(page);
  await page.goto(`${BASE}/#/experiments/${exp}?cols=m:loss`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.waitForSelector('#live[data-live=on]');
  const cellA = page.locator(`tr[data-run="${a}"] td.num`);
  assert.equal(await cellA.innerText(), '0.2');
  await logPoints(a, 'loss', 5, 6, () => 0.123);
  await page.locator(`tr[data-run="${a}"] td.num`, { hasText: '0.123' }).waitFor();
  await finishRun(a);
  await page.locator(`tr[data-run="${a}"] .status`, { hasText: 'FINISHED' }).waitFor();
  assert.equal(await page.locator('#live').getAttribute('data-live'), 'on', 'b still runs');
  // compare: b's new points are appended to the overlaid chart, a (finished) is not polled
  await page.goto(`${BASE}/#/compare?runs=${a},${b}`);
  await page.waitForSelector('body[data-rendered~=compare-charts]');
  assert.equal(await points(page, 'loss'), '11');
  urls.length = 0;
  await logPoints(b, 'loss', 5, 8);
  await page.waitForFunction(() => document.querySelector('.chart-card[data-metric="loss"] .chart')?.dataset.points === '14');
  assert.ok(!urls.some((u) => u.includes(a)), `the finished run is not polled: ${urls.filter((u) => u.includes(a))}`);
  // leaving the page (the router aborts it) stops the polling
  await page.goto(`${BASE}/#/models`);
  await page.waitForSelector('body[data-rendered~=models]');
  const n = urls.length;
  await page.waitForTimeout(1200);
  const after = urls.slice(n).filter((u) => u.includes(b) || u.includes('runs/search'));
  assert.deepEqual(after, [], 'no polling after leaving the page');
  await finishRun(b);
  await page.goto(`${BASE}/#/compare?runs=${a},${b}`);
  await page.waitForSelector('body[data-rendered~=compare-charts]');
  assert.equal(await page.locator('#live').count(), 0);
  assert.equal(await points(page, 'loss'), '14');
});

test('live: new runs appear on the runs page; a running parent lists its new children', async (page) => {
  const exp = await newExperiment('ui-live3');
  await fastPoll(page);
  const urls = recordApi(page);
  await page.goto(`${BASE}/#/experiments/${exp}`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.waitForSelector('text=No runs in this experiment yet.');
  await page.waitForSelector('#live[data-live=on]');
  // a run created while the page is open is added, with its metric as a column
  const parent = await newRun(exp, 'new-parent');
  await logPoints(parent, 'loss', 0, 3);
  await page.locator(`tr.new[data-run="${parent}"]`).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('table.runs thead th')].some((th) => th.innerText.includes('loss')));
  assert.match(await page.locator('#new-runs').innerText(), /^1 new run/);
  // a child of it goes under it (collapsed, counted on the toggle)
  const child = (await ok('POST', '/runs/create', { experiment_id: exp, run_name: 'new-child', start_time: Date.now(), tags: [{ key: 'mlflow.parentRunId', value: parent }] })).run.info.run_id;
  await page.waitForFunction((id) => document.querySelector(`tr[data-run="${id}"] button.twisty`)?.innerText.includes('1'), parent);
  await page.getByRole('button', { name: 'expand new-parent' }).click();
  await page.locator(`tr[data-run="${child}"][data-depth="1"]`).waitFor();
  // each round costs at most two searches (running rows, new runs), never a full re-read
  urls.length = 0;
  await page.waitForFunction(() => Number(document.querySelector('#live')?.dataset.ticks) >= 3);
  const ticks = Number(await page.locator('#live').getAttribute('data-ticks'));
  const searches = urls.filter((u) => u.includes('/runs/search'));
  assert.ok(searches.length <= 2 * (ticks + 1), `${searches.length} searches in ${ticks} rounds`);
  // the running parent's own page: a new child appears and its status follows
  await page.goto(`${BASE}/#/runs/${parent}`);
  await page.waitForSelector('body[data-rendered~=run]');
  await page.locator(`#child-runs a.chip[data-run="${child}"]`).waitFor();
  const second = (await ok('POST', '/runs/create', { experiment_id: exp, run_name: 'late-child', start_time: Date.now(), tags: [{ key: 'mlflow.parentRunId', value: parent }] })).run.info.run_id;
  await page.locator(`#child-runs a.chip[data-run="${second}"]`).waitFor();
  await finishRun(child);
  await page.locator(`#child-runs a.chip[data-run="${child}"] .status`, { hasText: 'FINISHED' }).waitFor();
  assert.match(await page.locator('#child-runs h2').innerText(), /Child runs \(2\)/);
  for (const id of [second, parent]) await finishRun(id);
  await page.waitForSelector('#live[data-live=off]');
});

// ---------------------------------------------------------------- nested runs
test('runs: nested runs under their parent (expand/collapse), parent and child links', async (page) => {
  const exp = SEED.nested_experiment_id;
  await page.goto(`${BASE}/#/experiments/${exp}?order=attributes.run_name%20ASC`);
  await page.waitForSelector('body[data-rendered~=runs]');
  const names = () => page.locator('table.runs tbody tr[data-run] td.name a').allInnerTexts();
  assert.deepEqual(await names(), ['solo', 'sweep'], 'children are collapsed under their parent');
  const twisty = page.locator(`tr[data-run="${RUNS.sweep}"] button.twisty`);
  assert.match(await twisty.innerText(), /3/);
  await page.getByRole('button', { name: 'expand sweep' }).click();
  assert.deepEqual(await names(), ['solo', 'sweep', 'trial-0', 'trial-1', 'trial-2']);
  assert.equal(await page.locator(`tr[data-run="${RUNS['trial-1']}"]`).getAttribute('data-depth'), '1');
  await page.waitForFunction((id) => location.hash.includes(`open=${id}`), RUNS.sweep);
  await shot(page, 'runs-nested', false);
  // the URL keeps it open
  await page.reload();
  await page.waitForSelector('body[data-rendered~=runs]');
  assert.equal((await names()).length, 5);
  await page.getByRole('button', { name: 'collapse sweep' }).click();
  assert.deepEqual(await names(), ['solo', 'sweep']);
  // a filter that matches children only shows them at the top level
  await page.goto(`${BASE}/#/experiments/${exp}?filter=${encodeURIComponent("params.lr != ''")}&order=attributes.run_name%20ASC`);
  await page.waitForSelector('body[data-rendered~=runs]');
  assert.deepEqual(await names(), ['trial-0', 'trial-1', 'trial-2']);
  // run page: parent -> children, child -> parent
  await page.goto(`${BASE}/#/runs/${RUNS.sweep}`);
  await page.waitForSelector('body[data-rendered~=run]');
  const kids = page.locator('#child-runs a.chip');
  await kids.first().waitFor();
  assert.equal(await kids.count(), 3);
  await page.locator(`#child-runs a.chip[data-run="${RUNS['trial-2']}"]`).click();
  await page.waitForFunction((id) => location.hash === `#/runs/${id}`, RUNS['trial-2']);
  await page.waitForSelector('body[data-rendered~=run]');
  const parent = page.locator('#parent-run');
  await page.waitForSelector('#parent-run:text-is("sweep")');
  await parent.click();
  await page.waitForFunction((id) => location.hash === `#/runs/${id}`, RUNS.sweep);
  await page.locator('#child-runs a.chip').first().waitFor();
  assert.equal(await page.locator('#child-runs a.chip').count(), 3);
  await page.goto(`${BASE}/#/runs/${RUNS.solo}`);
  await page.waitForSelector('h1:has-text("solo")');
  await page.waitForSelector('body[data-rendered~=run]');
  assert.equal(await page.locator('#parent-run').count(), 0);
  assert.ok(await page.locator('#child-runs').isHidden());
});

// ---------------------------------------------------------------- model versions
test('model version page: Markdown description (safe links), source run and model, signature, aliases, tags', async (page) => {
  const name = `ui-mv-${Date.now()}`;
  await ok('POST', '/registered-models/create', { name });
  const created = await ok('POST', '/model-versions/create', { name, source: `models:/${RUNS.model_id}`, run_id: RUNS.best, model_id: RUNS.model_id });
  const ver = created.model_version.version;
  await page.goto(`${BASE}/#/models/${encodeURIComponent(name)}`);
  await page.waitForSelector('body[data-rendered~=model]');
  await page.click(`tr[data-version="${ver}"] a:has-text("v${ver}")`);
  await page.waitForFunction((v) => location.hash.endsWith(`/versions/${v}`), ver);
  await page.waitForSelector('body[data-rendered~=model-version]');
  // source run and logged model
  await page.waitForSelector('#mv-run:text-is("best")');
  await page.locator('#mv-logged-model', { hasText: 'classifier' }).waitFor();
  // signature from the MLmodel file
  await page.waitForSelector('body[data-rendered~=model-version-signature]');
  const inputs = await page.locator('#signature table.sig-inputs tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(inputs, ['a', 'b']);
  assert.equal(await page.locator('#signature table.sig-outputs tbody tr').count(), 1);
  // description: Markdown rendered with DOM text only, links only for http(s)
  const md = 'Trained on **toy** data. See [the docs](https://example.com/docs) and `lr=0.03`.\n\n[evil](javascript:alert(1)) <img src=x onerror="window.__pwned=1">\n\n```\nmlflow.pyfunc.load_model("models:/x@champion")\n```';
  await page.getByRole('button', { name: 'Edit description' }).click();
  await page.fill('textarea[aria-label=description]', md);
  await page.getByRole('button', { name: 'Save description' }).click();
  await page.waitForSelector('body[data-rendered~=model-version-description]');
  const box = page.locator('#mv-description .md');
  assert.equal(await box.locator('a').count(), 1, 'one link: the https one');
  assert.equal(await box.locator('a').getAttribute('href'), 'https://example.com/docs');
  assert.equal(await box.locator('a').getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await box.locator('strong').innerText(), 'toy');
  assert.equal(await box.locator('p code').innerText(), 'lr=0.03');
  assert.match(await box.locator('pre code').innerText(), /load_model\("models:\/x@champion"\)/);
  assert.equal(await box.locator('img').count(), 0, 'HTML stays text');
  assert.match(await box.innerText(), /\[evil\]\(javascript:alert\(1\)\) <img src=x/);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const stored = await ok('GET', `/model-versions/get?name=${encodeURIComponent(name)}&version=${ver}`);
  assert.equal(stored.model_version.description, md);
  // aliases, stage and tags from this page; reload keeps the description
  await page.fill('input[aria-label=alias]', 'candidate');
  await rerender(page, () => page.getByRole('button', { name: 'Set alias' }).click());
  await page.locator('#mv-aliases .chip.alias', { hasText: '@candidate' }).waitFor();
  await rerender(page, () => page.selectOption('select[aria-label=stage]', 'Production'));
  await page.fill('#mv-tags input[aria-label="tag key"]', 'owner');
  await page.fill('#mv-tags input[aria-label="tag value"]', 'ml-team');
  await rerender(page, () => page.locator('#mv-tags').getByRole('button', { name: 'Add tag' }).click());
  await page.locator('#mv-tags .chip', { hasText: 'owner=ml-team' }).waitFor();
  const after = await ok('GET', `/model-versions/get?name=${encodeURIComponent(name)}&version=${ver}`);
  assert.equal(after.model_version.current_stage, 'Production');
  assert.deepEqual(after.model_version.aliases, ['candidate']);
  assert.equal(await page.locator('#mv-description .md a').getAttribute('href'), 'https://example.com/docs');
  await page.locator('a', { hasText: 'best' }).first().waitFor();
  await shot(page, 'model-version', false);
});

test('model page: the Set-alias and Add-tag inputs are not cut by the table cells', async (page) => {
  const name = `ui-cells-${Date.now()}`;
  await ok('POST', '/registered-models/create', { name });
  await ok('POST', '/model-versions/create', { name, source: `models:/${RUNS.model_id}`, run_id: RUNS.best, model_id: RUNS.model_id });
  await ok('POST', '/model-versions/set-tag', { name, version: '1', key: 'a-rather-long-tag-key', value: 'and-a-rather-long-value-too' });
  await page.setViewportSize({ width: 1100, height: 800 });
  await page.goto(`${BASE}/#/models/${encodeURIComponent(name)}`);
  await page.waitForSelector('body[data-rendered~=model]');
  const cut = await page.evaluate(() => [...document.querySelectorAll('tr[data-version="1"] td')]
    .filter((td) => td.scrollWidth > td.clientWidth + 1 || getComputedStyle(td).textOverflow === 'ellipsis' && td.scrollWidth > td.clientWidth)
    .map((td) => td.innerText.slice(0, 40)));
  assert.deepEqual(cut, [], 'no version cell overflows (cut to an ellipsis)');
  for (const label of ['alias for version 1', 'tag key', 'tag value']) {
    const input = page.locator(`tr[data-version="1"] input[aria-label="${label}"]`);
    const b = await input.boundingBox();
    assert.ok(b && b.width >= 60, `${label} input is usable (${b && b.width}px)`);
    const visible = await input.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const td = el.closest('td').getBoundingClientRect();
      return r.left >= td.left - 1 && r.right <= td.right + 1;
    });
    assert.ok(visible, `${label} input lies inside its cell`);
  }
});

test('run page: Markdown description (editable, safe), editable tags, mlflow.* system tags behind a toggle', async (page) => {
  const exp = await newExperiment('ui-runpage');
  const run = await newRun(exp, 'described');
  await ok('POST', '/runs/set-tag', { run_id: run, key: 'owner', value: 'me' });
  await ok('POST', '/runs/set-tag', { run_id: run, key: 'mlflow.source.name', value: 'train.py' });
  await finishRun(run);
  await page.goto(`${BASE}/#/runs/${run}`);
  await page.waitForSelector('body[data-rendered~=run]');
  // system tags are hidden until asked for, and the URL keeps the choice
  assert.deepEqual(await page.locator('#run-tags table.tags tr').evaluateAll((trs) => trs.map((t) => t.dataset.key)), ['owner']);
  assert.equal(await page.locator('#run-tags table.sys').count(), 0);
  await page.getByRole('button', { name: /Show \d+ mlflow\.\* system tags?/ }).click();
  await page.locator('#run-tags table.sys tr[data-key="mlflow.source.name"]').waitFor();
  await page.waitForFunction(() => location.hash.includes('sys=1'));
  // tags: add, edit, remove (the server agrees)
  await page.fill('input[aria-label="new tag key"]', 'stage');
  await page.fill('input[aria-label="new tag value"]', '<img src=x onerror="window.__pwned=1">');
  await page.getByRole('button', { name: 'Set tag' }).click();
  await page.locator('#run-tags tr[data-key=stage]').waitFor();
  await page.getByRole('button', { name: 'edit tag stage' }).click();
  await page.fill('input[aria-label="new tag value"]', 'prod');
  await page.getByRole('button', { name: 'Set tag' }).click();
  await page.locator('#run-tags tr[data-key=stage] td', { hasText: 'prod' }).waitFor();
  await page.getByRole('button', { name: 'remove tag owner' }).click();
  await page.waitForFunction(() => !document.querySelector('#run-tags tr[data-key=owner]'));
  let tags = (await ok('GET', `/runs/get?run_id=${run}`)).run.data.tags;
  assert.equal(tags.find((t) => t.key === 'stage')?.value, 'prod');
  assert.equal(tags.find((t) => t.key === 'owner'), undefined);
  // description: Markdown from text nodes, saved as mlflow.note.content
  const md = '**Goal**: beat the baseline. [report](https://example.com/r) [x](javascript:alert(1)) <img src=x onerror="window.__pwned=1">';
  await page.getByRole('button', { name: 'Edit description' }).click();
  await page.fill('textarea[aria-label="run description"]', md);
  await page.getByRole('button', { name: 'Save description' }).click();
  await page.waitForSelector('body[data-rendered~=run-description]');
  const box = page.locator('#run-description .md');
  assert.equal(await box.locator('strong').innerText(), 'Goal');
  assert.equal(await box.locator('a').count(), 1);
  assert.equal(await box.locator('a').getAttribute('href'), 'https://example.com/r');
  assert.equal(await page.locator('#app img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  tags = (await ok('GET', `/runs/get?run_id=${run}`)).run.data.tags;
  assert.equal(tags.find((t) => t.key === 'mlflow.note.content')?.value, md);
  await page.reload();
  await page.waitForSelector('body[data-rendered~=run]');
  assert.equal(await page.locator('#run-description .md strong').innerText(), 'Goal');
  assert.equal(await page.locator('#run-tags table.sys').count(), 1, 'sys=1 from the URL');
});

// ---------------------------------------------------------------- logged models
test('logged model page: MLmodel (flavors, signature, input example), environment, files, metrics, params, registrations', async (page) => {
  const id = RUNS.model_id;
  const name = `ui-lm-${Date.now()}`;
  await ok('POST', '/registered-models/create', { name });
  for (let i = 0; i < 2; i++) await ok('POST', '/model-versions/create', { name, source: `models:/${id}`, run_id: RUNS.best, model_id: id });
  // from the run page, at MLflow 3's URL
  await page.goto(`${BASE}/#/runs/${RUNS.best}`);
  await page.waitForSelector('body[data-rendered~=run]');
  await page.locator(`[data-model="${id}"] a.lm-link`).click();
  await page.waitForFunction(([e, m]) => location.hash === `#/experiments/${e}/models/${m}`, [EXP, id]);
  await page.waitForSelector('body[data-rendered~=logged-model-files]');
  assert.match(await page.locator('h1').innerText(), /classifier/);
  await page.waitForSelector('#lm-run:text-is("best")');
  // MLmodel: flavors with their properties, the signature as a table, the input example as a table
  const flavors = await page.locator('table.flavors tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.flavor));
  assert.deepEqual(flavors.sort(), ['python_function', 'sklearn']);
  assert.match(await page.locator('tr[data-flavor=python_function] td.props').innerText(), /loader_module: mlflow\.sklearn/);
  assert.match(await page.locator('tr[data-flavor=sklearn] td.props').innerText(), /sklearn_version: \d/);
  assert.deepEqual(await page.locator('#lm-signature table.sig-inputs tbody td:first-child').allInnerTexts(), ['a', 'b']);
  assert.deepEqual(await page.locator('#lm-example table.input-example th').allInnerTexts(), ['a', 'b']);
  assert.equal(await page.locator('#lm-example table.input-example tbody tr').count(), 2);
  // requirements and conda files
  assert.match(await page.locator('.env-file[data-file="requirements.txt"] pre').innerText(), /scikit-learn/);
  assert.match(await page.locator('.env-file[data-file="conda.yaml"] pre').innerText(), /dependencies:/);
  // params and metrics of the model (not of the run)
  assert.match(await page.locator('table.lm-params').innerText(), /C\s+1\.0[\s\S]*solver\s+lbfgs/);
  const metric = page.locator('table.lm-metrics tbody tr', { hasText: 'val_accuracy' });
  assert.match(await metric.innerText(), /0\.75\s+3/);
  // the model's own files, from its artifact endpoint, with previews
  await page.locator('.tree a.file[data-path="MLmodel"]').click();
  await page.locator('.preview pre', { hasText: 'flavors:' }).waitFor();
  await page.waitForFunction(() => location.hash.includes('art=MLmodel'));
  await page.locator('.tree a.file[data-path="requirements.txt"]').waitFor();
  // the registrations it already has (the mlflow.modelVersions tag), each a link to its version
  const regs = page.locator('#lm-registrations a.chip');
  for (const v of ['1', '2']) await regs.filter({ hasText: `${name} v${v}` }).waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'logged-model', true);
  await regs.filter({ hasText: `${name} v2` }).click();
  await page.waitForSelector('body[data-rendered~=model-version]');
  assert.ok(page.url().endsWith(`#/models/${name}/versions/2`), page.url());
  // the version links back to its logged model, and so does every version row of the model page
  await page.locator('#mv-logged-model a', { hasText: 'classifier' }).click();
  await page.waitForSelector('body[data-rendered~=logged-model]');
  await page.goto(`${BASE}/#/models/${encodeURIComponent(name)}`);
  await page.waitForSelector('body[data-rendered~=model]');
  assert.equal(await page.locator('tr[data-version] a.lm-link').count(), 2);
  await page.locator('tr[data-version="1"] a.lm-link').click();
  await page.waitForFunction(([e, m]) => location.hash === `#/experiments/${e}/models/${m}`, [EXP, id]);
  await page.waitForSelector('body[data-rendered~=logged-model-files]');
});

test('logged model page: hostile tags, params and registrations stay text; no MLmodel yet', async (page) => {
  const evil = '<img src=x onerror="window.__pwned=1">';
  const { model } = await ok('POST', '/logged-models', { experiment_id: EXP, name: 'hostile-model', model_type: evil });
  const id = model.info.model_id;
  await ok('PATCH', `/logged-models/${id}/tags`, { tags: [{ key: 'note', value: evil }, { key: 'mlflow.modelVersions', value: JSON.stringify([{ name: evil, version: '1' }]) }] });
  await ok('POST', `/logged-models/${id}/params`, { params: [{ key: 'p', value: evil }] });
  await page.goto(`${BASE}/#/experiments/${EXP}/models/${id}/artifacts`);
  await page.waitForSelector('body[data-rendered~=logged-model-files]');
  assert.equal(await page.locator('#app img').count(), 0, 'HTML stays text');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.ok((await page.locator('table.lm-tags').innerText()).includes(evil));
  assert.ok((await page.locator('table.lm-params').innerText()).includes(evil));
  assert.ok((await page.locator('#lm-registrations').innerText()).includes(`${evil} v1`));
  assert.match(await page.locator('#lm-mlmodel').innerText(), /No MLmodel file/);
  assert.equal(await page.locator('.env-file pre').count(), 0);
  assert.match(await page.locator('.tree').innerText(), /No artifacts/);
});

// ---------------------------------------------------------------- experiment charts
test('experiment charts: scatter, parallel coordinates and sampled curves of every run of the filter', async (page) => {
  const urls = recordApi(page);
  await page.goto(`${BASE}/#/experiments/${EXP}`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.click('#charts-link');
  await page.waitForSelector('body[data-rendered~=exp-charts]');
  await page.waitForSelector('body[data-rendered~=exp-curves]');
  assert.match(await page.locator('#charts-status').innerText(), /^6 run/);
  assert.equal(await page.locator('#scatter .chart').getAttribute('data-points'), '6');
  await page.selectOption('select[aria-label="scatter x"]', 'p:lr');
  await page.selectOption('select[aria-label="scatter y"]', 'm:loss');
  await page.waitForFunction(() => decodeURIComponent(location.hash).includes('x=p:lr') && decodeURIComponent(location.hash).includes('y=m:loss'));
  // the run with the largest lr ("diverged", lr=0.5) is the rightmost point: find it by hovering
  const canvas = page.locator('#scatter canvas.chart-overlay');
  const box = await canvas.boundingBox();
  const pw = box.width - 64 - 16;
  const lo = 0.001 - 0.05 * 0.499;
  const hi = 0.5 + 0.05 * 0.499;
  const x = box.x + 64 + ((0.5 - lo) / (hi - lo)) * pw;
  let found = false;
  for (let y = box.y + 8; y < box.y + box.height - 40 && !found; y += 4) {
    await page.mouse.move(x, y);
    found = await page.locator('#scatter .chart-tip:not([hidden])', { hasText: 'diverged' }).count() > 0;
  }
  assert.ok(found, 'hovering the rightmost point shows its run');
  assert.match(await page.locator('#scatter .chart-tip').innerText(), /lr: 0\.5/);
  // parallel coordinates: one line per run; add and remove axes
  assert.equal(await page.locator('#parallel .chart').getAttribute('data-lines'), '6');
  const chips = page.locator('.pc-chosen .chip');
  const before = await chips.count();
  assert.ok(before >= 2, `default axes: ${await chips.allInnerTexts()}`);
  await page.selectOption('select[aria-label="add axis"]', 'm:loss');
  await page.waitForFunction((n) => document.querySelectorAll('.pc-chosen .chip').length === n + 1, before);
  assert.match((await chips.allInnerTexts()).at(-1), /loss/);
  await page.getByRole('button', { name: 'remove loss' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('.pc-chosen .chip').length === n, before);
  assert.equal(await page.locator('#parallel .chart').getAttribute('data-lines'), '6');
  // curves: every run, sampled on the server (all 200 steps are under the sample size)
  assert.ok(urls.some((u) => u.includes('/metrics/get-history-bulk-interval?')), 'the sampled endpoint was used');
  assert.ok(!urls.some((u) => u.includes('/metrics/get-history?')), 'not the full histories');
  assert.equal(await page.locator('#curves .chart').getAttribute('data-points'), '1200');
  assert.ok((await inkedPixels(page.locator('#curves canvas.chart-canvas'))) > 2000);
  await shot(page, 'experiment-charts', false);
  // the filter applies, the URL restores the choices, a bad filter shows the server's error
  const url = new URL(page.url());
  await page.goto(`${BASE}/#/experiments/${EXP}/charts?filter=${encodeURIComponent("params.optimizer = 'adam'")}&${url.hash.split('?')[1]}`);
  await page.waitForSelector('body[data-rendered~=exp-charts]');
  assert.match(await page.locator('#charts-status').innerText(), /^3 run/);
  assert.equal(await page.locator('#scatter .chart').getAttribute('data-points'), '3');
  assert.equal(await page.locator('select[aria-label="scatter x"]').inputValue(), 'p:lr');
  await page.goto(`${BASE}/#/experiments/${EXP}/charts?filter=${encodeURIComponent('metrics.loss <<< x')}`);
  await page.locator('#charts-status .error').waitFor();
});

test('experiment charts: show/hide per run with stable colours, bars of a latest metric, difference view', async (page) => {
  const all = await ok('POST', '/runs/search', { experiment_ids: [EXP], max_results: 100 });
  const byName = new Map(all.runs.map((r) => [r.info.run_name, r]));
  const loss = (n) => byName.get(n).data.metrics.find((m) => m.key === 'loss').value;
  await page.goto(`${BASE}/#/experiments/${EXP}/charts?bar=loss`);
  await page.waitForSelector('body[data-rendered~=exp-curves]');
  assert.equal(await page.locator('#bars .chart').getAttribute('data-bars'), '6');
  // a run's colour is the same here, on the compare page and whatever the other runs shown
  const swatch = (id) => page.locator(`.legend-run[data-run="${id}"] .swatch`).evaluate((el) => getComputedStyle(el).backgroundColor);
  const best = RUNS.best;
  const colorHere = await swatch(best);
  const colors = await Promise.all(all.runs.map((r) => swatch(r.info.run_id)));
  assert.ok(new Set(colors).size >= 5, `distinct colours: ${colors}`);
  // hide two runs: every view drops them, the URL keeps it
  await page.uncheck(`.legend-run[data-run="${RUNS.diverged}"] input`);
  await page.uncheck(`.legend-run[data-run="${RUNS.baseline}"] input`);
  await page.waitForFunction(() => (new URLSearchParams(location.hash.split('?')[1]).get('hide') || '').split(',').length === 2);
  assert.equal(await page.locator('#legend-count').innerText(), '4 of 6 shown');
  await page.waitForFunction(() => document.querySelector('#scatter .chart')?.dataset.points === '4');
  await page.waitForFunction(() => document.querySelector('#bars .chart')?.dataset.bars === '4');
  await page.waitForFunction(() => document.querySelector('#parallel .chart')?.dataset.lines === '4');
  await page.waitForFunction(() => document.querySelector('#curves .chart')?.dataset.points === '800');
  assert.equal(await swatch(best), colorHere, 'hiding others keeps the colour');
  // the bars: hover the first (smallest loss = "best") and the last visible
  const bars = page.locator('#bars canvas.chart-overlay');
  await bars.scrollIntoViewIfNeeded();
  const bb = await bars.boundingBox();
  await page.mouse.move(bb.x + bb.width / 2, bb.y + 8 + 9);
  await page.locator('#bars .chart-tip:not([hidden])', { hasText: 'best' }).waitFor();
  assert.match(await page.locator('#bars .chart-tip').innerText(), new RegExp(`loss \\(latest\\): ${String(Number(loss('best').toPrecision(6))).replace('.', '\\.')}`));
  await page.selectOption('select[aria-label="bar order"]', 'desc');
  await page.mouse.move(bb.x + bb.width / 2, bb.y + 8 + 10);
  const worstShown = ['wide', 'deep', 'tiny-lr', 'best'].sort((a, b) => loss(b) - loss(a))[0];
  await page.locator('#bars .chart-tip:not([hidden])', { hasText: worstShown }).waitFor();
  // the difference view: two runs' params and metrics side by side with deltas
  await page.selectOption('select[aria-label="difference run A"]', RUNS.wide);
  await page.selectOption('select[aria-label="difference run B"]', RUNS.best);
  const lossRow = page.locator('#diff tr[data-kind=metrics][data-key=loss]');
  const cells = await lossRow.locator('td').allInnerTexts();
  const d = loss('best') - loss('wide');
  assert.equal(cells[2], `${d > 0 ? '+' : ''}${Number(d.toPrecision(6))}`);
  assert.equal(cells[3], `${d > 0 ? '+' : ''}${((d / Math.abs(loss('wide'))) * 100).toFixed(1)}%`);
  assert.deepEqual(await page.locator('#diff tr[data-kind=params][data-key=optimizer] td').allInnerTexts(), ['adam', 'adamw', '', '']);
  assert.equal(await page.locator('#diff tr[data-key=stage]').count(), 0, 'tags are not part of it');
  await page.check('text=only differences');
  await page.waitForFunction(() => location.hash.includes('dd=1'));
  const keys = await page.locator('#diff tbody tr[data-key]').evaluateAll((trs) => trs.map((t) => t.dataset.key));
  assert.ok(keys.includes('lr') && keys.includes('loss'), `${keys}`);
  await page.screenshot({ path: join(OUT, 'experiment-charts-v2.png'), fullPage: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'experiment-charts', true);
  // the URL restores hidden runs and the pair; the compare page uses the same colour for "best"
  await page.reload();
  await page.waitForSelector('body[data-rendered~=exp-charts]');
  assert.equal(await page.locator('#bars .chart').getAttribute('data-bars'), '4');
  assert.equal(await page.locator('select[aria-label="difference run B"]').inputValue(), RUNS.best);
  await page.goto(`${BASE}/#/compare?runs=${RUNS.wide},${RUNS.best}`);
  await page.waitForSelector('body[data-rendered~=compare]');
  const cmp = await page.locator('.legend .swatch').nth(1).evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(cmp, colorHere);
});

test('experiment charts: brushing a parallel-coordinates axis keeps a range, in the URL; "show only these"', async (page) => {
  await page.goto(`${BASE}/#/experiments/${EXP}/charts?pc=p:lr,m:loss`);
  await page.waitForSelector('body[data-rendered~=exp-charts]');
  const plot = page.locator('#parallel .chart');
  await plot.scrollIntoViewIfNeeded();
  assert.equal(await plot.getAttribute('data-brushed'), '6');
  const xs = (await plot.getAttribute('data-axis-x')).split(',').map(Number);
  let box = await page.locator('#parallel canvas.chart-overlay').boundingBox();
  // drag along the lr axis over its top fifth: only lr=0.5 ("diverged") lies there
  await page.mouse.move(box.x + xs[0], box.y + 36);
  await page.mouse.down();
  await page.mouse.move(box.x + xs[0], box.y + 100, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector('#parallel .chart')?.dataset.brushed === '1');
  assert.equal(await page.locator('#brush-info').innerText(), '1 of 6 shown runs in the brush');
  assert.ok(!page.url().includes('/runs/'), 'the drag did not open a run');
  const pcb = JSON.parse(new URLSearchParams(page.url().split('?')[1]).get('pcb'));
  assert.equal(pcb[0][0], 'p:lr');
  assert.ok(pcb[0][1] > 0.7 && pcb[0][1] < 0.85 && pcb[0][2] > 0.96, `range ${pcb}`);
  // the URL restores the brush
  await page.reload();
  await page.waitForSelector('body[data-rendered~=exp-charts]');
  assert.equal(await plot.getAttribute('data-brushed'), '1');
  // "show only these" hides the others in every view
  await page.getByRole('button', { name: 'Show only these' }).click();
  assert.equal(await page.locator('#legend-count').innerText(), '1 of 6 shown');
  await page.waitForFunction(() => document.querySelector('#scatter .chart')?.dataset.points === '1');
  assert.ok(await page.locator(`.legend-run[data-run="${RUNS.diverged}"] input`).isChecked());
  // a click on an axis without dragging clears its range
  await page.getByRole('button', { name: 'Show all' }).click();
  await page.waitForFunction(() => document.querySelector('#parallel .chart')?.dataset.brushed === '6');
  await plot.scrollIntoViewIfNeeded();
  box = await page.locator('#parallel canvas.chart-overlay').boundingBox();
  await page.mouse.move(box.x + xs[0], box.y + 36);
  await page.mouse.down();
  await page.mouse.move(box.x + xs[0], box.y + 100, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector('#parallel .chart')?.dataset.brushed === '1');
  box = await page.locator('#parallel canvas.chart-overlay').boundingBox();
  await page.mouse.click(box.x + xs[0], box.y + 150);
  await page.waitForFunction(() => document.querySelector('#parallel .chart')?.dataset.brushed === '6');
  assert.ok(!new URLSearchParams(page.url().split('?')[1]).get('pcb'));
});

// ---------------------------------------------------------------- runner
const { context, close } = await launch();
let failed = 0;
let ran = 0;
const t0 = Date.now();
for (const t of tests) {
  if (ONLY && !t.name.includes(ONLY)) continue;
  ran++;
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(`console: ${m.text()}`); });
  const started = Date.now();
  try {
    await t.fn(page);
    if (errors.length) throw new Error(`errors in the page:\n      ${errors.join('\n      ')}`);
    console.log(`  ok   ${t.name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed++;
    console.log(`  FAIL ${t.name} (${Date.now() - started} ms)\n    ${String(err && err.stack || err).split('\n').slice(0, 8).join('\n    ')}`);
    await page.screenshot({ path: join(OUT, `FAILED-${t.name.replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => {});
  }
  await page.close();
}
await close();
console.log(`\n${ran - failed} passed, ${failed} failed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
process.exit(failed ? 1 : 0);
