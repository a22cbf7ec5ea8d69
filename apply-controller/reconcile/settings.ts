/**
 * A Package's spec turned into the numbers and choices a reconcile works with:
 * durations in milliseconds (bounded, see {@link PACKAGE_DURATION_LIMITS}), the
 * account it applies as and how far it may reach, drift handling. Pure.
 *
 * Tenancy is locked down unless the controller runs with
 * `--allow-cross-namespace-refs`: a Package that applies as the controller itself
 * (no `serviceAccountName`, no `--default-service-account`) may then write only
 * namespaced objects of its own namespace. A Package with an account reaches as
 * far as that account's RBAC lets it, checked before the first write
 * (reconcile/reach.ts) and by the apiserver on every write.
 */
import type { Package } from '../api.ts';
import { validateIgnoreRules, type IgnoreRule } from '../drift/ignore.ts';
import { compileHealthChecks, type HealthChecks } from '../health/checks.ts';
import { InvalidDurationError, parsePositiveDuration } from '../../runtime/duration.ts';
import { PackageFailure } from './failure.ts';

/** Controller-wide settings that shape every Package (the tenancy flags). */
export interface TenancyFlags {
  /** `--default-service-account`: Packages without `serviceAccountName` apply as this account. */
  readonly defaultServiceAccount?: string | undefined;
  /**
   * `--allow-cross-namespace-refs`: sources and dependencies may be in other
   * namespaces, and Packages applying as the controller may write anywhere (a
   * single-tenant cluster). Off by default.
   */
  readonly allowCrossNamespaceRefs?: boolean | undefined;
}

/** Whether references to other namespaces are forbidden (the default, multi-tenant lockdown). */
export function crossNamespaceRefsForbidden(flags: TenancyFlags): boolean {
  return flags.allowCrossNamespaceRefs !== true;
}

/**
 * The longest durations a Package spec may ask for. A reconcile holds a rollout
 * clock for `timeout`, so a month-long timeout is a Package that never fails;
 * an interval of a day is the longest a Package goes without a reconcile (what
 * the watch cannot show is checked by --drift-verify-interval, drift/verify.ts).
 * The CRD schema refuses longer values where it can (Go duration patterns); the
 * controller checks again before the first write.
 */
export const PACKAGE_DURATION_LIMITS = {
  interval: { ms: 24 * 3_600_000, text: '24h' },
  retryInterval: { ms: 24 * 3_600_000, text: '24h' },
  timeout: { ms: 3_600_000, text: '1h' },
} as const;

/** Drift modes. */
export type DriftMode = 'correct' | 'warn' | 'ignore';

/** What a reconcile needs from the spec, validated. */
export interface PackageSettings {
  readonly intervalMs: number;
  readonly retryIntervalMs: number;
  readonly timeoutMs: number;
  readonly prune: boolean;
  readonly wait: boolean;
  readonly force: boolean;
  readonly driftMode: DriftMode;
  readonly ignore: readonly IgnoreRule[];
  /** The account every read and write for the package's objects goes through; undefined: the controller's own. */
  readonly serviceAccount: string | undefined;
  /**
   * The bundle may hold only namespaced objects of the Package's own namespace
   * (checked before the first write): a Package applying as the controller
   * under the lockdown.
   */
  readonly confinedToNamespace: boolean;
  /** `rollback.onFailure`: re-apply the last Available revision when a new one fails. */
  readonly rollbackOnFailure: boolean;
  /** `rollback.revision`: the PackageRevision number held instead of following the source. */
  readonly pinnedRevision: number | undefined;
  /** `historyLimit`: PackageRevisions kept. */
  readonly historyLimit: number;
  /** `healthChecks`, compiled (they override the bundle's own, see health/checks.ts). */
  readonly healthChecks: HealthChecks;
}

function duration(value: string | undefined, fallback: string, field: keyof typeof PACKAGE_DURATION_LIMITS): number {
  const limit = PACKAGE_DURATION_LIMITS[field];
  let ms: number;
  try {
    ms = parsePositiveDuration(value ?? fallback, `spec.${field}`);
  } catch (err) {
    if (!(err instanceof InvalidDurationError)) throw err;
    ms = Number.NaN;
  }
  if (!(ms <= limit.ms)) {
    throw new PackageFailure(undefined, 'InvalidSpec', `spec.${field} ${JSON.stringify(value)} must be a duration between 1ms and ${limit.text}`, 'stall');
  }
  return ms;
}

/** Label values are at most 63 characters; the package labels carry the Package's name. */
const MAX_LABEL_VALUE = 63;

/** Reads and checks the spec; throws a stalling {@link PackageFailure} when it cannot be used. */
export function settingsOf(pkg: Package, flags: TenancyFlags = {}): PackageSettings {
  const spec = pkg.spec;
  const name = pkg.metadata.name ?? '';
  if (name.length > MAX_LABEL_VALUE) {
    throw new PackageFailure(undefined, 'InvalidSpec', `the Package name is ${name.length} characters long; at most ${MAX_LABEL_VALUE} fit in the labels its objects carry`, 'stall');
  }
  const intervalMs = duration(spec.interval, '10m', 'interval');
  const retryIntervalMs = spec.retryInterval === undefined ? intervalMs : duration(spec.retryInterval, '10m', 'retryInterval');
  const timeoutMs = duration(spec.timeout, '5m', 'timeout');
  const ignore: IgnoreRule[] = (spec.drift?.ignore ?? []).map((rule) => ({
    paths: [...rule.paths],
    ...(rule.target ? { target: { ...rule.target } } : {}),
  }));
  try {
    validateIgnoreRules(ignore);
  } catch (err) {
    throw new PackageFailure(undefined, 'InvalidSpec', `spec.${(err as Error).message}`, 'stall');
  }
  const healthChecks = compileHealthChecks(spec.healthChecks, 'spec.healthChecks');
  if (!healthChecks.ok) throw new PackageFailure(undefined, 'InvalidSpec', healthChecks.problems.join('; '), 'stall');
  const serviceAccount = spec.serviceAccountName ?? flags.defaultServiceAccount;
  return {
    intervalMs, retryIntervalMs, timeoutMs,
    prune: spec.prune ?? true,
    wait: spec.wait ?? true,
    force: spec.force ?? false,
    driftMode: spec.drift?.mode ?? 'correct',
    ignore,
    serviceAccount,
    confinedToNamespace: serviceAccount === undefined && crossNamespaceRefsForbidden(flags),
    rollbackOnFailure: spec.rollback?.onFailure ?? false,
    pinnedRevision: spec.rollback?.revision,
    historyLimit: spec.historyLimit ?? 10,
    healthChecks: healthChecks.checks,
  };
}

/**
 * Whether `labels` match an equality-based label selector (`k=v`, `k==v`,
 * `k!=v`, `k`, `!k`, comma-separated); an empty or absent selector matches all.
 */
export function matchesLabelSelector(selector: string | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!selector || selector.trim() === '') return true;
  const have = labels ?? {};
  return selector.split(',').map((s) => s.trim()).filter((s) => s !== '').every((term) => {
    const ne = /^([^!=]+)!=(.*)$/.exec(term);
    if (ne) return have[(ne[1] ?? '').trim()] !== (ne[2] ?? '').trim();
    const eq = /^([^!=]+)==?(.*)$/.exec(term);
    if (eq) return have[(eq[1] ?? '').trim()] === (eq[2] ?? '').trim();
    if (term.startsWith('!')) return !Object.hasOwn(have, term.slice(1).trim());
    return Object.hasOwn(have, term);
  });
}
