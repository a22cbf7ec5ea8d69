// Revision keys and sealed, signed revisions in memory, for tests that need a
// PackageRevision without a controller.
import type { PackageRevision, PackageRevisionPhase, PackageRevisionSpec } from '../../../apply-controller/api.ts';
import { fixedRevisionKeys, revisionKey, type RevisionKey, type RevisionKeys } from '../../../apply-controller/revisions/keys.ts';
import { CONTENT_HASH_ANNOTATION, REVISION_KEY_ANNOTATION, SIGNATURE_ANNOTATION } from '../../../apply-controller/revisions/labels.ts';
import { planInline, type RecordPlan } from '../../../apply-controller/revisions/plan.ts';
import type { RevisionPhase } from '../../../apply-controller/revisions/encode.ts';
import { signRevision } from '../../../apply-controller/revisions/seal.ts';

/** A fixed key (the same bytes every run). */
export function testKey(id = 'test-1', fill = 7): RevisionKey {
  return revisionKey(id, Buffer.alloc(32, fill));
}

/** Keys holding {@link testKey} (and any others given), the first current. */
export function testKeys(...keys: RevisionKey[]): RevisionKeys {
  const all = keys.length > 0 ? keys : [testKey()];
  return fixedRevisionKeys(all, all[0]?.id ?? '');
}

/** What {@link signedRevision} builds. */
export interface SignedRevisionInput {
  readonly revision: number;
  readonly phases?: readonly RevisionPhase[];
  /** A plan made already (a sliced one); else `phases` are planned inline. */
  readonly plan?: RecordPlan;
  readonly key?: RevisionKey;
  readonly packageName?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly phase?: PackageRevisionPhase;
  readonly source?: PackageRevisionSpec['source'];
  readonly valuesHash?: string;
}

/** A PackageRevision as the controller writes it: sealed, content-hashed and signed. */
export function signedRevision(input: SignedRevisionInput): PackageRevision {
  const key = input.key ?? testKey();
  const packageName = input.packageName ?? 'web';
  const namespace = input.namespace ?? 'shop';
  const plan = input.plan ?? planInline(input.phases ?? [], { key });
  if (!plan) throw new Error('signedRevision: these phases do not fit inline; pass a sliced plan');
  const n = input.revision;
  const rev: PackageRevision = {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageRevision',
    metadata: {
      name: `${packageName}-${n}`, namespace,
      annotations: { [CONTENT_HASH_ANNOTATION]: plan.contentHash, [REVISION_KEY_ANNOTATION]: key.id },
      ownerReferences: [{ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', name: packageName, uid: input.uid ?? 'uid-1', controller: true }],
    },
    spec: {
      packageName, revision: n, valuesHash: input.valuesHash ?? `sha256:${'a'.repeat(64)}`, phases: plan.phases, size: plan.size,
      source: input.source ?? {
        kind: 'OCIRepository', name: 'src', namespace, revision: `1.0.${n}@sha256:${String(n).repeat(64).slice(0, 64)}`,
        digest: `sha256:${'d'.repeat(64)}`,
      },
    },
    ...(input.phase ? { status: { phase: input.phase, message: input.phase } } : {}),
  };
  rev.metadata.annotations = { ...rev.metadata.annotations, [SIGNATURE_ANNOTATION]: signRevision(key, rev, plan.contentHash) };
  return rev;
}
