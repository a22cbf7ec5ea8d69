// The files a package declares: which declarations are refused on their text
// alone, how the build collects them from a real folder (globs, folders, symbolic
// links, the size cap), and what the sandbox's `fs` stand-in answers about them.
// Plain data and scratch folders; no sandbox runs here.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { collectEmbeddedFiles } from '../../../packages-cdk8s/build/embedded-files.ts';
import { PackageBuildError } from '../../../packages-cdk8s/build/errors.ts';
import { definePackage, PackageDefinitionError } from '../../../packages-cdk8s/kit/index.ts';
import { fileDeclarationProblem, normalizeDeclaredPath } from '../../../packages-cdk8s/kit/files.ts';
import { base64Encode, embeddedFileView, sandboxPath } from '../../../packages-cdk8s/kit/sandbox/fs.ts';
import { scratchDir } from '../../support/cluster.ts';

test('declarations that could leave the package folder are refused, with the reason', (t) => {
  const refused: [unknown, RegExp][] = [
    ['../secret.txt', /leaves the package folder/],
    ['conf/../../x', /leaves the package folder/],
    ['/etc/passwd', /absolute/],
    ['~/.kube/config', /absolute/],
    ['http://example.com/crds.yaml', /URL/],
    ['C:/x', /URL or a drive/],
    ['conf\\nginx.conf', /"\/"/],
    ['', /not a path/],
    [3, /not a path/],
  ];
  for (const [path, why] of refused) t.regex(fileDeclarationProblem(path) ?? '', why, String(path));
  for (const path of ['nginx.conf', './conf.d/', 'crds/*.yaml', 'a/..b/c', '.']) t.is(fileDeclarationProblem(path), undefined, path);
  t.is(normalizeDeclaredPath('./conf.d//a/'), 'conf.d/a');
  const err = t.throws(() => definePackage({ name: 'p', version: '1.0.0', files: ['ok.conf', '../up.conf'], build: () => undefined }),
    { instanceOf: PackageDefinitionError });
  t.regex(err?.message ?? '', /"\.\.\/up\.conf" leaves the package folder/);
  t.deepEqual(definePackage({ name: 'p', version: '1.0.0', files: ['a.conf'], build: () => undefined }).files, ['a.conf']);
});

test('inside the sandbox the package folder is the root, and nothing climbs above it', (t) => {
  t.is(sandboxPath('nginx.conf'), 'nginx.conf');
  t.is(sandboxPath('./conf.d/../nginx.conf'), 'nginx.conf');
  t.is(sandboxPath('/nginx.conf'), 'nginx.conf');
  t.is(sandboxPath('.'), '');
  t.is(sandboxPath('../nginx.conf'), undefined);
  t.is(sandboxPath('/../etc/passwd'), undefined);
  t.is(sandboxPath(42), undefined);
});

test('the fs stand-in reads embedded files only: text, base64, folders in code-unit order', (t) => {
  const { fs, childProcess } = embeddedFileView({
    'nginx.conf': { text: 'ünï\n' },
    'conf.d/b.conf': { text: 'b' },
    'conf.d/a.conf': { text: 'a' },
    'conf.d/Z/deep.conf': { text: 'z' },
    'logo.bin': { base64: 'AAH//g==' },
  });
  t.is(fs.readFileSync('./nginx.conf', 'utf8'), 'ünï\n');
  t.is(fs.readFileSync('/nginx.conf', { encoding: 'utf-8' }), 'ünï\n');
  t.is(fs.readFileSync('nginx.conf', 'base64'), Buffer.from('ünï\n').toString('base64'));
  t.is(fs.readFileSync('logo.bin', 'base64'), 'AAH//g==');
  t.throws(() => fs.readFileSync('logo.bin', 'utf8'), { message: /not UTF-8 text; read it with 'base64'/ });
  t.throws(() => fs.readFileSync('nginx.conf'), { message: /pass 'utf8' or 'base64'/ });
  t.throws(() => fs.readFileSync('conf.d', 'utf8'), { message: /is a folder/ });
  t.deepEqual(fs.readdirSync('conf.d'), ['Z', 'a.conf', 'b.conf']);
  t.deepEqual(fs.readdirSync('.'), ['conf.d', 'logo.bin', 'nginx.conf']);
  t.deepEqual((fs.readdirSync('conf.d', { withFileTypes: true }) as { name: string; isDirectory(): boolean }[])
    .map((d) => [d.name, d.isDirectory()]), [['Z', true], ['a.conf', false], ['b.conf', false]]);
  t.true(fs.statSync('conf.d/Z').isDirectory());
  t.is(fs.statSync('nginx.conf').size, Buffer.byteLength('ünï\n'));
  t.is(fs.statSync('logo.bin').size, 4);
  t.true(fs.existsSync('conf.d/a.conf'));
  t.is(fs.realpathSync('conf.d/../nginx.conf'), '/nginx.conf');

  const notEmbedded = t.throws(() => fs.readFileSync('secret.env', 'utf8'));
  t.regex(notEmbedded?.message ?? '', /not one of the files embedded in this program, and fs is not available in a Trellis program/);
  t.is((notEmbedded as Error & { code?: string }).code, 'ENOENT');
  // Not "false": a file the package forgot to declare must not render as an absent one.
  t.throws(() => fs.existsSync('forgotten.conf'), { message: /definePackage\(\{ files: \[\.\.\.\] \}\)/ });
  t.throws(() => fs.readFileSync('../outside.conf', 'utf8'), { message: /leaves the package folder/ });

  // What cdk8s' Include (Yaml.load) runs to read its file, and a URL it would fetch.
  t.is(childProcess.execFileSync(undefined, ['/_loadurl.mjs', 'nginx.conf'], { encoding: 'utf-8' }), 'ünï\n');
  t.throws(() => childProcess.execFileSync(undefined, ['/_loadurl.mjs', 'https://example.com/crds.yaml']),
    { message: /Include of https:\/\/example\.com\/crds\.yaml: a Trellis program has no network/ });
  t.throws(() => childProcess.execFileSync('/bin/sh', ['-c', 'id']), { message: /child_process is not available in a Trellis program/ });
});

test('base64 of the sandbox agrees with Buffer for every padding', (t) => {
  for (const text of ['', 'a', 'ab', 'abc', 'abcd', '\u00ff\u0000x']) {
    const bytes = [...Buffer.from(text, 'latin1')];
    t.is(base64Encode(bytes), Buffer.from(bytes).toString('base64'), JSON.stringify(text));
  }
});

function packageFolder(): string {
  const dir = scratchDir('embedded-files');
  mkdirSync(join(dir, 'conf.d', 'sub'), { recursive: true });
  mkdirSync(join(dir, 'crds'));
  writeFileSync(join(dir, 'nginx.conf'), 'server {}\n');
  writeFileSync(join(dir, 'conf.d', 'a.conf'), 'a');
  writeFileSync(join(dir, 'conf.d', 'sub', 'b.conf'), 'b');
  writeFileSync(join(dir, 'crds', 'one.yaml'), 'kind: A\n');
  writeFileSync(join(dir, 'crds', 'two.yaml'), 'kind: B\n');
  writeFileSync(join(dir, 'crds', 'notes.txt'), 'not yaml');
  writeFileSync(join(dir, 'logo.bin'), Buffer.from([0, 1, 0xff, 0xfe]));
  return dir;
}

test('the build collects files, folders and glob matches in path order; text as text, the rest as base64', async (t) => {
  const dir = packageFolder();
  symlinkSync('nginx.conf', join(dir, 'alias.conf'));
  const collected = await collectEmbeddedFiles(dir, ['crds/*.yaml', './conf.d', 'nginx.conf', 'logo.bin', 'alias.conf']);
  t.deepEqual(Object.keys(collected.files), ['alias.conf', 'conf.d/a.conf', 'conf.d/sub/b.conf', 'crds/one.yaml', 'crds/two.yaml', 'logo.bin', 'nginx.conf']);
  t.deepEqual(collected.files['nginx.conf'], { text: 'server {}\n' });
  t.deepEqual(collected.files['alias.conf'], { text: 'server {}\n' });
  t.deepEqual(collected.files['logo.bin'], { base64: 'AAH//g==' });
  t.is(collected.bytes, 10 + 10 + 1 + 1 + 8 + 8 + 4);
});

test('the build refuses files outside the folder, missing ones and too many bytes, naming the file', async (t) => {
  const dir = packageFolder();
  const outside = scratchDir('embedded-outside');
  writeFileSync(join(outside, 'secret.env'), 'TOKEN=x');
  symlinkSync(join(outside, 'secret.env'), join(dir, 'secret.env'));
  symlinkSync(outside, join(dir, 'linked'));
  const refused = async (declared: string[], why: RegExp, maxBytes?: number): Promise<void> => {
    const err = await t.throwsAsync(collectEmbeddedFiles(dir, declared, maxBytes === undefined ? {} : { maxBytes }), { instanceOf: PackageBuildError });
    t.is(err?.reason, 'InvalidFiles');
    t.regex(err?.message ?? '', why, declared.join(' '));
    t.notRegex(err?.message ?? '', /TOKEN/);
  };
  await refused(['secret.env'], /secret\.env .*symbolic link that leads outside the package folder/);
  await refused(['linked'], /linked .*symbolic link that leads outside/);
  await refused(['*.env'], /secret\.env .*leads outside/);
  await refused(['../x'], /leaves the package folder/);
  await refused(['missing.conf'], /"missing\.conf" does not exist/);
  await refused(['crds/*.json'], /pattern "crds\/\*\.json" matches no file/);
  await refused(['crds'], /files are 24 bytes together, more than the 20 a program may embed; the largest: crds\/notes\.txt \(8 bytes\)/, 20);
});
