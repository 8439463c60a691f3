// The REST API the UI calls: MLflow's `/ajax-api/2.0/mlflow/…`, the artifact proxy and the
// jobs API (`/api/v1/jobs`). Errors surface MLflow's `error_code` and `message`.
//
// With auth on the browser holds a session cookie (HttpOnly: never seen here); every call says
// it comes from the UI (`X-Requested-With`, so a 401 carries no Basic challenge and no browser
// dialog) and sends the session's CSRF token, which the server requires on state-changing calls.

const MLFLOW = '/ajax-api/2.0/mlflow';

/** The session's CSRF token, and what to do when a call answers 401 (session.js sets both). */
export const session = { csrf: '', onUnauthenticated: null };

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function qs(query) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, String(x)));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * @param {string} method
 * @param {string} url
 * @param {{query?: object, body?: any, signal?: AbortSignal, text?: boolean, login?: boolean}} [opts]
 */
export async function request(method, url, opts = {}) {
  const init = { method, headers: { 'x-requested-with': 'XMLHttpRequest' }, signal: opts.signal, credentials: 'same-origin' };
  if (session.csrf) init.headers['x-csrf-token'] = session.csrf;
  // State-changing calls always carry a JSON body: the server refuses any other content type
  // (the rule that keeps cross-site form posts out).
  if (opts.body !== undefined || (method !== 'GET' && method !== 'HEAD')) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.body === undefined ? {} : opts.body);
  }
  const busy = document.getElementById('busy');
  if (busy) busy.hidden = false;
  let res;
  try {
    res = await fetch(url + qs(opts.query), init);
  } finally {
    if (busy) busy.hidden = true;
  }
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = res.statusText || `HTTP ${res.status}`;
    const text = await res.text();
    try {
      const j = JSON.parse(text);
      code = j.error_code || code;
      message = j.message || message;
    } catch {
      if (text) message = text.slice(0, 500);
    }
    if (res.status === 401 && !opts.login && session.onUnauthenticated) session.onUnauthenticated();
    throw new ApiError(res.status, code, message);
  }
  if (opts.text) return res;
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

export const mlflow = {
  get: (path, query, signal) => request('GET', MLFLOW + path, { query, signal }),
  post: (path, body, signal) => request('POST', MLFLOW + path, { body, signal }),
  patch: (path, body) => request('PATCH', MLFLOW + path, { body }),
  del: (path, body) => request('DELETE', MLFLOW + path, { body }),
};

/** Every page of a metric's history, as typed arrays. */
export async function metricHistory(runId, key, signal, onPage) {
  let token;
  const steps = [];
  const values = [];
  const times = [];
  do {
    const r = await mlflow.get('/metrics/get-history', { run_id: runId, metric_key: key, max_results: 25000, page_token: token }, signal);
    for (const m of r.metrics || []) {
      steps.push(Number(m.step || 0));
      times.push(Number(m.timestamp || 0));
      values.push(typeof m.value === 'number' ? m.value : Number(m.value));
    }
    token = r.next_page_token;
    if (onPage && token) onPage(pack(steps, values, times), false);
  } while (token);
  return pack(steps, values, times);
}

/**
 * Sampled histories of one metric for several runs in one request (get-history-bulk-interval:
 * at most `maxSteps` steps per run, evenly spread, first and last kept), as typed arrays by run id.
 * What the compare page draws first: 20 runs of 100,000 points are ~20,000 points, not 2 million.
 * @param {string[]} runIds @param {string} key @param {number} maxSteps @param {AbortSignal} [signal]
 */
export async function sampledHistories(runIds, key, maxSteps, signal) {
  const r = await mlflow.get('/metrics/get-history-bulk-interval', { run_ids: runIds, metric_key: key, max_results: maxSteps }, signal);
  const by = new Map(runIds.map((id) => [id, []]));
  for (const m of r.metrics || []) by.get(m.run_id)?.push(m);
  const out = new Map();
  for (const [id, points] of by) {
    points.sort((a, b) => Number(a.step || 0) - Number(b.step || 0) || Number(a.timestamp || 0) - Number(b.timestamp || 0));
    out.set(id, pack(
      points.map((m) => Number(m.step || 0)),
      points.map((m) => (typeof m.value === 'number' ? m.value : Number(m.value))),
      points.map((m) => Number(m.timestamp || 0)),
    ));
  }
  return out;
}

/** A page token for an absolute offset into a metric history. This server's tokens are base64
 * JSON `{"offset": n}` (the query fingerprint in them is optional); a server that refuses it gets
 * a full re-fetch instead (see metricTail). */
const offsetToken = (n) => btoa(JSON.stringify({ offset: n }));

/**
 * The points logged after those of `hist` (a history from metricHistory), for live charts: pages
 * of get-history from offset n-1, so that the first point returned must be the last one we have.
 * Returns `hist` itself when nothing is new, the longer history when points were appended, and
 * null when the tail does not line up (points inserted before the end, a refused token): the
 * caller then re-fetches the whole history.
 * @param {string} runId @param {string} key @param {{step: Float64Array, value: Float64Array, time: Float64Array}} hist @param {AbortSignal} [signal]
 */
export async function metricTail(runId, key, hist, signal) {
  const n = hist.step.length;
  if (n === 0) return null;
  let token = offsetToken(n - 1);
  const steps = [];
  const values = [];
  const times = [];
  let first = true;
  do {
    let r;
    try {
      r = await mlflow.get('/metrics/get-history', { run_id: runId, metric_key: key, max_results: 25000, page_token: token }, signal);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'INVALID_PARAMETER_VALUE') return null;
      throw err;
    }
    for (const m of r.metrics || []) {
      const step = Number(m.step || 0);
      const time = Number(m.timestamp || 0);
      const value = typeof m.value === 'number' ? m.value : Number(m.value);
      if (first) {
        first = false;
        if (step !== hist.step[n - 1] || time !== hist.time[n - 1] || !Object.is(value, hist.value[n - 1])) return null;
        continue;
      }
      steps.push(step);
      times.push(time);
      values.push(value);
    }
    if (first) return null; // not even the last point we had: the history shrank
    token = r.next_page_token;
  } while (token);
  if (!steps.length) return hist;
  const cat = (a, b) => { const out = new Float64Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; };
  return { step: cat(hist.step, steps), value: cat(hist.value, values), time: cat(hist.time, times) };
}

function pack(steps, values, times) {
  return { step: Float64Array.from(steps), value: Float64Array.from(values), time: Float64Array.from(times) };
}

/** The proxied download URL of an artifact of a run (or null when not served here). */
export function artifactUrl(artifactUri, path) {
  const m = /^mlflow-artifacts:\/*(.*)$/.exec(artifactUri || '');
  if (!m) return null;
  const enc = (s) => s.split('/').filter(Boolean).map(encodeURIComponent).join('/');
  return `/api/2.0/mlflow-artifacts/artifacts/${enc(m[1])}/${enc(path)}`;
}

export const jobs = {
  list: (query, signal) => request('GET', '/api/v1/jobs', { query, signal }),
  get: (id, signal) => request('GET', `/api/v1/jobs/${encodeURIComponent(id)}`, { signal }),
  submit: (spec) => request('POST', '/api/v1/jobs', { body: spec }),
  cancel: (id) => request('POST', `/api/v1/jobs/${encodeURIComponent(id)}/cancel`, { body: {} }),
  logs: async (id, offset, signal) => {
    const res = await request('GET', `/api/v1/jobs/${encodeURIComponent(id)}/logs`, { query: { offset }, signal, text: true });
    const text = await res.text();
    const next = Number(res.headers.get('x-next-offset'));
    return { text, next: Number.isFinite(next) && res.headers.has('x-next-offset') ? next : offset + new TextEncoder().encode(text).length };
  },
};

/** True when the error means "this endpoint does not exist (or is disabled) on this server". */
export function isMissingEndpoint(err) {
  return err instanceof ApiError && (err.code === 'ENDPOINT_NOT_FOUND' || err.code === 'NOT_IMPLEMENTED' || (err.status === 404 && err.code.startsWith('HTTP_')) || err.status === 405);
}

/** MLflow's user, grant and role endpoints (`/api/2.0/mlflow/users/…`, `/api/3.0/mlflow/…`). */
const AUTH3 = '/ajax-api/3.0/mlflow';
export const admin = {
  users: () => request('GET', `${MLFLOW}/users/list`),
  createUser: (username, password) => request('POST', `${MLFLOW}/users/create`, { body: { username, password } }),
  deleteUser: (username) => request('DELETE', `${MLFLOW}/users/delete`, { body: { username } }),
  setAdmin: (username, isAdmin) => request('PATCH', `${MLFLOW}/users/update-admin`, { body: { username, is_admin: isAdmin } }),
  setPassword: (username, password) => request('PATCH', `${MLFLOW}/users/update-password`, { body: { username, password } }),
  grants: (username) => request('GET', `${AUTH3}/users/permissions/list`, { query: { username } }),
  grant: (username, resourceType, resourceId, permission) => request('POST', `${AUTH3}/users/permissions/grant`, { body: { username, resource_type: resourceType, resource_id: resourceId, permission } }),
  revoke: (username, resourceType, resourceId) => request('POST', `${AUTH3}/users/permissions/revoke`, { body: { username, resource_type: resourceType, resource_id: resourceId } }),
  roles: () => request('GET', `${AUTH3}/roles/list`, { query: { workspace: 'default' } }),
  createRole: (name, description) => request('POST', `${AUTH3}/roles/create`, { body: { name, workspace: 'default', description } }),
  deleteRole: (roleId) => request('DELETE', `${AUTH3}/roles/delete`, { body: { role_id: roleId } }),
  addRolePermission: (roleId, resourceType, resourcePattern, permission) => request('POST', `${AUTH3}/roles/permissions/add`, { body: { role_id: roleId, resource_type: resourceType, resource_pattern: resourcePattern, permission } }),
  removeRolePermission: (rolePermissionId) => request('DELETE', `${AUTH3}/roles/permissions/remove`, { body: { role_permission_id: rolePermissionId } }),
  roleUsers: (roleId) => request('GET', `${AUTH3}/roles/users/list`, { query: { role_id: roleId } }),
  assign: (username, roleId) => request('POST', `${AUTH3}/roles/assign`, { body: { username, role_id: roleId } }),
  unassign: (username, roleId) => request('DELETE', `${AUTH3}/roles/unassign`, { body: { username, role_id: roleId } }),
};

/** The caller's own personal access tokens. */
export const tokens = {
  list: (signal) => request('GET', '/api/v1/tokens', { signal }),
  create: (name, expiresInDays) => request('POST', '/api/v1/tokens', { body: { name, expires_in_days: expiresInDays || undefined } }),
  revoke: (id) => request('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`),
};
