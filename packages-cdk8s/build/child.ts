/**
 * The child process of `trellis build`: imports the package program (a `.ts` file
 * Node runs directly), plans its bundle with the kit, and sends the plan (plain
 * JSON) to the parent over the IPC channel. Started by program.ts under Node's
 * permission model: the program may read files but not write them, start
 * processes, or load native addons.
 *
 * Usage (by program.ts only): `node --permission --allow-fs-read=* child.ts <entry.ts>`
 */
import { pathToFileURL } from 'node:url';
import { isPackageDefinition, PackageDefinitionError, planBuild, ValuesNotPlaceableError } from '../kit/index.ts';
import type { ChildMessage } from './program.ts';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      process.stdout.write(`${JSON.stringify(message)}\n`);
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

async function main(entry: string): Promise<ChildMessage> {
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(entry).href) as { default?: unknown };
  } catch (err) {
    return { ok: false, reason: 'ProgramFailed', message: `loading ${entry} failed: ${describe(err)}` };
  }
  if (!isPackageDefinition(mod.default)) {
    return { ok: false, reason: 'NotAPackage', message: `${entry} must default-export a package: export default definePackage({...})` };
  }
  try {
    return { ok: true, plan: planBuild(mod.default) };
  } catch (err) {
    if (err instanceof ValuesNotPlaceableError) return { ok: false, reason: 'ValuesNotPlaceable', message: err.message };
    if (err instanceof PackageDefinitionError) return { ok: false, reason: 'InvalidPackage', message: err.message };
    return { ok: false, reason: 'ProgramFailed', message: `the package program failed: ${describe(err)}` };
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // The first frame in the package's own files says where, without the kit's internals.
  const frame = err.stack?.split('\n').find((l) => /^\s+at /.test(l) && !l.includes('/packages-cdk8s/kit/') && !l.includes('node:'));
  return frame ? `${err.message} (${frame.trim().replace(/^at /, 'at ')})` : err.message;
}

const entry = process.argv[2];
await send(entry ? await main(entry) : { ok: false, reason: 'ProgramFailed', message: 'no entry file given' });
process.disconnect?.();
