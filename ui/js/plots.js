// Canvas plots over runs (the experiment charts page): a scatter of one column against another,
// parallel coordinates over several, and bars of one metric. A column is numeric when every value it has parses as a
// finite number (params are strings), otherwise categorical (its distinct values, evenly spaced).

import { h, fmtNum } from './dom.js';
import { niceTicks } from './chart.js';

/**
 * @typedef {{label: string, kind: 'num'|'cat', lo: number, hi: number, cats: string[], log: boolean}} Axis
 */

const num = (v) => (v === undefined || v === null || v === '' ? NaN : typeof v === 'number' ? v : Number(v));

/** An axis for these values (undefined = missing). @param {string} label @param {any[]} values @param {boolean} [log] @returns {Axis} */
export function axisOf(label, values, log = false) {
  const present = values.filter((v) => v !== undefined && v !== null && v !== '');
  const numeric = present.length > 0 && present.every((v) => Number.isFinite(num(v)) || v === 'NaN' || (typeof v === 'number' && Number.isNaN(v)));
  if (numeric) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of present) {
      const x = num(v);
      if (!Number.isFinite(x) || (log && x <= 0)) continue;
      const t = log ? Math.log10(x) : x;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    if (hi === lo) { lo -= 0.5; hi += 0.5; }
    const pad = (hi - lo) * 0.05;
    return { label, kind: 'num', lo: lo - pad, hi: hi + pad, cats: [], log };
  }
  const cats = [...new Set(present.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { label, kind: 'cat', lo: -0.5, hi: cats.length - 0.5, cats, log: false };
}

/** Position of a value on an axis, 0..1 (NaN when missing or not representable). @param {Axis} a */
export function axisPos(a, v) {
  if (v === undefined || v === null || v === '') return NaN;
  let t;
  if (a.kind === 'cat') t = a.cats.indexOf(String(v));
  else {
    const x = num(v);
    if (!Number.isFinite(x) || (a.log && x <= 0)) return NaN;
    t = a.log ? Math.log10(x) : x;
  }
  if (t < 0 && a.kind === 'cat') return NaN;
  return (t - a.lo) / (a.hi - a.lo);
}

/** Tick positions and labels of an axis. @param {Axis} a */
function ticksOf(a, n) {
  if (a.kind === 'cat') {
    const step = Math.max(1, Math.ceil(a.cats.length / n));
    return a.cats.map((c, i) => ({ p: (i - a.lo) / (a.hi - a.lo), label: c.length > 14 ? `${c.slice(0, 13)}…` : c })).filter((_, i) => i % step === 0);
  }
  return niceTicks(a.lo, a.hi, n).map((t) => ({ p: (t - a.lo) / (a.hi - a.lo), label: a.log ? fmtNum(10 ** t) : fmtNum(t) }));
}

/** Blue → red for 0..1 (NaN: grey). */
export function ramp(t) {
  if (!Number.isFinite(t)) return 'rgba(120,120,120,.6)';
  const c = Math.max(0, Math.min(1, t));
  const a = [59, 76, 192];
  const m = [221, 221, 221];
  const b = [180, 4, 38];
  const mix = (p, q, f) => p.map((x, i) => Math.round(x + (q[i] - x) * f));
  const rgb = c < 0.5 ? mix(a, m, c * 2) : mix(m, b, (c - 0.5) * 2);
  return `rgb(${rgb.join(',')})`;
}

/** Sizes a canvas pair to its box (device pixels) and returns the 2d context in CSS pixels. */
function fit(el, canvases, height) {
  const dpr = window.devicePixelRatio || 1;
  const W = el.clientWidth;
  for (const c of canvases) {
    if (c.width !== Math.round(W * dpr) || c.height !== Math.round(height * dpr)) {
      c.width = Math.round(W * dpr);
      c.height = Math.round(height * dpr);
      c.style.width = `${W}px`;
      c.style.height = `${height}px`;
    }
  }
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvases[0].getContext('2d'));
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, height);
  const o = /** @type {CanvasRenderingContext2D} */ (canvases[1].getContext('2d'));
  o.setTransform(dpr, 0, 0, dpr, 0, 0);
  o.clearRect(0, 0, W, height);
  return { ctx, o, W };
}

class Plot {
  constructor(container, height) {
    this.height = height;
    this.canvas = h('canvas', { class: 'chart-canvas' });
    this.overlay = h('canvas', { class: 'chart-overlay' });
    this.tip = h('div', { class: 'chart-tip', hidden: true });
    this.el = h('div', { class: 'chart plot', style: { height: `${height}px` } }, this.canvas, this.overlay, this.tip);
    container.appendChild(this.el);
    this.ro = new ResizeObserver(() => this.schedule());
    this.ro.observe(this.el);
    this.overlay.addEventListener('mousemove', (e) => this.hover(e.offsetX, e.offsetY));
    this.overlay.addEventListener('mouseleave', () => { this.hot = null; this.tip.hidden = true; this.schedule(); });
    this.overlay.addEventListener('click', () => {
      // the click that ends a brush drag does not open a run
      if (this.hot && this.onClick && !this.suppressClick) this.onClick(this.hot);
      this.suppressClick = false;
    });
  }

  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

  showTip(x, y, lines) {
    this.tip.replaceChildren(...lines.map((l, i) => h('div', null, i ? l : h('b', null, l))));
    this.tip.hidden = false;
    const W = this.el.clientWidth;
    this.tip.style.left = `${Math.min(x + 12, W - 200)}px`;
    this.tip.style.top = `${Math.max(0, y - 10)}px`;
  }

  destroy() {
    this.ro.disconnect();
    if (this.pending) cancelAnimationFrame(this.pending);
  }
}

const PAD = { l: 64, r: 16, t: 10, b: 40 };

/** A scatter plot of runs: `points` with x, y (raw values), a label and an id. */
export class ScatterPlot extends Plot {
  /** @param {HTMLElement} container @param {{onClick?: (p: any) => void}} [o] */
  constructor(container, o = {}) {
    super(container, 360);
    this.onClick = o.onClick;
    this.points = [];
  }

  /** @param {{x: any, y: any, label: string, id: string, color?: string}[]} points @param {Axis} xa @param {Axis} ya */
  set(points, xa, ya) {
    this.points = points;
    this.xa = xa;
    this.ya = ya;
    this.hot = null;
    this.schedule();
  }

  draw() {
    const { ctx, o, W } = fit(this.el, [this.canvas, this.overlay], this.height);
    if (!W || !this.xa) return;
    const pw = W - PAD.l - PAD.r;
    const ph = this.height - PAD.t - PAD.b;
    ctx.font = '11px system-ui, sans-serif';
    ctx.strokeStyle = '#e3e6eb';
    ctx.fillStyle = '#6b7280';
    ctx.textAlign = 'center';
    for (const t of ticksOf(this.xa, Math.max(2, Math.floor(pw / 90)))) {
      const x = PAD.l + t.p * pw;
      ctx.beginPath(); ctx.moveTo(x, PAD.t); ctx.lineTo(x, PAD.t + ph); ctx.stroke();
      ctx.fillText(t.label, x, PAD.t + ph + 14);
    }
    ctx.fillText(this.xa.label, PAD.l + pw / 2, PAD.t + ph + 32);
    ctx.textAlign = 'right';
    for (const t of ticksOf(this.ya, 6)) {
      const y = PAD.t + (1 - t.p) * ph;
      ctx.beginPath(); ctx.moveTo(PAD.l, y); ctx.lineTo(PAD.l + pw, y); ctx.stroke();
      ctx.fillText(t.label, PAD.l - 6, y + 4);
    }
    ctx.save();
    ctx.translate(12, PAD.t + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText(this.ya.label, 0, 0);
    ctx.restore();
    // categorical axes: a little deterministic jitter so that equal values stay distinguishable
    const jit = (a, i) => (a.kind === 'cat' ? (((i * 2654435761) % 1000) / 1000 - 0.5) * 0.3 / Math.max(1, a.cats.length) : 0);
    this.screen = [];
    let n = 0;
    this.points.forEach((p, i) => {
      const px = axisPos(this.xa, p.x);
      const py = axisPos(this.ya, p.y);
      if (!Number.isFinite(px) || !Number.isFinite(py)) return;
      const sx = PAD.l + (px + jit(this.xa, i)) * pw;
      const sy = PAD.t + (1 - (py + jit(this.ya, i + 7))) * ph;
      this.screen.push({ sx, sy, p });
      ctx.beginPath();
      ctx.arc(sx, sy, 4.5, 0, Math.PI * 2);
      ctx.fillStyle = p.color || 'rgba(31,111,235,.75)';
      ctx.fill();
      ctx.strokeStyle = '#fff';
      ctx.stroke();
      n++;
    });
    this.el.dataset.points = String(n);
    if (this.hot) {
      const s = this.screen.find((q) => q.p === this.hot);
      if (s) { o.beginPath(); o.arc(s.sx, s.sy, 8, 0, Math.PI * 2); o.strokeStyle = '#141a26'; o.lineWidth = 2; o.stroke(); }
    }
  }

  hover(x, y) {
    let best = null;
    let bd = 144;
    for (const s of this.screen || []) {
      const d = (s.sx - x) ** 2 + (s.sy - y) ** 2;
      if (d < bd) { bd = d; best = s; }
    }
    const hot = best ? best.p : null;
    this.overlay.style.cursor = hot ? 'pointer' : 'crosshair';
    if (hot !== this.hot) { this.hot = hot; this.schedule(); }
    if (best) this.showTip(best.sx, best.sy, [hot.label, `${this.xa.label}: ${fmtVal(hot.x)}`, `${this.ya.label}: ${fmtVal(hot.y)}`]);
    else this.tip.hidden = true;
  }
}

const fmtVal = (v) => (v === undefined || v === null ? '∅' : typeof v === 'number' ? fmtNum(v) : String(v));

/**
 * Parallel coordinates: one polyline per run over several axes, colored by the last axis.
 * Brushing: drag along an axis to keep a range of it (several axes: all ranges must hold); the
 * lines outside are greyed; a click on an axis without dragging clears its range. Ranges are
 * keyed by the axis `id` (its column) and kept in axis units (0..1 from the bottom).
 */
export class ParallelPlot extends Plot {
  /** @param {HTMLElement} container @param {{onClick?: (p: any) => void, onBrush?: (inside: any[]|null, brushes: Map<string, {lo: number, hi: number}>) => void}} [o] */
  constructor(container, o = {}) {
    super(container, 380);
    this.onClick = o.onClick;
    this.onBrush = o.onBrush;
    this.rows = [];
    this.axes = [];
    /** @type {Map<string, {lo: number, hi: number}>} */
    this.brushes = new Map();
    this.drag = null;
    this.overlay.addEventListener('mousedown', (e) => this.startBrush(e));
    this.onMove = (e) => this.moveBrush(e);
    this.onUp = (e) => this.endBrush(e);
  }

  /** @param {{values: any[], label: string, id: string}[]} rows @param {(Axis & {id?: string})[]} axes */
  set(rows, axes) {
    this.rows = rows;
    this.axes = axes;
    this.hot = null;
    const ids = new Set(axes.map((a) => a.id));
    for (const k of [...this.brushes.keys()]) if (!ids.has(k)) this.brushes.delete(k);
    this.schedule();
  }

  /** @param {Map<string, {lo: number, hi: number}>} brushes */
  setBrushes(brushes) {
    this.brushes = new Map(brushes);
    this.schedule();
  }

  /** True when a row lies inside every brushed range. */
  inside(r) {
    for (const [id, b] of this.brushes) {
      const i = this.axes.findIndex((a) => a.id === id);
      if (i < 0) continue;
      const p = axisPos(this.axes[i], r.values[i]);
      if (!(p >= b.lo && p <= b.hi)) return false;
    }
    return true;
  }

  brushed() {
    return this.brushes.size ? this.rows.filter((r) => this.inside(r)) : null;
  }

  posAt(y) {
    const { top, ph } = this.geometry(this.el.clientWidth);
    return Math.max(0, Math.min(1, 1 - (y - top) / ph));
  }

  startBrush(e) {
    if (this.axes.length < 2 || e.button !== 0) return;
    const { xs } = this.geometry(this.el.clientWidth);
    const i = xs.findIndex((x) => Math.abs(x - e.offsetX) <= 12);
    if (i < 0 || !this.axes[i].id) return;
    e.preventDefault();
    this.drag = { id: this.axes[i].id, from: this.posAt(e.offsetY), y0: e.clientY, moved: false };
    window.addEventListener('mousemove', this.onMove);
    window.addEventListener('mouseup', this.onUp);
  }

  moveBrush(e) {
    const d = this.drag;
    if (!d) return;
    if (Math.abs(e.clientY - d.y0) < 3 && !d.moved) return;
    d.moved = true;
    const rect = this.overlay.getBoundingClientRect();
    const to = this.posAt(e.clientY - rect.top);
    this.brushes.set(d.id, { lo: Math.min(d.from, to), hi: Math.max(d.from, to) });
    this.tip.hidden = true;
    this.schedule();
  }

  endBrush(e) {
    const d = this.drag;
    window.removeEventListener('mousemove', this.onMove);
    window.removeEventListener('mouseup', this.onUp);
    if (!d) return;
    this.drag = null;
    this.suppressClick = true;
    if (!d.moved) this.brushes.delete(d.id); else this.moveBrush(e);
    this.schedule();
    if (this.onBrush) this.onBrush(this.brushed(), this.brushes);
  }

  destroy() {
    super.destroy();
    window.removeEventListener('mousemove', this.onMove);
    window.removeEventListener('mouseup', this.onUp);
  }

  geometry(W) {
    const l = 40;
    const r = 70;
    const n = this.axes.length;
    const xs = this.axes.map((_, i) => (n === 1 ? W / 2 : l + (i * (W - l - r)) / (n - 1)));
    return { xs, top: 34, ph: this.height - 34 - 16 };
  }

  draw() {
    const { ctx, o, W } = fit(this.el, [this.canvas, this.overlay], this.height);
    if (!W || this.axes.length < 2) {
      ctx.fillStyle = '#888';
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillText('choose at least two columns', Math.max(0, W / 2 - 80), this.height / 2);
      this.el.dataset.lines = '0';
      return;
    }
    const { xs, top, ph } = this.geometry(W);
    this.el.dataset.axisX = xs.map((x) => x.toFixed(1)).join(',');
    const last = this.axes[this.axes.length - 1];
    this.lines = this.rows.map((r) => ({ r, ys: r.values.map((v, i) => top + (1 - axisPos(this.axes[i], v)) * ph), color: ramp(axisPos(last, r.values[r.values.length - 1])), on: !this.brushes.size || this.inside(r) }));
    // lines outside the brushes first, faint, under the others
    this.lines.sort((a, b) => Number(a.on) - Number(b.on));
    ctx.lineWidth = 1.5;
    let n = 0;
    let inBrush = 0;
    const stroke = (c, l) => {
      c.beginPath();
      let pen = false;
      l.ys.forEach((y, i) => {
        if (!Number.isFinite(y)) { pen = false; return; }
        if (pen) c.lineTo(xs[i], y); else c.moveTo(xs[i], y);
        pen = true;
      });
      c.stroke();
    };
    for (const l of this.lines) {
      if (l.ys.filter(Number.isFinite).length < 2) continue;
      ctx.globalAlpha = l.on ? (this.rows.length > 200 ? 0.35 : 0.8) : 0.25;
      ctx.strokeStyle = l.on ? l.color : '#c3c9d2';
      stroke(ctx, l);
      n++;
      if (l.on) inBrush++;
    }
    ctx.globalAlpha = 1;
    this.el.dataset.lines = String(n);
    this.el.dataset.brushed = String(inBrush);
    // axes on top
    ctx.font = '11px system-ui, sans-serif';
    this.axes.forEach((a, i) => {
      const x = xs[i];
      ctx.strokeStyle = '#1d2330';
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + ph); ctx.stroke();
      ctx.fillStyle = '#1d2330';
      ctx.textAlign = i === 0 ? 'left' : i === this.axes.length - 1 ? 'right' : 'center';
      ctx.fillText(a.label.length > 24 ? `${a.label.slice(0, 23)}…` : a.label, x, 14);
      ctx.textAlign = 'left';
      ctx.fillStyle = '#6b7280';
      for (const t of ticksOf(a, 6)) {
        const y = top + (1 - t.p) * ph;
        ctx.fillRect(x - 3, y, 6, 1);
        ctx.fillText(t.label, x + 5, y + 4);
      }
    });
    // the brushed ranges
    this.axes.forEach((a, i) => {
      const b = this.brushes.get(a.id);
      if (!b) return;
      ctx.fillStyle = 'rgba(31,111,235,.18)';
      ctx.strokeStyle = 'rgba(31,111,235,.8)';
      const y0 = top + (1 - b.hi) * ph;
      const hh = Math.max(2, (b.hi - b.lo) * ph);
      ctx.fillRect(xs[i] - 7, y0, 14, hh);
      ctx.strokeRect(xs[i] - 7, y0, 14, hh);
    });
    if (this.hot) {
      const l = this.lines.find((q) => q.r === this.hot);
      if (l) { o.lineWidth = 3; o.strokeStyle = '#141a26'; stroke(o, l); }
    }
  }

  hover(x, y) {
    if (!this.lines || this.axes.length < 2 || this.drag) return;
    const { xs } = this.geometry(this.el.clientWidth);
    this.overlay.style.cursor = xs.some((ax) => Math.abs(ax - x) <= 12) ? 'ns-resize' : 'default';
    let i = 0;
    while (i < xs.length - 2 && x > xs[i + 1]) i++;
    const f = Math.max(0, Math.min(1, (x - xs[i]) / (xs[i + 1] - xs[i])));
    let best = null;
    let bd = 8;
    for (const l of this.lines) {
      const a = l.ys[i];
      const b = l.ys[i + 1];
      if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
      const d = Math.abs(a + (b - a) * f - y);
      if (d < bd) { bd = d; best = l; }
    }
    const hot = best ? best.r : null;
    if (hot) this.overlay.style.cursor = 'pointer';
    if (hot !== this.hot) { this.hot = hot; this.schedule(); }
    if (hot) this.showTip(x, y, [hot.label, ...this.axes.map((a, k) => `${a.label}: ${fmtVal(hot.values[k])}`)]);
    else this.tip.hidden = true;
  }
}

/**
 * Horizontal bars, one per run (a latest metric), in the order given, from a zero baseline (or
 * from the smallest value on a log axis). Bars thin out with the number of runs; labels are
 * drawn while a row is at least 11 px high, the hover read-out names every run.
 */
export class BarPlot extends Plot {
  /** @param {HTMLElement} container @param {{onClick?: (p: any) => void}} [o] */
  constructor(container, o = {}) {
    super(container, 120);
    this.onClick = o.onClick;
    this.rows = [];
  }

  /** @param {{value: number, label: string, id: string, color: string}[]} rows @param {string} label */
  set(rows, label) {
    this.rows = rows.filter((r) => Number.isFinite(r.value));
    this.label = label;
    this.rowH = this.rows.length <= 30 ? 18 : Math.max(2, Math.floor(600 / this.rows.length));
    this.height = Math.max(80, this.rows.length * this.rowH + 40);
    this.el.style.height = `${this.height}px`;
    this.hot = null;
    this.schedule();
  }

  geometry(W) {
    const l = this.rowH >= 11 ? Math.min(180, Math.max(80, W * 0.22)) : 16;
    return { l, r: 70, top: 8, pw: Math.max(10, W - l - 70) };
  }

  draw() {
    const { ctx, o, W } = fit(this.el, [this.canvas, this.overlay], this.height);
    this.el.dataset.bars = String(this.rows.length);
    if (!W || !this.rows.length) {
      ctx.fillStyle = '#888';
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillText('no run has a value for this metric', 16, 40);
      return;
    }
    const { l, top, pw } = this.geometry(W);
    const vs = this.rows.map((r) => r.value);
    const lo = Math.min(0, ...vs);
    const hi = Math.max(0, ...vs);
    const span = hi - lo || 1;
    const X = (v) => l + ((v - lo) / span) * pw;
    const rh = this.rowH;
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    this.rows.forEach((r, i) => {
      const y = top + i * rh;
      const x0 = X(0);
      const x1 = X(r.value);
      ctx.fillStyle = r.color;
      ctx.fillRect(Math.min(x0, x1), y + (rh > 4 ? 1 : 0), Math.max(1, Math.abs(x1 - x0)), rh > 4 ? rh - 2 : rh);
      if (rh >= 11) {
        ctx.fillStyle = '#1d2330';
        ctx.textAlign = 'right';
        ctx.fillText(r.label.length > 26 ? `${r.label.slice(0, 25)}…` : r.label, l - 6, y + rh / 2);
        ctx.textAlign = 'left';
        ctx.fillStyle = '#6b7280';
        ctx.fillText(fmtNum(r.value), Math.max(x0, x1) + 4, y + rh / 2);
      }
    });
    ctx.textBaseline = 'alphabetic';
    // the zero line and the scale
    const axisY = top + this.rows.length * rh;
    ctx.strokeStyle = '#9aa4b2';
    ctx.beginPath(); ctx.moveTo(X(0), top); ctx.lineTo(X(0), axisY); ctx.stroke();
    ctx.fillStyle = '#6b7280';
    ctx.textAlign = 'center';
    for (const t of niceTicks(lo, hi, Math.max(2, Math.floor(pw / 110)))) {
      if (t < lo || t > hi) continue;
      ctx.fillRect(X(t), axisY, 1, 4);
      ctx.fillText(fmtNum(t), X(t), axisY + 15);
    }
    ctx.textAlign = 'left';
    ctx.fillText(this.label, l, axisY + 30);
    if (this.hot) {
      const i = this.rows.indexOf(this.hot);
      if (i >= 0) { o.strokeStyle = '#141a26'; o.lineWidth = 2; o.strokeRect(l - 2, top + i * rh, pw + 4, rh); }
    }
  }

  hover(x, y) {
    if (!this.rows.length) return;
    const i = Math.floor((y - 8) / this.rowH);
    const hot = i >= 0 && i < this.rows.length ? this.rows[i] : null;
    this.overlay.style.cursor = hot ? 'pointer' : 'default';
    if (hot !== this.hot) { this.hot = hot; this.schedule(); }
    if (hot) this.showTip(x, y, [hot.label, `${this.label}: ${fmtNum(hot.value)}`]);
    else this.tip.hidden = true;
  }
}
