// The CRDs as data: crds/ matches the API definitions byte for byte, every schema
// is structural (what Kubernetes 1.20 demands before it serves defaults and
// pruning), defaults validate against their own schemas, printer columns point at
// fields that exist, and the TypeScript types follow the schemas.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import {
  compareCrdFiles, crdFileName, crdsDir, GENERATED_MARKER, renderCrdFiles, trellisCrds, writeCrdFiles,
} from '../../hack/generate-crds.ts';
import type { JSONSchemaProps } from '../../runtime/schema.ts';
import type {
  GitRepositorySpec, GitRepositorySpecInput, OCIRepositoryRef, SourceStatus,
} from '../../source-controller/api.ts';
import {
  inventoryId, InvalidInventoryIdError, parseInventoryId, type PackageSpec, type PackageSpecInput,
} from '../../apply-controller/api.ts';

test('crds/ is up to date with the API definitions (run `npm run crds` when this fails)', (t) => {
  for (const [name, content] of renderCrdFiles()) {
    let onDisk = '';
    try {
      onDisk = readFileSync(join(crdsDir, name), 'utf8');
    } catch {
      t.fail(`crds/${name} is missing`);
      continue;
    }
    t.true(onDisk === content, `crds/${name} is stale`);
  }
  t.deepEqual(compareCrdFiles(), { stale: [], orphaned: [] });
});

test('generation is deterministic and every file says it is generated', (t) => {
  const first = renderCrdFiles();
  const second = renderCrdFiles();
  t.deepEqual([...first], [...second]);
  t.deepEqual([...first.keys()].sort(), [
    'apply.trellis.dev_packagerevisions.yaml', 'apply.trellis.dev_packages.yaml', 'apply.trellis.dev_revisionslices.yaml',
    'notification.trellis.dev_alerts.yaml', 'notification.trellis.dev_providers.yaml', 'notification.trellis.dev_receivers.yaml',
    'source.trellis.dev_gitrepositories.yaml', 'source.trellis.dev_ocirepositories.yaml',
  ]);
  for (const content of first.values()) t.true(content.startsWith(GENERATED_MARKER));
});

test('--check fails on a stale or orphaned file and passes once regenerated', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-crds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const check = () => spawnSync(process.execPath, ['hack/generate-crds.ts', '--check', '--dir', dir], { encoding: 'utf8' });
  t.is(check().status, 1, 'an empty folder is stale');
  writeCrdFiles(dir);
  t.is(check().status, 0, check().stderr);
  const [first] = renderCrdFiles().keys();
  if (!first) return t.fail();
  writeFileSync(join(dir, first), readFileSync(join(dir, first), 'utf8').replace('type: string', 'type: integer'));
  const stale = check();
  t.is(stale.status, 1);
  t.regex(stale.stderr, new RegExp(`stale: .*${first.replace(/\./g, '\\.')}`));
  writeCrdFiles(dir);
  writeFileSync(join(dir, 'source.trellis.dev_helmrepositories.yaml'), `${GENERATED_MARKER} from nowhere\n`);
  writeFileSync(join(dir, 'hand-written.yaml'), 'kind: Namespace\n');
  t.deepEqual(compareCrdFiles(dir), { stale: [], orphaned: ['source.trellis.dev_helmrepositories.yaml'] });
  writeCrdFiles(dir);
  t.deepEqual(compareCrdFiles(dir), { stale: [], orphaned: [] }, 'the orphan is removed, the hand-written file left alone');
  t.is(readFileSync(join(dir, 'hand-written.yaml'), 'utf8'), 'kind: Namespace\n');
});

/** Every schema node with its path; `inOneOf` marks the branches of a oneOf. */
function* walk(node: JSONSchemaProps, path: string, inOneOf = false): Generator<{ node: JSONSchemaProps; path: string; inOneOf: boolean }> {
  yield { node, path, inOneOf };
  for (const [key, child] of Object.entries(node.properties ?? {})) yield* walk(child, `${path}.${key}`, inOneOf);
  if (node.items) yield* walk(node.items, `${path}[]`, inOneOf);
  if (node.additionalProperties) yield* walk(node.additionalProperties, `${path}{}`, inOneOf);
  for (const [i, branch] of (node.oneOf ?? []).entries()) yield* walk(branch, `${path}.oneOf[${i}]`, true);
}

test('every schema is structural: typed nodes, no $ref, plain oneOf branches, defaults outside oneOf', (t) => {
  for (const crd of trellisCrds()) {
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
    if (!root) return t.fail(`${crd.metadata.name} has no schema`);
    for (const { node, path, inOneOf } of walk(root, crd.spec.names.kind)) {
      const keys = Object.keys(node);
      t.false(keys.includes('$ref'), `${path} uses $ref`);
      t.false(keys.some((k) => ['nullable', 'anyOf', 'allOf', 'not'].includes(k)), `${path}: ${keys.join(',')}`);
      if (inOneOf) {
        // Structural rule: a oneOf branch may only constrain, never declare types or defaults.
        t.deepEqual(keys, ['required'], `${path} must only list required properties`);
        continue;
      }
      t.truthy(node.type, `${path} has no type`);
      // The apiserver owns metadata's schema; a CRD may only say it is an object.
      if (node.type === 'object' && path !== `${crd.spec.names.kind}.metadata`) {
        t.true(node.properties !== undefined || node.additionalProperties !== undefined
          || node['x-kubernetes-preserve-unknown-fields'] === true, `${path} is an object without fields`);
        t.false(node.properties !== undefined && node.additionalProperties !== undefined, `${path} has both properties and additionalProperties`);
        for (const r of node.required ?? []) t.truthy(node.properties?.[r], `${path} requires unknown ${r}`);
        for (const branch of node.oneOf ?? []) {
          for (const r of branch.required ?? []) t.truthy(node.properties?.[r], `${path} oneOf names unknown ${r}`);
        }
      }
      if (node.pattern !== undefined) t.notThrows(() => new RegExp(node.pattern ?? ''), `${path} pattern`);
      if (node['x-kubernetes-list-type'] === 'map') {
        for (const key of node['x-kubernetes-list-map-keys'] ?? []) t.true(node.items?.required?.includes(key), `${path} map key ${key} must be required`);
      }
    }
  }
});

test('only Package.spec.values keeps unknown fields', (t) => {
  const preserving: string[] = [];
  for (const crd of trellisCrds()) {
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
    if (!root) continue;
    for (const { node, path } of walk(root, crd.spec.names.kind)) {
      if (node['x-kubernetes-preserve-unknown-fields']) preserving.push(path);
    }
  }
  t.deepEqual(preserving, ['Package.spec.values']);
});

test('every spec and status field has a description (kubectl explain)', (t) => {
  for (const crd of trellisCrds()) {
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
    for (const part of ['spec', 'status'] as const) {
      const schema = root?.properties?.[part];
      if (!schema) return t.fail(`${crd.metadata.name} has no ${part}`);
      for (const { node, path } of walk(schema, `${crd.spec.names.kind}.${part}`)) {
        // Array items and oneOf branches are described by their parent.
        if (path.endsWith('[]') || path.endsWith('{}') || path.includes('.oneOf[')) continue;
        t.truthy(node.description, `${path} has no description`);
      }
    }
  }
});

test('every default validates against its own schema, as the apiserver requires', (t) => {
  const ajv = new Ajv({ strict: false });
  ajv.addFormat('date-time', true).addFormat('int64', true).addFormat('byte', true);
  let defaults = 0;
  for (const crd of trellisCrds()) {
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
    if (!root) continue;
    for (const { node, path } of walk(root, crd.spec.names.kind)) {
      if (node.default === undefined) continue;
      defaults += 1;
      const { default: value, ...schema } = node;
      t.true(ajv.validate(schema, value), `${path} default ${JSON.stringify(value)}: ${ajv.errorsText()}`);
    }
  }
  t.true(defaults >= 15, `only ${defaults} defaults found`);
});

test('the patterns accept and reject what the API documents', (t) => {
  const spec = (kind: string) => trellisCrds().find((c) => c.spec.names.kind === kind)?.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec;
  const pattern = (node: JSONSchemaProps | undefined) => new RegExp(node?.pattern ?? '^$');
  const git = spec('GitRepository')?.properties;
  const duration = pattern(git?.interval);
  for (const ok of ['5m', '90s', '1h30m', '1.5h', '250ms']) t.regex(ok, duration);
  for (const bad of ['5', '5 minutes', '-1s', '1d', 'm']) t.notRegex(bad, duration);
  const semver = pattern(git?.ref?.properties?.semver);
  for (const ok of ['^1.4', '>=1.0.0 <2.0.0', '1.x', '*', '~1.2.3-rc.1', '1.2.3 || 2.x']) t.regex(ok, semver);
  for (const bad of ['latest', 'main', '']) t.notRegex(bad, semver);
  const oci = pattern(spec('OCIRepository')?.properties?.url);
  for (const ok of ['oci://127.0.0.1:5000/team/web', 'oci://ghcr.io/org/app', 'oci://r.example.com/a/b-c/d__e']) t.regex(ok, oci);
  for (const bad of ['https://ghcr.io/org/app', 'oci://ghcr.io/org/app:1.0', 'oci://ghcr.io/org/app@sha256:00', 'oci://ghcr.io', 'oci://ghcr.io/Org/App']) t.notRegex(bad, oci);
  const status = (kind: string) => trellisCrds().find((c) => c.spec.names.kind === kind)?.spec.versions[0]?.schema.openAPIV3Schema.properties?.status;
  const item = pattern(status('Package')?.properties?.objects?.items);
  for (const ok of ['web_api_apps_Deployment v1', '_system:aggregate_to_view_rbac.authorization.k8s.io_ClusterRole v1', 'web_g_example.com_Gadget v1beta1']) {
    t.regex(ok, item);
  }
  for (const bad of ['web_api_apps_Deployment', 'web_api_apps_Deployment ', 'web_api_apps_Deployment v1 v2', 'web api_apps_Deployment v1', ' v1']) t.notRegex(bad, item);
});

test('printer columns point at fields that exist in the schema', (t) => {
  for (const crd of trellisCrds()) {
    const version = crd.spec.versions[0];
    if (!version) return t.fail();
    const names = version.additionalPrinterColumns.map((c) => c.name);
    // A RevisionSlice is content, not state: it has no revision or status of its own to show.
    // Receivers, Providers and Alerts follow no revision: Ready and its message are their story.
    const wantedColumns = crd.spec.names.kind === 'RevisionSlice' ? ['Package', 'Objects', 'Age']
      : crd.spec.group === 'notification.trellis.dev' ? ['Ready', 'Status', 'Age'] : ['Revision', 'Status', 'Age'];
    for (const wanted of wantedColumns) t.true(names.includes(wanted), `${crd.metadata.name} lacks ${wanted}`);
    for (const column of version.additionalPrinterColumns) {
      if (column.jsonPath.startsWith('.metadata.')) continue;
      // `.status.conditions[?(@.type=="Ready")].status` -> status, conditions, [], status
      const steps = column.jsonPath.replace(/\[\?\(.*?\)\]/g, '.[]').split('.').filter(Boolean);
      let node: JSONSchemaProps | undefined = version.schema.openAPIV3Schema;
      for (const step of steps) node = step === '[]' ? node?.items : node?.properties?.[step];
      t.truthy(node, `${crd.metadata.name} column ${column.name}: ${column.jsonPath} is not in the schema`);
      t.is(node?.type === 'integer' ? 'integer' : 'string', column.type === 'integer' ? 'integer' : 'string', `${column.name} type`);
    }
  }
});

test('CRD names, scope, categories and the status subresource', (t) => {
  const crds = trellisCrds();
  t.deepEqual(crds.map((c) => [c.metadata.name, crdFileName(c), c.spec.names.shortNames]), [
    ['gitrepositories.source.trellis.dev', 'source.trellis.dev_gitrepositories.yaml', ['gitrepo']],
    ['ocirepositories.source.trellis.dev', 'source.trellis.dev_ocirepositories.yaml', ['ocirepo']],
    ['packages.apply.trellis.dev', 'apply.trellis.dev_packages.yaml', ['pkg']],
    ['packagerevisions.apply.trellis.dev', 'apply.trellis.dev_packagerevisions.yaml', ['pkgrev']],
    ['revisionslices.apply.trellis.dev', 'apply.trellis.dev_revisionslices.yaml', ['revslice']],
    ['receivers.notification.trellis.dev', 'notification.trellis.dev_receivers.yaml', ['rcv']],
    ['providers.notification.trellis.dev', 'notification.trellis.dev_providers.yaml', []],
    ['alerts.notification.trellis.dev', 'notification.trellis.dev_alerts.yaml', []],
  ]);
  for (const crd of crds) {
    t.is(crd.spec.scope, 'Namespaced');
    t.deepEqual(crd.spec.names.categories, ['trellis']);
    t.deepEqual(crd.spec.versions.map((v) => [v.name, v.served, v.storage]), [['v1alpha1', true, true]]);
    t.deepEqual(crd.spec.versions[0]?.subresources, { status: {} });
  }
  // Callers get copies: editing one CRD object does not change the next.
  const first = trellisCrds()[0];
  if (first?.spec.versions[0]) first.spec.versions[0].schema.openAPIV3Schema.description = 'changed';
  t.not(trellisCrds()[0]?.spec.versions[0]?.schema.openAPIV3Schema.description, 'changed');
});

test('inventory ids round-trip, including cluster-scoped, core-group and RBAC names', (t) => {
  const keys = [
    { namespace: 'web', name: 'api', group: 'apps', kind: 'Deployment' },
    { namespace: '', name: 'web', group: '', kind: 'Namespace' },
    { namespace: '', name: 'system:aggregate_to_view', group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  ];
  for (const key of keys) t.deepEqual(parseInventoryId(inventoryId(key)), key);
  t.is(inventoryId(keys[0]!), 'web_api_apps_Deployment');
  for (const bad of ['web-api', 'web_api_Deployment', '__apps_Deployment', 'web_api_apps_']) {
    t.throws(() => parseInventoryId(bad), { instanceOf: InvalidInventoryIdError }, bad);
  }
});

// Compile-time checks: `npm test` typechecks this file, so these fail the run when
// the types stop following the schemas. The runtime assertion only keeps AVA happy.
type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends (<G>() => G extends B ? 1 : 2) ? true : false;
type Assert<T extends true> = T;
export type TypeChecks = [
  // A defaulted field is always there when read, optional when written.
  Assert<Equal<GitRepositorySpec['interval'], string>>,
  Assert<Equal<GitRepositorySpecInput['interval'], string | undefined>>,
  Assert<Equal<PackageSpec['prune'], boolean>>,
  Assert<Equal<PackageSpec['drift']['mode'], 'correct' | 'warn' | 'ignore'>>,
  Assert<Equal<PackageSpecInput['drift'], { mode?: 'correct' | 'warn' | 'ignore'; ignore?: { paths: string[]; target?: { group?: string; kind?: string; name?: string; namespace?: string } }[] } | undefined>>,
  Assert<Equal<SourceStatus['artifact'], { url: string; revision: string; digest: string; size: number; lastUpdateTime: string; metadata?: Record<string, string> } | undefined>>,
  Assert<Equal<PackageSpec['values'], Record<string, unknown> | undefined>>,
];

test('the TypeScript types follow the schemas (checked by tsc)', (t) => {
  const ref: OCIRepositoryRef = { digest: `sha256:${'0'.repeat(64)}` };
  // @ts-expect-error a ref holds exactly one of tag, semver, digest
  const twoRefs: OCIRepositoryRef = { tag: '1.0.0', digest: ref.digest };
  // @ts-expect-error an enum rejects other strings
  const badMode: PackageSpecInput['drift'] = { mode: 'fix' };
  // @ts-expect-error url is required
  const noUrl: GitRepositorySpecInput = { ref: { branch: 'main' } };
  t.truthy(ref && twoRefs && badMode && noUrl);
});
