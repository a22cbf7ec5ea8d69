// What goes into the image: the import closure of the controllers, their npm
// dependencies from package-lock.json, what is pruned, Debian licences, the OCI
// documents and the SBOM.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  applicationClosure, ApplicationClosureError, bundledPackages, importSpecifiers, packageNameOf,
} from '../../../cli/image/application.ts';
import { sourceDateEpoch, SourceDateEpochError } from '../../../cli/image/build.ts';
import { isDroppedFromDebian } from '../../../cli/image/contents.ts';
import { debianLicences, debFileName, parseControlFields, spdxExpressionOf } from '../../../cli/image/debian.ts';
import { buildImageConfig, buildReferrerManifest, mergeReferrersIndex, referrersTag } from '../../../cli/image/oci-image.ts';
import { buildSpdxSbom, debianPurl, npmPurl } from '../../../cli/image/sbom.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'trellis-image-unit-'));

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

test('importSpecifiers finds what Node loads and skips type-only imports and comments', (t) => {
  const source = [
    "import { a, type B } from './a.ts';",
    "import type { C } from './types-only.ts';",
    "export type { D } from './also-types.ts';",
    "export { e } from './e.ts';",
    'import {',
    '  f,',
    "} from '@scope/pkg/sub';",
    "import 'side-effect';",
    "const lazy = await import('./lazy.ts');",
    "// import { nope } from './commented.ts';",
    "/** {@link import('./in-a-doc-comment.ts').X} */",
  ].join('\n');
  t.deepEqual(importSpecifiers(source).sort(), ['./a.ts', './e.ts', './lazy.ts', '@scope/pkg/sub', 'side-effect']);
  t.is(packageNameOf('@scope/pkg/sub'), '@scope/pkg');
  t.is(packageNameOf('ajv/dist/2020.js'), 'ajv');
  t.is(packageNameOf('node:fs'), undefined);
  t.is(packageNameOf('./x.ts'), undefined);
});

test('the application closure follows relative imports and collects packages; a missing module is an error', async (t) => {
  const root = scratch();
  writeTree(root, {
    'apply-controller/main.ts': "import { x } from '../runtime/x.ts';\nimport yaml from 'yaml';\n",
    'source-controller/main.ts': "import { x } from '../runtime/x.ts';\n",
    'runtime/x.ts': "import pino from 'pino';\nexport const x = 1;\n",
    'cli/unrelated.ts': "import 'commander';\n",
  });
  const closure = await applicationClosure(root);
  t.deepEqual(closure.files, ['apply-controller/main.ts', 'runtime/x.ts', 'source-controller/main.ts']);
  t.deepEqual(closure.packages, ['pino', 'yaml']);
  writeTree(root, { 'runtime/x.ts': "import { gone } from './gone.ts';\n" });
  await t.throwsAsync(applicationClosure(root), { instanceOf: ApplicationClosureError, message: /runtime\/gone\.ts is imported but does not exist/ });
});

test('the bundled packages are named with their lock version and licence, never a dev-only one or one outside the lock', async (t) => {
  const root = scratch();
  const lock = {
    lockfileVersion: 3,
    packages: {
      '': { dependencies: { a: '1' }, devDependencies: { dev: '1' } },
      'node_modules/a': { version: '1.0.0', license: 'MIT', dependencies: { b: '2' }, optionalDependencies: { missing: '1' } },
      'node_modules/a/node_modules/b': { version: '2.0.0', license: 'ISC', dependencies: { c: '1' } },
      'node_modules/b': { version: '1.0.0', license: 'MIT' },
      'node_modules/c': { version: '1.0.0', license: 'Apache-2.0' },
      'node_modules/dev': { version: '9.0.0', dev: true },
    },
  };
  writeTree(root, { 'package-lock.json': JSON.stringify(lock) });
  const packages = await bundledPackages(root, ['node_modules/c', 'node_modules/a/node_modules/b', 'node_modules/a', 'node_modules/c']);
  t.deepEqual(packages.map((p) => `${p.name} ${p.path}@${p.version} ${p.license}`), [
    'a node_modules/a@1.0.0 MIT', 'b node_modules/a/node_modules/b@2.0.0 ISC', 'c node_modules/c@1.0.0 Apache-2.0',
  ], 'each folder once, a nested b as the bundle holds it; sorted by path');
  await t.throwsAsync(bundledPackages(root, ['node_modules/dev']), { instanceOf: ApplicationClosureError, message: /dev, a development dependency/ });
  await t.throwsAsync(bundledPackages(root, ['node_modules/nowhere']), { instanceOf: ApplicationClosureError, message: /not in package-lock/ });
});

test('Debian keeps copyright files only', (t) => {
  t.false(isDroppedFromDebian('usr/share/doc/libc6/copyright', false));
  t.false(isDroppedFromDebian('usr/share/doc/libc6', true));
  t.true(isDroppedFromDebian('usr/share/doc/libc6/changelog.Debian.gz', false));
  t.true(isDroppedFromDebian('usr/share/man', true));
  t.false(isDroppedFromDebian('usr/share/zoneinfo/Europe/Paris', false));
});

test('Debian licences come from machine-readable copyright files or their common-licenses references', async (t) => {
  const root = scratch();
  writeTree(root, {
    'usr/share/doc/dep5/copyright': 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nFiles: x\nLicense: MPL-2.0 or GPL-2+\n',
    'usr/share/doc/prose/copyright': 'see /usr/share/common-licenses/LGPL-2.1 and /usr/share/common-licenses/GPL-3.\n',
  });
  t.deepEqual(await debianLicences(root, 'dep5'), ['GPL-2+', 'MPL-2.0']);
  t.deepEqual(await debianLicences(root, 'prose'), ['GPL-3', 'LGPL-2.1']);
  t.deepEqual(await debianLicences(root, 'absent'), []);
  t.is(spdxExpressionOf(['GPL-2+', 'MPL-2.0']), 'GPL-2.0-or-later AND MPL-2.0');
  t.is(spdxExpressionOf(['public-domain', 'Odd Name']), 'LicenseRef-Odd-Name AND LicenseRef-public-domain');
  t.is(spdxExpressionOf([]), 'NOASSERTION');
  t.is(debFileName({ name: 'x', version: '1:2.0-1', architecture: 'amd64', source: 'x', sha256: '' }), 'x_1%3a2.0-1_amd64.deb');
  t.is(parseControlFields('Package: libc6\nVersion: 2.36-9\nDescription: GNU C\n more text\n').get('Version'), '2.36-9');
});

test('the referrers fallback: tag sha256-<hex>, an index that accumulates referrers without duplicates', (t) => {
  const digest = `sha256:${'a'.repeat(64)}`;
  t.is(referrersTag(digest), `sha256-${'a'.repeat(64)}`);
  const one = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'2'.repeat(64)}`, size: 10, artifactType: 'application/spdx+json' };
  const two = { ...one, digest: `sha256:${'1'.repeat(64)}` };
  const first = mergeReferrersIndex(undefined, one);
  const both = mergeReferrersIndex(first, two);
  const again = mergeReferrersIndex(both, one);
  const parsed = JSON.parse(new TextDecoder().decode(again)) as { manifests: { digest: string }[] };
  t.deepEqual(parsed.manifests.map((m) => m.digest), [two.digest, one.digest]);
  t.deepEqual(again, both, 're-adding a referrer changes nothing');
  const referrer = JSON.parse(new TextDecoder().decode(buildReferrerManifest({
    artifactType: 'application/spdx+json', layer: { mediaType: 'application/spdx+json', digest, size: 3 },
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 100 },
  }))) as { subject: { digest: string }; config: { mediaType: string } };
  t.is(referrer.subject.digest, digest);
  t.is(referrer.config.mediaType, 'application/vnd.oci.empty.v1+json');
});

test('the image config runs node in /app as 65532 and lists the layers in order', (t) => {
  const config = JSON.parse(new TextDecoder().decode(buildImageConfig({
    created: '2026-01-01T00:00:00.000Z', architecture: 'amd64',
    run: { user: '65532:65532', env: ['PATH=/usr/local/bin'], entrypoint: ['node'], cmd: ['apply-controller/main.ts'], workingDir: '/app' },
    layers: [{ diffId: 'sha256:1', createdBy: 'debian' }, { diffId: 'sha256:2', createdBy: 'node' }],
  }))) as { config: { User: string; Entrypoint: string[] }; rootfs: { diff_ids: string[] }; history: { created_by: string }[] };
  t.is(config.config.User, '65532:65532');
  t.deepEqual(config.rootfs.diff_ids, ['sha256:1', 'sha256:2']);
  t.deepEqual(config.history.map((h) => h.created_by), ['debian', 'node']);
});

test('the SBOM is SPDX 2.3 with one package per component, purls and licences', (t) => {
  const doc = JSON.parse(new TextDecoder().decode(buildSpdxSbom({
    imageDigest: `sha256:${'b'.repeat(64)}`, imageName: 'trellis', imageVersion: '0.1.0', created: '2026-01-01T00:00:00.000Z',
    components: [
      { kind: 'deb', name: 'libc6', version: '2.36-9', license: 'LGPL-2.1-only', purl: debianPurl('libc6', '2.36-9', 'amd64') },
      { kind: 'npm', name: '@kubernetes/client-node', version: '2.0.1', license: 'Apache-2.0', purl: npmPurl('@kubernetes/client-node', '2.0.1') },
    ],
  }))) as { spdxVersion: string; packages: { name: string; licenseDeclared: string; externalRefs?: { referenceLocator: string }[] }[]; relationships: unknown[] };
  t.is(doc.spdxVersion, 'SPDX-2.3');
  t.deepEqual(doc.packages.map((p) => p.name), ['trellis', 'libc6', '@kubernetes/client-node']);
  t.is(doc.packages[2]?.externalRefs?.[0]?.referenceLocator, 'pkg:npm/%40kubernetes/client-node@2.0.1');
  t.is(doc.packages[1]?.externalRefs?.[0]?.referenceLocator, 'pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12');
  t.is(doc.relationships.length, 3);
});

test('SOURCE_DATE_EPOCH wins over the commit time and must be whole seconds', async (t) => {
  t.is(await sourceDateEpoch(scratch(), { SOURCE_DATE_EPOCH: '1700000000' }), 1_700_000_000);
  t.is(await sourceDateEpoch(scratch(), {}), 0, 'no Git checkout and no SOURCE_DATE_EPOCH: 1970');
  await t.throwsAsync(sourceDateEpoch(scratch(), { SOURCE_DATE_EPOCH: 'yesterday' }), { instanceOf: SourceDateEpochError });
});
