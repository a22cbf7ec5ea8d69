/**
 * Which folders are Kustomize roots: a folder holding `kustomization.yaml`,
 * `kustomization.yml` or `Kustomization` (the names kustomize itself accepts).
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';

/** The file names kustomize recognizes as a kustomization, in the order it looks for them. */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

/** The kustomization file name in `dir` (a regular file, never a link), or undefined. */
export async function findKustomization(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) return name;
  }
  return undefined;
}

/** Whether a file name is one of {@link KUSTOMIZATION_FILES}. */
export function isKustomizationFile(name: string): boolean {
  return (KUSTOMIZATION_FILES as readonly string[]).includes(name);
}
