// The authoring kit over plain data: value declarations and their schema, phases,
// placements found by marker builds (typed, templates, nested values, renames),
// and every way a value can be used that placements cannot reproduce.
import test from 'ava';
import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { PHASE_ANNOTATION, resolveValues } from '../../../apply-controller/bundle/index.ts';
import {
  definePackage, InvalidValuesError, NonFiniteNumberError, PackageDefinitionError, planBuild, synth, value, valuesSchema,
  ValuesNotPlaceableError, verifyPlan, type PackageApp, type ValuesOf,
} from '../../../packages-cdk8s/kit/index.ts';

const cm = (scope: ReturnType<PackageApp['phase']>, name: string, data: Record<string, string>): void => {
  new k8s.KubeConfigMap(scope, name, { metadata: { name }, data });
};

test('value declarations give a closed 2020-12 schema with defaults, constraints and descriptions', (t) => {
  const shape = {
    replicas: value.integer({ default: 2, minimum: 0, maximum: 9, description: 'Pods' }),
    ratio: value.number({ default: 0.5, exclusiveMaximum: 1 }),
    debug: value.boolean({ default: false }),
    level: value.enum(['info', 'debug'], { default: 'info' }),
    image: value.object({ tag: value.string({ default: '1.25', pattern: '^[0-9.]+$' }) }, { description: 'Image' }),
  };
  const typed: ValuesOf<typeof shape> = { replicas: 1, ratio: 0.1, debug: true, level: 'debug', image: { tag: '1' } };
  t.is(typed.image.tag, '1');
  t.deepEqual(valuesSchema(shape), {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    properties: {
      replicas: { type: 'integer', minimum: 0, maximum: 9, default: 2, description: 'Pods' },
      ratio: { type: 'number', exclusiveMaximum: 1, default: 0.5 },
      debug: { type: 'boolean', default: false },
      level: { type: 'string', enum: ['info', 'debug'], default: 'info' },
      image: {
        type: 'object', description: 'Image', additionalProperties: false,
        properties: { tag: { type: 'string', pattern: '^[0-9.]+$', default: '1.25' } },
      },
    },
  });
});

test('definePackage refuses a bad name, a bad version, a default outside its own constraints and non-declarations', (t) => {
  const build = (): void => undefined;
  const err = t.throws(() => definePackage({
    name: 'Web_App', version: '1.x', build,
    values: { replicas: value.integer({ default: -1, minimum: 0 }) },
  }), { instanceOf: PackageDefinitionError });
  t.regex(err.message, /name "Web_App" must be a DNS-1123 label/);
  t.regex(err.message, /version "1\.x" must be a semantic version/);
  t.regex(err.message, /values\/replicas must be >= 0/);
  t.throws(() => definePackage({ name: 'a', version: '1.0.0', build, values: { x: 3 as never } }),
    { instanceOf: PackageDefinitionError, message: /value \/x is not a declaration/ });
  t.throws(() => definePackage({ name: 'a', version: '1.0.0', build, values: { ratio: value.integer({ default: 1.5 }) } }),
    { instanceOf: PackageDefinitionError, message: /must be integer/ });
});

test('phases follow chart dependencies, not creation order, and every object (nested charts too) carries its phase', (t) => {
  const pkg = definePackage({
    name: 'phased', version: '1.0.0',
    build(app) {
      const apps = app.phase('apps');
      const config = app.phase('config');
      const crds = app.phase('crds');
      apps.addDependency(config);
      config.addDependency(crds);
      cm(apps, 'a', {});
      cm(config, 'c', {});
      cm(crds, 'd', {});
      cm(new Chart(apps, 'nested'), 'n', {});
    },
  });
  const plan = planBuild(pkg);
  t.deepEqual(plan.manifest.phases, ['crds', 'config', 'apps']);
  t.deepEqual(plan.files.map((f) => f.path), ['crds/001-configmap-d.yaml', 'config/001-configmap-c.yaml', 'apps/001-configmap-a.yaml', 'apps/002-configmap-n.yaml']);
  for (const f of plan.files) t.is((f.object.metadata as { annotations: Record<string, string> }).annotations[PHASE_ANNOTATION], f.phase);
});

test('phases in a cycle, a phase name that is not a DNS label, and a build without charts are refused', (t) => {
  const cycle = definePackage({
    name: 'c', version: '1.0.0',
    build(app) {
      const a = app.phase('a');
      const b = app.phase('b', { after: [a] });
      a.addDependency(b);
    },
  });
  t.throws(() => planBuild(cycle), { instanceOf: PackageDefinitionError, message: /depend on each other in a cycle/ });
  t.throws(() => planBuild(definePackage({ name: 'c', version: '1.0.0', build: (app) => { app.phase('Apps'); } })),
    { instanceOf: PackageDefinitionError, message: /phase "Apps"/ });
  t.throws(() => planBuild(definePackage({ name: 'c', version: '1.0.0', build: () => undefined })),
    { instanceOf: PackageDefinitionError, message: /added no charts/ });
});

test('placements: typed fields, values inside strings, nested values, and one value in several places', (t) => {
  const pkg = definePackage({
    name: 'places', version: '1.0.0',
    values: {
      replicas: value.integer({ default: 2 }),
      port: value.integer({ default: 8080 }),
      debug: value.boolean({ default: false }),
      level: value.enum(['info', 'debug'], { default: 'info' }),
      image: value.object({ repository: value.string({ default: 'nginx' }) }),
    },
    build(app, v) {
      const phase = app.phase('main');
      new k8s.KubeDeployment(phase, 'web', {
        metadata: { name: 'web', labels: { level: v.level, debug: String(v.debug) } },
        spec: {
          replicas: v.replicas,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              automountServiceAccountToken: v.debug,
              containers: [{ name: 'web', image: `${v.image.repository}:1.25`, args: [`--port=${v.port}`], ports: [{ containerPort: v.port }] }],
            },
          },
        },
      });
    },
  });
  const placements = planBuild(pkg).manifest.values.placements;
  const at = (path: string): unknown => placements.find((p) => p.path === path);
  const object = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };
  const file = 'main/001-deployment-web.yaml';
  t.deepEqual(at('/spec/replicas'), { value: '/replicas', file, object, path: '/spec/replicas' });
  t.deepEqual(at('/spec/template/spec/containers/0/ports/0/containerPort'), { value: '/port', file, object, path: '/spec/template/spec/containers/0/ports/0/containerPort' });
  t.deepEqual(at('/spec/template/spec/containers/0/args/0'), { value: '/port', file, object, path: '/spec/template/spec/containers/0/args/0', template: '--port=${value}' });
  t.deepEqual(at('/spec/template/spec/containers/0/image'), { value: '/image/repository', file, object, path: '/spec/template/spec/containers/0/image', template: '${value}:1.25' });
  t.deepEqual(at('/spec/template/spec/automountServiceAccountToken'), { value: '/debug', file, object, path: '/spec/template/spec/automountServiceAccountToken' });
  // The same boolean as text keeps being text: a template, not a typed replacement.
  t.deepEqual(at('/metadata/labels/debug'), { value: '/debug', file, object, path: '/metadata/labels/debug', template: '${value}' });
  t.deepEqual(at('/metadata/labels/level'), { value: '/level', file, object, path: '/metadata/labels/level' });
  t.is(placements.length, 7);

  const objects = synth(pkg, { replicas: 5, port: 9000, debug: true, level: 'debug', image: { repository: 'registry.example/web' } });
  const deployment = objects[0] as { spec: { replicas: unknown; template: { spec: { containers: [{ image: string; args: string[] }]; automountServiceAccountToken: unknown } } } };
  t.is(deployment.spec.replicas, 5);
  t.is(deployment.spec.template.spec.automountServiceAccountToken, true);
  t.is(deployment.spec.template.spec.containers[0].image, 'registry.example/web:1.25');
  t.deepEqual(deployment.spec.template.spec.containers[0].args, ['--port=9000']);
});

test('a value in an object name is placed after the other values of that object, so they still find it', (t) => {
  const pkg = definePackage({
    name: 'renamed', version: '1.0.0',
    values: { name: value.string({ default: 'web' }), greeting: value.string({ default: 'hi' }) },
    build(app, v) { cm(app.phase('main'), `${v.name}-config`, { greeting: v.greeting }); },
  });
  const placements = planBuild(pkg).manifest.values.placements;
  t.deepEqual(placements.map((p) => p.path), ['/data/greeting', '/metadata/name']);
  t.is(placements[1]!.template, '${value}-config');
  const [config] = synth(pkg, { name: 'shop', greeting: 'hello' }) as [{ metadata: { name: string }; data: { greeting: string } }];
  t.is(config.metadata.name, 'shop-config');
  t.is(config.data.greeting, 'hello');
});

test('a computed value is refused, naming the value, the object and the path', (t) => {
  const pkg = definePackage({
    name: 'computed', version: '1.0.0',
    values: { replicas: value.integer({ default: 2 }), other: value.string({ default: 'x' }) },
    build(app, v) {
      new k8s.KubeDeployment(app.phase('main'), 'web', {
        metadata: { name: 'web', labels: { other: v.other } },
        spec: { replicas: v.replicas * 2, selector: {}, template: {} },
      });
    },
  });
  const err = t.throws(() => planBuild(pkg), { instanceOf: ValuesNotPlaceableError });
  t.deepEqual(err.values, ['/replicas']);
  t.deepEqual(err.location, { object: 'manifests/main/001-deployment-web.yaml: Deployment web', path: '/spec/replicas' });
  t.regex(err.message, /built with the defaults the package gives 4, but substituting them where they land in a build with marker values gives 3800000034/);
});

test('a value that decides which objects exist is refused', (t) => {
  const pkg = definePackage({
    name: 'branching', version: '1.0.0',
    values: { debug: value.boolean({ default: true }), name: value.string({ default: 'a' }) },
    build(app, v) {
      const phase = app.phase('main');
      cm(phase, v.name, {});
      if (!v.debug) cm(phase, 'extra', {});
    },
  });
  const err = t.throws(() => planBuild(pkg), { instanceOf: ValuesNotPlaceableError });
  t.deepEqual(err.values, ['/debug']);
  t.regex(err.message, /change.? which objects or phases the package has/);
});

test('a transformed string, two values in one string, and a value as a map key or kind are refused', (t) => {
  const one = (build: (app: PackageApp, v: { a: string; b: string }) => void): ReturnType<typeof definePackage> => definePackage({
    name: 'p', version: '1.0.0', values: { a: value.string({ default: 'web' }), b: value.string({ default: 'x' }) }, build,
  });
  t.throws(() => planBuild(one((app, v) => { cm(app.phase('m'), 'c', { k: v.a.toUpperCase() }); })),
    { instanceOf: ValuesNotPlaceableError, message: /\/data\/k/ });
  t.throws(() => planBuild(one((app, v) => { cm(app.phase('m'), 'c', { k: `${v.a}:${v.b}` }); })),
    { instanceOf: ValuesNotPlaceableError, message: /values \/a and \/b are both used in the string at \/data\/k/ });
  t.throws(() => planBuild(one((app, v) => { cm(app.phase('m'), 'c', { [v.a]: 'x' }); })),
    { instanceOf: ValuesNotPlaceableError, message: /value \/a is used as a map key under \/data/ });
  t.throws(() => planBuild(one((app, v) => { cm(app.phase('m'), 'c', { k: `\${value}-${v.a}` }); })),
    { instanceOf: ValuesNotPlaceableError, message: /contains the text \$\{value\}/ });
  t.throws(() => planBuild(one((app, v) => { new ApiObject(app.phase('m'), 'c', { apiVersion: 'v1', kind: `Kind${v.a}`, metadata: { name: 'c' } }); })),
    { instanceOf: ValuesNotPlaceableError, message: /value \/a sets \/kind, which identifies the object/ });
});

test('NaN in the output is an error, not a silent null', (t) => {
  const pkg = definePackage({
    name: 'nan', version: '1.0.0',
    build(app) {
      new k8s.KubeDeployment(app.phase('m'), 'web', { metadata: { name: 'web' }, spec: { replicas: Number('two'), selector: {}, template: {} } });
    },
  });
  t.throws(() => planBuild(pkg), { instanceOf: NonFiniteNumberError, message: /Deployment web: \/spec\/replicas is NaN/ });
});

test('synth checks the values against the schema like the apply controller does', (t) => {
  const pkg = definePackage({
    name: 'typed', version: '1.0.0',
    values: { replicas: value.integer({ default: 2, maximum: 5 }) },
    build(app, v) { cm(app.phase('m'), 'c', { replicas: String(v.replicas) }); },
  });
  t.deepEqual(synth(pkg), synth(pkg, { replicas: 2 }), 'giving the default is the same as giving nothing');
  const wrongType = t.throws(() => synth(pkg, { replicas: '3' as never }), { instanceOf: InvalidValuesError });
  t.regex(wrongType.message, /values\/replicas must be integer/);
  t.throws(() => synth(pkg, { replicas: 6 }), { instanceOf: InvalidValuesError, message: /must be <= 5/ });
  t.throws(() => synth(pkg, { replicaz: 3 } as never), { instanceOf: InvalidValuesError, message: /must NOT have additional properties/ });
  t.true(resolveValues({ schema: pkg.schema, values: { replicas: 5 } }).ok);
});

test('a branch on a value: synth follows it (a program bundle renders it at install time), a pre-rendered plan cannot reproduce it', (t) => {
  const pkg = definePackage({
    name: 'threshold', version: '1.0.0',
    values: { replicas: value.integer({ default: 2 }) },
    build(app, v) {
      const phase = app.phase('m');
      new k8s.KubeDeployment(phase, 'web', { metadata: { name: 'web' }, spec: { replicas: v.replicas, selector: {}, template: {} } });
      // Neither the marker build nor the probe build (replicas 3) takes this branch.
      if (v.replicas === 7) new k8s.KubePodDisruptionBudget(phase, 'pdb', { metadata: { name: 'web' }, spec: { minAvailable: k8s.IntOrString.fromNumber(1) } });
    },
  });
  t.notThrows(() => planBuild(pkg));
  t.is(synth(pkg, { replicas: 4 }).length, 1);
  t.is(synth(pkg, { replicas: 7 }).length, 2);
  t.throws(() => verifyPlan(pkg, planBuild(pkg), { replicas: 7 }, 'replicas 7'), { instanceOf: ValuesNotPlaceableError, message: /\/replicas/ });
});

test('a declared value used nowhere is reported', (t) => {
  const pkg = definePackage({
    name: 'unused', version: '1.0.0',
    values: { used: value.string({ default: 'a' }), spare: value.object({ x: value.integer({ default: 1 }) }) },
    build(app, v) { cm(app.phase('m'), 'c', { used: v.used }); },
  });
  t.deepEqual(planBuild(pkg).unusedValues, ['/spare/x']);
});
