// Unit tests of the UI's pure functions, in Node (no browser): the chart's per-pixel reduction
// (with and without the block summary), smoothing, the CSV parser, the command splitter, the
// Markdown subset (links only for http(s) URLs), the MLmodel signature and flavors readers.
import assert from 'node:assert/strict';
import { bucket, summarize, smooth, sortByX, BLOCK, logTicks, logLabel, seriesCsv } from '../../ui/js/chart.js';
import { parseDelimited } from '../../ui/js/artifacts.js';
import { splitArgs } from '../../ui/js/pages/jobs.js';
import { parseMarkdown, parseInline, safeUrl } from '../../ui/js/markdown.js';
import { parseSignature } from '../../ui/js/pages/model-version.js';
import { axisOf, axisPos } from '../../ui/js/plots.js';
import { parseMLmodel, registrationsOf } from '../../ui/js/pages/logged-model.js';
import { bestTrial, bestSoFar } from '../../ui/js/sweeps.js';

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

check('markdown: blocks, inline tokens, and links only for http(s) URLs', () => {
  assert.equal(safeUrl('https://example.com/a?b=1'), 'https://example.com/a?b=1');
  for (const bad of ['javascript:alert(1)', 'JavaScript:alert(1)', ' data:text/html,x', '//evil.com', '/relative', 'http:/x y', 'vbscript:x']) assert.equal(safeUrl(bad), null, bad);
  assert.deepEqual(parseInline('see [docs](https://ex.com/d) and `x<y` **now**'), [
    { t: 'text', v: 'see ' }, { t: 'link', v: 'docs', href: 'https://ex.com/d' }, { t: 'text', v: ' and ' }, { t: 'code', v: 'x<y' }, { t: 'text', v: ' ' }, { t: 'b', v: 'now' }]);
  assert.deepEqual(parseInline('[evil](javascript:alert(1))'), [{ t: 'text', v: '[evil](javascript:alert(1))' }]);
  assert.deepEqual(parseInline('go to https://ex.com/x.'), [{ t: 'text', v: 'go to ' }, { t: 'link', v: 'https://ex.com/x', href: 'https://ex.com/x' }, { t: 'text', v: '.' }]);
  const blocks = parseMarkdown('# Title\n\nfirst line\nsecond <b>x</b>\n\n```python\nprint(1)\n\nprint(2)\n```\n- a\n- b\n\nend');
  assert.deepEqual(blocks.map((b) => b.type), ['h', 'p', 'code', 'ul', 'p']);
  assert.equal(blocks[1].inlines[0].v, 'first line\nsecond <b>x</b>');
  assert.equal(blocks[2].text, 'print(1)\n\nprint(2)');
  assert.equal(blocks[2].lang, 'python');
  assert.equal(blocks[3].items.length, 2);
  assert.deepEqual(parseMarkdown(''), []);
});

check('MLmodel signature: folded single-quoted YAML scalars with escaped quotes', () => {
  const mlmodel = [
    'artifact_path: classifier',
    'flavors:',
    '  python_function: {}',
    'signature:',
    '  inputs: \'[{"type": "double", "name": "a", "required": true}, {"type": "double",',
    '    "name": "it\'\'s", "required": true}]\'',
    '  outputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]\'',
    '  params: null',
    'utc_time_created: \'2026-01-01\'',
  ].join('\n');
  const sig = parseSignature(mlmodel);
  assert.deepEqual(sig.inputs.map((c) => c.name), ['a', "it's"]);
  assert.equal(sig.outputs[0]['tensor-spec'].dtype, 'int64');
  assert.equal(sig.params, null);
  assert.equal(parseSignature('artifact_path: x\nflavors: {}\n'), null);
});

check('MLmodel flavors, input example and registrations: nested maps, lists, folded scalars', () => {
  const mm = parseMLmodel([
    'artifact_path: classifier',
    'flavors:',
    '  python_function:',
    '    env:',
    '      conda: conda.yaml',
    '      virtualenv: python_env.yaml',
    '    loader_module: mlflow.sklearn',
    '    python_version: 3.11.7',
    '  sklearn:',
    '    code: null',
    "    sklearn_version: '1.9.1'",
    '  custom: {}',
    'model_id: m-1',
    'saved_input_example_info:',
    '  artifact_path: input_example.json',
    '  type: dataframe',
    'signature:',
    '  inputs: \'[{"type": "double", "name": "a", "required": true}, {"type": "double",',
    '    "name": "b: c", "required": true}]\'',
    'extra:',
    '- one',
    '- two',
    "note: 'it''s: folded",
    "  over lines'",
  ].join('\n'));
  assert.deepEqual(mm.flavors.map((f) => f.name), ['python_function', 'sklearn', 'custom']);
  assert.deepEqual(mm.flavors[0].props, [['env.conda', 'conda.yaml'], ['env.virtualenv', 'python_env.yaml'], ['loader_module', 'mlflow.sklearn'], ['python_version', '3.11.7']]);
  assert.deepEqual(mm.flavors[1].props, [['code', 'null'], ['sklearn_version', '1.9.1']]);
  assert.deepEqual(mm.flavors[2].props, []);
  assert.deepEqual(mm.inputExample, { artifact_path: 'input_example.json', type: 'dataframe' });
  assert.deepEqual(mm.top, [['artifact_path', 'classifier'], ['model_id', 'm-1'], ['extra', 'one, two'], ['note', "it's: folded over lines"]]);
  assert.deepEqual(mm.signature.inputs.map((c) => c.name), ['a', 'b: c']);
  assert.deepEqual(registrationsOf('[{"name": "m", "version": "2"}, {"name": "<b>", "version": 3}, "junk", {"name": "x"}]'), [{ name: 'm', version: '2' }, { name: '<b>', version: '3' }]);
  assert.deepEqual(registrationsOf('not json'), []);
  assert.deepEqual(registrationsOf('{"name": "m"}'), []);
});

check('log axis ticks are readable values (decades, 1-2-5, linear nice ticks), CSV export quotes', () => {
  const labels = (lo, hi, n = 5) => logTicks(Math.log10(lo), Math.log10(hi), n).map(logLabel);
  assert.deepEqual(labels(0.01, 100), ['0.01', '0.1', '1', '10', '100']);
  assert.deepEqual(labels(1e-6, 1e6, 4).length <= 5, true);
  assert.deepEqual(labels(0.9, 11), ['1', '2', '5', '10']);
  for (const [lo, hi] of [[0.3, 0.9], [1.5, 1.9], [0.05, 0.5], [3, 30]]) {
    const ls = labels(lo, hi);
    assert.ok(ls.length >= 2, `${lo}..${hi}: ${ls}`);
    for (const l of ls) assert.ok(/^\d+(\.\d{1,3})?$/.test(l), `${lo}..${hi}: ${l}`);
    for (const l of ls) assert.ok(Number(l) >= lo * 0.999 && Number(l) <= hi * 1.001, `${l} in ${lo}..${hi}`);
  }
  const csv = seriesCsv([{ name: 'a,"b"', x: Float64Array.of(0, 1), y: Float64Array.of(0.5, NaN) }], 'step');
  assert.equal(csv, 'run,step,value\n"a,""b""",0,0.5\n"a,""b""",1,NaN\n');
});

check('plot axes: numeric params from strings, categorical otherwise, log scale, missing values', () => {
  const a = axisOf('lr', ['0.1', '0.01', undefined, '0.5']);
  assert.equal(a.kind, 'num');
  assert.ok(axisPos(a, '0.01') < axisPos(a, 0.1) && axisPos(a, '0.5') < 1 && axisPos(a, '0.01') > 0);
  assert.ok(Number.isNaN(axisPos(a, undefined)));
  const c = axisOf('opt', ['sgd', 'adam', 'adamw', 'adam']);
  assert.deepEqual(c.cats, ['adam', 'adamw', 'sgd']);
  assert.equal(axisPos(c, 'adamw'), 0.5);
  assert.ok(Number.isNaN(axisPos(c, 'rmsprop')));
  const l = axisOf('loss', [1, 10, 100], true);
  assert.ok(Math.abs(axisPos(l, 10) - 0.5) < 1e-9, 'log axis: 10 halfway between 1 and 100');
  assert.ok(Number.isNaN(axisPos(l, 0)), 'non-positive values are not on a log axis');
  const one = axisOf('x', [3, 3]);
  assert.equal(axisPos(one, 3), 0.5);
});

check('sweeps: the best trial skips stopped ones, best so far follows finish order', () => {
  const trials = [
    { index: 0, state: 'SUCCEEDED', objective: 0.5, finished_at: 3000 },
    { index: 1, state: 'CANCELLED', early_stopped: true, objective: 0.1, finished_at: 2000 },
    { index: 2, state: 'SUCCEEDED', objective: 0.3, finished_at: 5000 },
    { index: 3, state: 'RUNNING', objective: 0.05 },
  ];
  assert.equal(bestTrial(trials, 'minimize').index, 2);
  assert.equal(bestTrial(trials, 'maximize').index, 0);
  // nothing finished whole: the best of what logged a value
  assert.equal(bestTrial(trials.filter((t) => t.index % 2), 'minimize').index, 3);
  assert.equal(bestTrial([], 'minimize'), null);
  assert.deepEqual(bestSoFar(trials, 'minimize', 1000).map((p) => [p.index, p.x, p.best]), [[1, 1, 0.1], [0, 2, 0.1], [2, 4, 0.1]]);
  assert.deepEqual(bestSoFar(trials, 'maximize', 1000).map((p) => p.best), [0.1, 0.5, 0.5]);
});

console.log(`${n} unit checks passed`);
