/**
 * `drift.ignore`: fields of managed objects that someone else owns (an HPA owns
 * a Deployment's `/spec/replicas`). Trellis never changes them once the object
 * exists, and their changes are not drift.
 *
 * Why the live value is sent back rather than the field being left out: with
 * server-side apply, a field the `trellis` manager set earlier and now omits is
 * *removed* (and then defaulted: `replicas` would drop back to 1) unless another
 * manager also owns it. Sending the live value keeps whatever is there in every
 * case — owned by us, by someone else, or by both — so an apply never changes an
 * ignored field. On creation there is no live value and the package's value is
 * the starting point.
 */
import { cloneData } from '../bundle/object.ts';
import { getAtPointer, parsePointer, replaceAtPointer } from '../bundle/pointer.ts';

/** Which objects a rule applies to; every field given must match, absent fields match anything. */
export interface IgnoreTarget {
  /** API group; `''` is the core group. */
  readonly group?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/** One `drift.ignore` entry of a Package. */
export interface IgnoreRule {
  /** JSON pointers (RFC 6901), e.g. `/spec/replicas`. */
  readonly paths: readonly string[];
  /** Absent: every object of the Package. */
  readonly target?: IgnoreTarget;
}

/** The identity fields a rule is matched against. */
export interface IgnorableObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

/** A rule whose path is not a JSON pointer (thrown by {@link validateIgnoreRules}). */
export class InvalidIgnoreRuleError extends Error {
  override readonly name = 'InvalidIgnoreRuleError';
}

function groupOf(apiVersion: string | undefined): string {
  if (apiVersion === undefined) return '';
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Throws {@link InvalidIgnoreRuleError} for a rule without paths or with a path that is not a JSON pointer. */
export function validateIgnoreRules(rules: readonly IgnoreRule[]): void {
  rules.forEach((rule, i) => {
    if (rule.paths.length === 0) throw new InvalidIgnoreRuleError(`drift.ignore[${i}] lists no paths`);
    for (const path of rule.paths) {
      if (path === '') throw new InvalidIgnoreRuleError(`drift.ignore[${i}]: the empty pointer would ignore the whole object`);
      try {
        parsePointer(path);
      } catch (err) {
        throw new InvalidIgnoreRuleError(`drift.ignore[${i}]: ${(err as Error).message}`);
      }
    }
  });
}

/** Whether `rule` applies to `obj`. */
export function ruleApplies(rule: IgnoreRule, obj: IgnorableObject): boolean {
  const t = rule.target;
  if (!t) return true;
  return (t.group === undefined || t.group === groupOf(obj.apiVersion))
    && (t.kind === undefined || t.kind === obj.kind)
    && (t.name === undefined || t.name === obj.metadata?.name)
    && (t.namespace === undefined || t.namespace === (obj.metadata?.namespace ?? ''));
}

/** The ignored paths of `obj` (the paths of every rule that applies to it), de-duplicated. */
export function ignoredPaths(obj: IgnorableObject, rules: readonly IgnoreRule[]): string[] {
  return [...new Set(rules.filter((r) => ruleApplies(r, obj)).flatMap((r) => r.paths))];
}

/** Whether `path` is one of `ignored` or lies under one of them. */
export function isIgnored(path: string, ignored: readonly string[]): boolean {
  const tokens = parsePointer(path);
  return ignored.some((p) => {
    const prefix = parsePointer(p);
    return prefix.length <= tokens.length && prefix.every((t, i) => t === tokens[i]);
  });
}

/** Removes the value at `pointer` from `doc` (when its parent exists). */
function removeAtPointer(doc: unknown, pointer: string): void {
  const tokens = parsePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) return;
  const parent = tokens.length === 0 ? doc : getAtPointer(doc, `/${tokens.map(escapeToken).join('/')}`);
  if (Array.isArray(parent)) {
    if (/^(0|[1-9][0-9]*)$/.test(last) && Number(last) < parent.length) parent.splice(Number(last), 1);
  } else if (typeof parent === 'object' && parent !== null) {
    delete (parent as Record<string, unknown>)[last];
  }
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The object to apply: a copy of `desired` in which every ignored path that
 * `desired` sets carries the live value instead (or is left out, when the live
 * object does not have it). With no live object (creation), `desired` is
 * returned unchanged (as a copy).
 */
export function applyIgnoreRules<T extends IgnorableObject>(desired: T, live: IgnorableObject | undefined,
  rules: readonly IgnoreRule[]): T {
  const copy = cloneData(desired);
  if (live === undefined) return copy;
  for (const path of ignoredPaths(desired, rules)) {
    if (getAtPointer(copy, path) === undefined) continue;
    const liveValue = getAtPointer(live, path);
    if (liveValue === undefined) removeAtPointer(copy, path);
    else replaceAtPointer(copy, path, cloneData(liveValue));
  }
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function collectDrift(desired: unknown, live: unknown, path: string, out: string[]): void {
  if (isRecord(desired)) {
    if (!isRecord(live)) { out.push(path); return; }
    for (const key of Object.keys(desired).sort()) collectDrift(desired[key], live[key], `${path}/${escapeToken(key)}`, out);
    return;
  }
  if (Array.isArray(desired)) {
    // The apiserver owns a list as a whole or by key: a different length is a change of the list.
    if (!Array.isArray(live) || live.length !== desired.length) { out.push(path); return; }
    desired.forEach((item, i) => collectDrift(item, live[i], `${path}/${i}`, out));
    return;
  }
  if (desired !== live) out.push(path);
}

/**
 * The JSON pointers of fields that `desired` sets and `live` has differently (or
 * not at all), leaving out ignored paths; `['']` when there is no live object.
 * Fields only `live` has (defaults, other managers' fields) are not drift.
 * Comparison is literal, so a value the apiserver normalizes (`0.5` CPU read
 * back as `500m`) reports as drift: for decisions, the dry-run comparison of the
 * apply engine is the reference; this is for messages.
 */
export function driftedPaths(desired: IgnorableObject, live: IgnorableObject | undefined, rules: readonly IgnoreRule[]): string[] {
  if (live === undefined) return [''];
  const ignored = ignoredPaths(desired, rules);
  const out: string[] = [];
  collectDrift(desired, live, '', out);
  return out.filter((p) => !isIgnored(p, ignored));
}
