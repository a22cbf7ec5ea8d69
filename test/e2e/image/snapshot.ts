/**
 * A frozen copy of what the image takes from the checkout (the controllers' import
 * closure and that of the script that bundles them, package.json and
 * package-lock.json; node_modules by symlink), so the
 * test's builds see one consistent tree even while the checkout is being edited,
 * and a change to the copy can stand for "an application change".
 */
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { applicationClosure, CONTROLLER_ENTRIES } from '../../../cli/image/application.ts';

/** Copies the image's inputs from `root` into `dest` and returns `dest`. */
export async function snapshotCheckout(root: string, dest: string): Promise<string> {
  // The render sandbox's Worker is started by URL, not imported: the bundle script embeds it.
  const closure = await applicationClosure(root, [...CONTROLLER_ENTRIES, 'hack/build-controllers.ts', 'apply-controller/program/worker.ts']);
  for (const file of [...closure.files, 'package.json', 'package-lock.json']) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(join(root, file), join(dest, file));
  }
  symlinkSync(join(root, 'node_modules'), join(dest, 'node_modules'));
  return dest;
}
