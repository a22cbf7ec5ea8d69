/**
 * How the apply controller (and the CLI) run `kustomize`: which binary, how long a
 * render may take and how much it may print. One process-wide setting, given by
 * the controller's `--kustomize-path` flag (or `TRELLIS_KUSTOMIZE` for the CLI and
 * tests), so that every reader of bundles renders the same way.
 */

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** Limits and the binary for rendering a kustomization. */
export interface KustomizeSettings {
  /** The `kustomize` executable: a path, or a name looked up on the PATH of the calling process. */
  readonly binary: string;
  /** A render that takes longer is killed and refused. */
  readonly timeoutMs: number;
  /** A render that prints more is killed and refused. */
  readonly maxOutputBytes: number;
  /** Kustomization files a render may visit (the overlay, its bases and components). */
  readonly maxKustomizations: number;
}

/** The defaults: `kustomize` from the PATH (or `TRELLIS_KUSTOMIZE`), 30 s, 32 MiB, 200 kustomizations. */
export function defaultKustomizeSettings(env: NodeJS.ProcessEnv = process.env): KustomizeSettings {
  return {
    binary: env.TRELLIS_KUSTOMIZE !== undefined && env.TRELLIS_KUSTOMIZE !== '' ? env.TRELLIS_KUSTOMIZE : 'kustomize',
    timeoutMs: 30_000,
    maxOutputBytes: 32 * 1024 * 1024,
    maxKustomizations: 200,
  };
}

let current: KustomizeSettings | undefined;

/** The settings renders use when their caller gives none. */
export function kustomizeSettings(): KustomizeSettings {
  current ??= defaultKustomizeSettings();
  return current;
}

/** Changes the process-wide settings (the controller's flags); fields not given keep their value. */
export function configureKustomize(changes: Partial<KustomizeSettings>): KustomizeSettings {
  const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  current = { ...kustomizeSettings(), ...defined };
  return current;
}

/**
 * The absolute path of `binary`: a name with a `/` as it is (made absolute), a bare
 * name looked up on `pathEnv` (the PATH of the controller, not of the render, whose
 * PATH is empty) in absolute folders only. Undefined when no executable is found.
 * Resolving here matters: given a bare name and an empty PATH, the child process
 * would look for it in its working directory, which is the artifact's root.
 */
export async function locateKustomize(binary: string, pathEnv: string | undefined = process.env.PATH): Promise<string | undefined> {
  if (binary.includes('/')) return resolve(binary);
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, binary);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}
