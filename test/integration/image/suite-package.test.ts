// kustomize for the image, from the real Debian archive's trixie suite through a
// private apt state: described by that suite's signed lists, downloaded once into
// the .deb cache, checked against the lists' SHA-256 (a mismatch is refused, a
// corrupted cache entry replaced), and a real kustomize 5 inside.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import {
  DebianPackageError, debFileName, describeDebianPackage, extractDebianPackage, fetchDebianPackage, suiteAptState, updateSuiteLists,
} from '../../../cli/image/debian.ts';

const run = promisify(execFile);
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function scratch(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

test.serial('kustomize comes from trixie\'s lists, is cached once, and its SHA-256 is checked against them', async (t) => {
  t.timeout(10 * 60_000, 'the trixie package lists and the .deb are downloaded');
  const cache = scratch(t, 'trellis-debs-');
  const lines: string[] = [];
  const log = (line: string): void => { lines.push(line); };
  const apt = suiteAptState(cache, 'trixie');
  await updateSuiteLists(apt, log);
  t.true(lines.some((l) => l.includes('updating the package lists of Debian trixie')));
  lines.length = 0;
  await updateSuiteLists(apt, log);
  t.deepEqual(lines, [], 'fresh lists are not asked for again');
  const systemSources = existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d') : [];
  t.false(systemSources.some((f) => readFileSync(join('/etc/apt/sources.list.d', f), 'utf8').includes('trixie')), 'the system sources are untouched');

  const pkg = await describeDebianPackage('kustomize', apt);
  t.is(pkg.suite, 'trixie');
  t.regex(pkg.version, /^5\.\d+\.\d+/);
  t.regex(pkg.sha256, /^[a-f0-9]{64}$/);
  await t.throwsAsync(describeDebianPackage('kustomize'), { instanceOf: DebianPackageError }, 'Debian 12\'s own lists have no kustomize');

  const fetched = await fetchDebianPackage(pkg, cache, log, apt);
  t.is(fetched.file, join(cache, debFileName(pkg)));
  t.is(sha256(fetched.file), pkg.sha256, 'the cached file is the one the signed lists describe');
  t.true(lines.some((l) => l === `downloading kustomize ${pkg.version} from Debian trixie`));
  lines.length = 0;
  await fetchDebianPackage(pkg, cache, log, apt);
  t.deepEqual(lines, [], 'the second build takes it from the cache');

  const root = scratch(t, 'trellis-kustomize-root-');
  await extractDebianPackage(fetched, root);
  const version = await run(join(root, 'usr', 'bin', 'kustomize'), ['version'], { env: {} });
  t.truthy(version.stdout.trim(), 'a kustomize that runs with no environment');

  // A corrupted cache entry is replaced by a fresh, verified download.
  writeFileSync(fetched.file, 'not a deb');
  await fetchDebianPackage(pkg, cache, log, apt);
  t.is(sha256(fetched.file), pkg.sha256);

  // Lists that name another SHA-256 than the archive serves: refused, and nothing enters the cache.
  const tampered = { ...pkg, sha256: 'f'.repeat(64) };
  const other = scratch(t, 'trellis-debs-other-');
  await t.throwsAsync(fetchDebianPackage(tampered, other, log, apt),
    { instanceOf: DebianPackageError, message: /SHA-256 [a-f0-9]{64} does not match the apt lists' f{64}/ });
  t.deepEqual(readdirSync(other), [], 'nothing enters the cache, no download folder is left behind');
});
