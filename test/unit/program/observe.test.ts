// The render engine reports to observers: a render that ran (with its duration
// and outcome), a render served from the cache, each attributed to the subject
// named around the call — through the real sandbox and cache.
import anyTest, { type TestFn } from 'ava';
import { RenderCache, RenderError, renderProgram } from '../../../apply-controller/program/index.ts';
import { observeRenders, renderingFor, type RenderObservation } from '../../../apply-controller/program/observe.ts';

const test = anyTest.serial as unknown as TestFn;
const limits = { timeoutMs: 20_000, memoryBytes: 64 * 1024 * 1024 };
const program = (body: string): string => `globalThis.trellisProgram = { render(input) { const values = JSON.parse(input); ${body} } };`;
const honest = program(`return JSON.stringify({ phases: ['default'], objects: [{ phase: 'default', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: values.name } } }] });`);

test('a render that ran, a cached one and a failed one are reported for the subject they were for', async (t) => {
  const seen: RenderObservation[] = [];
  const stop = observeRenders((o) => seen.push(o));
  t.teardown(stop);
  const cache = new RenderCache();
  const subject = { namespace: 'shop', name: 'web' };
  await renderingFor(subject, async () => {
    await renderProgram(honest, 'sha256:observed', { name: 'a' }, { limits, cache });
    await renderProgram(honest, 'sha256:observed', { name: 'a' }, { limits, cache });
  });
  await renderingFor({ namespace: 'shop', name: 'broken' }, () =>
    renderProgram(program('throw new Error("no");'), 'sha256:thrower', {}, { limits, cache })).catch((err: unknown) => {
    if (!(err instanceof RenderError)) throw err;
  });
  await renderProgram(honest, 'sha256:observed', { name: 'b' }, { limits, cache });

  t.is(seen.length, 4);
  const [ran, cached, failed, anonymous] = seen;
  t.like(ran, { kind: 'ran', method: 'render', outcome: 'ok', subject });
  t.true(ran?.kind === 'ran' && ran.seconds > 0);
  t.deepEqual(cached, { kind: 'cached', subject });
  t.like(failed, { kind: 'ran', outcome: 'ProgramFailed', subject: { namespace: 'shop', name: 'broken' } });
  t.like(anonymous, { kind: 'ran', outcome: 'ok', subject: undefined });
});
