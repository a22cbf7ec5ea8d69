/**
 * What is wrong with a bundle. Loading and validation collect every problem they
 * find instead of stopping at the first, so one failed reconcile tells the user
 * everything to fix; the reconciler turns the list into a Stalled condition.
 */
import { describeRef, describeSource, type ObjectRef, type ObjectSource } from './object.ts';

/** Why a bundle was refused. Each is a CamelCase reason usable in a condition. */
export type BundleProblemReason =
  /** `spec.path` does not exist in the artifact, or escapes it. */
  | 'PathNotFound'
  /** A manifest file is larger than the loader accepts. */
  | 'FileTooLarge'
  /** A manifest file is a symbolic link (links are never followed). */
  | 'SymlinkNotFollowed'
  /** YAML or JSON that does not parse (duplicate keys and alias bombs included). */
  | 'InvalidYAML'
  /** A document or List item that is not an object, or holds non-JSON values. */
  | 'NotAnObject'
  /** `package.yaml` does not follow the package manifest format. */
  | 'InvalidPackageManifest'
  | 'MissingAPIVersion'
  | 'MissingKind'
  | 'MissingName'
  /** A name or namespace that the apiserver would refuse. */
  | 'InvalidName'
  /** Two objects with the same group, kind, namespace and name. */
  | 'DuplicateObject'
  /** `metadata.ownerReferences` in a manifest (the cluster sets those). */
  | 'OwnerReferencesSet'
  /** A namespaced object with no namespace, no targetNamespace and no default. */
  | 'NamespaceMissing'
  /** A namespaced object outside the namespace the Package is restricted to. */
  | 'NamespaceNotAllowed'
  /** A cluster-scoped object in a Package restricted to its namespace. */
  | 'ClusterScopedNotAllowed'
  /** A kind the cluster does not serve, and that no CRD in the bundle defines. */
  | 'UnknownKind'
  /** The `apply.trellis.dev/phase` annotation names a phase package.yaml does not declare. */
  | 'UndeclaredPhase'
  /** The merged values fail the package's values schema. */
  | 'InvalidValues'
  /** A placement names a file, object or path that is not in the bundle. */
  | 'InvalidPlacement'
  /** A `health.trellis.dev/current` (`failed`, `message`) annotation whose CEL expression does not compile. */
  | 'InvalidHealthCheck'
  /** A kustomization asks for what is never done for it: a remote base, a plugin, a file outside the artifact, Helm. */
  | 'KustomizeRefused'
  /** `kustomize build` failed, ran past its time limit or printed more than allowed. */
  | 'KustomizeFailed'
  /** The path holds a kustomization, and the `kustomize` binary is not there to render it. */
  | 'KustomizeNotAvailable'
  /** The program of a program bundle failed, broke a sandbox limit, or returned something malformed. */
  | 'RenderFailed'
  /** A program bundle where the controller forbids them (`--no-program-bundles`). */
  | 'ProgramNotAllowed'
  /** The sandbox itself failed while rendering (not the program): worth another try. */
  | 'RenderCrashed';

/** One thing wrong with a bundle. `message` is complete on its own (it names file and object). */
export interface BundleProblem {
  readonly reason: BundleProblemReason;
  /** Names the file and the object, e.g. `manifests/web.yaml: Deployment web: metadata.name ...`. */
  readonly message: string;
  /** The file, relative to the artifact root, when the problem is in one. */
  readonly file?: string;
  /** The object, when the problem is about one. */
  readonly object?: ObjectRef;
  /** 1-based line and column, for syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

/** Where a problem is, as far as known. */
export interface ProblemLocation {
  readonly source?: ObjectSource;
  readonly file?: string;
  readonly object?: ObjectRef;
  readonly line?: number;
  readonly column?: number;
}

/** Builds a problem whose message is prefixed with the file and object it is about. */
export function problem(reason: BundleProblemReason, detail: string, where: ProblemLocation = {}): BundleProblem {
  const prefix: string[] = [];
  const file = where.source?.file ?? where.file;
  if (where.source) prefix.push(describeSource(where.source));
  else if (where.file) prefix.push(where.file);
  if (where.line !== undefined) prefix.push(`line ${where.line}, column ${where.column ?? 1}`);
  if (where.object && (where.object.kind !== undefined || where.object.name !== undefined)) {
    prefix.push(describeRef(where.object));
  }
  const out: { -readonly [K in keyof BundleProblem]: BundleProblem[K] } = {
    reason,
    message: prefix.length === 0 ? detail : `${prefix.join(': ')}: ${detail}`,
  };
  if (file !== undefined) out.file = file;
  if (where.object !== undefined) out.object = where.object;
  if (where.line !== undefined) out.line = where.line;
  if (where.column !== undefined) out.column = where.column;
  return out;
}

/**
 * One message for a condition: the first `max` problems, then how many more.
 * Messages never carry values (only paths and schema keywords), so Secret-sourced
 * values cannot leak through them.
 */
export function summarizeProblems(problems: readonly BundleProblem[], max = 10): string {
  const shown = problems.slice(0, max).map((p) => p.message);
  const rest = problems.length - shown.length;
  return rest > 0 ? `${shown.join('; ')}; and ${rest} more` : shown.join('; ');
}

/**
 * The typed error for callers that prefer throwing: it carries every problem.
 * `errors` holds them all; `reason` is the first one's reason (what a Stalled condition shows).
 */
export class BundleValidationError extends Error {
  override readonly name = 'BundleValidationError';
  readonly reason: BundleProblemReason;
  readonly errors: readonly BundleProblem[];

  constructor(problems: readonly BundleProblem[]) {
    const first = problems[0];
    if (first === undefined) throw new RangeError('BundleValidationError needs at least one problem');
    super(summarizeProblems(problems));
    this.reason = first.reason;
    this.errors = problems;
  }
}
