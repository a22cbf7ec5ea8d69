/**
 * A watched cache of PackageRevisions, so a reconcile learns a Package's
 * history without a request. Listing revisions by label costs the apiserver a
 * read of every revision in the namespace (etcd has no label index): with a
 * thousand Packages in one namespace every reconcile paid a second of it.
 *
 * The cache answers only once its first list is in; before that (or when the
 * kind cannot be watched) callers list as before. What this process wrote itself
 * (a new revision, a status it set) is remembered until the watch has caught up,
 * so the next reconcile never decides on a history older than its own writes.
 */
import { Informer } from '../../runtime/informer.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { packageRevisionResource, type PackageRevision } from '../api.ts';

/** Options of {@link RevisionCache}. */
export interface RevisionCacheOptions {
  readonly client: KubeClient;
  /** Only revisions of this namespace (the controller's `--watch-namespace`). */
  readonly namespace?: string | undefined;
  readonly logger?: Logger | undefined;
}

/** The resourceVersion as a number (etcd revisions are), NaN when it is not one. */
function rvOf(obj: KubeObject | undefined): number {
  const rv = obj?.metadata?.resourceVersion;
  return rv !== undefined && /^\d+$/.test(rv) ? Number(rv) : Number.NaN;
}

function keyOf(rev: KubeObject): string {
  return `${rev.metadata?.namespace ?? ''}/${rev.metadata?.name ?? ''}`;
}

/** PackageRevisions by Package, from one list+watch. */
export class RevisionCache {
  readonly #informer: Informer<PackageRevision>;
  /** Revisions this process wrote, by `namespace/name`, until the watch shows them as new or newer. */
  readonly #written = new Map<string, PackageRevision>();
  #failed = false;

  constructor(options: RevisionCacheOptions) {
    this.#informer = new Informer<PackageRevision>(options.client, {
      apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      withoutManagedFields: true,
      onError: (err) => options.logger?.debug({ err }, 'revision watch interrupted; resuming'),
    });
    this.#informer.on({
      add: (rev) => this.#caughtUp(rev),
      update: (_old, rev) => this.#caughtUp(rev),
      delete: (rev) => { this.#written.delete(keyOf(rev)); },
    });
  }

  /** Starts the list+watch; resolves when synced, or at once if the kind cannot be watched (callers then list). */
  async start(): Promise<void> {
    await this.#informer.start().catch(() => { this.#failed = true; });
  }

  /** Stops watching. */
  stop(): Promise<void> {
    return this.#informer.stop();
  }

  /**
   * The revisions of one Package, oldest first, or undefined when the cache
   * cannot answer (not synced yet, or not watchable).
   */
  list(namespace: string, packageName: string): PackageRevision[] | undefined {
    if (this.#failed || !this.#informer.hasSynced) return undefined;
    const byName = new Map<string, PackageRevision>();
    for (const rev of this.#informer.list()) {
      if (rev.metadata.namespace === namespace && rev.spec.packageName === packageName) byName.set(keyOf(rev), rev);
    }
    for (const [key, rev] of this.#written) {
      if (rev.metadata.namespace !== namespace || rev.spec.packageName !== packageName) continue;
      const cached = byName.get(key);
      if (cached === undefined || !(rvOf(cached) >= rvOf(rev))) byName.set(key, rev);
    }
    return [...byName.values()].sort((a, b) => a.spec.revision - b.spec.revision);
  }

  /** Remembers a revision as this process just wrote it (created, or its status set). */
  remember(rev: PackageRevision): void {
    this.#written.set(keyOf(rev), structuredClone(rev));
  }

  /** Forgets a revision this process deleted. */
  forget(rev: PackageRevision): void {
    this.#written.delete(keyOf(rev));
  }

  #caughtUp(rev: PackageRevision): void {
    const key = keyOf(rev);
    const mine = this.#written.get(key);
    if (mine !== undefined && rvOf(rev) >= rvOf(mine)) this.#written.delete(key);
  }
}
