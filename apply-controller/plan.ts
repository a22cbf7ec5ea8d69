/**
 * Planning: what the next revision of a Package would create, change and prune,
 * without writing anything. For tools outside the controller (`kubectl package
 * diff`), so they show exactly what a reconcile would do instead of guessing.
 *
 * A plan goes through the reconciler's own steps, not copies of them: the spec
 * is read into settings (settingsOf), `valuesFrom` is read (readValuesFrom), the
 * bundle is read, resolved and validated with the Package's tenancy
 * (readPackageBundle), grouped into phases (phasesOf), compared with the cluster
 * by server-side dry-run applies (detectDrift: the apply engine's diff, Secret
 * values masked), and the inventory a prune would delete is computed the way the
 * reconciler computes it (the status inventory plus unfinished revisions, minus
 * the next inventory).
 *
 * What a plan does not follow: dependencies (`dependsOn`) and a pin
 * (`spec.rollback.revision`). A plan always shows the source's artifact.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeClient } from '../runtime/kube.ts';
import { statusInventory, type InventoryEntry, type Package } from './api.ts';
import { ArtifactCache, type ArtifactRef } from './artifact.ts';
import type { PackageManifest } from './bundle/format.ts';
import type { Values } from './bundle/values.ts';
import { inventoryOf, staleEntries, unionInventory } from './inventory.ts';
import { unfinishedInventory } from './revisions/history.ts';
import { fixedRevisionKeys, type RevisionKeys } from './revisions/keys.ts';
import { listRevisions } from './revisions/store.ts';
import { detectDrift, phasesOf, type PhaseObjects } from './reconcile/apply.ts';
import { KindScopes, readPackageBundle } from './reconcile/bundle.ts';
import { settingsOf, type TenancyFlags } from './reconcile/settings.ts';
import { readValuesFrom } from './reconcile/values.ts';
import { maskSecretValues, secretLeaves, type ObjectDiff } from './ssa/diff.ts';
import { packageLabels } from './ssa/options.ts';

/**
 * Values to render with instead of `spec.values`: fixed values, or a function of
 * `spec.values` and the package's values schema (undefined for a plain folder of
 * manifests) — for overrides that need the schema to be typed, like `--set`.
 */
export type ValuesOverride = Values | ((specValues: Values | undefined, schema: Record<string, unknown> | undefined) => Values | undefined);

/** Where the package's files are: unpacked already, or an artifact to download and unpack. */
export type PlanSource =
  | { readonly dir: string }
  | {
    readonly artifact: ArtifactRef;
    /** The cache to unpack into; a temporary one (removed afterwards) when absent. */
    readonly cache?: ArtifactCache | undefined;
  };

/** Options of {@link renderPackage}. */
export interface RenderOptions {
  /** Reads `valuesFrom` and asks API discovery which kinds are namespaced. */
  readonly client: KubeClient;
  readonly source: PlanSource;
  readonly values?: ValuesOverride | undefined;
  /** The controller's tenancy flags; without them the defaults (the lockdown, no default service account). */
  readonly flags?: TenancyFlags | undefined;
}

/** A Package rendered as the next revision would apply it. */
export interface RenderedPackage {
  /** The objects, phase by phase, in apply order. */
  readonly phases: readonly PhaseObjects[];
  /** The inventory the revision would leave behind, in apply order. */
  readonly inventory: readonly InventoryEntry[];
  /** `sha256:<hex>` of the resolved values, as a PackageRevision records it. */
  readonly valuesHash: string;
  /** The package manifest; undefined for a plain folder of manifests. */
  readonly manifest: PackageManifest | undefined;
}

/** Options of {@link planPackage}. */
export interface PlanOptions extends RenderOptions {
  /**
   * The client the dry-run applies go through (default `client`). The controller
   * uses the Package's service account: pass an impersonating client to see what
   * it would be allowed to do.
   */
  readonly objectsClient?: KubeClient | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * The revision keys, to read what an unfinished rollout recorded. A tool
   * outside the controller usually has none: unfinished revisions are then not
   * counted (they are sealed), and only the status inventory is.
   */
  readonly revisionKeys?: RevisionKeys | undefined;
}

/** What the next revision would do. */
export interface PackagePlan extends RenderedPackage {
  /** Objects an apply would create or change, field by field (unchanged ones left out; Secret values masked). */
  readonly changes: readonly ObjectDiff[];
  /** Objects a prune would delete, in inventory (apply) order — a prune deletes them backwards; empty when `spec.prune` is false. */
  readonly prune: readonly InventoryEntry[];
}

/**
 * Renders the Package's bundle as the reconciler would: its values (the override,
 * or `spec.values`), `valuesFrom`, target namespace and tenancy. Reads the
 * cluster (values, discovery), writes nothing. Throws BundleValidationError when
 * the bundle must not be applied, and the reconciler's PackageFailure when the
 * spec or `valuesFrom` cannot be used.
 */
export async function renderPackage(pkg: Package, opts: RenderOptions): Promise<RenderedPackage> {
  return withPackageDir(opts.source, (dir) => renderFromDir(dir, pkg, opts));
}

/**
 * What the next revision of the Package would create, change and prune: the
 * rendered bundle compared with the cluster by server-side dry runs. Writes
 * nothing. Throws like {@link renderPackage}, and with the apply engine's
 * ApplyError when the apiserver refuses an object's dry run.
 */
export async function planPackage(pkg: Package, opts: PlanOptions): Promise<PackagePlan> {
  const settings = settingsOf(pkg, opts.flags);
  const client = opts.client;
  const rendered = await withPackageDir(opts.source, (dir) => renderFromDir(dir, pkg, opts));
  const drifted = await detectDrift(opts.objectsClient ?? client, rendered.phases, {
    labels: packageLabels(pkg.metadata.name ?? '', pkg.metadata.namespace ?? ''),
    ignore: settings.ignore,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  // What came from a valuesFrom Secret is masked wherever it landed, not only inside Secrets.
  const secretOnly = (pkg.spec.valuesFrom ?? []).filter((ref) => ref.kind === 'Secret');
  const secrets = secretOnly.length === 0 ? [] : secretLeaves(await readValuesFrom(client, { ...pkg, spec: { ...pkg.spec, valuesFrom: secretOnly } }));
  const changes = maskSecretValues(drifted, secrets);
  const prune = settings.prune ? staleEntries(await managedInventory(client, pkg, opts.revisionKeys ?? fixedRevisionKeys([], '')), rendered.inventory) : [];
  return { ...rendered, changes, prune };
}

/** Everything of the Package that may be in the cluster: its inventory, plus what a rollout cut short wrote. */
async function managedInventory(client: KubeClient, pkg: Package, keys: RevisionKeys): Promise<InventoryEntry[]> {
  const status = pkg.status;
  const revisions = await listRevisions(client, pkg.metadata.namespace ?? '', pkg.metadata.name ?? '');
  return unionInventory(statusInventory(status), await unfinishedInventory(client, revisions, status?.currentRevision, keys,
    { packageUid: pkg.metadata.uid }));
}

async function renderFromDir(dir: string, pkg: Package, opts: RenderOptions): Promise<RenderedPackage> {
  const settings = settingsOf(pkg, opts.flags);
  const scopes = new KindScopes(opts.client);
  const valuesFrom = await readValuesFrom(opts.client, pkg);
  const read = (values: Values | undefined) => readPackageBundle(dir, pkg, scopes, { values, valuesFrom, restricted: settings.confinedToNamespace });
  const override = opts.values;
  let bundle = await read(typeof override === 'function' || override === undefined ? pkg.spec.values : override);
  if (typeof override === 'function') {
    const values = override(pkg.spec.values, bundle.manifest?.values.schema);
    if (values !== pkg.spec.values) bundle = await read(values);
  }
  const phases = phasesOf(bundle.phases);
  return { phases, inventory: inventoryOf(phases.flatMap((p) => p.objects)), valuesHash: bundle.valuesHash, manifest: bundle.manifest };
}

/** Runs `fn` with the folder the package's files are in, downloading them first when needed. */
async function withPackageDir<T>(source: PlanSource, fn: (dir: string) => Promise<T>): Promise<T> {
  if ('dir' in source) return fn(source.dir);
  if (source.cache) return source.cache.withArtifact(source.artifact, fn);
  const dir = await mkdtemp(join(tmpdir(), 'trellis-plan-'));
  try {
    return await new ArtifactCache({ dir, maxEntries: 1 }).withArtifact(source.artifact, fn);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
