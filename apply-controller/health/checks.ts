/**
 * User-defined health checks: for custom resources whose readiness kstatus
 * cannot read (a `status.phase`, an `Available` condition), a package says in
 * CEL when an object of a kind is Current and when it has Failed.
 *
 * Checks come from three places, the first that matches an object deciding:
 * the object's own annotations (`health.trellis.dev/current`, `.../failed`,
 * `.../message`), the Package's `spec.healthChecks`, the bundle's
 * `healthChecks` (package.yaml); without one the kstatus rules decide. They are
 * compiled once (bundle validation, spec validation) and only evaluated when
 * objects are looked at. An evaluation error (a field not there yet) is
 * InProgress with the error as its message, never a crash.
 */
import { compileExpression, evaluateExpression, InvalidExpressionError, type CompiledExpression } from './cel.ts';
import { annotation, health, section, type ClusterObject, type Health } from './status.ts';
import { describeWhen, whenToCel, type HealthWhen } from './when.ts';

/** Annotation: a CEL bool expression; the object is Current when it holds. */
export const CURRENT_ANNOTATION = 'health.trellis.dev/current';
/** Annotation: a CEL bool expression; the object has Failed when it holds (read before `current`). */
export const FAILED_ANNOTATION = 'health.trellis.dev/failed';
/** Annotation: a CEL expression for the verdict's message. */
export const MESSAGE_ANNOTATION = 'health.trellis.dev/message';
/** {@link HealthCheck.origin} of a check read from an object's annotations. */
const ANNOTATIONS_ORIGIN = 'annotations';
/** The most checks one list (a bundle's, a Package's) may hold. */
export const MAX_HEALTH_CHECKS = 64;

/** A health check as written in package.yaml or a Package spec. */
export interface HealthCheckSpec {
  /** The objects' apiVersion; only its group is compared (`example.com/v1` matches every version). */
  readonly apiVersion?: string;
  /** The objects' API group (`""`: the core group); an alternative to `apiVersion`. Neither: any group. */
  readonly group?: string;
  readonly kind: string;
  /** Only the object of this name; absent: every object of the kind. */
  readonly name?: string;
  /** CEL, a bool: the object is Current when it holds. Exactly one of `current` and `currentWhen`. */
  readonly current?: string;
  /** The declarative form of `current`: conditions and field equalities that must all hold. */
  readonly currentWhen?: HealthWhen;
  /** CEL, a bool: the object has Failed when it holds; evaluated first. At most one of `failed` and `failedWhen`. */
  readonly failed?: string;
  /** The declarative form of `failed`. */
  readonly failedWhen?: HealthWhen;
  /** CEL, a string: the message of the verdict. */
  readonly message?: string;
}

/** A compiled health check. */
export interface HealthCheck {
  /** Where it was written, for messages: `spec.healthChecks[0]`, `package.yaml healthChecks[1]`, an annotation. */
  readonly origin: string;
  /** The group to match; undefined: any. */
  readonly group?: string;
  /** The kind to match; undefined: the object the check was read from (annotations). */
  readonly kind?: string;
  readonly name?: string;
  readonly current: CompiledExpression;
  readonly failed?: CompiledExpression;
  readonly message?: CompiledExpression;
  /** How messages name `current` and `failed` when they were written in the declarative form. */
  readonly currentText?: string;
  readonly failedText?: string;
}

/** Health checks in the order they are tried: the Package's first, then the bundle's. */
export type HealthChecks = readonly HealthCheck[];

/** The outcome of {@link compileHealthChecks}: the checks, or every problem (each naming its field). */
export type CompiledHealthChecks =
  | { readonly ok: true; readonly checks: HealthChecks }
  | { readonly ok: false; readonly problems: readonly string[] };

function groupOfApiVersion(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function compileField(source: unknown, result: 'bool' | 'string', at: string, problems: string[]): CompiledExpression | undefined {
  if (source === undefined) return undefined;
  if (typeof source !== 'string') {
    problems.push(`${at} must be a string holding a CEL expression`);
    return undefined;
  }
  try {
    return compileExpression(source, result);
  } catch (err) {
    if (!(err instanceof InvalidExpressionError)) throw err;
    problems.push(`${at}: ${err.message}`);
    return undefined;
  }
}

/**
 * Compiles one check written at `at` (`spec.healthChecks[2]`), adding what is
 * wrong with it to `problems`; undefined when its `current` does not compile.
 */
export function compileHealthCheck(spec: HealthCheckSpec, at: string, problems: string[]): HealthCheck | undefined {
  if (typeof spec.kind !== 'string' || spec.kind === '') problems.push(`${at}.kind is required`);
  if (spec.apiVersion !== undefined && spec.group !== undefined) problems.push(`${at}: give apiVersion or group, not both`);
  if ((spec.current === undefined) === (spec.currentWhen === undefined)) problems.push(`${at}: give exactly one of current and currentWhen`);
  if (spec.failed !== undefined && spec.failedWhen !== undefined) problems.push(`${at}: give failed or failedWhen, not both`);
  const current = compileField(spec.current, 'bool', `${at}.current`, problems) ?? compileWhen(spec.currentWhen, `${at}.currentWhen`, problems);
  const failed = compileField(spec.failed, 'bool', `${at}.failed`, problems) ?? compileWhen(spec.failedWhen, `${at}.failedWhen`, problems);
  const message = compileField(spec.message, 'string', `${at}.message`, problems);
  if (current === undefined) return undefined;
  const group = spec.apiVersion !== undefined ? groupOfApiVersion(spec.apiVersion) : spec.group;
  return {
    origin: at, kind: spec.kind, current,
    ...(group === undefined ? {} : { group }),
    ...(spec.name === undefined ? {} : { name: spec.name }),
    ...(failed ? { failed } : {}),
    ...(message ? { message } : {}),
    ...(spec.currentWhen ? { currentText: describeWhen(spec.currentWhen) } : {}),
    ...(spec.failedWhen ? { failedText: describeWhen(spec.failedWhen) } : {}),
  };
}

/** Generated expressions are longer than people's, but bounded by the entry counts of a `*When`. */
const MAX_GENERATED_LENGTH = 32 * 1024;

function compileWhen(when: HealthWhen | undefined, at: string, problems: string[]): CompiledExpression | undefined {
  if (when === undefined) return undefined;
  try {
    return compileExpression(whenToCel(when, at), 'bool', MAX_GENERATED_LENGTH);
  } catch (err) {
    if (!(err instanceof InvalidExpressionError)) throw err;
    problems.push(err.message.startsWith(at) ? err.message : `${at}: ${err.message}`);
    return undefined;
  }
}

/**
 * Compiles a list of checks; `field` names the list in problems
 * (`spec.healthChecks` gives `spec.healthChecks[0].current: unknown function "foo"`).
 * Every problem of every entry is reported.
 */
export function compileHealthChecks(specs: readonly HealthCheckSpec[] | undefined, field: string): CompiledHealthChecks {
  const list = specs ?? [];
  const problems: string[] = [];
  if (list.length > MAX_HEALTH_CHECKS) problems.push(`${field} has ${list.length} checks; at most ${MAX_HEALTH_CHECKS} are allowed`);
  const checks: HealthCheck[] = [];
  list.forEach((spec, i) => {
    const check = compileHealthCheck(spec, `${field}[${i}]`, problems);
    if (check) checks.push(check);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, checks };
}

/** The bundle's own checks (package.yaml `healthChecks`) are named so in messages. */
export const BUNDLE_CHECKS_FIELD = 'package.yaml healthChecks';

/**
 * The checks in the order they are tried: the Package's (compiled when its
 * spec was validated), then the bundle's. The bundle's were compiled when it
 * was validated; compiling again here hits the expression cache.
 */
export function combineHealthChecks(packageChecks: HealthChecks | undefined, bundleChecks: readonly HealthCheckSpec[] | undefined): HealthChecks {
  const bundle = compileHealthChecks(bundleChecks, BUNDLE_CHECKS_FIELD);
  if (!bundle.ok) throw new InvalidExpressionError(`the bundle's health checks were not validated: ${bundle.problems.join('; ')}`);
  return [...(packageChecks ?? []), ...bundle.checks];
}

/** The outcome of {@link annotationCheck}. */
export type AnnotationCheck =
  | { readonly check: HealthCheck; readonly problem?: undefined }
  | { readonly problem: string; readonly check?: undefined };

/**
 * The check an object carries in its annotations, a problem when they do not
 * compile (or give `failed`/`message` without `current`), or undefined when
 * it carries none. Bundle validation calls it to refuse a bad one before
 * anything is applied.
 */
export function annotationCheck(obj: ClusterObject): AnnotationCheck | undefined {
  const current = annotation(obj, CURRENT_ANNOTATION);
  const failed = annotation(obj, FAILED_ANNOTATION);
  const message = annotation(obj, MESSAGE_ANNOTATION);
  if (current === undefined) {
    if (failed === undefined && message === undefined) return undefined;
    return { problem: `annotation ${failed === undefined ? MESSAGE_ANNOTATION : FAILED_ANNOTATION} needs ${CURRENT_ANNOTATION} too` };
  }
  const problems: string[] = [];
  const compiled = {
    current: compileField(current, 'bool', `annotation ${CURRENT_ANNOTATION}`, problems),
    failed: compileField(failed, 'bool', `annotation ${FAILED_ANNOTATION}`, problems),
    message: compileField(message, 'string', `annotation ${MESSAGE_ANNOTATION}`, problems),
  };
  if (problems.length > 0 || compiled.current === undefined) return { problem: problems.join('; ') };
  return {
    check: {
      origin: ANNOTATIONS_ORIGIN, current: compiled.current,
      ...(compiled.failed ? { failed: compiled.failed } : {}),
      ...(compiled.message ? { message: compiled.message } : {}),
    },
  };
}

function kindMatches(check: HealthCheck, obj: ClusterObject): boolean {
  if (check.kind !== undefined && check.kind !== obj.kind) return false;
  if (check.group !== undefined && check.group !== groupOfApiVersion(String(obj.apiVersion))) return false;
  return check.name === undefined || check.name === section(obj, 'metadata').name;
}

/** The first of `checks` that applies to `obj`. */
export function checkFor(checks: HealthChecks, obj: ClusterObject): HealthCheck | undefined {
  return checks.find((c) => kindMatches(c, obj));
}

/** Where one expression of a check was written: `spec.healthChecks[0].failed`, `annotation health.trellis.dev/failed`. */
function fieldOf(check: HealthCheck, part: 'current' | 'failed'): string {
  const declarative = part === 'current' ? check.currentText : check.failedText;
  if (declarative !== undefined) return `${check.origin}.${part}When`;
  if (check.origin !== ANNOTATIONS_ORIGIN) return `${check.origin}.${part}`;
  return `annotation ${part === 'current' ? CURRENT_ANNOTATION : FAILED_ANNOTATION}`;
}

function shorten(source: string): string {
  const flat = source.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

/** The verdict's message: the check's own, or `fallback` (with the message's error when it has one). */
function messageOf(check: HealthCheck, obj: ClusterObject, fallback: string): string {
  if (!check.message) return fallback;
  const text = evaluateExpression(check.message, obj);
  return text.ok ? String(text.value) : `${fallback} (message: ${text.error})`;
}

/**
 * The verdict of `check` on `obj`: Failed when `failed` holds, else Current when
 * `current` holds, else InProgress. An expression that cannot be evaluated (a
 * missing field, a result that is not a bool) makes it InProgress, naming the
 * expression and the error.
 */
export function judgeByCheck(check: HealthCheck, obj: ClusterObject): Health {
  if (check.failed) {
    const failed = evaluateExpression(check.failed, obj);
    const text = check.failedText ?? shorten(check.failed.source);
    if (!failed.ok) return health('InProgress', obj, `cannot evaluate ${fieldOf(check, 'failed')} (${text}): ${failed.error}`);
    if (failed.value === true) return health('Failed', obj, messageOf(check, obj, `failed: ${text}`));
  }
  const current = evaluateExpression(check.current, obj);
  const text = check.currentText ?? shorten(check.current.source);
  if (!current.ok) return health('InProgress', obj, `cannot evaluate ${fieldOf(check, 'current')} (${text}): ${current.error}`);
  if (current.value === true) return health('Current', obj, messageOf(check, obj, 'current by its health check'));
  return health('InProgress', obj, messageOf(check, obj, `waiting for ${text}`));
}

/**
 * The verdict of a user-defined check on `obj`, or undefined when none applies
 * (then kstatus decides): the object's annotations first, then the first of
 * `checks` that matches it. Annotations that do not compile make it Unknown,
 * as a misspelt `wait-for` does, rather than silently judged by kstatus.
 */
export function userHealth(obj: ClusterObject, checks: HealthChecks = []): Health | undefined {
  const own = annotationCheck(obj);
  if (own?.problem !== undefined) return health('Unknown', obj, own.problem);
  const check = own?.check ?? checkFor(checks, obj);
  return check ? judgeByCheck(check, obj) : undefined;
}
