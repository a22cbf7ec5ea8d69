/**
 * Taking over objects that `kubectl apply` (client-side) made, so a Package owns
 * them as if it had applied them itself. Server-side apply removes a field that a
 * manager stops applying only when no other manager owns it; objects applied with
 * `kubectl apply` carry a `kubectl-client-side-apply` entry in their managed fields
 * that would keep every such field alive forever. Moving that entry's fields to
 * the apply controller's own manager (as `kubectl apply --server-side` does when
 * it upgrades an object) and dropping the last-applied annotation makes a later
 * removal from the Package really remove the field. Nothing here talks to the
 * cluster: it computes the JSON patch.
 */
import { isPlainObject } from '../../apply-controller/index.ts';

/** The manager kubectl's client-side apply writes under. */
export const CLIENT_SIDE_APPLY_MANAGER = 'kubectl-client-side-apply';
/** The annotation client-side apply keeps its last input in. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** One `metadata.managedFields` entry. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** One JSON patch operation (RFC 6902). */
export interface JsonPatchOp {
  readonly op: 'add' | 'replace' | 'remove' | 'test';
  readonly path: string;
  readonly value?: unknown;
}

/** The union of two FieldsV1 sets (nested maps of `f:`/`k:`/`v:`/`i:` keys and `.`). */
export function unionFields(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const mine = out[key];
    out[key] = isPlainObject(mine) && isPlainObject(value) ? unionFields(mine, value) : isPlainObject(mine) ? mine : value;
  }
  return out;
}

/** `fields` without the last-applied annotation (and without `f:annotations` when nothing else is left in it). */
function withoutLastApplied(fields: Record<string, unknown>): Record<string, unknown> {
  const metadata = fields['f:metadata'];
  if (!isPlainObject(metadata) || !isPlainObject(metadata['f:annotations'])) return fields;
  const { [`f:${LAST_APPLIED_ANNOTATION}`]: _dropped, ...annotations } = metadata['f:annotations'];
  const keys = Object.keys(annotations).filter((k) => k !== '.');
  const { 'f:annotations': _old, ...rest } = metadata;
  return { ...fields, 'f:metadata': keys.length === 0 ? rest : { ...rest, 'f:annotations': annotations } };
}

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** What {@link takeOverPatch} decided. */
export interface TakeOver {
  /** The JSON patch: labels added, last-applied dropped, managed fields moved; guarded by the resourceVersion. */
  readonly patch: JsonPatchOp[];
  /** Managers whose fields were moved to `manager` (empty when kubectl never applied the object). */
  readonly movedFrom: string[];
}

/** Options of {@link takeOverPatch}. */
export interface TakeOverOptions {
  /** The labels that make the object the Package's (its name and namespace). */
  readonly labels: Readonly<Record<string, string>>;
  /** The field manager that takes the fields over (the apply controller's, `trellis`). */
  readonly manager: string;
  /** The managers whose entries (for the main resource, not a subresource) are taken over (default: client-side apply's). */
  readonly from?: readonly string[];
  /** The time written into the new entry. */
  readonly now: Date;
}

/** The JSON patch that hands `live` over to `opts.manager` with the Package's labels. */
export function takeOverPatch(live: { metadata?: object | undefined }, opts: TakeOverOptions): TakeOver {
  const metadata = (live.metadata ?? {}) as Record<string, unknown>;
  const from = new Set(opts.from ?? [CLIENT_SIDE_APPLY_MANAGER]);
  const patch: JsonPatchOp[] = [{ op: 'test', path: '/metadata/resourceVersion', value: metadata.resourceVersion }];
  const labels = isPlainObject(metadata.labels) ? metadata.labels : undefined;
  if (labels === undefined) patch.push({ op: 'add', path: '/metadata/labels', value: { ...opts.labels } });
  else for (const [k, v] of Object.entries(opts.labels)) patch.push({ op: 'add', path: `/metadata/labels/${escapePointer(k)}`, value: v });
  const annotations = isPlainObject(metadata.annotations) ? metadata.annotations : {};
  if (annotations[LAST_APPLIED_ANNOTATION] !== undefined) {
    patch.push({ op: 'remove', path: `/metadata/annotations/${escapePointer(LAST_APPLIED_ANNOTATION)}` });
  }
  const entries = (Array.isArray(metadata.managedFields) ? metadata.managedFields : []) as ManagedFieldsEntry[];
  // Update entries (client-side apply, edits) and Apply entries of another applier (Flux's kustomize-controller).
  const taken = entries.filter((e) => from.has(e.manager ?? '') && e.manager !== opts.manager && e.subresource === undefined);
  if (taken.length === 0) return { patch, movedFrom: [] };
  const byVersion = new Map<string, Record<string, unknown>>();
  for (const e of [...taken, ...entries.filter((x) => x.manager === opts.manager && x.operation === 'Apply' && x.subresource === undefined)]) {
    const version = e.apiVersion ?? '';
    byVersion.set(version, unionFields(byVersion.get(version) ?? {}, withoutLastApplied(e.fieldsV1 ?? {})));
  }
  const kept = entries.filter((e) => !taken.includes(e) && !(e.manager === opts.manager && e.operation === 'Apply' && e.subresource === undefined));
  const time = opts.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const moved: ManagedFieldsEntry[] = [...byVersion].map(([apiVersion, fieldsV1]) => ({
    manager: opts.manager, operation: 'Apply', apiVersion, time, fieldsType: 'FieldsV1', fieldsV1,
  }));
  patch.push({ op: 'replace', path: '/metadata/managedFields', value: [...kept, ...moved] });
  return { patch, movedFrom: [...new Set(taken.map((e) => e.manager ?? ''))] };
}
