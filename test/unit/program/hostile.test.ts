// Hostile programs in the render sandbox: each is stopped with a clear reason, and
// the sandbox (and this process) keeps rendering honest programs afterwards.
// Plain programs written as the compiled bundle would be: they set
// globalThis.trellisProgram = {render(valuesJson) -> JSON text}.
import anyTest, { type TestFn } from 'ava';
import { RenderCache, RenderError, renderProgram, runProgram } from '../../../apply-controller/program/index.ts';

/** A program whose render runs `body` (with `values` parsed from the input). */
const program = (body: string): string => `globalThis.trellisProgram = { render(input) { const values = JSON.parse(input); ${body} } };`;
const ok = (objects: string) => `return JSON.stringify({ phases: ['default'], objects: ${objects} });`;
// One render at a time, as the controller runs them: each hostile one holds a core until it is stopped.
const test = anyTest.serial as unknown as TestFn;
const limits = { timeoutMs: 20_000, memoryBytes: 64 * 1024 * 1024 };
const loopLimits = { ...limits, timeoutMs: 3_000 };

async function failure(body: string, within = limits): Promise<{ reason: string; message: string }> {
  const result = await runProgram(program(body), { method: 'render', input: '{}' }, within);
  if (result.ok) throw new Error(`the program was not stopped: ${result.output.slice(0, 200)}`);
  return result;
}

test('an endless loop is stopped at the deadline', async (t) => {
  const r = await failure('for (;;) {}', loopLimits);
  t.is(r.reason, 'Timeout');
});

test('a loop that catches the interrupt is stopped all the same', async (t) => {
  const r = await failure('for (;;) { try { for (;;) {} } catch (e) {} }', loopLimits);
  t.is(r.reason, 'Timeout');
});

test('1 GiB in one buffer is refused as out of memory', async (t) => {
  const r = await failure('const b = new ArrayBuffer(1024 * 1024 * 1024); return String(b.byteLength);');
  t.is(r.reason, 'OutOfMemory');
});

test('memory grown in many small objects stops at the cap', async (t) => {
  const r = await failure('const all = []; for (;;) all.push({ i: all.length, s: "x".repeat(64) + all.length });');
  t.is(r.reason, 'OutOfMemory');
});

test('deep recursion ends in a stack overflow, not a crash', async (t) => {
  const r = await failure('const f = (n) => f(n + 1) + 1; return String(f(0));');
  t.is(r.reason, 'StackOverflow');
});

test('an output over the size limit is refused', async (t) => {
  const r = await runProgram(program('return "x".repeat(2000);'), { method: 'render', input: '{}' }, { ...limits, outputChars: 1000 });
  t.false(r.ok);
  t.is(!r.ok && r.reason, 'OutputTooLarge');
});

test('nothing of Node or the host is reachable: require, process, fetch, import(), timers, WebAssembly, constructor escapes', async (t) => {
  const probe = program(`
    const seen = {};
    seen.require = typeof require;
    seen.module = typeof module;
    seen.processKeys = Object.keys(process).sort().join(',');
    seen.env = JSON.stringify(process.env);
    seen.binding = typeof process.binding;
    seen.fetch = typeof fetch;
    seen.XMLHttpRequest = typeof XMLHttpRequest;
    seen.setTimeout = typeof setTimeout;
    seen.setInterval = typeof setInterval;
    seen.queueMicrotask = typeof queueMicrotask;
    seen.WebAssembly = typeof WebAssembly;
    seen.Intl = typeof Intl;
    seen.std = typeof std + typeof os + typeof scriptArgs;
    seen.escape1 = (function () { return this.constructor.constructor('return typeof require + typeof process.binding')(); })();
    seen.escape2 = ({}).constructor.constructor('return typeof globalThis.fetch')();
    seen.escape3 = (() => {}).constructor('return typeof Deno + typeof Bun + typeof global')();
    let imported = 'pending';
    try { import('fs').then(() => { imported = 'loaded'; }, () => { imported = 'refused'; }); } catch (e) { imported = 'threw'; }
    seen.imported = imported;
    return JSON.stringify(seen);`);
  const r = await runProgram(probe, { method: 'render', input: '{}' }, limits);
  t.true(r.ok, JSON.stringify(r));
  const seen = JSON.parse(r.ok ? r.output : '{}') as Record<string, string>;
  t.deepEqual(seen, {
    require: 'undefined', module: 'undefined', processKeys: 'env,platform,version,versions', env: '{}', binding: 'undefined',
    fetch: 'undefined', XMLHttpRequest: 'undefined', setTimeout: 'undefined', setInterval: 'undefined', queueMicrotask: 'undefined',
    WebAssembly: 'undefined', Intl: 'undefined', std: 'undefinedundefinedundefined',
    escape1: 'undefinedundefined', escape2: 'undefined', escape3: 'undefinedundefinedundefined',
    // No module loader: a dynamic import never loads anything (and no job queue runs inside a render).
    imported: 'pending',
  });
});

test('the clock and random numbers are fixed: a program that tries to vary renders the same bytes every time', async (t) => {
  const varying = program(ok(`[{ phase: 'default', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' },
    data: { now: String(Date.now()), date: new Date().toISOString(), text: Date(), random: String(Math.random()), r2: String(Math.random()) } } }]`));
  const outputs = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = await runProgram(varying, { method: 'render', input: '{}' }, limits);
    t.true(r.ok);
    if (r.ok) outputs.add(r.output);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.is(outputs.size, 1);
  const data = (JSON.parse([...outputs][0]!) as { objects: [{ object: { data: Record<string, string> } }] }).objects[0].object.data;
  t.is(data.now, '0');
  t.is(data.date, '1970-01-01T00:00:00.000Z');
  t.not(data.random, data.r2);
});

test('a thrown error is reported by name and message, with Secret-sourced strings masked', async (t) => {
  const thrower = program('throw new TypeError("bad password " + values.password);');
  const err = await t.throwsAsync(renderProgram(thrower, 'sha256:thrower', { password: 'hunter2-secret' },
    { limits, sensitive: ['hunter2-secret'], cache: new RenderCache() }), { instanceOf: RenderError });
  t.is(err?.reason, 'ProgramFailed');
  t.regex(err?.message ?? '', /^TypeError: bad password \*\*\*/);
  t.notRegex(err?.message ?? '', /hunter2/);
});

test('after hostile programs, honest renders still work, and a cached render does not run again', async (t) => {
  await Promise.all([failure('for (;;) {}', loopLimits), failure('const a = []; for (;;) a.push(new Array(1000).fill(a.length));')]);
  const cache = new RenderCache();
  const honest = program(ok(`[{ phase: 'default', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: values.name } } }]`));
  const first = await renderProgram(honest, 'sha256:honest', { name: 'a' }, { limits, cache });
  const again = await renderProgram(honest, 'sha256:honest', { name: 'a' }, { limits, cache });
  t.deepEqual(first.objects, [{ phase: 'default', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } } }]);
  t.false(first.cached);
  t.true(again.cached);
  t.deepEqual(again.objects, first.objects);
  t.deepEqual([cache.misses, cache.hits], [1, 1]);
});

test('a malformed output or a script without a program is refused', async (t) => {
  const notJson = await runProgram(program('return "{";'), { method: 'render', input: '{}' }, limits);
  t.true(notJson.ok);
  await t.throwsAsync(renderProgram(program('return "{";'), 'sha256:bad', {}, { limits, cache: new RenderCache() }), { message: /not JSON/ });
  const none = await runProgram('var x = 1;', { method: 'render', input: '{}' }, limits);
  t.is(!none.ok && none.reason, 'NotAProgram');
});
