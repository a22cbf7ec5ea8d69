/**
 * Finding what a folder of manifests holds: the YAML/JSON files to read, the
 * sub-folders that are kustomizations (rendered, not read file by file, as Flux
 * does), and what is skipped and why. Hidden files and folders are left out
 * silently; `node_modules`, the sources of a Helm chart (`templates/`, `charts/`
 * and `crds/` beside a `Chart.yaml`) and whatever a `.sourceignore` file names
 * are left out with a note.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { findKustomization } from '../kustomize/files.ts';
import { problem, type BundleProblem } from './problems.ts';

/** The name of the optional ignore file (gitignore syntax), as Flux's source-controller reads it. */
export const IGNORE_FILE = '.sourceignore';

/** A file or folder left out of the bundle, and why. */
export interface SkippedFile {
  /** Artifact-relative path (folders end with `/`). */
  readonly file: string;
  readonly why: string;
}

/** One thing to read, in bundle order: a manifest file, or a kustomization to render. */
export type BundleEntry =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'kustomization'; readonly dir: string; readonly file: string };

/** What {@link walkManifests} found. */
export interface WalkResult {
  readonly entries: BundleEntry[];
  readonly skipped: SkippedFile[];
  readonly problems: BundleProblem[];
}

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;
const HELM_CHART_FOLDERS = new Set(['templates', 'charts', 'crds']);

/** The `.sourceignore` files that apply to a folder, each relative to its own folder. */
class IgnoreRules {
  readonly #rules: { readonly base: string; readonly rules: Ignore }[] = [];

  /** Adds the ignore file of `rel` (artifact-relative), if it has one. */
  async addFolder(dir: string, rel: string): Promise<void> {
    const path = join(dir, rel, IGNORE_FILE);
    if (!(await lstat(path).catch(() => undefined))?.isFile()) return;
    this.#rules.push({ base: rel, rules: ignore().add(await readFile(path, 'utf8')) });
  }

  ignores(rel: string, isDir: boolean): boolean {
    return this.#rules.some(({ base, rules }) => {
      if (base !== '.' && !rel.startsWith(`${base}/`)) return false;
      const sub = base === '.' ? rel : rel.slice(base.length + 1);
      return rules.ignores(isDir ? `${sub}/` : sub);
    });
  }
}

/** Code-unit order, not locale order: the same on every machine. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Walks `folder` (artifact-relative) of the artifact at `dir`. The ignore files of
 * the artifact root and of every folder down to `folder` apply, then those met on
 * the way. Entries come sorted by path; a kustomization sorts by its file's path.
 */
export async function walkManifests(dir: string, folder: string): Promise<WalkResult> {
  const out: WalkResult = { entries: [], skipped: [], problems: [] };
  const rules = new IgnoreRules();
  const parts = folder === '.' ? [] : folder.split('/');
  for (let i = 0; i <= parts.length; i++) await rules.addFolder(dir, i === 0 ? '.' : parts.slice(0, i).join('/'));

  const walk = async (relDir: string): Promise<void> => {
    if (relDir !== folder) await rules.addFolder(dir, relDir);
    const entries = (await readdir(join(dir, relDir), { withFileTypes: true })).sort((a, b) => byCodeUnits(a.name, b.name));
    const helmChart = entries.some((e) => e.name === 'Chart.yaml' && e.isFile());
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const rel = relDir === '.' ? entry.name : posix.join(relDir, entry.name);
      const isDir = entry.isDirectory();
      if (!isDir && !MANIFEST_EXTENSIONS.test(entry.name)) continue;
      if (rules.ignores(rel, isDir)) {
        out.skipped.push({ file: isDir ? `${rel}/` : rel, why: `named in ${IGNORE_FILE}` });
      } else if (isDir && entry.name === 'node_modules') {
        out.skipped.push({ file: `${rel}/`, why: 'npm dependencies' });
      } else if (isDir && helmChart && HELM_CHART_FOLDERS.has(entry.name)) {
        out.skipped.push({ file: `${rel}/`, why: 'part of a Helm chart: render it with helm template in CI and push the output' });
      } else if (isDir) {
        const kustomization = await findKustomization(join(dir, rel));
        if (kustomization === undefined) await walk(rel);
        else out.entries.push({ kind: 'kustomization', dir: rel, file: posix.join(rel, kustomization) });
      } else if (entry.isSymbolicLink()) {
        out.problems.push(problem('SymlinkNotFollowed', 'manifest files must not be symbolic links', { file: rel }));
      } else if (entry.isFile()) {
        out.entries.push({ kind: 'file', file: rel });
      }
    }
  };
  await walk(folder);
  out.entries.sort((a, b) => byCodeUnits(a.file, b.file));
  return out;
}
