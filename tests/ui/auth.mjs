// Browser tests of the UI with authentication on (issue 14): login, the user in the header,
// actions disabled for a READ-only user, the admin page, the tokens page, and the session
// cookie's protections. run.sh starts a second `mlp server` with auth on for these.
// Env: UI_AUTH_BASE (its URL), UI_ADMIN_PASSWORD, UI_OUT (screenshots), UI_ONLY.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launch } from './lib.mjs';

const BASE = process.env.UI_AUTH_BASE;
const ADMIN = ['admin', process.env.UI_ADMIN_PASSWORD];
const READER = ['reader', 'reader-password-1'];
const OUT = process.env.UI_OUT || '/tmp';
const ONLY = process.env.UI_ONLY || '';
if (!BASE || !ADMIN[1]) { console.error('auth.mjs: UI_AUTH_BASE and UI_ADMIN_PASSWORD are required (use run.sh)'); process.exit(2); }

/** An API call as a script would make it (Basic or Bearer), outside the browser. */
async function call(method, path, { body, user, bearer } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (user) headers.authorization = `Basic ${Buffer.from(`${user[0]}:${user[1]}`).toString('base64')}`;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, headers: res.headers };
}

// Fixtures: a READ-only user (the default permission), an experiment and a registered model of
// the admin's, and one experiment of the reader's own (MANAGE as its creator).
const mk = await call('POST', '/api/2.0/mlflow/users/create', { body: { username: READER[0], password: READER[1] }, user: ADMIN });
assert.equal(mk.status, 200, JSON.stringify(mk.json));
const adminsExp = (await call('POST', '/api/2.0/mlflow/experiments/create', { body: { name: 'admins-experiment' }, user: ADMIN })).json.experiment_id;
const readersExp = (await call('POST', '/api/2.0/mlflow/experiments/create', { body: { name: 'readers-experiment' }, user: READER })).json.experiment_id;
await call('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'admins-model' }, user: ADMIN });
const run = await call('POST', '/api/2.0/mlflow/runs/create', { body: { experiment_id: adminsExp, run_name: 'admins-run', start_time: Date.now() }, user: ADMIN });
assert.equal(run.status, 200, JSON.stringify(run.json));
const version = await call('POST', '/api/2.0/mlflow/model-versions/create', { body: { name: 'admins-model', source: `runs:/${run.json.run.info.run_id}/model`, run_id: run.json.run.info.run_id }, user: ADMIN });
assert.equal(version.status, 200, JSON.stringify(version.json));
assert.ok(adminsExp && readersExp);

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

/** Logs in through the login page. */
async function logIn(page, [user, pass], hash = '#/experiments') {
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector('body[data-rendered~=login]');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', pass);
  await page.click('button:text-is("Log in")');
  await page.waitForFunction((u) => document.querySelector('#user .who')?.textContent.startsWith(u), user);
}

test('login: any page leads to the login form, a wrong password is refused, no Basic challenge reaches the browser', async (page) => {
  const challenges = [];
  page.on('response', (r) => { if (r.status() === 401 && r.headers()['www-authenticate']) challenges.push(r.url()); });
  await page.goto(`${BASE}/#/experiments/${adminsExp}`);
  await page.waitForSelector('body[data-rendered~=login]');
  assert.match(page.url(), /#\/login\?next=/);
  await page.fill('input[name=username]', READER[0]);
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button:text-is("Log in")');
  await page.locator('#login-error .error').waitFor();
  assert.match(await page.locator('#login-error').innerText(), /UNAUTHENTICATED/);
  assert.equal(await page.locator('input[name=password]').inputValue(), '', 'the wrong password is cleared');
  await page.fill('input[name=password]', READER[1]);
  await page.click('button:text-is("Log in")');
  // Back to the page asked for.
  await page.waitForSelector('body[data-rendered~=runs]');
  assert.match(page.url(), new RegExp(`#/experiments/${adminsExp}$`));
  assert.deepEqual(challenges, [], 'a 401 to the UI carries no Basic challenge (no browser dialog)');
  const cookie = (await page.context().cookies(BASE)).find((c) => c.name === 'mlp_session');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
  assert.equal(await page.evaluate(() => document.cookie.includes('mlp_session')), false, 'scripts cannot read it');
  await page.screenshot({ path: join(OUT, 'auth-after-login.png') });
});

test('header: the user, Tokens, no Admin for a non-admin; logout ends the session', async (page) => {
  await logIn(page, READER);
  assert.equal(await page.locator('#user .who').innerText(), 'reader');
  assert.equal(await page.locator('#user a:text-is("Admin")').count(), 0);
  assert.equal(await page.locator('#user a:text-is("Tokens")').count(), 1);
  const before = (await page.context().cookies(BASE)).find((c) => c.name === 'mlp_session').value;
  await page.click('#user button:text-is("Log out")');
  await page.waitForSelector('body[data-rendered~=login]');
  assert.equal(await page.locator('#user .who').count(), 0);
  // The old cookie no longer works, even if someone kept it.
  const r = await fetch(`${BASE}/api/v1/session`, { headers: { cookie: `mlp_session=${before}` } });
  assert.equal(r.status, 401);
  await page.goto(`${BASE}/#/models`);
  await page.waitForSelector('body[data-rendered~=login]');
});

test('permissions: a READ-only user sees the actions they may not take disabled', async (page) => {
  page.on('dialog', (d) => d.accept());
  await logIn(page, READER);
  await page.goto(`${BASE}/#/experiments`);
  await page.waitForSelector('body[data-rendered~=experiments]');
  const theirs = page.locator(`tr[data-id="${adminsExp}"]`);
  const mine = page.locator(`tr[data-id="${readersExp}"]`);
  for (const b of ['Rename', 'Delete']) {
    assert.equal(await theirs.getByRole('button', { name: b }).isDisabled(), true, `${b} on the admin's experiment`);
    assert.equal(await mine.getByRole('button', { name: b }).isEnabled(), true, `${b} on their own experiment`);
  }
  assert.match(await theirs.getByRole('button', { name: 'Delete' }).getAttribute('title'), /MANAGE/);
  // Runs of the admin's experiment: deleting runs is disabled.
  await page.goto(`${BASE}/#/experiments/${adminsExp}`);
  await page.waitForSelector('body[data-rendered~=runs]');
  await page.waitForSelector('button[data-denied=MANAGE]:text-is("Delete")');
  // A run of it: no description or tag editors.
  await page.goto(`${BASE}/#/runs/${run.json.run.info.run_id}`);
  await page.waitForSelector('body[data-rendered~=run]');
  await page.waitForSelector('#run-description[data-denied=EDIT]');
  assert.equal(await page.locator('button:text-is("Edit description")').count(), 0);
  assert.equal(await page.locator('button:text-is("Set tag")').count(), 0);
  // A registered model they may only read: every action disabled.
  await page.goto(`${BASE}/#/models/admins-model`);
  await page.waitForSelector('body[data-rendered~=model]');
  assert.equal(await page.getByRole('button', { name: 'Delete model' }).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Save description' }).isDisabled(), true);
  assert.equal(await page.locator('textarea[aria-label=description]').isDisabled(), true);
  assert.equal(await page.locator('table.versions').getByRole('button', { name: 'Delete', exact: true }).isDisabled(), true, 'deleting a version');
  // One of its versions: the same.
  await page.goto(`${BASE}/#/models/admins-model/versions/1`);
  await page.waitForSelector('body[data-rendered~=model-version]');
  assert.equal(await page.getByRole('button', { name: 'Edit description' }).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Set alias' }).isDisabled(), true);
  assert.equal(await page.locator('select[aria-label=stage]').isDisabled(), true);
  // Jobs: without the jobs capability Submit is disabled, saying why, whatever the experiment.
  await page.goto(`${BASE}/#/jobs?new=1`);
  await page.waitForSelector('body[data-rendered~=jobs]');
  const submit = page.locator('form.job-form button[type=submit]');
  await page.fill('input[name=experiment_name]', 'a-new-experiment');
  await page.press('input[name=experiment_name]', 'Tab');
  await page.waitForSelector('form.job-form button[data-denied=jobs]');
  assert.match(await submit.getAttribute('title'), /jobs capability/);
  // Given it by a role, submitting into the admin's experiment still needs EDIT there; a new
  // experiment is fine.
  const role = await call('POST', '/api/3.0/mlflow/roles/create', { body: { name: 'ui-job-runners', workspace: 'default' }, user: ADMIN });
  assert.equal(role.status, 200, JSON.stringify(role.json));
  const roleId = role.json.role.id;
  for (const [path, body] of [['permissions/add', { role_id: roleId, resource_type: 'jobs', resource_pattern: '*', permission: 'USE' }],
    ['assign', { role_id: roleId, username: READER[0] }]]) {
    const r = await call('POST', `/api/3.0/mlflow/roles/${path}`, { body, user: ADMIN });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  await page.reload();
  await page.waitForSelector('body[data-rendered~=jobs]');
  await page.fill('input[name=experiment_name]', 'admins-experiment');
  await page.press('input[name=experiment_name]', 'Tab');
  await page.waitForSelector('form.job-form button[data-denied=EDIT]');
  await page.fill('input[name=experiment_name]', 'a-new-experiment');
  await page.press('input[name=experiment_name]', 'Tab');
  await page.waitForFunction(() => !document.querySelector('form.job-form button[type=submit]').disabled);
  assert.equal(await submit.isEnabled(), true);
  // The server refuses anyway; the UI shows it rather than failing silently.
  const status = await page.evaluate(async (id) => {
    const csrf = await fetch('/api/v1/session', { headers: { 'x-requested-with': 'XMLHttpRequest' } }).then((r) => r.json()).then((j) => j.csrf_token);
    const r = await fetch('/ajax-api/2.0/mlflow/experiments/delete', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ experiment_id: id }) });
    return r.status;
  }, adminsExp);
  assert.equal(status, 403);
  // Their own experiment can be renamed through the page.
  await page.goto(`${BASE}/#/experiments`);
  await page.waitForSelector('body[data-rendered~=experiments]');
  await mine.getByRole('button', { name: 'Rename' }).click();
  await page.fill('input[aria-label="new name"]', 'readers-experiment-2');
  await page.click('text=Save');
  await page.locator('tr', { hasText: 'readers-experiment-2' }).waitFor();
});

test('session: a state-changing call without the CSRF token is refused, with it accepted', async (page) => {
  await logIn(page, READER);
  const [without, wrong, right] = await page.evaluate(async () => {
    const post = (headers) => fetch('/ajax-api/2.0/mlflow/experiments/create', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: `csrf-${Math.random()}` }) }).then((r) => r.status);
    const csrf = await fetch('/api/v1/session').then((r) => r.json()).then((j) => j.csrf_token);
    return [await post({}), await post({ 'x-csrf-token': 'f'.repeat(64) }), await post({ 'x-csrf-token': csrf })];
  });
  assert.deepEqual([without, wrong, right], [403, 403, 200]);
});

test('admin: create a user, grant them EDIT on an experiment, a role with a permission and a member', async (page) => {
  page.on('dialog', (d) => d.accept());
  await logIn(page, ADMIN);
  await page.click('#user a:text-is("Admin")');
  await page.waitForSelector('body[data-rendered~=admin]');
  await page.fill('input[aria-label="new username"]', 'carol');
  await page.fill('input[aria-label="new user password"]', 'carol-password-1');
  await page.click('button:text-is("Create user")');
  const row = page.locator('tr[data-user=carol]');
  await row.waitFor();
  // Grants of carol
  await row.getByRole('link', { name: 'Grants' }).click();
  await page.waitForSelector('#grants-title:text-is("Grants of carol")');
  await page.selectOption('select[aria-label="resource type"]', 'experiment');
  await page.fill('input[aria-label="resource id"]', adminsExp);
  await page.selectOption('select[aria-label=permission]', 'EDIT');
  await page.click('button:text-is("Grant")');
  await page.locator(`tr[data-grant="experiment:${adminsExp}"]`, { hasText: 'EDIT' }).waitFor();
  const grants = await call('GET', '/api/3.0/mlflow/users/permissions/list?username=carol', { user: ADMIN });
  assert.deepEqual(grants.json.permissions.map((g) => [g.resource_type, g.resource_pattern, g.permission]), [['experiment', adminsExp, 'EDIT']]);
  // The grant works for carol through the API.
  const upd = await call('POST', '/api/2.0/mlflow/experiments/set-experiment-tag', { body: { experiment_id: adminsExp, key: 'k', value: 'v' }, user: ['carol', 'carol-password-1'] });
  assert.equal(upd.status, 200, JSON.stringify(upd.json));
  // A role with a permission, carol assigned
  await page.fill('input[aria-label="new role name"]', 'modelers');
  await page.click('button:text-is("Create role")');
  const card = page.locator('.card.role[data-role=modelers]');
  await card.waitFor();
  await card.locator('select[aria-label="resource type for modelers"]').selectOption('registered_model');
  await card.locator('input[aria-label="resource pattern for modelers"]').fill('*');
  await card.locator('select[aria-label="permission for modelers"]').selectOption('EDIT');
  await card.getByRole('button', { name: 'Add permission' }).click();
  await page.locator('.card.role[data-role=modelers] td', { hasText: 'registered_model' }).waitFor();
  await page.locator('.card.role[data-role=modelers] select[aria-label="user to assign to modelers"]').selectOption('carol');
  await page.locator('.card.role[data-role=modelers]').getByRole('button', { name: 'Assign' }).click();
  await page.locator('tr[data-user=carol] .chip', { hasText: 'modelers' }).waitFor();
  const roles = await call('GET', '/api/3.0/mlflow/users/roles/list?username=carol', { user: ADMIN });
  assert.equal(roles.status, 200, JSON.stringify(roles.json));
  assert.deepEqual(roles.json.roles.map((r) => [r.name, r.permissions.map((p) => `${p.resource_type}:${p.resource_pattern}:${p.permission}`)]), [['modelers', ['registered_model:*:EDIT']]]);
  // Set a password, then delete the user
  await row.getByRole('button', { name: 'Set password' }).click();
  await page.fill('input[aria-label="new password of carol"]', 'carol-password-2');
  await row.getByRole('button', { name: 'Save' }).click();
  await page.waitForFunction(() => !document.querySelector('input[aria-label="new password of carol"]'));
  assert.equal((await call('GET', '/api/2.0/mlflow/users/current', { user: ['carol', 'carol-password-2'] })).status, 200);
  await page.locator('tr[data-user=carol]').getByRole('button', { name: 'Delete' }).click();
  await page.waitForFunction(() => !document.querySelector('tr[data-user=carol]'));
  assert.equal((await call('GET', '/api/2.0/mlflow/users/get?username=carol', { user: ADMIN })).status, 404);
  await page.screenshot({ path: join(OUT, 'auth-admin.png') });
});

test('admin: a non-admin gets no admin page', async (page) => {
  await logIn(page, READER);
  await page.goto(`${BASE}/#/admin`);
  await page.waitForSelector('body[data-rendered~=admin]');
  assert.equal(await page.locator('button:text-is("Create user")').count(), 0);
});

test('tokens: create one (secret shown once), use it, revoke it', async (page) => {
  page.on('dialog', (d) => d.accept());
  await logIn(page, READER);
  await page.click('#user a:text-is("Tokens")');
  await page.waitForSelector('body[data-rendered~=tokens]');
  await page.fill('input[name=token-name]', 'laptop');
  await page.selectOption('select[aria-label="expires in"]', '30');
  await page.click('button:text-is("Create token")');
  const secret = await page.locator('input[aria-label="new token secret"]').inputValue();
  assert.match(secret, /^mlp_[A-Za-z0-9_-]{40,}$/);
  const row = page.locator('table.tokens tr', { hasText: 'laptop' });
  await row.waitFor();
  assert.notEqual(await row.locator('td').nth(2).innerText(), 'never');
  assert.equal((await call('GET', '/api/2.0/mlflow/users/current', { bearer: secret })).json.user.username, 'reader');
  // Shown once: the list has no secret, and a reload does not show it again.
  assert.ok(!(await page.locator('table.tokens').innerText()).includes(secret));
  await page.reload();
  await page.waitForSelector('body[data-rendered~=tokens]');
  assert.equal(await page.locator('input[aria-label="new token secret"]').count(), 0);
  // The web session is not listed as a token.
  assert.equal(await page.locator('table.tokens tbody tr').count(), 1);
  await page.locator('table.tokens tr', { hasText: 'laptop' }).getByRole('button', { name: 'Revoke' }).click();
  await page.waitForSelector('text=No tokens.');
  assert.equal((await call('GET', '/api/2.0/mlflow/users/current', { bearer: secret })).status, 401);
});

// ---------------------------------------------------------------- runner
const { context, close } = await launch();
let failed = 0;
let ran = 0;
const t0 = Date.now();
for (const t of tests) {
  if (ONLY && !t.name.includes(ONLY)) continue;
  ran++;
  await context.clearCookies();
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
    await page.screenshot({ path: join(OUT, `FAILED-auth-${t.name.replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => {});
  }
  await page.close();
}
await close();
console.log(`\nauth: ${ran - failed} passed, ${failed} failed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
process.exit(failed ? 1 : 0);
