// Packages from another Debian suite (kustomize from trixie): the machine's archive
// found in its apt sources, the private apt state that points it at the other
// suite, and the SBOM entry that says where the package came from.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { AptSuiteError, debianArchive, preparePrivateAptState } from '../../../cli/image/apt-suite.ts';
import { debianComponent } from '../../../cli/image/contents.ts';
import { DebianPackageError, fetchDebianPackage, SUITE_DEBIAN_PACKAGES, suiteAptState } from '../../../cli/image/debian.ts';
import { debianDistro, debianPurl } from '../../../cli/image/sbom.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'trellis-image-suite-'));

test('the archive is the machine\'s main Debian entry, from deb822 or one-line sources; security and deb-src are not it', (t) => {
  const dir = scratch();
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd', 'a.sources'), [
    'Types: deb-src', 'URIs: http://src.example/debian', 'Suites: bookworm', 'Components: main', '',
    'Types: deb', 'URIs: http://security.example/debian-security', 'Suites: bookworm-security', 'Components: main', '',
    'Types: deb', 'URIs: http://mirror.example/debian', 'Suites: bookworm bookworm-updates', 'Components: main',
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', '',
  ].join('\n'));
  t.deepEqual(debianArchive({ sourcesDir: join(dir, 'd'), sourcesList: join(dir, 'none') }),
    { uri: 'http://mirror.example/debian', signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg' });
  writeFileSync(join(dir, 'sources.list'), '# comment\ndeb [arch=amd64] http://old.example/debian bookworm main\n');
  t.deepEqual(debianArchive({ sourcesDir: join(dir, 'none'), sourcesList: join(dir, 'sources.list') }), { uri: 'http://old.example/debian' });
  t.throws(() => debianArchive({ sourcesDir: join(dir, 'none'), sourcesList: join(dir, 'none') }), { instanceOf: AptSuiteError });
});

test('a private apt state names one suite of the archive, an empty dpkg status, and only its own folders', (t) => {
  const dir = join(scratch(), 'trixie');
  const state = preparePrivateAptState(dir, 'trixie', { uri: 'http://mirror.example/debian', signedBy: '/keyring.gpg' });
  t.is(readFileSync(join(dir, 'sources.list.d', 'trixie.sources'), 'utf8'),
    'Types: deb\nURIs: http://mirror.example/debian\nSuites: trixie\nComponents: main\nSigned-By: /keyring.gpg\n');
  t.is(readFileSync(join(dir, 'status'), 'utf8'), '');
  t.is(readFileSync(join(dir, 'sources.list'), 'utf8'), '', 'the system\'s sources.list is not read');
  const values = state.options.filter((o) => o !== '-o');
  for (const key of ['Dir::Etc::SourceList', 'Dir::Etc::SourceParts', 'Dir::State::Lists', 'Dir::Cache', 'Dir::State::status']) {
    const value = values.find((v) => v.startsWith(`${key}=`));
    t.true(value?.slice(key.length + 1).startsWith(dir), `${key} points into the private state`);
  }
  for (const bad of ['', 'trixie main', 'trixie\nURIs: http://evil', '../x', 'Trixie']) {
    t.throws(() => preparePrivateAptState(dir, bad, { uri: 'http://mirror.example/debian' }), { instanceOf: AptSuiteError });
  }
  t.true(suiteAptState(join(scratch(), 'debs'), 'trixie').dir.endsWith(join('debs', '.apt', 'trixie')), 'kept beside the .deb cache');
});

test('the image takes kustomize from trixie; its SBOM entry names the suite and Debian 13', (t) => {
  t.deepEqual(SUITE_DEBIAN_PACKAGES, [{ suite: 'trixie', name: 'kustomize' }]);
  const component = debianComponent({
    name: 'kustomize', version: '5.6.0-1', architecture: 'amd64', source: 'kustomize', suite: 'trixie', sha256: 'a'.repeat(64), file: '/x.deb',
  }, ['Apache-2.0']);
  t.like(component, { kind: 'deb', name: 'kustomize', version: '5.6.0-1', license: 'Apache-2.0', purl: 'pkg:deb/debian/kustomize@5.6.0-1?arch=amd64&distro=debian-13' });
  t.regex(component.comment ?? '', /^from Debian trixie; licences named in \/usr\/share\/doc\/kustomize\/copyright: Apache-2\.0$/);
  t.is(debianPurl('libc6', '2.36-9', 'amd64'), 'pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12', 'the machine\'s own lists: Debian 12');
  t.is(debianDistro('sid'), 'sid', 'an unknown release number: the suite name, which purl allows');
});

test('a package described by one suite\'s lists is never fetched through another\'s', async (t) => {
  const pkg = { name: 'kustomize', version: '5.6.0-1', architecture: 'amd64', source: 'kustomize', suite: 'trixie', sha256: 'a'.repeat(64) };
  const cache = scratch();
  await t.throwsAsync(fetchDebianPackage(pkg, cache, () => undefined), { instanceOf: DebianPackageError, message: /lists of trixie, not of this machine/ });
  const { suite: _, ...own } = pkg;
  const sid = preparePrivateAptState(join(cache, 'sid'), 'sid', { uri: 'http://mirror.example/debian' });
  await t.throwsAsync(fetchDebianPackage(own, cache, () => undefined, sid), { instanceOf: DebianPackageError, message: /lists of this machine, not of sid/ });
});
