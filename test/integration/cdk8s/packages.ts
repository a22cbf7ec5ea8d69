/**
 * Package folders for the cdk8s build, push and dev tests, outside the repository
 * (so the build cannot lean on the repository's layout): a folder gets a
 * `node_modules` link to the project's and a `kit` link to the authoring kit, so a
 * package imports `cdk8s-plus-33` and `../kit/index.ts` as in the repository.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../../../hack/lib/processes.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { runDir, scratchDir } from '../../support/cluster.ts';

/** A fresh root with the links; packages go in sub-folders of it. */
export function packageRoot(): string {
  const root = mkdtempSync(join(scratchDir('cdk8s'), 'root-'));
  symlinkSync(join(projectRoot, 'node_modules'), join(root, 'node_modules'));
  symlinkSync(join(projectRoot, 'packages-cdk8s', 'kit'), join(root, 'kit'));
  // ES modules, as in the repository (and as trellis init writes): the compiled program depends on it.
  writeFileSync(join(root, 'package.json'), '{"type": "module"}\n');
  return root;
}

/** Writes `<root>/<name>/package.ts` with `source` and returns the folder. */
export function writePackage(root: string, name: string, source: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.ts'), source);
  return dir;
}

/** Copies an example package (`web`, `with-crd`) to `<root>/examples/<name>`, where its `../../kit` import finds the root's link. */
export function copyExample(root: string, example: string, name = example): string {
  const dir = join(root, 'examples', name);
  cpSync(join(projectRoot, 'packages-cdk8s', 'examples', example), dir, { recursive: true });
  return dir;
}

/** A package with one ConfigMap whose `greeting` is a value, and whatever else `body` adds to the phase. */
export function configMapPackage(opts: { name?: string; greeting?: string; body?: string; imports?: string } = {}): string {
  return `import { k8s } from 'cdk8s-plus-33';
import { definePackage, value } from '../kit/index.ts';
${opts.imports ?? ''}
export default definePackage({
  name: '${opts.name ?? 'hello'}',
  version: '1.0.0',
  values: { greeting: value.string({ default: '${opts.greeting ?? 'hello'}' }) },
  build(app, values) {
    const main = app.phase('main');
    new k8s.KubeConfigMap(main, 'greeting', { metadata: { name: 'greeting' }, data: { greeting: values.greeting } });
    ${opts.body ?? ''}
  },
});
`;
}

/**
 * Runs `fn` while holding a lock shared by every test process of the run: the
 * tests that install Trellis's own package write the same cluster-wide objects
 * (namespace trellis-system, ClusterRoles) and must not overlap.
 */
export async function withTrellisInstallLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(runDir(), 'trellis-install.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died (a killed test process) leaves the lock behind.
      const holder = Number(readFileSync(join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }));
      if (holder > 0 && !isAlive(holder)) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
