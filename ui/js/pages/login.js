// The login page (auth on): username and password → a session cookie, then back to the page
// the user was on (`?next=`).

import { h, replace, errorBox, markRendered } from '../dom.js';
import { login, me } from '../session.js';

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  const next = ctx.query.get('next') || '/experiments';
  // Only a page of this UI: `next` comes from the URL, which anyone can link to.
  const target = /^\/[A-Za-z0-9]/.test(next) && !next.startsWith('//') ? next : '/experiments';
  if (me.auth_enabled === false || me.username) {
    location.replace(`#${target}`);
    return;
  }
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, 'aria-label': 'username', autofocus: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'aria-label': 'password' });
  const err = h('div', { id: 'login-error' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', { class: 'login card', onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    replace(err);
    try {
      await login(user.value.trim(), pass.value);
      location.replace(`#${target}`);
    } catch (ex) {
      pass.value = '';
      replace(err, errorBox(ex));
      pass.focus();
    } finally {
      button.disabled = false;
    }
  } },
  h('h1', null, 'Log in'),
  h('label', null, 'Username', user),
  h('label', null, 'Password', pass),
  button, err,
  h('p', { class: 'muted small' }, 'Scripts and the mlflow client use a token (Tokens page) or MLFLOW_TRACKING_USERNAME/PASSWORD instead.'));
  replace(root, h('div', { class: 'page' }, form));
  user.focus();
  markRendered('login');
}
