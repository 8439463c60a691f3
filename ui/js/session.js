// Who is logged in (with auth on), the header's user menu, and what the user may do.
// The server keeps the session in an HttpOnly cookie; this module only knows the username and
// the session's CSRF token, which api.js sends with every call.

import { request, session as apiSession, ApiError } from './api.js';
import { h, replace } from './dom.js';

/** @type {{auth_enabled: boolean, username?: string, is_admin?: boolean, jobs_enabled?: boolean, may_run_jobs?: boolean}} */
export const me = { auth_enabled: false };

const LEVELS = ['NO_PERMISSIONS', 'READ', 'USE', 'EDIT', 'MANAGE'];

/** Whether `have` (a permission name) allows `need`; DENY allows nothing. */
export function allows(have, need) {
  if (!me.auth_enabled || me.is_admin) return true;
  if (!have || have === 'DENY') return false;
  return LEVELS.indexOf(have) >= LEVELS.indexOf(need);
}

function set(info) {
  for (const k of Object.keys(me)) delete me[k];
  Object.assign(me, { auth_enabled: false }, info);
  apiSession.csrf = info.csrf_token || '';
  drawUser();
}

/** Asks the server who we are. A 401 means auth is on and nobody is logged in. */
export async function loadSession() {
  try {
    set(await request('GET', '/api/v1/session'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) set({ auth_enabled: true });
    // An older server without the endpoint: no auth to speak of.
    else set({ auth_enabled: false });
  }
  return me;
}

export async function login(username, password) {
  set(await request('POST', '/api/v1/session', { body: { username, password }, login: true }));
  return me;
}

export async function logout() {
  try { await request('DELETE', '/api/v1/session', { login: true }); } catch { /* already gone */ }
  set({ auth_enabled: true });
  location.hash = '#/login';
}

/** Any 401 while auth is on: back to the login page, then to where the user was. */
apiSession.onUnauthenticated = () => {
  const here = location.hash.replace(/^#/, '') || '/';
  if (here.startsWith('/login')) return;
  set({ auth_enabled: true });
  location.hash = `#/login?next=${encodeURIComponent(here)}`;
};

function drawUser() {
  const box = document.getElementById('user');
  if (!box) return;
  if (!me.auth_enabled || !me.username) { replace(box); return; }
  replace(box,
    h('span', { class: 'who', title: me.is_admin ? 'administrator' : 'user' }, me.username, me.is_admin ? h('span', { class: 'chip admin' }, 'admin') : null),
    me.is_admin ? h('a', { href: '#/admin', 'data-nav': 'admin' }, 'Admin') : null,
    h('a', { href: '#/tokens', 'data-nav': 'tokens' }, 'Tokens'),
    h('button', { type: 'button', class: 'logout', onclick: logout }, 'Log out'));
}

/**
 * The caller's permission on each experiment and registered model, in one request; with auth
 * off (or for an admin) nothing is asked and everything is allowed.
 * @param {{experiments?: string[], models?: string[]}} ids @param {AbortSignal} [signal]
 * @returns {Promise<{experiments: Record<string, string>, registered_models: Record<string, string>}>}
 */
export async function permissionsOf(ids, signal) {
  const none = { experiments: {}, registered_models: {} };
  const exps = [...new Set(ids.experiments || [])];
  const models = [...new Set(ids.models || [])];
  if (!me.auth_enabled || me.is_admin || (!exps.length && !models.length)) return none;
  const out = { experiments: {}, registered_models: {} };
  // The server answers at most 1,000 per request.
  for (let i = 0; i < exps.length + models.length; i += 1000) {
    const e = exps.slice(i, i + 1000);
    const m = models.slice(Math.max(0, i - exps.length), Math.max(0, i + 1000 - exps.length));
    const r = await request('GET', '/api/v1/permissions', { query: { experiment_id: e, registered_model_name: m }, signal });
    Object.assign(out.experiments, r.experiments || {});
    Object.assign(out.registered_models, r.registered_models || {});
  }
  return out;
}

/** Disables a control the user may not use, saying why. */
export function deny(el, need, what) {
  el.disabled = true;
  el.title = `You need ${need} on this ${what}`;
  el.dataset.denied = need;
  return el;
}

/**
 * Disables the actions of a page about one resource that the user's permission does not allow:
 * delete buttons (`button.danger`) need MANAGE, every other control EDIT. For pages whose only
 * controls are actions on that resource (a registered model, a model version).
 * @param {HTMLElement} el @param {string|undefined} perm @param {string} what
 */
export function lockActions(el, perm, what) {
  if (allows(perm, 'MANAGE')) return;
  const edit = allows(perm, 'EDIT');
  for (const c of el.querySelectorAll('button, input, select, textarea')) {
    const need = c.matches('button.danger') ? 'MANAGE' : 'EDIT';
    if (need === 'MANAGE' || !edit) deny(/** @type {HTMLButtonElement} */ (c), need, what);
  }
}
