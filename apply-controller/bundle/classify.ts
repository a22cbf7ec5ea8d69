/**
 * Telling Kubernetes manifests from the other YAML and JSON files a repository
 * holds (`package.json`, Helm `values.yaml` and `Chart.yaml`, CI workflows,
 * `tsconfig.json`, Kustomize files), so a plain folder can be applied as it is:
 * the others are skipped with a note, never applied and never a failure.
 *
 * A file is a manifest when one of its documents looks like an object: it has
 * `apiVersion` and `kind`, or `metadata` with either (a manifest missing one of
 * them is still a manifest, and fails validation naming the file). A file that is
 * not valid YAML is a manifest only when its text has top-level `apiVersion:` and
 * `kind:` keys, so a broken manifest still fails the revision; other unreadable
 * files (a templated file, JSON with comments) are skipped.
 */
import { parseAllDocuments } from 'yaml';
import { isPlainObject } from './object.ts';

/** Whether to read a file as manifests, or why it is skipped. */
export type FileKind = { readonly manifest: true } | { readonly manifest: false; readonly why: string };

const KUSTOMIZE_GROUP = /^kustomize\.config\.k8s\.io\//;
const YAML_TOP_LEVEL_KEYS = [/^apiVersion\s*:/m, /^kind\s*:/m];
const JSON_KEYS = [/"apiVersion"\s*:/, /"kind"\s*:/];

/** Classifies the text of a `*.yaml`, `*.yml` or `*.json` file. */
export function classifyFile(text: string, fileName: string): FileKind {
  const docs = parseAllDocuments(text, { uniqueKeys: false, version: '1.2' });
  const list = Array.isArray(docs) ? docs : [];
  if (list.some((d) => d.errors.length > 0)) {
    const keys = fileName.toLowerCase().endsWith('.json') ? JSON_KEYS : YAML_TOP_LEVEL_KEYS;
    if (keys.every((k) => k.test(text))) return { manifest: true };
    return { manifest: false, why: text.includes('{{') ? 'a template, not a manifest (render it in CI)' : 'not YAML or JSON that parses, and no apiVersion and kind' };
  }
  let kustomize = false;
  for (const doc of list) {
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch {
      return { manifest: true }; // an alias bomb is not skipped quietly: the parser reports it
    }
    if (!isPlainObject(value)) continue;
    if (typeof value.apiVersion === 'string' && KUSTOMIZE_GROUP.test(value.apiVersion)) {
      kustomize = true;
      continue;
    }
    if (looksLikeObject(value)) return { manifest: true };
  }
  if (kustomize) return { manifest: false, why: 'a Kustomize configuration file, not an object for the cluster' };
  return { manifest: false, why: 'no document has apiVersion and kind' };
}

function looksLikeObject(value: Record<string, unknown>): boolean {
  const hasVersion = value.apiVersion !== undefined;
  const hasKind = value.kind !== undefined;
  if (hasVersion && hasKind) return true;
  return (hasVersion || hasKind) && isPlainObject(value.metadata);
}
