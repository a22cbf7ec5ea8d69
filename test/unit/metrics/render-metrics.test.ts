// Program render metrics on plain data: renders reported inside renderingFor()
// land on the Package it names, by result; cache hits have their own counter;
// renders nobody attributed (the CLI's) are not counted; a deleted Package's
// render series go with it.
import test from 'ava';
import { Registry } from 'prom-client';
import type { Package } from '../../../apply-controller/api.ts';
import { createPackageMetrics, renderResult, type PackageSource } from '../../../apply-controller/metrics.ts';
import { renderingFor, reportRender } from '../../../apply-controller/program/observe.ts';

function pkg(namespace: string, name: string): Package {
  return { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { namespace, name }, spec: { sourceRef: { kind: 'OCIRepository', name } } } as Package;
}

/** Packages with a delete handler, like the informer. */
function source(items: Package[]): PackageSource & { remove(p: Package): void } {
  const deletes: ((p: Package) => void)[] = [];
  return {
    list: () => items,
    on: (h) => { if (h.delete) deletes.push(h.delete); return () => undefined; },
    remove(p) {
      items = items.filter((x) => x !== p);
      for (const d of deletes) d(p);
    },
  };
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('the result label is one of five, whatever the reason', (t) => {
  t.deepEqual((['ok', 'Timeout', 'OutOfMemory', 'Crashed', 'ProgramFailed', 'StackOverflow', 'NotAProgram', 'OutputTooLarge', 'InvalidOutput'] as const)
    .map(renderResult), ['success', 'timeout', 'out_of_memory', 'crashed', 'failed', 'failed', 'failed', 'failed', 'failed']);
});

test('renders and cache hits are counted for the Package named around them, and go when it is deleted', async (t) => {
  const registry = new Registry();
  const metrics = createPackageMetrics(registry);
  const shop = pkg('render-shop', 'web');
  const packages = source([shop, pkg('render-shop', 'api')]);
  metrics.watch(packages);

  await renderingFor({ namespace: 'render-shop', name: 'web' }, async () => {
    reportRender({ kind: 'ran', method: 'render', seconds: 0.8, outcome: 'ok' });
    await Promise.resolve(); // the name follows the render across awaits
    reportRender({ kind: 'cached' });
    reportRender({ kind: 'cached' });
    reportRender({ kind: 'ran', method: 'render', seconds: 10, outcome: 'Timeout' });
    reportRender({ kind: 'ran', method: 'describe', seconds: 0.1, outcome: 'ok' });
  });
  await renderingFor({ namespace: 'render-shop', name: 'api' }, () => {
    reportRender({ kind: 'ran', method: 'render', seconds: 0.02, outcome: 'StackOverflow' });
    return Promise.resolve();
  });
  reportRender({ kind: 'ran', method: 'render', seconds: 0.5, outcome: 'ok' }); // nobody's: the CLI's, say

  let text = await registry.metrics();
  const web = 'namespace="render-shop",name="web"';
  t.is(sample(text, 'trellis_package_render_duration_seconds_count', `${web},result="success"`), 1);
  t.is(sample(text, 'trellis_package_render_duration_seconds_sum', `${web},result="success"`), 0.8);
  t.is(sample(text, 'trellis_package_render_duration_seconds_bucket', `le="1",${web},result="success"`), 1);
  t.is(sample(text, 'trellis_package_render_duration_seconds_bucket', `le="0.5",${web},result="success"`), 0);
  t.is(sample(text, 'trellis_package_render_duration_seconds_count', `${web},result="timeout"`), 1);
  t.is(sample(text, 'trellis_package_render_cache_hits_total', web), 2);
  t.is(sample(text, 'trellis_package_render_duration_seconds_count', 'namespace="render-shop",name="api",result="failed"'), 1);
  const counted = text.split('\n').filter((l) => l.startsWith('trellis_package_render_duration_seconds_count{'));
  t.is(counted.length, 3, 'describe calls and unattributed renders are not counted');

  packages.remove(shop);
  text = await registry.metrics();
  t.false(text.split('\n').some((l) => l.startsWith('trellis_package_render_') && l.includes(web)), 'no series of the deleted Package');
  t.is(sample(text, 'trellis_package_render_duration_seconds_count', 'namespace="render-shop",name="api",result="failed"'), 1, 'the other Package keeps its series');
});
