/**
 * `diffObjects`: what an apply would change, without changing anything — the
 * same dry-run apply `applyStage` makes, reported field by field (JSON
 * pointers). Secret values never appear: every value under a Secret's `data` or
 * `stringData` (and kubectl's last-applied annotation, which copies them) is
 * shown as `***`, and so is every value that came from a Secret into another
 * kind (a `valuesFrom` Secret placed into a ConfigMap): {@link maskSecretValues}.
 */
import { isDeepStrictEqual } from 'node:util';
import { UnknownKindError } from '../../runtime/discovery.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { isNotFound } from '../../runtime/kube-transport.ts';
import { driftedPaths } from '../drift/ignore.ts';
import { getAtPointer } from '../bundle/pointer.ts';
import { comparable, escapeToken, fieldChanges, type FieldChange } from './compare.ts';
import { targetOf, type DesiredObject, type ObjectInput, type Target } from './objects.ts';
import { resolveApplyOptions, type ApplyOptions } from './options.ts';
import { isPlanFailure, planObjects, prepareObject, type PlanResult } from './plan.ts';

/**
 * What an apply would do to one object: `create` it, `update` it, leave it
 * (`none`), or `recreate` it (an immutable field changed: only with `force`).
 */
export type DiffAction = 'create' | 'update' | 'none' | 'recreate';

/** The diff of one object. */
export interface ObjectDiff {
  readonly id: string;
  readonly subject: string;
  readonly action: DiffAction;
  /**
   * The fields that would change. For `create`, the top-level fields sent; for
   * `update`, every field that differs between the live object and the dry-run
   * result; for `recreate`, the fields the package sets that differ from the
   * live object.
   */
  readonly changes: readonly FieldChange[];
}

/** Options of {@link diffObjects}: the apply options that shape what would be sent. */
export type DiffOptions = Pick<ApplyOptions, 'fieldManager' | 'labels' | 'ignore' | 'concurrency' | 'signal'>;

/** The value shown for a secret value. */
export const MASK = '***';

const LAST_APPLIED = '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration';

function isSecret(obj: DesiredObject): boolean {
  return obj.kind === 'Secret' && obj.apiVersion === 'v1';
}

function isSecretPath(path: string): boolean {
  return /^\/(data|stringData)\/[^/]+$/.test(path) || path === LAST_APPLIED;
}

/** `value` (found at `path`) with every secret value below it replaced by {@link MASK}. */
function maskValue(path: string, value: unknown): unknown {
  if (isSecretPath(path)) return MASK;
  if (typeof value === 'object' && value !== null) {
    if (Array.isArray(value)) return value.map((v, i) => maskValue(`${path}/${i}`, v));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(`${path}/${escapeToken(k)}`, v)]));
  }
  return value;
}

/** A Secret's changes with their values masked; other kinds' changes as they are. */
export function maskSecretChanges(obj: DesiredObject, changes: readonly FieldChange[]): FieldChange[] {
  if (!isSecret(obj)) return [...changes];
  return changes.map((c) => ({
    path: c.path, op: c.op,
    ...('from' in c ? { from: maskValue(c.path, c.from) } : {}),
    ...('to' in c ? { to: maskValue(c.path, c.to) } : {}),
  }));
}

/**
 * True when `target` cannot be dry-run yet only because the set also creates
 * what it needs: its CRD or its Namespace.
 */
function waitsForDefinition(target: Target, error: unknown, all: readonly Target[]): boolean {
  const cause = (error as { cause?: unknown }).cause;
  const { apiVersion, kind, metadata } = target.object;
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  if (cause instanceof UnknownKindError) {
    return all.some((t) => t.object.kind === 'CustomResourceDefinition'
      && getAtPointer(t.object, '/spec/group') === group && getAtPointer(t.object, '/spec/names/kind') === kind);
  }
  return isNotFound(cause) && metadata.namespace !== undefined
    && all.some((t) => t.object.kind === 'Namespace' && t.object.apiVersion === 'v1' && t.object.metadata.name === metadata.namespace);
}

function createDiff(target: Target, sent: DesiredObject): ObjectDiff {
  return { id: target.id, subject: target.subject, action: 'create', changes: maskSecretChanges(target.object, fieldChanges({}, sent)) };
}

function diffOf(result: PlanResult, all: readonly Target[], opts: ReturnType<typeof resolveApplyOptions>): ObjectDiff {
  const { target } = result;
  if (isPlanFailure(result)) {
    if (waitsForDefinition(target, result.error, all)) return createDiff(target, prepareObject(target.object, undefined, opts));
    throw result.error;
  }
  const base = { id: target.id, subject: target.subject };
  switch (result.action) {
    case 'create':
      return createDiff(target, result.applied);
    case 'none':
      return { ...base, action: 'none', changes: [] };
    case 'update': {
      const changes = fieldChanges(comparable(result.live as Record<string, unknown>), comparable(result.dryRun as Record<string, unknown>));
      return { ...base, action: 'update', changes: maskSecretChanges(target.object, changes) };
    }
    case 'recreate': {
      const changes = driftedPaths(result.applied, result.live, []).map((path): FieldChange => {
        const from = getAtPointer(result.live, path);
        const to = getAtPointer(result.applied, path);
        return from === undefined ? { path, op: 'add', to } : { path, op: 'replace', from, to };
      });
      return { ...base, action: 'recreate', changes: maskSecretChanges(target.object, changes) };
    }
  }
}

/**
 * The diff of every object, in the order given. Rejects with the
 * {@link ApplyError} of the first object the apiserver refuses to dry-run
 * (except custom resources and namespaced objects whose CRD or Namespace is in
 * the same list and does not exist yet: those are reported as `create`).
 */
export async function diffObjects(client: KubeClient, objects: readonly ObjectInput[], options: DiffOptions = {}): Promise<ObjectDiff[]> {
  const opts = resolveApplyOptions(options);
  const targets = objects.map(targetOf);
  const results = await planObjects(client, targets, opts);
  return results.map((r) => diffOf(r, targets, opts));
}

/**
 * Secret-sourced values shorter than this are masked only where a change's
 * value is exactly one of them: masking every `1` or `on` inside other text
 * would make the diff unreadable and reveal the value by its holes.
 */
const MIN_CONTAINED_SECRET = 4;

/** Every scalar of a values tree (from a Secret), as the text it would take in an object. */
export function secretLeaves(values: readonly unknown[]): string[] {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object') Object.values(v).forEach(visit);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out.add(String(v));
  };
  values.forEach(visit);
  out.delete('');
  return [...out];
}

/** `value` with every secret in it replaced by {@link MASK}: a whole value equal to one, or a long one inside a text. */
function maskSecretsIn(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') {
    if (secrets.includes(value)) return MASK;
    let text = value;
    for (const secret of secrets) if (secret.length >= MIN_CONTAINED_SECRET && text.includes(secret)) text = text.split(secret).join(MASK);
    return text;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return secrets.includes(String(value)) ? MASK : value;
  if (Array.isArray(value)) return value.map((v) => maskSecretsIn(v, secrets));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecretsIn(v, secrets)]));
  return value;
}

/** One change with the secrets masked; a field that now takes a secret shows no old value either (an older secret, most likely). */
function maskChange(c: FieldChange, secrets: readonly string[]): FieldChange {
  const to = 'to' in c ? maskSecretsIn(c.to, secrets) : undefined;
  const takesSecret = 'to' in c && !isDeepStrictEqual(to, c.to);
  return {
    path: c.path, op: c.op,
    ...('from' in c ? { from: takesSecret ? MASK : maskSecretsIn(c.from, secrets) } : {}),
    ...('to' in c ? { to } : {}),
  };
}

/**
 * The diffs with every Secret-sourced value masked, in every kind: `secrets`
 * are the values read from `valuesFrom` Secrets ({@link secretLeaves}), which
 * placements may have put into a ConfigMap, an annotation or an argument. The
 * old value of a field that takes a secret is masked whole: it is most likely
 * the secret's previous value, which the current Secret no longer names.
 */
export function maskSecretValues(diffs: readonly ObjectDiff[], secrets: readonly string[]): ObjectDiff[] {
  if (secrets.length === 0) return [...diffs];
  return diffs.map((d) => ({ ...d, changes: d.changes.map((c) => maskChange(c, secrets)) }));
}
