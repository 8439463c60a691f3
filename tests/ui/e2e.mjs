// End-to-end tests of the web UI in headless Chromium against a real `mlp server` that run.sh
// started and seeded through the mlflow client. Env: UI_BASE (server URL), UI_SEED (seed.py's
// JSON), UI_SCREENSHOTS (where the committed screenshots go), UI_OUT (other screenshots),
// UI_ONLY (substring filter on test names).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
  assert.ok(!(await page.locator('table.runs thead th').allInnerTexts()).some((t) => t.includes('accuracy')));
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
  await compare.click();
  await page.waitForSelector('body[data-rendered~=compare-charts]');
  assert.equal((new URL(page.url().replace('#', '')).searchParams.get('runs') || '').split(',').length, 3);
  const lr = page.locator('table.compare tr[data-key=lr]');
  assert.equal(await lr.getAttribute('class'), 'diff');
  const stage = page.locator('table.compare tr[data-key=stage]');
  assert.notEqual(await stage.getAttribute('class'), 'diff');
  const chart = page.locator('.chart-card[data-metric=loss] .chart');
  assert.equal(await chart.getAttribute('data-points'), '600');
  assert.ok((await inkedPixels(chart.locator('canvas.chart-canvas'))) > 3000);
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
