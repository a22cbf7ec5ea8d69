/**
 * The apply-controller's API, group `apply.trellis.dev/v1alpha1`: Package,
 * PackageRevision and RevisionSlice. Each kind is defined once here; its
 * TypeScript types and its CRD (`npm run crds` writes them to crds/) both come
 * from these schemas.
 */
import {
  defineResource, s, SHA256_DIGEST_PATTERN, type CustomObject, type Infer, type Input,
} from '../runtime/schema.ts';
import { ConditionType } from '../runtime/conditions.ts';
import { REVISION_PATTERN } from '../source-controller/api.ts';

/** The API group of the apply kinds. */
export const APPLY_GROUP = 'apply.trellis.dev';
/** The version of the apply kinds. */
export const APPLY_VERSION = 'v1alpha1';

/**
 * Condition types a Package sets, with their polarity. `Ready`, `Reconciling` and
 * `Stalled` follow kstatus; the others are abnormal-true: present and True only
 * while the problem lasts. Why a Package waits (a dependency not Ready, a source
 * without artifact) is a reason on `Ready=False`, not a type of its own.
 */
export const PackageConditions = {
  /** Normal-true. True when the last revision was applied, pruned and is healthy. */
  Ready: ConditionType.Ready,
  /** Abnormal-true (kstatus). True while a revision is being applied or awaited. */
  Reconciling: ConditionType.Reconciling,
  /** Abnormal-true (kstatus). True when only a change of the spec (or source) can make progress. */
  Stalled: ConditionType.Stalled,
  /** Abnormal-true. The artifact could not be downloaded, unpacked or validated; nothing was applied. */
  ArtifactFailed: ConditionType.ArtifactFailed,
  /** Abnormal-true. The apiserver refused an object, or pruning failed. */
  ApplyFailed: ConditionType.ApplyFailed,
  /** Abnormal-true. Applied objects did not become healthy within `timeout`. */
  HealthCheckFailed: ConditionType.HealthCheckFailed,
  /** Abnormal-true. A managed object differs from what was applied (`drift.mode: warn`, or correction failed). */
  DriftDetected: ConditionType.DriftDetected,
  /** Abnormal-true. The last Available revision was re-applied after a failure; the failed source revision waits for a change. */
  RolledBack: ConditionType.RolledBack,
} as const;

/** A Package condition type. */
export type PackageConditionType = (typeof PackageConditions)[keyof typeof PackageConditions];

/**
 * The life of a PackageRevision (`status.phase`): `Available` once applied and
 * healthy, `Failed` when apply or health failed, `Superseded` when a later revision
 * became Available.
 */
export const PackageRevisionPhases = ['Available', 'Failed', 'Superseded'] as const;

/** A PackageRevision phase. */
export type PackageRevisionPhase = (typeof PackageRevisionPhases)[number];

/** The shape of an inventory entry id: `<namespace>_<name>_<group>_<kind>` (namespace and group may be empty). */
export const INVENTORY_ID_PATTERN = '^[a-z0-9-]*_[^/]+_[a-z0-9.-]*_[A-Za-z0-9]+$';

/** The shape of an item of `Package.status.objects`: an inventory id, one space, the version the object was applied with. */
export const INVENTORY_ITEM_PATTERN = '^[a-z0-9-]*_[^/ ]+_[a-z0-9.-]*_[A-Za-z0-9]+ [a-z0-9]+$';

const sourceKind = s.enum(['GitRepository', 'OCIRepository'], { description: 'Kind of the source.' });

/** The declarative form of a health check expression: conditions and field equalities that must all hold. */
function healthWhenSchema(description: string) {
  return s.object({
    conditions: s.array(s.object({
      type: s.string({ minLength: 1, description: 'Condition type.' }),
      status: s.string({ minLength: 1, description: 'Its status (`True`, `False`, `Unknown`).' }),
      reason: s.string({ description: 'Its reason, when it matters.' }),
    }, { required: ['type', 'status'] }), { maxItems: 16, description: 'Conditions of `status.conditions`.' }),
    fields: s.array(s.object({
      path: s.string({ minLength: 1, maxLength: 256, description: 'Dotted path, e.g. status.phase.' }),
      equals: s.string({ maxLength: 256, description: 'The value, written out as text (`Ready`, `3`, `true`).' }),
    }, { required: ['path', 'equals'] }), { maxItems: 16, description: 'Fields and the values they must have.' }),
  }, { description });
}

/** `Package.spec`. */
export const packageSpecSchema = s.object({
  sourceRef: s.object({
    kind: sourceKind,
    name: s.objectName({ description: 'Name of the source.' }),
    namespace: s.namespaceName({ description: 'Namespace of the source; default: the Package\'s.' }),
  }, { required: ['kind', 'name'], description: 'The source whose artifact this Package applies.' }),
  path: s.string({ maxLength: 1024, description: 'Folder inside the artifact to apply; default: its root.' }),
  interval: s.duration({ default: '10m', description: 'How often to re-check the cluster against the source, even without changes.' }),
  retryInterval: s.duration({ description: 'Longest wait before retrying a failed attempt (retries back off exponentially from 2s up to it); default: `interval`.' }),
  timeout: s.duration({ default: '5m', description: 'Time limit for applying one revision and waiting for it to be healthy.' }),
  prune: s.boolean({ default: true, description: 'Delete objects the previous revision applied and this one does not.' }),
  wait: s.boolean({ default: true, description: 'Wait for each phase to be healthy before the next, and for the last before Ready.' }),
  dependsOn: s.array(s.object({
    name: s.objectName({ description: 'Name of the Package.' }),
    namespace: s.namespaceName({ description: 'Namespace of the Package; default: this Package\'s.' }),
  }, { required: ['name'] }), { maxItems: 64, description: 'Packages that must be Ready before this one is applied.' }),
  serviceAccountName: s.objectName({ description: 'Apply as this service account of the Package\'s namespace (impersonation).' }),
  targetNamespace: s.namespaceName({ description: 'Namespace for the package\'s namespaced objects that name none.' }),
  values: s.freeform({ description: 'Values for the package, checked against its values schema.' }),
  valuesFrom: s.array(s.object({
    kind: s.enum(['ConfigMap', 'Secret'], { description: 'Kind of the object holding values.' }),
    name: s.objectName({ description: 'Name of the ConfigMap or Secret, in the Package\'s namespace.' }),
    valuesKey: s.string({ default: 'values.yaml', minLength: 1, maxLength: 253, description: 'Key of the data entry holding values.' }),
    targetPath: s.string({ maxLength: 250, description: 'Dotted path to put the entry at; absent: the entry is a YAML object merged at the root.' }),
    optional: s.boolean({ default: false, description: 'Do not fail when the object or key is missing.' }),
  }, { required: ['kind', 'name'] }), { maxItems: 64, description: 'Values from ConfigMaps and Secrets, merged in order, before `values`.' }),
  drift: s.object({
    mode: s.enum(['correct', 'warn', 'ignore'], { default: 'correct', description: 'What to do when a managed object changes behind Trellis\'s back.' }),
    ignore: s.array(s.object({
      paths: s.array(s.string({ pattern: '^/', maxLength: 1024 }), { minItems: 1, description: 'JSON pointers of fields others own (e.g. /spec/replicas).' }),
      target: s.object({
        group: s.string({ description: 'API group; empty: the core group.' }),
        kind: s.string({ description: 'Kind.' }),
        name: s.string({ description: 'Object name.' }),
        namespace: s.string({ description: 'Object namespace.' }),
      }, { description: 'Objects the paths apply to; absent: all objects.' }),
    }, { required: ['paths'] }), { description: 'Fields whose changes are not drift.' }),
  }, { default: {}, description: 'How changes made by others are handled.' }),
  rollback: s.object({
    onFailure: s.boolean({ default: false, description: 'Re-apply the last Available revision when a new one fails.' }),
    revision: s.integer({ minimum: 1, description: 'Pin this PackageRevision number instead of following the source.' }),
  }, { default: {}, description: 'Rollback behaviour.' }),
  historyLimit: s.integer({ default: 10, minimum: 1, maximum: 100, description: 'PackageRevisions to keep.' }),
  force: s.boolean({ default: false, description: 'Replace objects whose immutable fields changed (delete and re-create).' }),
  collisionProtection: s.enum(['Prevent', 'IfNoOwner', 'None'], {
    description: 'What to do with an object that exists and is not this Package\'s: Prevent (default) refuses it; IfNoOwner adopts it when no '
      + 'other Package and no controlling owner reference claims it; None adopts it unless another existing Package owns it.',
  }),
  crdDeletion: s.enum(['IfUnused', 'Always', 'Never'], {
    description: 'When prune and uninstall may delete a CRD (and with it every custom resource of its kinds): IfUnused (default) only when '
      + 'no custom resource of it was made by others; Always; Never.',
  }),
  allowEmpty: s.boolean({ description: 'Accept a revision without objects (and prune everything); by default such a revision is refused.' }),
  healthChecks: s.array(s.object({
    apiVersion: s.string({ minLength: 1, description: 'API version of the objects; only its group is compared.' }),
    group: s.string({ description: 'API group of the objects (empty: the core group); instead of apiVersion. Neither: any group.' }),
    kind: s.string({ minLength: 1, description: 'Kind of the objects.' }),
    name: s.string({ minLength: 1, description: 'Only the object of this name; absent: every object of the kind.' }),
    current: s.string({ minLength: 1, maxLength: 1024, description: 'CEL bool expression over `object`: the object is Current when it holds.' }),
    currentWhen: healthWhenSchema('Instead of `current`: the object is Current when all of these hold.'),
    failed: s.string({ minLength: 1, maxLength: 1024, description: 'CEL bool expression over `object`, evaluated first: the object has Failed when it holds.' }),
    failedWhen: healthWhenSchema('Instead of `failed`: the object has Failed when all of these hold.'),
    message: s.string({ minLength: 1, maxLength: 1024, description: 'CEL string expression over `object`: the message of the verdict.' }),
  }, { required: ['kind'] }), {
    maxItems: 64,
    description: 'User-defined health: the first check matching an object decides its health instead of the built-in rules; '
      + 'these override the bundle\'s own checks. An expression that cannot be evaluated (a missing field) means InProgress.',
  }),
  suspend: s.boolean({ default: false, description: 'When true the controller leaves this Package alone.' }),
}, { required: ['sourceRef'], description: 'What to apply, and how.' });

/** The spec of a Package as read from the apiserver. */
export type PackageSpec = Infer<typeof packageSpecSchema>;
/** The spec of a Package as a client writes it. */
export type PackageSpecInput = Input<typeof packageSpecSchema>;

/** One object a Package manages. */
export const inventoryEntrySchema = s.object({
  id: s.string({ pattern: INVENTORY_ID_PATTERN, description: '`<namespace>_<name>_<group>_<kind>`.' }),
  v: s.string({ minLength: 1, description: 'API version of the group the object was applied with.' }),
}, { required: ['id', 'v'] });

/** An inventory entry. */
export type InventoryEntry = Infer<typeof inventoryEntrySchema>;

/** `Package.status`. */
export const packageStatusSchema = s.object({
  observedGeneration: s.integer({ minimum: 0, description: 'The .metadata.generation the status was computed for.' }),
  conditions: s.conditions(),
  lastAttemptedRevision: s.string({ pattern: REVISION_PATTERN, description: 'Source revision of the last apply attempt, set when it starts.' }),
  lastAttemptedValuesHash: s.string({ pattern: SHA256_DIGEST_PATTERN, description: 'Hash of the values of the last apply attempt.' }),
  lastAppliedRevision: s.string({ pattern: REVISION_PATTERN, description: 'Source revision last applied, pruned and found healthy.' }),
  currentRevision: s.integer({ minimum: 0, description: 'Number of the PackageRevision the cluster runs.' }),
  objects: s.array(s.string({ pattern: INVENTORY_ITEM_PATTERN }), {
    description: 'Objects this Package manages, in apply order (pruned when they leave the package): '
      + '`<namespace>_<name>_<group>_<kind> <version>` each.',
  }),
  inventory: s.array(inventoryEntrySchema, {
    description: 'Deprecated: the objects this Package manages, in the shape earlier controllers wrote. Read only when `objects` is absent; '
      + 'the first status write that sets `objects` removes it.',
  }),
  lastHandledReconcileAt: s.string({ description: 'The value of the reconcile.trellis.dev/requestedAt annotation last handled.' }),
}, { description: 'What the controller observed and did.' });

/** The status of a Package. */
export type PackageStatus = Infer<typeof packageStatusSchema>;

/** The Package kind: identity constants and CRD. */
export const packageResource = defineResource({
  group: APPLY_GROUP, version: APPLY_VERSION, kind: 'Package', plural: 'packages',
  shortNames: ['pkg'], categories: ['trellis'],
  description: 'Package applies the manifests of a source artifact to the cluster and keeps them there.',
  spec: packageSpecSchema, status: packageStatusSchema,
  printerColumns: [
    { name: 'Revision', type: 'string', jsonPath: '.status.lastAppliedRevision' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message' },
    { name: 'History', type: 'integer', jsonPath: '.status.currentRevision', description: 'Current PackageRevision number.', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});

/** A Package object. */
export type Package = CustomObject<PackageSpec, PackageStatus>;

/** A PackageRevision's reference to one RevisionSlice (`spec.phases[].slices[]`). */
export const revisionSliceRefSchema = s.object({
  name: s.objectName({ description: 'Name of the RevisionSlice (same namespace).' }),
  digest: s.string({ pattern: SHA256_DIGEST_PATTERN, description: 'sha256 of the canonical JSON array the slice holds; checked on every read.' }),
  count: s.integer({ minimum: 1, description: 'Number of objects in the slice.' }),
  size: s.integer({ minimum: 0, description: 'Compressed bytes of the slice\'s objects.' }),
}, { required: ['name', 'digest', 'count', 'size'] });

/** A reference to a RevisionSlice. */
export type RevisionSliceRef = Infer<typeof revisionSliceRefSchema>;

/** `PackageRevision.spec`: written once, never changed. */
export const packageRevisionSpecSchema = s.object({
  packageName: s.objectName({ description: 'The Package (same namespace) this is a revision of.' }),
  revision: s.integer({ minimum: 1, description: 'Revision number, growing by one per apply of the Package.' }),
  source: s.object({
    kind: sourceKind,
    name: s.objectName({ description: 'Name of the source.' }),
    namespace: s.namespaceName({ description: 'Namespace of the source.' }),
    revision: s.string({ pattern: REVISION_PATTERN, description: 'Source revision the objects came from.' }),
    digest: s.string({ pattern: SHA256_DIGEST_PATTERN, description: 'Digest of the artifact the objects came from.' }),
  }, { required: ['kind', 'name', 'namespace', 'revision', 'digest'], description: 'Where the objects came from.' }),
  valuesHash: s.string({ pattern: SHA256_DIGEST_PATTERN, description: 'Hash of the values the objects were rendered with.' }),
  phases: s.array(s.object({
    name: s.string({ minLength: 1, maxLength: 63, description: 'Phase name.' }),
    // Base64, but not declared `format: byte`: the apiserver's check of that format costs more than the write
    // itself, and every byte is authenticated when it is read (seal.ts).
    objects: s.string({ description: 'A small revision\'s objects inline: base64 of their sealed, compressed canonical JSON array (brotli; gzip in records written before it).' }),
    slices: s.array(revisionSliceRefSchema, {
      description: 'A large revision\'s objects: the RevisionSlices holding them, in order (objects is then absent).',
    }),
    count: s.integer({ minimum: 0, description: 'Number of objects in the phase.' }),
  }, { required: ['name', 'count'] }), { description: 'The exact objects applied, phase by phase, in apply order.' }),
  size: s.integer({ minimum: 0, description: 'Total size of the compressed objects in bytes (inline and in slices).' }),
}, { required: ['packageName', 'revision', 'source', 'valuesHash', 'phases', 'size'], description: 'The record of one apply.' });

/** The spec of a PackageRevision. */
export type PackageRevisionSpec = Infer<typeof packageRevisionSpecSchema>;
/** One phase of a PackageRevision. */
export type PackageRevisionPhaseRecord = PackageRevisionSpec['phases'][number];

/** `PackageRevision.status`. */
export const packageRevisionStatusSchema = s.object({
  observedGeneration: s.integer({ minimum: 0, description: 'The .metadata.generation the status was computed for.' }),
  phase: s.enum(PackageRevisionPhases, { description: 'Available, Failed or Superseded.' }),
  message: s.string({ maxLength: 32768, description: 'Why the revision is in its phase, for humans.' }),
  conditions: s.conditions({ description: 'Details: ApplyFailed or HealthCheckFailed (abnormal-true) on a Failed revision.' }),
}, { description: 'What became of this revision.' });

/** The status of a PackageRevision. */
export type PackageRevisionStatus = Infer<typeof packageRevisionStatusSchema>;

/** The PackageRevision kind: identity constants and CRD. */
export const packageRevisionResource = defineResource({
  group: APPLY_GROUP, version: APPLY_VERSION, kind: 'PackageRevision', plural: 'packagerevisions',
  shortNames: ['pkgrev'], categories: ['trellis'],
  description: 'PackageRevision records the exact objects one apply of a Package wrote; history and rollback read it.',
  spec: packageRevisionSpecSchema, status: packageRevisionStatusSchema,
  printerColumns: [
    // `kubectl get packagerevisions -l apply.trellis.dev/package=web` reads as a history: number, source, status, age.
    { name: 'Revision', type: 'integer', jsonPath: '.spec.revision' },
    { name: 'Source', type: 'string', jsonPath: '.spec.source.revision' },
    { name: 'Status', type: 'string', jsonPath: '.status.phase' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Package', type: 'string', jsonPath: '.spec.packageName', priority: 1 },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
  ],
});

/** A PackageRevision object. */
export type PackageRevision = CustomObject<PackageRevisionSpec, PackageRevisionStatus>;

/** `RevisionSlice.spec`: written once, never changed; named after its digest. */
export const revisionSliceSpecSchema = s.object({
  packageName: s.objectName({ description: 'The Package (same namespace) whose revisions use this slice.' }),
  digest: s.string({ pattern: SHA256_DIGEST_PATTERN, description: 'sha256 of the canonical JSON array of the objects (before compression).' }),
  count: s.integer({ minimum: 1, description: 'Number of objects.' }),
  // Not `format: byte`, for the reason given at PackageRevision's `objects`.
  objects: s.string({ description: 'The objects: base64 of their sealed, compressed canonical JSON array (brotli; gzip in records written before it).' }),
}, { required: ['packageName', 'digest', 'count', 'objects'], description: 'A run of objects of one phase of a Package.' });

/** The spec of a RevisionSlice. */
export type RevisionSliceSpec = Infer<typeof revisionSliceSpecSchema>;

/** `RevisionSlice.status`: unused (a slice is content, not state); declared because every Trellis kind has one. */
export const revisionSliceStatusSchema = s.object({}, { description: 'Unused.' });

/**
 * The RevisionSlice kind: a content-addressed run of the objects a large
 * PackageRevision records. Revisions that record the same run share one slice.
 */
export const revisionSliceResource = defineResource({
  group: APPLY_GROUP, version: APPLY_VERSION, kind: 'RevisionSlice', plural: 'revisionslices',
  shortNames: ['revslice'], categories: ['trellis'],
  description: 'RevisionSlice holds part of the objects a PackageRevision records; revisions that record the same objects share it.',
  spec: revisionSliceSpecSchema, status: revisionSliceStatusSchema,
  printerColumns: [
    { name: 'Package', type: 'string', jsonPath: '.spec.packageName' },
    { name: 'Objects', type: 'integer', jsonPath: '.spec.count' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Digest', type: 'string', jsonPath: '.spec.digest', priority: 1 },
  ],
});

/** A RevisionSlice object. */
export type RevisionSlice = CustomObject<RevisionSliceSpec, Infer<typeof revisionSliceStatusSchema>>;

/** Group, version and kind of Package. */
export const packageGVK = packageResource.gvk;
/** Group, version and kind of PackageRevision. */
export const packageRevisionGVK = packageRevisionResource.gvk;

/** What identifies an object in an inventory. */
export interface InventoryKey {
  readonly namespace: string;
  readonly name: string;
  readonly group: string;
  readonly kind: string;
}

/** The inventory id of an object: `<namespace>_<name>_<group>_<kind>` (empty namespace for cluster-scoped, empty group for core). */
export function inventoryId(key: InventoryKey): string {
  return `${key.namespace}_${key.name}_${key.group}_${key.kind}`;
}

/** The item of `Package.status.objects` that records an inventory entry: `<id> <version>`. */
export function inventoryItem(entry: InventoryEntry): string {
  return `${entry.id} ${entry.v}`;
}

/** The inventory entry an item of `Package.status.objects` records (split at its last space; the schema guarantees one). */
export function parseInventoryItem(item: string): InventoryEntry {
  const space = item.lastIndexOf(' ');
  return space < 0 ? { id: item, v: '' } : { id: item.slice(0, space), v: item.slice(space + 1) };
}

/**
 * The objects a Package's status says it manages, in apply order: `status.objects`,
 * or, for a status last written by an earlier controller, `status.inventory`.
 */
export function statusInventory(status: Pick<PackageStatus, 'objects' | 'inventory'> | undefined): InventoryEntry[] {
  if (status?.objects !== undefined) return status.objects.map(parseInventoryItem);
  return (status?.inventory ?? []).map((e) => ({ id: e.id, v: e.v }));
}

/** Raised for a string that is not an inventory id. */
export class InvalidInventoryIdError extends Error {
  override readonly name = 'InvalidInventoryIdError';
}

/** Splits an inventory id back into its parts. */
export function parseInventoryId(id: string): InventoryKey {
  // Namespaces, groups and kinds never contain `_`; some names (RBAC) may, so the
  // name is whatever lies between the first and the second-to-last separator.
  const parts = id.split('_');
  const namespace = parts[0];
  const kind = parts.at(-1);
  const group = parts.at(-2);
  const name = parts.slice(1, -2).join('_');
  if (parts.length < 4 || namespace === undefined || !name || group === undefined || !kind) {
    throw new InvalidInventoryIdError(`not an inventory id (want <namespace>_<name>_<group>_<kind>): ${JSON.stringify(id)}`);
  }
  return { namespace, name, group, kind };
}
