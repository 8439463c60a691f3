// A canvas line chart that stays fluid with 100,000 points x 20 series: each series is reduced
// per pixel column to (first, min, max, last) of the points that fall in it, which keeps every
// spike, and only the visible x range is scanned (binary search on sorted x). Hover shows the
// nearest values; drag selects an x range to zoom, double-click resets.

import { h, fmtNum } from './dom.js';

/**
 * @typedef {{name: string, color: string, x: Float64Array, y: Float64Array}} Series
 * @typedef {{logY?: boolean, smoothing?: number, xLabel?: string, xIsTime?: false|'rel'|'wall', yMin?: number|null, yMax?: number|null}} Options
 */

const PAD = { l: 56, r: 12, t: 8, b: 26 };

/** EMA smoothing with TensorBoard's de-biasing; NaN points are carried through. */
export function smooth(y, weight) {
  if (!weight) return y;
  const out = new Float64Array(y.length);
  let last = 0;
  let wpow = 1;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) { out[i] = v; continue; }
    last = last * weight + (1 - weight) * v;
    wpow *= weight;
    out[i] = last / (1 - wpow);
  }
  return out;
}

/** Sorts a series by x (stable), only when it is not sorted already. */
export function sortByX(x, y) {
  let sorted = true;
  for (let i = 1; i < x.length; i++) if (x[i] < x[i - 1]) { sorted = false; break; }
  if (sorted) return { x, y };
  const idx = Array.from(x.keys()).sort((a, b) => x[a] - x[b] || a - b);
  return { x: Float64Array.from(idx, (i) => x[i]), y: Float64Array.from(idx, (i) => y[i]) };
}

function lowerBound(a, v) {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m] < v) lo = m + 1; else hi = m;
  }
  return lo;
}

/** Points per block of the precomputed min/max summary. */
export const BLOCK = 64;

/**
 * min/max of every BLOCK consecutive (transformed) values, and whether all of them are finite:
 * a column that spans whole blocks is reduced from the summary instead of every point, so a
 * zoomed-out draw of 100,000 points reads ~1,600 blocks.
 */
export function summarize(y, tf) {
  const nb = Math.floor(y.length / BLOCK);
  const mn = new Float64Array(nb);
  const mx = new Float64Array(nb);
  const ok = new Uint8Array(nb);
  for (let b = 0; b < nb; b++) {
    let lo = Infinity;
    let hi = -Infinity;
    let good = 1;
    for (let i = b * BLOCK, e = i + BLOCK; i < e; i++) {
      const v = tf ? tf(y[i]) : y[i];
      if (!Number.isFinite(v)) { good = 0; break; }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    mn[b] = lo; mx[b] = hi; ok[b] = good;
  }
  return { mn, mx, ok };
}

/**
 * Per-pixel-column reduction of points [lo, hi): for each column, the first, min, max and last
 * y. Returns the columns touched, in order, and the per-column values. Exported for tests.
 */
export function bucket(x, y, lo, hi, x0, xScale, width, tf, sum) {
  const cols = new Int8Array(width + 1);
  const first = new Float64Array(width + 1);
  const min = new Float64Array(width + 1);
  const max = new Float64Array(width + 1);
  const last = new Float64Array(width + 1);
  const order = [];
  const colOf = (xv) => {
    const c = Math.floor((xv - x0) * xScale);
    return c < 0 ? 0 : c > width ? width : c;
  };
  const put = (c, f, mn, mx, l) => {
    if (!cols[c]) {
      cols[c] = 1;
      first[c] = f; min[c] = mn; max[c] = mx; last[c] = l;
      order.push(c);
    } else {
      if (mn < min[c]) min[c] = mn;
      if (mx > max[c]) max[c] = mx;
      last[c] = l;
    }
  };
  for (let i = lo; i < hi;) {
    if (sum && i % BLOCK === 0 && i + BLOCK <= hi) {
      const b = i / BLOCK;
      const c = colOf(x[i]);
      if (sum.ok[b] && c === colOf(x[i + BLOCK - 1])) {
        const f = tf ? tf(y[i]) : y[i];
        const l = tf ? tf(y[i + BLOCK - 1]) : y[i + BLOCK - 1];
        put(c, f, sum.mn[b], sum.mx[b], l);
        i += BLOCK;
        continue;
      }
    }
    const v = tf ? tf(y[i]) : y[i];
    if (Number.isFinite(v)) put(colOf(x[i]), v, v, v, v);
    i++;
  }
  return { order, first, min, max, last };
}

export function niceTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const span = hi - lo;
  const step0 = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const err = step0 / mag;
  const step = (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1) * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/**
 * Ticks of a log10 axis (lo, hi in log10 units) at values people read: whole decades (every k-th
 * when there are many), else 1-2-5 multiples, else plain nice ticks of the linear values; all
 * returned in log10 units, so that their labels are 0.01, 0.1, 1, 10, 2, 5 — never 3.16228.
 * @param {number} lo @param {number} hi @param {number} n
 */
export function logTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const e0 = Math.ceil(lo - 1e-9);
  const e1 = Math.floor(hi + 1e-9);
  const decades = [];
  const k = Math.max(1, Math.ceil((e1 - e0 + 1) / Math.max(2, n)));
  for (let e = e0; e <= e1; e++) if ((e - e0) % k === 0) decades.push(e);
  if (decades.length >= 3) return decades;
  const out = [];
  for (let e = Math.floor(lo) - 1; e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const t = Math.log10(m) + e;
      if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push(t);
    }
  }
  if (out.length >= 2 && out.length <= Math.max(3, n * 2)) return out;
  if (decades.length >= 2) return decades;
  // a narrow range inside one decade: nice ticks of the linear values
  return niceTicks(10 ** lo, 10 ** hi, n).filter((v) => v > 0).map((v) => Math.log10(v));
}

/** A log-axis tick label: the value of 10^t, rounded to what the tick stands for. */
export function logLabel(t) {
  return fmtNum(Number((10 ** t).toPrecision(6)));
}

function fmtX(v, isTime) {
  if (!isTime) return fmtNum(v);
  if (isTime === 'wall') {
    const d = new Date(v);
    const p = (n) => String(n).padStart(2, '0');
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }
  const s = v / 1000;
  if (Math.abs(s) < 120) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (Math.abs(s) < 7200) return `${(s / 60).toFixed(1)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

export class LineChart {
  /** @param {HTMLElement} container @param {{title?: string, height?: number}} [opts] */
  constructor(container, opts = {}) {
    this.height = opts.height || 220;
    this.canvas = h('canvas', { class: 'chart-canvas' });
    this.overlay = h('canvas', { class: 'chart-overlay' });
    this.tip = h('div', { class: 'chart-tip', hidden: true });
    this.el = h('div', { class: 'chart', style: { height: `${this.height}px` } }, this.canvas, this.overlay, this.tip);
    container.appendChild(this.el);
    /** @type {Series[]} */
    this.series = [];
    this.smoothed = [];
    this.summaries = new Map();
    /** @type {Options} */
    this.opts = { logY: false, smoothing: 0 };
    this.zoom = null;
    this.drawnPoints = 0;
    // the left margin grows to the widest y label (1.2346e+6, 0.000123457) so none is cut off
    this.padL = PAD.l;
    this.ro = new ResizeObserver(() => this.schedule());
    this.ro.observe(this.el);
    this.overlay.addEventListener('mousemove', (e) => this.hover(e));
    this.overlay.addEventListener('mouseleave', () => { this.dragFrom = null; this.clearOverlay(); });
    this.overlay.addEventListener('mousedown', (e) => { this.dragFrom = e.offsetX; });
    this.overlay.addEventListener('mouseup', (e) => this.endDrag(e));
    this.overlay.addEventListener('dblclick', () => { this.zoom = null; this.schedule(); if (this.onZoom) this.onZoom(null); });
  }

  /** A new height (fullscreen and back). @param {number} px */
  setHeight(px) {
    this.height = px;
    this.el.style.height = `${px}px`;
    this.schedule();
  }

  /** Sets (or clears, with null) the zoomed x range without calling onZoom. @param {[number, number]|null} z */
  setZoom(z) {
    this.zoom = z && z[1] > z[0] ? [z[0], z[1]] : null;
    this.schedule();
  }

  /** @param {Series[]} series */
  setSeries(series) {
    this.series = series.map((s) => ({ ...s, ...sortByX(s.x, s.y) }));
    this.smoothed = [];
    this.summaries = new Map();
    this.schedule();
  }

  /** @param {Options} opts */
  setOptions(opts) {
    if (opts.smoothing !== undefined && opts.smoothing !== this.opts.smoothing) {
      this.smoothed = [];
      for (const k of [...this.summaries.keys()]) if (!k.endsWith('|0')) this.summaries.delete(k);
    }
    if (opts.xIsTime !== undefined && opts.xIsTime !== this.opts.xIsTime) this.zoom = null;
    Object.assign(this.opts, opts);
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

  destroy() {
    this.ro.disconnect();
    if (this.pending) cancelAnimationFrame(this.pending);
  }

  /** The block summary of series i (smoothed or raw), for the current log setting; cached. */
  summary(i, ys, smoothed) {
    if (ys.length < BLOCK * 4) return null;
    const key = `${i}|${this.opts.logY ? 1 : 0}|${smoothed ? this.opts.smoothing : 0}`;
    let sm = this.summaries.get(key);
    if (!sm) {
      sm = summarize(ys, this.opts.logY ? (v) => (v > 0 ? Math.log10(v) : NaN) : null);
      this.summaries.set(key, sm);
    }
    return sm;
  }

  ys(i) {
    if (!this.opts.smoothing) return this.series[i].y;
    if (!this.smoothed[i]) this.smoothed[i] = smooth(this.series[i].y, this.opts.smoothing);
    return this.smoothed[i];
  }

  draw() {
    const t0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    const W = this.el.clientWidth;
    const H = this.height;
    if (!W) return;
    for (const c of [this.canvas, this.overlay]) {
      if (c.width !== Math.round(W * dpr) || c.height !== Math.round(H * dpr)) {
        c.width = Math.round(W * dpr);
        c.height = Math.round(H * dpr);
        c.style.width = `${W}px`;
        c.style.height = `${H}px`;
      }
    }
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext('2d'));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const pw = Math.max(10, W - this.padL - PAD.r);
    const ph = Math.max(10, H - PAD.t - PAD.b);
    const cols = Math.ceil(pw * dpr);
    const tf = this.opts.logY ? (v) => (v > 0 ? Math.log10(v) : NaN) : null;

    // x domain
    let x0 = Infinity;
    let x1 = -Infinity;
    for (const s of this.series) {
      if (!s.x.length) continue;
      x0 = Math.min(x0, s.x[0]);
      x1 = Math.max(x1, s.x[s.x.length - 1]);
    }
    if (this.zoom) [x0, x1] = this.zoom;
    if (!Number.isFinite(x0)) {
      ctx.fillStyle = '#888';
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillText('no data', W / 2 - 20, H / 2);
      return;
    }
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    const xScale = cols / (x1 - x0);

    // reduce every series to pixel columns; y domain from the reduced data
    const reduced = [];
    let y0 = Infinity;
    let y1 = -Infinity;
    let points = 0;
    const raw = this.opts.smoothing > 0;
    for (let i = 0; i < this.series.length; i++) {
      const s = this.series[i];
      const lo = Math.max(0, lowerBound(s.x, x0) - 1);
      const hi = Math.min(s.x.length, lowerBound(s.x, x1) + 1);
      points += hi - lo;
      const ys = this.ys(i);
      const main = bucket(s.x, ys, lo, hi, x0, xScale, cols, tf, this.summary(i, ys, true));
      const faint = raw ? bucket(s.x, s.y, lo, hi, x0, xScale, cols, tf, this.summary(i, s.y, false)) : null;
      for (const b of faint ? [main, faint] : [main]) {
        for (const c of b.order) {
          if (b.min[c] < y0) y0 = b.min[c];
          if (b.max[c] > y1) y1 = b.max[c];
        }
      }
      reduced.push({ main, faint, color: s.color });
    }
    if (!Number.isFinite(y0)) { y0 = 0; y1 = 1; }
    if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
    const padY = (y1 - y0) * 0.05;
    y0 -= padY; y1 += padY;
    // a fixed y range (either end), in the axis' units (log10 of it on a log axis)
    const fixed = (v) => (v === null || v === undefined || !Number.isFinite(v) ? null : tf ? tf(v) : v);
    const fy0 = fixed(this.opts.yMin);
    const fy1 = fixed(this.opts.yMax);
    if (fy0 !== null && Number.isFinite(fy0)) y0 = fy0;
    if (fy1 !== null && Number.isFinite(fy1)) y1 = fy1;
    if (!(y1 > y0)) y1 = y0 + (Math.abs(y0) || 1);
    this.view = { x0, x1, y0, y1, pw, ph, W, H };

    // axes and grid
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#666';
    ctx.strokeStyle = '#eee';
    ctx.lineWidth = 1;
    const py = (v) => PAD.t + ph - ((v - y0) / (y1 - y0)) * ph;
    const px = (v) => this.padL + ((v - x0) / (x1 - x0)) * pw;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const nY = Math.max(2, Math.floor(ph / 40));
    const yTicks = this.opts.logY ? logTicks(y0, y1, nY) : niceTicks(y0, y1, nY);
    const need = Math.max(PAD.l, Math.ceil(Math.max(0, ...yTicks.map((t) => ctx.measureText(this.opts.logY ? logLabel(t) : fmtNum(t)).width)) + 10));
    if (need !== this.padL && !this.repadded) {
      // one more draw with the margin the labels need (at most once per draw request)
      this.padL = need;
      this.repadded = true;
      this.draw();
      this.repadded = false;
      return;
    }
    for (const t of yTicks) {
      const yy = Math.round(py(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(this.padL, yy); ctx.lineTo(this.padL + pw, yy); ctx.stroke();
      ctx.fillText(this.opts.logY ? logLabel(t) : fmtNum(t), this.padL - 4, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of niceTicks(x0, x1, Math.max(2, Math.floor(pw / 90)))) {
      const xx = Math.round(px(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(xx, PAD.t); ctx.lineTo(xx, PAD.t + ph); ctx.stroke();
      ctx.fillText(fmtX(t, this.opts.xIsTime), xx, PAD.t + ph + 5);
    }
    ctx.strokeStyle = '#bbb';
    ctx.strokeRect(this.padL + 0.5, PAD.t + 0.5, pw, ph);

    // lines, clipped to the plot area
    ctx.save();
    ctx.beginPath();
    ctx.rect(this.padL, PAD.t, pw, ph);
    ctx.clip();
    ctx.lineJoin = 'round';
    const colX = (c) => this.padL + (c + 0.5) / dpr;
    const stroke = (b, color, alpha, width) => {
      ctx.globalAlpha = alpha;
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      let started = false;
      const order = b.order;
      for (let k = 0; k < order.length; k++) {
        const c = order[k];
        const xx = colX(c);
        if (!started) { ctx.moveTo(xx, py(b.first[c])); started = true; } else ctx.lineTo(xx, py(b.first[c]));
        if (b.min[c] !== b.max[c]) { ctx.lineTo(xx, py(b.min[c])); ctx.lineTo(xx, py(b.max[c])); }
        ctx.lineTo(xx, py(b.last[c]));
      }
      if (order.length === 1) { ctx.arc(colX(order[0]), py(b.last[order[0]]), 2, 0, Math.PI * 2); }
      ctx.stroke();
    };
    for (const r of reduced) if (r.faint) stroke(r.faint, r.color, 0.25, 1);
    for (const r of reduced) stroke(r.main, r.color, 1, 1.5);
    ctx.restore();
    ctx.globalAlpha = 1;
    this.drawnPoints = points;
    this.el.dataset.points = String(points);
    this.el.dataset.padL = String(this.padL);
    this.el.dataset.yTicks = (this.opts.logY ? logTicks(y0, y1, nY).map(logLabel) : niceTicks(y0, y1, nY).map((t) => fmtNum(t))).join(' ');
    this.el.dataset.drawn = '1';
    this.el.dataset.drawMs = (performance.now() - t0).toFixed(2);
  }

  clearOverlay() {
    const o = /** @type {CanvasRenderingContext2D} */ (this.overlay.getContext('2d'));
    o.setTransform(1, 0, 0, 1, 0, 0);
    o.clearRect(0, 0, this.overlay.width, this.overlay.height);
    this.tip.hidden = true;
  }

  hover(e) {
    const v = this.view;
    if (!v) return;
    this.clearOverlay();
    const dpr = window.devicePixelRatio || 1;
    const o = /** @type {CanvasRenderingContext2D} */ (this.overlay.getContext('2d'));
    o.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (this.dragFrom != null && Math.abs(e.offsetX - this.dragFrom) > 2) {
      o.fillStyle = 'rgba(31,119,180,0.12)';
      o.fillRect(Math.min(this.dragFrom, e.offsetX), PAD.t, Math.abs(e.offsetX - this.dragFrom), v.ph);
      return;
    }
    if (e.offsetX < this.padL || e.offsetX > this.padL + v.pw) return;
    const xv = v.x0 + ((e.offsetX - this.padL) / v.pw) * (v.x1 - v.x0);
    o.strokeStyle = '#999';
    o.beginPath(); o.moveTo(e.offsetX + 0.5, PAD.t); o.lineTo(e.offsetX + 0.5, PAD.t + v.ph); o.stroke();
    const rows = [];
    for (let i = 0; i < this.series.length; i++) {
      const s = this.series[i];
      if (!s.x.length) continue;
      let j = lowerBound(s.x, xv);
      if (j >= s.x.length || (j > 0 && xv - s.x[j - 1] < s.x[j] - xv)) j = Math.max(0, j - 1);
      rows.push(h('div', null, h('span', { class: 'swatch', style: { background: s.color } }), `${s.name}: `, h('b', null, fmtNum(this.ys(i)[j])), h('span', { class: 'muted' }, ` @ ${fmtX(s.x[j], this.opts.xIsTime)}`)));
    }
    this.tip.replaceChildren(...rows.slice(0, 20));
    this.tip.hidden = false;
    const left = e.offsetX + 12 + 220 > v.W ? e.offsetX - 232 : e.offsetX + 12;
    this.tip.style.left = `${Math.max(0, left)}px`;
    this.tip.style.top = `${PAD.t + 4}px`;
  }

  endDrag(e) {
    const v = this.view;
    const from = this.dragFrom;
    this.dragFrom = null;
    if (!v || from == null || Math.abs(e.offsetX - from) < 5) return;
    const toX = (px) => v.x0 + ((Math.min(Math.max(px, this.padL), this.padL + v.pw) - this.padL) / v.pw) * (v.x1 - v.x0);
    const a = toX(Math.min(from, e.offsetX));
    const b = toX(Math.max(from, e.offsetX));
    if (b > a) { this.zoom = [a, b]; this.schedule(); if (this.onZoom) this.onZoom(this.zoom); }
    this.clearOverlay();
  }
}

/**
 * The series of a chart as CSV (run, x, value; one row per point, RFC 4180 quoting).
 * @param {Series[]} series @param {string} xName
 */
export function seriesCsv(series, xName) {
  const q = (v) => (/[",\n\r]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const rows = [`run,${q(xName)},value`];
  for (const s of series) for (let i = 0; i < s.x.length; i++) rows.push(`${q(s.name)},${s.x[i]},${s.y[i]}`);
  return `${rows.join('\n')}\n`;
}

/** Saves a Blob as a file (an object URL on a temporary link; no inline script, CSP-safe). */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The chart's drawing as a PNG Blob, on white (the canvas itself is transparent). */
LineChart.prototype.png = function png() {
  const c = document.createElement('canvas');
  c.width = this.canvas.width;
  c.height = this.canvas.height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.drawImage(this.canvas, 0, 0);
  return new Promise((resolve) => c.toBlob((b) => resolve(b), 'image/png'));
};

/** Chart controls shared by the run and compare pages: x axis, log scale, smoothing. */
export function chartControls(state, onChange) {
  const xSel = h('select', { 'aria-label': 'x axis', onchange: () => onChange({ x: xSel.value }) },
    h('option', { value: 'step', selected: state.x === 'step' }, 'step'),
    h('option', { value: 'rel', selected: state.x === 'rel' }, 'relative time'),
    h('option', { value: 'time', selected: state.x === 'time' }, 'wall time'));
  const log = h('input', { type: 'checkbox', checked: state.log, onchange: () => onChange({ log: log.checked }) });
  const sm = h('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: state.smooth, 'aria-label': 'smoothing' });
  const smv = h('span', { class: 'mono' }, Number(state.smooth).toFixed(2));
  sm.addEventListener('input', () => { smv.textContent = Number(sm.value).toFixed(2); onChange({ smooth: Number(sm.value) }); });
  return h('div', { class: 'toolbar chart-controls' },
    h('label', null, 'x axis ', xSel),
    h('label', null, log, ' log scale'),
    h('label', null, 'smoothing ', sm, ' ', smv),
    h('span', { class: 'muted' }, 'drag to zoom, double-click to reset'));
}

/** x values of a history for an x mode: step, time since the first point, or wall time. */
export function xOf(hist, mode, t0) {
  if (mode === 'step') return hist.step;
  if (mode === 'time') return hist.time;
  let base = t0;
  if (base === undefined) {
    base = Infinity;
    for (const t of hist.time) if (t < base) base = t;
  }
  return Float64Array.from(hist.time, (t) => t - base);
}
