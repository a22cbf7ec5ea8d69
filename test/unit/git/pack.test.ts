// packTree on a plain folder laid out like a checkout: no .git, gitignore-style
// `ignore` lines honored, symlinks never followed out of the tree.
import test from 'ava';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { list } from 'tar';
import { packTree } from '../../../source-controller/git/pack.ts';

async function checkout(files: Record<string, string>): Promise<{ dir: string; out: string }> {
  const base = await mkdtemp(join(tmpdir(), 'trellis-pack-'));
  const dir = join(base, 'tree');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return { dir, out: join(base, 'artifact.tar.gz') };
}

async function paths(file: string): Promise<string[]> {
  const out: string[] = [];
  await list({ file, onReadEntry: (e) => { out.push(e.path); } });
  return out;
}

const TREE = {
  '.git/config': '[remote "origin"]\n\turl = https://user:pw@example/r.git\n',
  '.git/HEAD': 'ref: refs/heads/main\n',
  '.gitignore': 'build/\n',
  'deploy/app.yaml': 'kind: Deployment\n',
  'deploy/app.test.yaml': 'kind: Test\n',
  'deploy/keep.test.yaml': 'kind: KeptTest\n',
  'build/out.yaml': 'kind: Built\n',
  'docs/readme.md': '# docs\n',
  'nested/.git': 'gitdir: ../.git/modules/nested\n',
};

test('the artifact leaves out .git and what the ignore lines exclude', async (t) => {
  const { dir, out } = await checkout(TREE);
  await packTree(dir, out, { ignore: '# comment\n*.test.yaml\n!keep.test.yaml\nbuild/\n/docs\n' });
  t.deepEqual(await paths(out), ['.gitignore', 'deploy/', 'deploy/app.yaml', 'deploy/keep.test.yaml', 'nested/'],
    'a nested .git (a submodule pointer) is metadata too');
});

test('ignore lines may be an array; without them everything but .git is packed', async (t) => {
  const { dir, out } = await checkout(TREE);
  await packTree(dir, out, { ignore: ['docs/', 'nested'] });
  t.deepEqual(await paths(out), ['.gitignore', 'build/', 'build/out.yaml', 'deploy/', 'deploy/app.test.yaml', 'deploy/app.yaml', 'deploy/keep.test.yaml']);
  const all = await checkout(TREE);
  await packTree(all.dir, all.out);
  t.false((await paths(all.out)).some((p) => p === '.git/' || p.startsWith('.git/')));
  t.true((await paths(all.out)).includes('docs/readme.md'));
});

test('symlinks out of the tree, into .git or at ignored files do not pull content in', async (t) => {
  const { dir, out } = await checkout({ ...TREE, 'secret.env': 'PASSWORD=ignored-secret\n' });
  const outside = await mkdtemp(join(tmpdir(), 'trellis-outside-'));
  await writeFile(join(outside, 'host-secret'), 'HOST-SECRET-CONTENT');
  await symlink(join(outside, 'host-secret'), join(dir, 'deploy', 'absolute.yaml'));
  await symlink('../../' + outside.split('/').pop() + '/host-secret', join(dir, 'deploy', 'relative.yaml'));
  await symlink('/etc/passwd', join(dir, 'passwd.yaml'));
  await symlink('.git/config', join(dir, 'config.yaml'));
  await symlink('secret.env', join(dir, 'env.yaml'));
  await symlink('deploy/app.yaml', join(dir, 'alias.yaml'));
  const result = await packTree(dir, out, { ignore: 'secret.env' });
  const entries = await paths(out);
  t.true(entries.includes('alias.yaml'), 'a link to a packed file inside the tree is kept as a copy');
  for (const link of ['deploy/absolute.yaml', 'deploy/relative.yaml', 'passwd.yaml', 'config.yaml', 'env.yaml', 'secret.env']) {
    t.false(entries.includes(link), link);
  }
  t.deepEqual(result.skipped.map((s) => s.path).sort(), ['config.yaml', 'deploy/absolute.yaml', 'deploy/relative.yaml', 'env.yaml', 'passwd.yaml']);
  const tarText = gunzipSync(await readFile(out)).toString('latin1');
  for (const secret of ['HOST-SECRET-CONTENT', 'root:x:0', 'user:pw', 'ignored-secret']) t.false(tarText.includes(secret), secret);
  t.true(tarText.includes('kind: Deployment'));
});
