// Tiny DOM helpers: element construction, formatting, toasts. No framework.

/**
 * h('div', {class: 'x', onclick: fn}, child, 'text', [children])
 * @param {string} tag
 * @param {Record<string, any>|null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** @param {Element} el @param {...any} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmtTime(ms) {
  if (ms === undefined || ms === null || ms === '') return '';
  const d = new Date(Number(ms));
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtDuration(ms) {
  if (ms === undefined || ms === null || !isFinite(ms) || ms < 0) return '';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const hh = Math.floor(m / 60);
  return `${hh}h ${m % 60}m`;
}

export function fmtNum(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v; // "NaN", "Infinity"
  if (!isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '';
  const u = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let x = Number(n);
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return `${i ? x.toFixed(1) : x} ${u[i]}`;
}

/** @param {string} msg @param {'ok'|'error'} [kind] */
export function toast(msg, kind = 'ok') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast ${kind}`, role: 'status' }, msg);
  box.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 3000);
}

/** An inline error message for an API error (shows MLflow's error_code and message). */
export function errorBox(err) {
  const code = err && err.code ? h('code', null, err.code) : null;
  return h('div', { class: 'error', role: 'alert' }, code, code ? ' ' : '', String(err && err.message ? err.message : err));
}

/** A small fixed palette of 20 distinguishable colors for series. */
export const COLORS = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf', '#393b79', '#ad494a', '#637939', '#8c6d31', '#843c39', '#7b4173',
  '#3182bd', '#e6550d', '#31a354', '#756bb1',
];

/**
 * A run's color, from a hash of its id: the same in every view (charts, compare, run) whatever
 * the other runs shown. 360 hues in three lightness levels, so that collisions are rare.
 * @param {string} id
 */
export function runColor(id) {
  let x = 2166136261;
  for (let i = 0; i < String(id).length; i++) { x ^= String(id).charCodeAt(i); x = Math.imul(x, 16777619) >>> 0; }
  // murmur3's finalizer: FNV alone leaves ids that differ in their last characters close together
  x ^= x >>> 16; x = Math.imul(x, 0x85ebca6b) >>> 0; x ^= x >>> 13; x = Math.imul(x, 0xc2b2ae35) >>> 0; x ^= x >>> 16;
  const hue = x % 360;
  // yellows and greens are light at equal lightness: darker there, to stay readable on white
  const light = hue >= 45 && hue <= 160 ? 34 : [40, 48, 56][(x >>> 10) % 3];
  return `hsl(${hue}, ${hue >= 45 && hue <= 160 ? 75 : 68}%, ${light}%)`;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Marks that a page (or part of it) finished rendering: a token in body[data-rendered], reset
 * on navigation, and a performance mark (used by the tests and the benchmark). */
export function markRendered(name) {
  performance.mark(`mlp:${name}`);
  const done = new Set((document.body.dataset.rendered || '').split(' ').filter(Boolean));
  done.add(name);
  document.body.dataset.rendered = [...done].join(' ');
  document.body.dataset.gen = String(Number(document.body.dataset.gen || 0) + 1);
}

/** Builds a `#/path?query` link; empty values are left out. */
export function href(path, query) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

