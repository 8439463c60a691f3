// The user's own personal access tokens: create (name, expiry; the secret is shown once, with
// a copy button), list, revoke.

import { tokens } from '../api.js';
import { h, replace, errorBox, toast, fmtTime, markRendered } from '../dom.js';
import { me } from '../session.js';

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  if (!me.auth_enabled) {
    replace(root, h('div', { class: 'page' }, h('h1', null, 'Tokens'), h('p', { class: 'muted' }, 'Authentication is off on this server: no tokens are needed.')));
    markRendered('tokens');
    return;
  }
  const name = h('input', { name: 'token-name', placeholder: 'Token name (e.g. laptop)', 'aria-label': 'token name', required: true, maxlength: 255 });
  const days = h('select', { 'aria-label': 'expires in' },
    ...[['30', '30 days'], ['90', '90 days'], ['365', '1 year'], ['', 'never']].map(([v, t]) => h('option', { value: v, selected: v === '90' }, t)));
  const fresh = h('div');
  const createErr = h('div');
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const form = h('form', { class: 'toolbar', onsubmit: async (e) => {
    e.preventDefault();
    replace(createErr);
    try {
      const r = await tokens.create(name.value.trim(), days.value ? Number(days.value) : undefined);
      name.value = '';
      const secret = h('input', { class: 'mono secret', readonly: true, value: r.secret, 'aria-label': 'new token secret', size: 60 });
      const copy = h('button', { type: 'button', onclick: async () => {
        try { await navigator.clipboard.writeText(r.secret); toast('Copied'); } catch { secret.select(); document.execCommand('copy'); toast('Copied'); }
      } }, 'Copy');
      replace(fresh, h('div', { class: 'card notice', id: 'new-token' },
        h('p', null, 'Token ', h('b', null, r.token.name), ' created. Copy its secret now: it is not shown again.'),
        h('div', { class: 'inline' }, secret, copy),
        h('p', { class: 'muted small' }, 'Use it as MLFLOW_TRACKING_TOKEN (mlflow client) or MLP_TOKEN (mlp job …).')));
      secret.select();
      await draw();
    } catch (err) { replace(createErr, errorBox(err)); }
  } }, name, days, h('button', { type: 'submit', class: 'primary' }, 'Create token'), createErr);
  replace(root, h('div', { class: 'page' }, h('h1', null, 'Tokens'),
    h('p', { class: 'muted' }, `Personal access tokens of ${me.username}: they act as you, with your permissions.`),
    form, fresh, list));

  async function draw() {
    let r;
    try { r = await tokens.list(ctx.signal); } catch (err) { replace(list, errorBox(err)); return; }
    const rows = (r.tokens || []).map((t) => h('tr', { dataset: { token: t.id } },
      h('td', null, t.name),
      h('td', null, fmtTime(t.created_at)),
      h('td', null, t.expires_at ? fmtTime(t.expires_at) : 'never'),
      h('td', { class: 'actions' }, h('button', { class: 'danger', onclick: async () => {
        if (!confirm(`Revoke token "${t.name}"? Anything using it stops working.`)) return;
        try { await tokens.revoke(t.id); toast('Revoked'); await draw(); } catch (err) { toast(err.message, 'error'); }
      } }, 'Revoke'))));
    replace(list, rows.length
      ? h('table', { class: 'grid tokens' }, h('thead', null, h('tr', null, ...['Name', 'Created', 'Expires', ''].map((c) => h('th', null, c)))), h('tbody', null, rows))
      : h('p', { class: 'muted' }, 'No tokens.'));
    markRendered('tokens');
  }
  await draw();
}
