/**
 * Telling Kubernetes manifests from the other YAML and JSON files a repository
 * holds (`package.json`, Helm `values.yaml` and `Chart.yaml`, CI workflows,
 * `tsconfig.json`, Kustomize files), so a plain folder can be applied as it is:
 * the others are skipped with a note, never applied and never a failure.
 *
 * A file is a manifest when one of its objects looks like one: it has
 * `apiVersion` and `kind`, or `metadata` with either (a manifest missing one of
 * them is still a manifest, and fails validation naming the file). A file that is
 * not valid YAML is a manifest only when its text has top-level `apiVersion:` and
 * `kind:` keys, so a broken manifest still fails the revision; other unreadable
 * files (a templated file, JSON with comments) are skipped. The decision is made
 * on the parser's own result, so each file is parsed once.
 */
import { isPlainObject } from './object.ts';
import { parseManifests, type ParsedFile } from './parse.ts';

/** Whether to read a file as manifests, or why it is skipped. */
export type FileKind = { readonly manifest: true } | { readonly manifest: false; readonly why: string };

const KUSTOMIZE_GROUP = /^kustomize\.config\.k8s\.io\//;
const YAML_TOP_LEVEL_KEYS = [/^apiVersion\s*:/m, /^kind\s*:/m];
const JSON_KEYS = [/"apiVersion"\s*:/, /"kind"\s*:/];
const LIST_KIND = /^kind:\s*[A-Za-z]*List\s*$/m;

/** Classifies a file from what {@link parseManifests} made of its text. */
export function classifyParsed(parsed: ParsedFile, text: string, fileName: string): FileKind {
  let kustomize = false;
  for (const { object } of parsed.objects) {
    if (typeof object.apiVersion === 'string' && KUSTOMIZE_GROUP.test(object.apiVersion)) kustomize = true;
    else if (looksLikeObject(object)) return { manifest: true };
  }
  // A List's items were flattened: an empty List, or one with bad items, is still a manifest.
  if (LIST_KIND.test(text) && YAML_TOP_LEVEL_KEYS[0]!.test(text)) return { manifest: true };
  if (parsed.errors.some((e) => e.reason === 'InvalidYAML')) {
    const keys = fileName.toLowerCase().endsWith('.json') ? JSON_KEYS : YAML_TOP_LEVEL_KEYS;
    if (keys.every((k) => k.test(text))) return { manifest: true };
    return { manifest: false, why: text.includes('{{') ? 'a template, not a manifest (render it in CI)' : 'not YAML or JSON that parses, and no apiVersion and kind' };
  }
  if (kustomize) return { manifest: false, why: 'a Kustomize configuration file, not an object for the cluster' };
  return { manifest: false, why: 'no document has apiVersion and kind' };
}

/** Classifies the text of a `*.yaml`, `*.yml` or `*.json` file (parsing it). */
export function classifyFile(text: string, fileName: string): FileKind {
  return classifyParsed(parseManifests(text, fileName), text, fileName);
}

function looksLikeObject(value: Record<string, unknown>): boolean {
  const hasVersion = value.apiVersion !== undefined;
  const hasKind = value.kind !== undefined;
  if (hasVersion && hasKind) return true;
  return (hasVersion || hasKind) && isPlainObject(value.metadata);
}
