// A program bundle where the controller forbids programs is refused before
// anything runs (ProgramNotAllowed); a program whose digest is not the one
// package.yaml records is refused too. The bundle is made by hand: plain data.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { builtinIsNamespaced, readBundle } from '../../../apply-controller/bundle/index.ts';
import { programDigest, setProgramBundlesAllowed } from '../../../apply-controller/program/index.ts';
import { scratchDir } from '../../support/cluster.ts';

const test = anyTest.serial as unknown as TestFn;

const program = `globalThis.trellisProgram = { render(input) {
  const v = JSON.parse(input);
  return JSON.stringify({ phases: ['main'], objects: [{ phase: 'main', object: {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { 'apply.trellis.dev/phase': 'main' } }, data: { n: String(v.n) } } }] });
} };`;

function bundle(digest = programDigest(program)): string {
  const dir = scratchDir('program-policy');
  mkdirSync(join(dir, 'manifests'), { recursive: true });
  writeFileSync(join(dir, 'package.yaml'), `apiVersion: apply.trellis.dev/v1alpha1
kind: PackageManifest
name: p
version: 1.0.0
phases: [main]
values:
  schema: {type: object, properties: {n: {type: integer, default: 1}}}
program: {file: program.js, digest: "${digest}"}
`);
  writeFileSync(join(dir, 'program.js'), program);
  return dir;
}

test('a program bundle renders with the values; forbidden, it is refused with ProgramNotAllowed', async (t) => {
  const dir = bundle();
  const read = await readBundle(dir, { isNamespaced: builtinIsNamespaced, defaultNamespace: 'x', values: { n: 7 } });
  t.true(read.ok);
  t.deepEqual(read.ok && read.objects.map((o) => o.object.data), [{ n: '7' }]);
  setProgramBundlesAllowed(false);
  t.teardown(() => setProgramBundlesAllowed(true));
  const refused = await readBundle(dir, { isNamespaced: builtinIsNamespaced, defaultNamespace: 'x', values: { n: 8 } });
  t.false(refused.ok);
  t.deepEqual(!refused.ok && refused.errors.map((e) => e.reason), ['ProgramNotAllowed']);
});

test('a program that is not the one package.yaml records is refused before it runs', async (t) => {
  const dir = bundle(`sha256:${'0'.repeat(64)}`);
  const read = await readBundle(dir, { isNamespaced: builtinIsNamespaced, defaultNamespace: 'x' });
  t.false(read.ok);
  t.regex(!read.ok ? read.errors[0]!.message : '', /program's digest is sha256:[0-9a-f]{64}, not sha256:0{64}/);
});
