// Administration (admins): users (create, delete, admin flag, password), each user's grants on
// experiments and registered models, and roles with their permissions and members — through
// MLflow's own endpoints, so what is done here is what AuthServiceClient sees.

import { admin } from '../api.js';
import { h, replace, errorBox, toast, markRendered } from '../dom.js';
import { me } from '../session.js';

const PERMS = ['READ', 'USE', 'EDIT', 'MANAGE', 'DENY'];
const option = (v, selected) => h('option', { value: v, selected: v === selected }, v);

/** @param {HTMLElement} root @param {import('../main.js').Ctx} ctx */
export async function render(root, ctx) {
  if (!me.auth_enabled || !me.is_admin) {
    replace(root, h('div', { class: 'page' }, h('h1', null, 'Administration'),
      h('p', { class: 'muted' }, me.auth_enabled ? 'Only administrators manage users, roles and grants.' : 'Authentication is off on this server: there are no users to manage.')));
    markRendered('admin');
    return;
  }
  const selected = ctx.query.get('user') || '';
  const usersBox = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const grantsBox = h('div');
  const rolesBox = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  replace(root, h('div', { class: 'page admin' }, h('h1', null, 'Administration'),
    h('h2', null, 'Users'), usersBox,
    h('h2', { id: 'grants-title' }, selected ? `Grants of ${selected}` : 'Grants'), grantsBox,
    h('h2', null, 'Roles'), rolesBox));

  /** Runs an action, reports it, and redraws. */
  const act = async (fn, ok, where) => {
    try { await fn(); if (ok) toast(ok); await drawAll(); } catch (err) { if (where) replace(where, errorBox(err)); else toast(`${err.code || ''} ${err.message}`, 'error'); }
  };

  let users = [];
  async function drawUsers() {
    users = (await admin.users()).users || [];
    const uname = h('input', { placeholder: 'Username', 'aria-label': 'new username', required: true });
    const upass = h('input', { type: 'password', placeholder: 'Password (12+ characters)', 'aria-label': 'new user password', required: true, autocomplete: 'new-password' });
    const uadmin = h('input', { type: 'checkbox', 'aria-label': 'new user is admin' });
    const err = h('div');
    const create = h('form', { class: 'toolbar', onsubmit: (e) => {
      e.preventDefault();
      const name = uname.value.trim();
      act(async () => {
        await admin.createUser(name, upass.value);
        if (uadmin.checked) await admin.setAdmin(name, true);
      }, `Created user ${name}`, err);
    } }, uname, upass, h('label', { class: 'inline' }, uadmin, 'admin'), h('button', { type: 'submit', class: 'primary' }, 'Create user'), err);
    const rows = users.map((u) => {
      const self = u.username === me.username;
      const adminBox = h('input', { type: 'checkbox', checked: !!u.is_admin, 'aria-label': `${u.username} is admin`, disabled: self,
        title: self ? 'You cannot change your own admin flag here' : '',
        onchange: (e) => act(() => admin.setAdmin(u.username, e.target.checked), `${u.username}: admin ${e.target.checked ? 'on' : 'off'}`) });
      const pwCell = h('td');
      const pwButton = h('button', { type: 'button', onclick: () => {
        const pw = h('input', { type: 'password', 'aria-label': `new password of ${u.username}`, autocomplete: 'new-password', required: true });
        const perr = h('span');
        replace(pwCell, h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => admin.setPassword(u.username, pw.value), `Password of ${u.username} changed`, perr); } },
          pw, h('button', { type: 'submit' }, 'Save'), h('button', { type: 'button', onclick: () => drawAll() }, 'Cancel'), perr));
        pw.focus();
      } }, 'Set password');
      pwCell.appendChild(pwButton);
      return h('tr', { dataset: { user: u.username }, class: u.username === selected ? 'selected' : null },
        h('td', null, u.username),
        h('td', null, adminBox),
        h('td', null, (u.roles || []).map((r) => h('span', { class: 'chip' }, r.name))),
        pwCell,
        h('td', { class: 'actions' },
          h('a', { href: `#/admin?user=${encodeURIComponent(u.username)}`, class: 'button-link' }, 'Grants'),
          h('button', { class: 'danger', disabled: self, onclick: () => {
            if (!confirm(`Delete user ${u.username}, with their grants and tokens?`)) return;
            // The deleted user's grants are no longer there to show.
            if (u.username === selected) admin.deleteUser(u.username).then(() => { toast(`Deleted ${u.username}`); ctx.go('/admin'); }, (err) => toast(`${err.code || ''} ${err.message}`, 'error'));
            else act(() => admin.deleteUser(u.username), `Deleted ${u.username}`);
          } }, 'Delete')));
    });
    replace(usersBox, create, h('table', { class: 'grid users' },
      h('thead', null, h('tr', null, ...['User', 'Admin', 'Roles', 'Password', ''].map((c) => h('th', null, c)))),
      h('tbody', null, rows)));
  }

  async function drawGrants() {
    if (!selected) { replace(grantsBox, h('p', { class: 'muted' }, 'Choose “Grants” on a user to see and change their permissions on experiments and registered models.')); return; }
    let r;
    try { r = await admin.grants(selected); } catch (err) { replace(grantsBox, errorBox(err)); return; }
    const type = h('select', { 'aria-label': 'resource type' }, option('experiment'), option('registered_model'));
    const id = h('input', { placeholder: 'experiment id, model name, or *', 'aria-label': 'resource id', required: true });
    const perm = h('select', { 'aria-label': 'permission' }, ...PERMS.map((p) => option(p, 'READ')));
    const err = h('div');
    const form = h('form', { class: 'toolbar', onsubmit: (e) => {
      e.preventDefault();
      act(() => admin.grant(selected, type.value, id.value.trim(), perm.value), `Granted ${perm.value} to ${selected}`, err);
    } }, type, id, perm, h('button', { type: 'submit', class: 'primary' }, 'Grant'), err);
    const rows = (r.permissions || []).map((g) => h('tr', { dataset: { grant: `${g.resource_type}:${g.resource_pattern}` } },
      h('td', null, g.resource_type), h('td', { class: 'mono' }, g.resource_pattern), h('td', null, g.permission),
      h('td', { class: 'actions' }, h('button', { class: 'danger', onclick: () => act(() => admin.revoke(selected, g.resource_type, g.resource_pattern), 'Revoked') }, 'Revoke'))));
    replace(grantsBox, r.is_admin ? h('p', { class: 'muted' }, `${selected} is an admin: grants do not restrict them.`) : null, form,
      rows.length ? h('table', { class: 'grid grants' }, h('thead', null, h('tr', null, ...['Type', 'Resource', 'Permission', ''].map((c) => h('th', null, c)))), h('tbody', null, rows))
        : h('p', { class: 'muted' }, 'No grants: the server\'s default permission applies.'));
  }

  async function drawRoles() {
    const roles = (await admin.roles()).roles || [];
    const rname = h('input', { placeholder: 'Role name', 'aria-label': 'new role name', required: true });
    const rdesc = h('input', { placeholder: 'Description', 'aria-label': 'new role description' });
    const err = h('div');
    const create = h('form', { class: 'toolbar', onsubmit: (e) => {
      e.preventDefault();
      act(() => admin.createRole(rname.value.trim(), rdesc.value.trim() || undefined), `Created role ${rname.value.trim()}`, err);
    } }, rname, rdesc, h('button', { type: 'submit', class: 'primary' }, 'Create role'), err);
    const byId = new Map(users.map((u) => [String(u.id), u.username]));
    const cards = [];
    for (const role of roles) {
      let members = [];
      try { members = (await admin.roleUsers(role.id)).assignments || []; } catch { /* shown as none */ }
      const type = h('select', { 'aria-label': `resource type for ${role.name}` }, option('experiment'), option('registered_model'), option('workspace'));
      const pattern = h('input', { placeholder: 'id, name or *', 'aria-label': `resource pattern for ${role.name}`, required: true });
      const perm = h('select', { 'aria-label': `permission for ${role.name}` }, ...PERMS.map((p) => option(p, 'READ')));
      const perr = h('div');
      const who = h('select', { 'aria-label': `user to assign to ${role.name}` }, ...users.map((u) => option(u.username)));
      const aerr = h('div');
      cards.push(h('div', { class: 'card role', dataset: { role: role.name } },
        h('div', { class: 'row-between' }, h('div', null, h('b', null, role.name), role.description ? h('span', { class: 'muted' }, ` — ${role.description}`) : null),
          h('button', { class: 'danger', onclick: () => { if (confirm(`Delete role ${role.name}?`)) act(() => admin.deleteRole(role.id), `Deleted role ${role.name}`); } }, 'Delete role')),
        h('table', { class: 'grid' }, h('tbody', null, (role.permissions || []).map((p) => h('tr', null,
          h('td', null, p.resource_type), h('td', { class: 'mono' }, p.resource_pattern), h('td', null, p.permission),
          h('td', { class: 'actions' }, h('button', { class: 'danger', onclick: () => act(() => admin.removeRolePermission(p.id), 'Removed') }, 'Remove')))))),
        h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); act(() => admin.addRolePermission(role.id, type.value, pattern.value.trim(), perm.value), 'Added', perr); } },
          type, pattern, perm, h('button', { type: 'submit' }, 'Add permission'), perr),
        h('div', { class: 'toolbar' }, h('span', { class: 'muted' }, 'Members:'),
          members.length ? members.map((a) => {
            const name = byId.get(String(a.user_id)) || `#${a.user_id}`;
            return h('span', { class: 'chip' }, name, h('button', { class: 'x', title: `unassign ${name}`, onclick: () => act(() => admin.unassign(name, role.id), `Unassigned ${name}`) }, '×'));
          }) : h('span', { class: 'muted' }, 'none')),
        h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); act(() => admin.assign(who.value, role.id), `Assigned ${who.value}`, aerr); } },
          who, h('button', { type: 'submit' }, 'Assign'), aerr)));
    }
    replace(rolesBox, create, cards.length ? cards : h('p', { class: 'muted' }, 'No roles.'));
  }

  async function drawAll() {
    try { await drawUsers(); } catch (err) { replace(usersBox, errorBox(err)); }
    await drawGrants();
    try { await drawRoles(); } catch (err) { replace(rolesBox, errorBox(err)); }
    markRendered('admin');
  }
  await drawAll();
}
