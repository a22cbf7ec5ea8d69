// Which kustomize a render runs: the one the controller's own PATH (or its flag)
// names, never a file of the artifact, although the render itself runs with an
// empty PATH in the artifact's root.
import test from 'ava';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderKustomization } from '../../../apply-controller/kustomize/render.ts';
import { defaultKustomizeSettings, locateKustomize } from '../../../apply-controller/kustomize/settings.ts';

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-kustomize-binary-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An executable that prints one ConfigMap named `name`, as a kustomize build would. */
async function fakeKustomize(path: string, name: string): Promise<void> {
  await writeFile(path, `#!/bin/sh\nprintf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: ${name}\\n'\n`);
  await chmod(path, 0o755);
}

test('a bare name is looked up on the controller\'s PATH, absolute folders only; a path is taken as it is', async (t) => {
  const dir = await scratch(t);
  await mkdir(join(dir, 'bin'));
  await fakeKustomize(join(dir, 'bin', 'kustomize'), 'x');
  await writeFile(join(dir, 'bin', 'not-executable'), '');
  t.is(await locateKustomize('kustomize', `/nonexistent:${join(dir, 'bin')}`), join(dir, 'bin', 'kustomize'));
  t.is(await locateKustomize('not-executable', join(dir, 'bin')), undefined);
  t.is(await locateKustomize('kustomize', ''), undefined);
  t.is(await locateKustomize('kustomize', 'relative/bin:.'), undefined, 'relative PATH entries are not searched');
  t.is(await locateKustomize('/opt/kustomize', ''), '/opt/kustomize');
});

test('a bare kustomize name never runs an executable of the same name from the artifact', async (t) => {
  const artifact = await scratch(t);
  const name = 'kustomize-trellis-test-only';
  await mkdir(join(artifact, 'app'));
  await writeFile(join(artifact, 'app', 'kustomization.yaml'), 'resources: []\n');
  // The render's working directory is the artifact root and its PATH is empty: a lookup there would find this.
  await fakeKustomize(join(artifact, name), 'from-the-artifact');
  const settings = { ...defaultKustomizeSettings({}), binary: name };
  const result = await renderKustomization(artifact, 'app', 'app/kustomization.yaml', { settings });
  t.false(result.ok, result.ok ? result.yaml : '');
  t.is(result.ok ? undefined : result.problems[0]?.reason, 'KustomizeNotAvailable');
});
