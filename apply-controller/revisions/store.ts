/**
 * Reading and writing PackageRevisions. A revision's spec is written once, with
 * a create, and never changed: this module has no update of the spec at all, and
 * a create that finds the name taken by different content fails rather than
 * overwrite it. Only the status (Available, Failed, Superseded) is patched later.
 *
 * Every revision is sealed and signed with the revision key (seal.ts): its
 * objects cannot be read, and its record cannot be changed unnoticed, without
 * the key. A revision is named `<package>-<number>`, owned by its Package (so it goes when
 * the Package goes), and labelled `apply.trellis.dev/package=<package>` and
 * `apply.trellis.dev/revision=<number>`, so `kubectl get packagerevisions -l
 * apply.trellis.dev/package=web` lists a Package's history. A large revision
 * names RevisionSlices instead of holding its objects (plan.ts); those are
 * stored first, and only the ones no earlier revision stored.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeClient } from '../../runtime/kube.ts';
import { isConflict } from '../../runtime/kube-transport.ts';
import {
  packageResource, packageRevisionResource, type Package, type PackageRevision, type PackageRevisionPhase,
  type PackageRevisionSpec, type PackageRevisionStatus,
} from '../api.ts';
import type { RevisionPhase } from './encode.ts';
import { CONTENT_HASH_ANNOTATION, REVISION_KEY_ANNOTATION, REVISION_NUMBER_LABEL, REVISION_PACKAGE_LABEL, SIGNATURE_ANNOTATION } from './labels.ts';
import { planInline, planSliced, type RecordOptions } from './plan.ts';
import { signRevision } from './seal.ts';
import { sliceRefsOf, storeSlices } from './slices.ts';

export { CONTENT_HASH_ANNOTATION, REVISION_KEY_ANNOTATION, REVISION_NUMBER_LABEL, REVISION_PACKAGE_LABEL, SIGNATURE_ANNOTATION } from './labels.ts';

/** Where a revision's objects came from (`spec.source`). */
export type RevisionSource = PackageRevisionSpec['source'];

/** What a new revision records. */
export interface NewRevision {
  /** The Package (name, namespace and uid are used). */
  readonly pkg: Package;
  readonly revision: number;
  readonly source: RevisionSource;
  readonly valuesHash: string;
  readonly phases: readonly RevisionPhase[];
}

/** Options for {@link writeRevision}: the key and limits of plan.ts, and who writes. */
export interface WriteRevisionOptions extends RecordOptions {
  readonly fieldManager?: string;
  /**
   * The Package's revisions as just listed: the slices they name are stored
   * already and are not written again. Listed by {@link writeRevision} itself
   * when absent and the revision needs slices.
   */
  readonly history?: readonly PackageRevision[] | undefined;
}

/**
 * An attempt to change the spec of a PackageRevision that exists. Specs are
 * written once: the store refuses to overwrite one, and {@link guardRevisionSpecs}
 * refuses every other write of a revision but its status.
 */
export class RevisionImmutableError extends Error {
  override readonly name: string = 'RevisionImmutableError';
}

/** The name is taken by a revision that records something else; it is never overwritten. */
export class RevisionExistsError extends RevisionImmutableError {
  override readonly name: string = 'RevisionExistsError';
}

/** `<package>-<number>`. */
export function revisionName(packageName: string, revision: number): string {
  return `${packageName}-${revision}`;
}

/** The content hash a revision was written with. */
export function contentHashOfRevision(rev: PackageRevision): string | undefined {
  return rev.metadata.annotations?.[CONTENT_HASH_ANNOTATION];
}

/** True when `rev` records exactly these objects from this source digest with these values. */
export function recordsSame(rev: PackageRevision, contentHash: string, source: RevisionSource, valuesHash: string): boolean {
  return contentHashOfRevision(rev) === contentHash && rev.spec.valuesHash === valuesHash
    && isDeepStrictEqual({ ...rev.spec.source }, { ...source });
}

/**
 * The revision among `revisions` that records exactly this state (same objects,
 * source and values), whatever its number: a state applied before gets its old
 * record back instead of a new number.
 */
export function findRevisionFor(revisions: readonly PackageRevision[], contentHash: string, source: RevisionSource,
  valuesHash: string): PackageRevision | undefined {
  return revisions.find((r) => recordsSame(r, contentHash, source, valuesHash));
}

/** Revision `revision` of a Package, or undefined. */
export function getRevision(client: KubeClient, namespace: string, packageName: string,
  revision: number): Promise<PackageRevision | undefined> {
  return client.get<PackageRevision>({
    apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind, namespace,
    name: revisionName(packageName, revision),
  });
}

/** Every revision of a Package, oldest (lowest number) first. */
export async function listRevisions(client: KubeClient, namespace: string, packageName: string): Promise<PackageRevision[]> {
  const { items } = await client.list<PackageRevision>(
    { apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind, namespace },
    { labelSelector: `${REVISION_PACKAGE_LABEL}=${packageName}` },
  );
  return items.filter((r) => r.spec.packageName === packageName).sort((a, b) => a.spec.revision - b.spec.revision);
}

/**
 * Creates the revision, after the slices it names that are not stored yet.
 * Throws RevisionTooLargeError (encode.ts) when the objects do not fit, and
 * {@link RevisionExistsError} when the name is taken by a revision that records
 * something else. A revision with the same name and the same content (a retry
 * after a lost answer) is returned as it is.
 */
export async function writeRevision(client: KubeClient, input: NewRevision, options: WriteRevisionOptions): Promise<PackageRevision> {
  const { pkg } = input;
  const namespace = pkg.metadata.namespace ?? '';
  const packageName = pkg.metadata.name ?? '';
  const uid = pkg.metadata.uid;
  if (!uid) throw new TypeError('the Package must have been read from the cluster (it has no uid)');
  const fieldManager = options.fieldManager ?? 'trellis';
  let plan = planInline(input.phases, options);
  if (!plan) {
    // The runs earlier revisions stored are named again, not compressed or written again.
    const history = options.history ?? await listRevisions(client, namespace, packageName);
    plan = await planSliced(packageName, input.phases, options, sliceRefsOf(history));
    // Slices first: the revision is the write-ahead record, and all it names must exist when it does.
    await storeSlices(client, pkg, plan.newSlices, fieldManager, options.key);
  }
  const body: PackageRevision = {
    apiVersion: packageRevisionResource.apiVersion,
    kind: packageRevisionResource.kind,
    metadata: {
      name: revisionName(packageName, input.revision),
      namespace,
      labels: { [REVISION_PACKAGE_LABEL]: packageName, [REVISION_NUMBER_LABEL]: String(input.revision) },
      annotations: { [CONTENT_HASH_ANNOTATION]: plan.contentHash, [REVISION_KEY_ANNOTATION]: options.key.id },
      ownerReferences: [{
        apiVersion: packageResource.apiVersion, kind: packageResource.kind, name: packageName, uid, controller: true,
      }],
    },
    spec: {
      packageName, revision: input.revision, source: { ...input.source }, valuesHash: input.valuesHash,
      phases: plan.phases, size: plan.size,
    },
  };
  // Signed last: the signature covers everything above, the Package's uid included.
  body.metadata.annotations = { ...body.metadata.annotations, [SIGNATURE_ANNOTATION]: signRevision(options.key, body, plan.contentHash) };
  try {
    return await client.create(body, { fieldManager });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  const existing = await getRevision(client, namespace, packageName, input.revision);
  if (existing && existing.spec.packageName === packageName
    && recordsSame(existing, plan.contentHash, input.source, input.valuesHash)) return existing;
  throw new RevisionExistsError(`PackageRevision ${namespace}/${body.metadata.name} already exists and records other objects; it is never overwritten`);
}

/** What {@link setRevisionStatus} writes. */
export interface RevisionStatusInput {
  readonly phase: PackageRevisionPhase;
  readonly message: string;
  readonly conditions?: PackageRevisionStatus['conditions'];
}

/** Patches a revision's status when it says something else; resolves true when it wrote. */
export async function setRevisionStatus(client: KubeClient, rev: PackageRevision, input: RevisionStatusInput): Promise<boolean> {
  const next: PackageRevisionStatus = {
    phase: input.phase, message: input.message.slice(0, 32_768),
    ...(rev.metadata.generation === undefined ? {} : { observedGeneration: rev.metadata.generation }),
    ...(input.conditions ? { conditions: input.conditions } : {}),
  };
  const current = rev.status ?? {};
  if (current.phase === next.phase && current.message === next.message
    && isDeepStrictEqual(current.conditions ?? [], next.conditions ?? [])) return false;
  const answer = await client.patchStatus<PackageRevision>({
    apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind,
    namespace: rev.metadata.namespace ?? '', name: rev.metadata.name ?? '',
  }, { ...next, conditions: next.conditions ?? null });
  rev.status = next;
  // The version the write produced: a cache of revisions tells from it whether its copy is older.
  const rv = (answer as PackageRevision | undefined)?.metadata?.resourceVersion;
  if (rv !== undefined) rev.metadata.resourceVersion = rv;
  return true;
}
