/**
 * A Package's spec turned into the numbers and choices a reconcile works with:
 * durations in milliseconds, the account it applies as (and so whether it is a
 * tenant restricted to its namespace), drift handling. Pure.
 */
import type { Package } from '../api.ts';
import { validateIgnoreRules, type IgnoreRule } from '../drift/ignore.ts';
import { InvalidDurationError, parsePositiveDuration } from '../../runtime/duration.ts';
import { PackageFailure } from './failure.ts';

/** Controller-wide settings that shape every Package (the tenancy flags). */
export interface TenancyFlags {
  /** `--default-service-account`: Packages without `serviceAccountName` apply as this account. */
  readonly defaultServiceAccount?: string | undefined;
  /** `--no-cross-namespace-refs`: sources and dependencies must be in the Package's namespace. */
  readonly noCrossNamespaceRefs?: boolean | undefined;
}

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
  /** A tenant may only write into its own namespace. */
  readonly tenant: boolean;
  /** `rollback.onFailure`: re-apply the last Available revision when a new one fails. */
  readonly rollbackOnFailure: boolean;
  /** `rollback.revision`: the PackageRevision number held instead of following the source. */
  readonly pinnedRevision: number | undefined;
  /** `historyLimit`: PackageRevisions kept. */
  readonly historyLimit: number;
}

function duration(value: string | undefined, fallback: string, field: string): number {
  try {
    return parsePositiveDuration(value ?? fallback, `spec.${field}`);
  } catch (err) {
    if (!(err instanceof InvalidDurationError)) throw err;
    throw new PackageFailure(undefined, 'InvalidSpec', `spec.${field} ${JSON.stringify(value)} must be a duration between 1ms and 24 days`, 'stall');
  }
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
  const serviceAccount = spec.serviceAccountName ?? flags.defaultServiceAccount;
  return {
    intervalMs, retryIntervalMs, timeoutMs,
    prune: spec.prune ?? true,
    wait: spec.wait ?? true,
    force: spec.force ?? false,
    driftMode: spec.drift?.mode ?? 'correct',
    ignore,
    serviceAccount,
    tenant: serviceAccount !== undefined,
    rollbackOnFailure: spec.rollback?.onFailure ?? false,
    pinnedRevision: spec.rollback?.revision,
    historyLimit: spec.historyLimit ?? 10,
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
