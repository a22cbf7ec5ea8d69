/**
 * A program bundle at install time: read its program, check the digest
 * package.yaml records, render it with the resolved values (engine.ts), and hand
 * the objects to the rest of the bundle pipeline (namespaces, validation, order)
 * as if they had been read from files. The manifests folder of a program bundle
 * (its output for the defaults) is for people and diffs; the cluster gets the
 * render.
 */
import { lstat, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { PackageManifest } from '../bundle/format.ts';
import type { SourcedObject } from '../bundle/object.ts';
import { problem, type BundleProblem } from '../bundle/problems.ts';
import { programDigest, redact, RenderError, renderProgram, type RenderProgramOptions } from './engine.ts';
import { programBundlesAllowed } from './policy.ts';

/** Largest program file run (the web example is about 0.5 MB). */
export const MAX_PROGRAM_BYTES = 16 * 1024 * 1024;

/** What {@link renderBundleProgram} gives: objects as from files, and the manifest with the phases the render declared. */
export type BundleRender =
  | { readonly ok: true; readonly objects: readonly SourcedObject[]; readonly manifest: PackageManifest; readonly logs: readonly string[] }
  | { readonly ok: false; readonly errors: readonly BundleProblem[] };

/** Every string inside some values, for {@link redact}. */
export function stringLeaves(values: unknown, out: string[] = []): string[] {
  if (typeof values === 'string') out.push(values);
  else if (Array.isArray(values)) for (const v of values) stringLeaves(v, out);
  else if (typeof values === 'object' && values !== null) for (const v of Object.values(values)) stringLeaves(v, out);
  return out;
}

/**
 * Renders the program of a program bundle. `dir` is the artifact root, `rel` the
 * folder of package.yaml inside it. Never throws for the program's faults.
 */
export async function renderBundleProgram(dir: string, rel: string, manifest: PackageManifest, values: Record<string, unknown>,
  opts: RenderProgramOptions = {}): Promise<BundleRender> {
  const program = manifest.program!;
  const file = posix.join(rel, program.file);
  const fail = (reason: 'RenderFailed' | 'RenderCrashed' | 'ProgramNotAllowed', detail: string): BundleRender => ({ ok: false, errors: [problem(reason, detail, { file })] });
  if (!programBundlesAllowed()) return fail('ProgramNotAllowed', 'the bundle is a program, and this controller runs only pre-rendered bundles (--no-program-bundles)');
  const stat = await lstat(join(dir, file)).catch(() => undefined);
  if (!stat?.isFile()) return fail('RenderFailed', 'the program file named by package.yaml is not in the bundle');
  if (stat.size > MAX_PROGRAM_BYTES) return fail('RenderFailed', `the program is ${stat.size} bytes, more than the limit of ${MAX_PROGRAM_BYTES}`);
  const bytes = await readFile(join(dir, file));
  const digest = programDigest(bytes);
  if (digest !== program.digest) return fail('RenderFailed', `the program's digest is ${digest}, not ${program.digest} as package.yaml says`);
  try {
    const rendered = await renderProgram(bytes.toString('utf8'), digest, values, opts);
    const objects = rendered.objects.map(({ object }, document) => ({ object, source: { file, document } }));
    return { ok: true, objects, manifest: { ...manifest, phases: [...rendered.phases] }, logs: rendered.logs };
  } catch (err) {
    if (!(err instanceof RenderError)) throw err;
    const logs = err.logs.length > 0 ? `; its last output: ${err.logs.slice(-5).join(' | ')}` : '';
    // A sandbox that crashed says nothing about the program: that one is retried, every other reason is the program's.
    return fail(err.reason === 'Crashed' ? 'RenderCrashed' : 'RenderFailed',
      `the program failed (${err.reason}): ${redact(err.message, opts.sensitive)}${redact(logs, opts.sensitive)}`);
  }
}
