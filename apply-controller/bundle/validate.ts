/**
 * Validation of every object before anything is written: each rule the apiserver
 * or the tenancy model would enforce halfway through an apply is checked up front,
 * and every violation is reported, not just the first.
 */
import { annotationCheck } from '../health/checks.ts';
import { DEFAULT_PHASE, PHASE_ANNOTATION } from './format.ts';
import { describeSource, groupOf, isPlainObject, refOf, type SourcedObject } from './object.ts';
import { problem, type BundleProblem } from './problems.ts';
import { isCRD, type ScopeOf } from './scope.ts';

/** Options for {@link validateObjects}. */
export interface ValidateOptions {
  readonly scopeOf: ScopeOf;
  /**
   * The phases package.yaml declares; undefined for a plain folder (which has no
   * phases, so only `default` may be named there).
   */
  readonly phases?: readonly string[];
  /** Skip the phase check (the declared phases are unknown because package.yaml is invalid). */
  readonly phasesUnknown?: boolean;
  /**
   * Restricts the Package to one namespace: namespaced objects must be in it and
   * cluster-scoped objects are refused.
   */
  readonly restrictToNamespace?: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const API_VERSION = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[a-z]([-a-z0-9]*[a-z0-9])?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

/** Why `name` is not a valid name for objects of `group`/`kind`, or undefined when it is. */
export function nameProblem(group: string, kind: string, name: string): string | undefined {
  if (group === 'rbac.authorization.k8s.io') {
    // RBAC names are path segments (`system:controller:foo` is valid).
    if (name === '.' || name === '..' || /[/%]/.test(name)) return 'may not be "." or ".." or contain "/" or "%"';
    return undefined;
  }
  if (group === '' && kind === 'Namespace') {
    return name.length <= 63 && DNS1123_LABEL.test(name) ? undefined
      : 'must be a DNS-1123 label (at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit)';
  }
  if (group === '' && kind === 'Service') {
    return name.length <= 63 && DNS1035_LABEL.test(name) ? undefined
      : 'must be a DNS-1035 label (at most 63 lowercase letters, digits and "-", starting with a letter)';
  }
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name) ? undefined
    : 'must be a DNS-1123 subdomain (at most 253 lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)';
}

/**
 * Checks the objects (after placements and namespaces were applied) and returns
 * every problem: missing or malformed apiVersion/kind/name, invalid names and
 * namespaces, `ownerReferences`, kinds nobody serves, namespaces the Package may
 * not write to, undeclared phases, health check annotations that do not
 * compile, and duplicates (same group, kind, namespace and name).
 */
export function validateObjects(objects: readonly SourcedObject[], options: ValidateOptions): BundleProblem[] {
  const problems: BundleProblem[] = [];
  const seen = new Map<string, SourcedObject>();
  for (const entry of objects) {
    const { object, source } = entry;
    const ref = refOf(object);
    const report = (reason: BundleProblem['reason'], detail: string): void => {
      problems.push(problem(reason, detail, { source, object: ref }));
    };
    const { apiVersion, kind, name } = ref;
    if (object.apiVersion === undefined || object.apiVersion === '') report('MissingAPIVersion', 'apiVersion is not set');
    else if (typeof apiVersion !== 'string' || !API_VERSION.test(apiVersion)) report('MissingAPIVersion', `apiVersion ${JSON.stringify(object.apiVersion)} is not of the form <group>/<version> or <version>`);
    if (object.kind === undefined || object.kind === '') report('MissingKind', 'kind is not set');
    else if (typeof kind !== 'string' || !KIND.test(kind)) report('MissingKind', `kind ${JSON.stringify(object.kind)} is not a kind name`);
    const meta = isPlainObject(object.metadata) ? object.metadata : undefined;
    if (name === undefined || name === '') {
      report('MissingName', meta?.generateName === undefined ? 'metadata.name is not set'
        : 'metadata.name is not set (generateName cannot be applied: it would create a new object on every apply)');
    }
    if (apiVersion === undefined || kind === undefined || !API_VERSION.test(apiVersion) || !KIND.test(kind)) continue;
    const group = groupOf(apiVersion);
    if (name) {
      const why = nameProblem(group, kind, name);
      if (why) report('InvalidName', `metadata.name "${name}" ${why}`);
    }
    if (isCRD(object)) checkCRDName(object, name, report);
    if (meta?.namespace !== undefined && (typeof meta.namespace !== 'string' || (meta.namespace !== '' && !DNS1123_LABEL.test(meta.namespace)))) {
      report('InvalidName', `metadata.namespace ${JSON.stringify(meta.namespace)} must be a DNS-1123 label`);
    }
    if (meta?.ownerReferences !== undefined) {
      report('OwnerReferencesSet', 'metadata.ownerReferences must not be set in a manifest (owners are set by the cluster; the apply controller owns what it applies)');
    }
    if (!options.phasesUnknown) checkPhase(meta, options.phases, report);
    const healthProblem = annotationCheck(object)?.problem;
    if (healthProblem !== undefined) report('InvalidHealthCheck', healthProblem);
    const scope = options.scopeOf(apiVersion, kind);
    if (!scope.known) {
      report('UnknownKind', scope.detail);
    } else if (!scope.namespaced) {
      if (options.restrictToNamespace !== undefined) {
        report('ClusterScopedNotAllowed', `${kind} is cluster-scoped, and this Package may only write to namespace ${options.restrictToNamespace}`);
      }
    } else if (ref.namespace === undefined) {
      report('NamespaceMissing', 'metadata.namespace is not set, and neither targetNamespace nor a default namespace is');
    } else if (options.restrictToNamespace !== undefined && ref.namespace !== options.restrictToNamespace) {
      report('NamespaceNotAllowed', `namespace ${ref.namespace} is not allowed, this Package may only write to namespace ${options.restrictToNamespace}`);
    }
    if (name) {
      const key = `${group}/${kind}/${ref.namespace ?? ''}/${name}`;
      const first = seen.get(key);
      if (first) report('DuplicateObject', `also defined in ${describeSource(first.source)} (same group, kind, namespace and name)`);
      else seen.set(key, entry);
    }
  }
  return problems;
}

type Report = (reason: BundleProblem['reason'], detail: string) => void;

function checkPhase(meta: Record<string, unknown> | undefined, phases: readonly string[] | undefined, report: Report): void {
  const annotations = meta?.annotations;
  if (annotations !== undefined && !isPlainObject(annotations)) {
    report('UndeclaredPhase', 'metadata.annotations must be a map of strings');
    return;
  }
  const phase = annotations?.[PHASE_ANNOTATION];
  if (phase === undefined || phase === DEFAULT_PHASE) return;
  if (typeof phase !== 'string') report('UndeclaredPhase', `the ${PHASE_ANNOTATION} annotation must be a string`);
  else if (phases === undefined) report('UndeclaredPhase', `phase "${phase}" is not declared: only a bundle with a package.yaml has phases`);
  else if (!phases.includes(phase)) {
    report('UndeclaredPhase', `phase "${phase}" is not declared in package.yaml (declared: ${phases.length > 0 ? phases.join(', ') : 'none'})`);
  }
}

function checkCRDName(crd: Record<string, unknown>, name: string | undefined, report: Report): void {
  const spec = isPlainObject(crd.spec) ? crd.spec : undefined;
  const names = isPlainObject(spec?.names) ? spec.names : undefined;
  if (typeof spec?.group !== 'string' || typeof names?.plural !== 'string' || typeof names.kind !== 'string') {
    report('InvalidName', 'a CustomResourceDefinition needs spec.group, spec.names.plural and spec.names.kind');
    return;
  }
  const expected = `${names.plural}.${spec.group}`;
  if (name !== undefined && name !== expected) report('InvalidName', `metadata.name must be "${expected}" (<spec.names.plural>.<spec.group>)`);
}
