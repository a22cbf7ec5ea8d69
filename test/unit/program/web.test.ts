// Program bundles end to end without a cluster: the web example and packages with
// TypeScript enums and `cdk8s import`-style classes are compiled as `trellis build`
// compiles them and rendered in the sandbox; the sandbox output is the same text
// as an in-process synthesis, and install-time values decide what exists.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { InvalidValuesError, render, synth } from '../../../packages-cdk8s/kit/index.ts';
import web from '../../../packages-cdk8s/examples/web/package.ts';
import { scratchDir } from '../../support/cluster.ts';

const test = anyTest.serial as unknown as TestFn;
const WEB = fileURLToPath(new URL('../../../packages-cdk8s/examples/web/package.ts', import.meta.url));
const KIT = fileURLToPath(new URL('../../../packages-cdk8s/kit/index.ts', import.meta.url));

type Obj = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: Record<string, unknown> };
const names = (objects: readonly Record<string, unknown>[]): string[] => (objects as Obj[]).map((o) => `${o.kind}/${o.metadata.name}`);

test('the sandbox renders the web example to the same JSON text as an in-process synthesis', async (t) => {
  const values = { replicas: 3, message: 'Hi', ingress: { enabled: true }, extraConfigs: { db: { 'url.txt': 'postgres://db' }, app: { 'a.conf': 'x=1' } } };
  const sandboxed = await render(WEB, values);
  t.is(JSON.stringify(sandboxed), JSON.stringify(synth(web, values)));
});

test('ingress.enabled adds and removes the Ingress; every extraConfigs entry is one ConfigMap, mounted', async (t) => {
  t.deepEqual(names(await render(WEB)), ['ConfigMap/web-content', 'Deployment/web', 'Service/web']);
  const on = await render(WEB, { ingress: { enabled: true, host: 'shop.example.com' } });
  t.deepEqual(names(on), ['ConfigMap/web-content', 'Deployment/web', 'Service/web', 'Ingress/web']);
  const ingress = (on as Obj[]).find((o) => o.kind === 'Ingress') as unknown as { spec: { rules: [{ host: string }] } };
  t.is(ingress.spec.rules[0].host, 'shop.example.com');

  const grown = await render(WEB, { extraConfigs: { zeta: { 'z.txt': 'z' }, alpha: { 'a.txt': 'a', 'b.txt': 'b' } } });
  // Entries in key order, whatever order they were given in: values enter the sandbox as canonical JSON.
  t.deepEqual(names(grown), ['ConfigMap/web-content', 'ConfigMap/web-alpha', 'ConfigMap/web-zeta', 'Deployment/web', 'Service/web']);
  t.deepEqual((grown as Obj[])[1]!.data, { 'a.txt': 'a', 'b.txt': 'b' });
  const pod = ((grown as Obj[]).find((o) => o.kind === 'Deployment')!.spec as { template: { spec: { volumes: { name: string }[] } } }).template.spec;
  t.deepEqual(pod.volumes.map((v) => v.name), ['content', 'extra-alpha', 'extra-zeta']);
});

test('values are typed by the schema before the program runs: errors name the path and the rule', async (t) => {
  const err = await t.throwsAsync(render(WEB, { replicas: 'lots', ingress: { enabled: 'yes' }, extraConfigs: { Bad_Name: {} } }),
    { instanceOf: InvalidValuesError });
  const text = err?.message ?? '';
  t.regex(text, /values\/replicas must be integer/);
  t.regex(text, /values\/ingress\/enabled must be boolean/);
  t.regex(text, /values\/extraConfigs/);
  t.notRegex(text, /lots/);
});

test('TypeScript enums, namespaces and cdk8s import-style classes compile and render', async (t) => {
  const dir = scratchDir('program-enums');
  mkdirSync(join(dir, 'imports'), { recursive: true });
  // What `cdk8s import` writes: an enum and a class over ApiObject with a static GVK.
  writeFileSync(join(dir, 'imports', 'widgets.ts'), `
import { ApiObject, type ApiObjectMetadata, type GroupVersionKind } from 'cdk8s';
import type { Construct } from 'constructs';
export enum WidgetColor { RED = 'red', BLUE = 'blue' }
export interface WidgetSpec { readonly color: WidgetColor; readonly size: number }
export interface WidgetProps { readonly metadata?: ApiObjectMetadata; readonly spec: WidgetSpec }
export class Widget extends ApiObject {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'example.com/v1', kind: 'Widget' };
  public constructor(scope: Construct, id: string, private readonly props: WidgetProps) {
    super(scope, id, { ...Widget.GVK, ...props });
  }
  public override toJson(): any {
    const json = super.toJson();
    return { apiVersion: Widget.GVK.apiVersion, kind: Widget.GVK.kind, metadata: json.metadata, spec: { color: this.props.spec.color, size: this.props.spec.size } };
  }
}
`);
  writeFileSync(join(dir, 'package.ts'), `
import { definePackage, item, value } from ${JSON.stringify(KIT)};
import { Widget, WidgetColor } from './imports/widgets';
namespace Sizes { export const base = 10; }
const enum Scale { Double = 2 }
export default definePackage({
  name: 'widgets', version: '0.1.0',
  values: {
    color: value.enum(['red', 'blue'], { default: 'red' }),
    sizes: value.list(item.integer({ minimum: 1 }), { default: [1] }),
  },
  build(app, values) {
    const chart = app.phase('widgets');
    const color = values.color === 'blue' ? WidgetColor.BLUE : WidgetColor.RED;
    values.sizes.forEach((size, i) => new Widget(chart, 'w' + i, { metadata: { name: 'w' + i }, spec: { color, size: Sizes.base + size * Scale.Double } }));
  },
});
`);
  const objects = await render(join(dir, 'package.ts'), { color: 'blue', sizes: [1, 2, 3] }) as Obj[];
  t.deepEqual(objects.map((o) => [o.kind, o.metadata.name, o.spec]), [
    ['Widget', 'w0', { color: 'blue', size: 12 }], ['Widget', 'w1', { color: 'blue', size: 14 }], ['Widget', 'w2', { color: 'blue', size: 16 }],
  ]);
});

test('a program that reaches for files at install time fails with a message that says why', async (t) => {
  const dir = scratchDir('program-fs');
  writeFileSync(join(dir, 'package.ts'), `
import { readFileSync } from 'node:fs';
import { definePackage } from ${JSON.stringify(KIT)};
export default definePackage({
  name: 'reader', version: '0.1.0',
  build(app) { app.phase('x'); readFileSync('/etc/passwd'); },
});
`);
  await t.throwsAsync(render(join(dir, 'package.ts')), { message: /fs is not available in a Trellis program/ });
});
