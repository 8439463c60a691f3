// Unit tests of the UI's pure functions, in Node (no browser): the chart's per-pixel reduction
// (with and without the block summary), smoothing, the CSV parser and the command splitter.
import assert from 'node:assert/strict';
import { bucket, summarize, smooth, sortByX, BLOCK } from '../../ui/js/chart.js';
import { parseDelimited } from '../../ui/js/artifacts.js';
import { splitArgs } from '../../ui/js/pages/jobs.js';

let n = 0;
const check = (name, fn) => { fn(); n++; console.log(`  ok   unit: ${name}`); };

check('block summary reduces exactly like the point-by-point scan', () => {
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (const [len, width, withNaN, log] of [[100000, 800, false, false], [100000, 613, true, true], [5000, 2000, false, true], [BLOCK * 10 + 3, 7, true, false]]) {
    const x = Float64Array.from({ length: len }, (_, i) => i * 2 + (i % 3));
    const y = Float64Array.from({ length: len }, (_, i) => (withNaN && i % 997 === 0 ? NaN : Math.sin(i / 500) + rnd() * 0.1 + (i === 4242 ? 50 : 0)));
    const tf = log ? (v) => (v > 0 ? Math.log10(v) : NaN) : null;
    for (const [lo, hi] of [[0, len], [1234, Math.min(len, 77777)]]) {
      const x0 = x[lo];
      const scale = width / (x[hi - 1] - x0);
      const a = bucket(x, y, lo, hi, x0, scale, width, tf, null);
      const b = bucket(x, y, lo, hi, x0, scale, width, tf, summarize(y, tf));
      assert.deepEqual(b.order, a.order);
      for (const c of a.order) {
        assert.equal(b.min[c], a.min[c]);
        assert.equal(b.max[c], a.max[c]);
        assert.equal(b.first[c], a.first[c]);
        assert.equal(b.last[c], a.last[c]);
      }
    }
  }
});

check('a one-point spike in 100,000 survives the reduction', () => {
  const len = 100000;
  const x = Float64Array.from({ length: len }, (_, i) => i);
  const y = new Float64Array(len);
  y[54321] = 9;
  const r = bucket(x, y, 0, len, 0, 500 / len, 500, null, summarize(y, null));
  assert.equal(Math.max(...r.order.map((c) => r.max[c])), 9);
  assert.ok(r.order.length <= 501);
});

check('EMA smoothing is de-biased and keeps NaN', () => {
  const s = smooth(Float64Array.from([2, 2, 2, NaN, 2]), 0.9);
  assert.ok(Math.abs(s[0] - 2) < 1e-12 && Math.abs(s[4] - 2) < 1e-12);
  assert.ok(Number.isNaN(s[3]));
  assert.equal(smooth(Float64Array.from([1, 3]), 0)[1], 3);
});

check('unsorted x is sorted with its y', () => {
  const r = sortByX(Float64Array.from([3, 1, 2]), Float64Array.from([30, 10, 20]));
  assert.deepEqual([...r.x], [1, 2, 3]);
  assert.deepEqual([...r.y], [10, 20, 30]);
});

check('CSV parser: quotes, escaped quotes, CRLF, row limit', () => {
  assert.deepEqual(parseDelimited('a,b\r\n"x,1","say ""hi"""\n3,4', ',', 100), [['a', 'b'], ['x,1', 'say "hi"'], ['3', '4']]);
  assert.equal(parseDelimited('a\nb\nc\nd\n', ',', 2).length, 2);
  assert.deepEqual(parseDelimited('a\tb\n1\t2\n', '\t', 10), [['a', 'b'], ['1', '2']]);
});

check('job command splitter: quotes and escapes', () => {
  assert.deepEqual(splitArgs(`sh -c 'echo hi; sleep 1'`), ['sh', '-c', 'echo hi; sleep 1']);
  assert.deepEqual(splitArgs(`python train.py --name "a b" --x=\\"q\\" ''`), ['python', 'train.py', '--name', 'a b', '--x="q"', '']);
});

console.log(`${n} unit checks passed`);
