/**
 * The dashboard's live picture of the cluster: informers (list + watch) of
 * Packages, GitRepositories, OCIRepositories and the Events about Packages,
 * with the user's own credentials. What the user may not list is simply not
 * there: the informers run cluster-wide when the user may list everywhere, else
 * one per namespace the user may list (namespaces the user cannot even name
 * fall back to the kubeconfig's namespace; namespaces created later are found by
 * listing the namespaces again now and then, and a few refused namespaces are
 * asked again each time, so rights granted later show). Subscribers hear about changes,
 * batched, so a burst of watch events costs one update per subscriber.
 */
import { packageResource, type Package } from '../../apply-controller/index.ts';
import { UnknownKindError } from '../../runtime/discovery.ts';
import { KubeApiError } from '../../runtime/kube-transport.ts';
import { Informer } from '../../runtime/informer.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject, ResourceType } from '../../runtime/object.ts';
import { SOURCE_GROUP, SOURCE_VERSION } from '../../source-controller/index.ts';
import type { SourceObject } from '../../cli/package/wait.ts';
import {
  eventView, keyOf, packageRow, sourceRow, type AnyEvent, type EventView, type PackageRow, type SourceRow,
} from './summaries.ts';

/** The kinds of sources the dashboard lists. */
export const SOURCE_KINDS = ['OCIRepository', 'GitRepository'] as const;

/** What the overview sends: every row, and where the user could not look. */
export interface Overview {
  readonly packages: readonly PackageRow[];
  readonly sources: readonly SourceRow[];
  /** The namespaces watched; `['*']` for all. */
  readonly namespaces: readonly string[];
  /** Lists the user may not make (`Package in namespace x: forbidden`). */
  readonly denied: readonly string[];
}

/** A change batch: the keys (`Kind/namespace/name`) of objects that changed. */
export type ChangeListener = (changed: readonly string[]) => void;

/** Options of {@link ClusterState}. */
export interface ClusterStateOptions {
  readonly client: KubeClient;
  /** The kubeconfig's namespace: watched when the user may not list namespaces. */
  readonly defaultNamespace: string;
  /** How long changes are gathered before listeners hear of them (default 150 ms). */
  readonly batchMs?: number;
  /** When watching namespace by namespace: how often new namespaces are looked for (default 30 s). */
  readonly namespaceRescanMs?: number;
  readonly onError?: (err: unknown) => void;
}

const stripManagedFields = (obj: KubeObject): KubeObject => {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
};

function isForbidden(err: unknown): boolean {
  return err instanceof KubeApiError && (err.statusCode === 403 || err.statusCode === 401);
}

interface Watched {
  readonly type: ResourceType & { readonly fieldSelector?: string };
  readonly label: string;
}

const WATCHED: readonly Watched[] = [
  { type: { apiVersion: packageResource.apiVersion, kind: packageResource.kind }, label: 'Package' },
  ...SOURCE_KINDS.map((kind) => ({ type: { apiVersion: `${SOURCE_GROUP}/${SOURCE_VERSION}`, kind }, label: kind })),
  { type: { apiVersion: 'v1', kind: 'Event', fieldSelector: 'involvedObject.kind=Package' }, label: 'Event' },
];

const KIND_ORDER = WATCHED.map((w) => w.label);

/** Refused namespaces asked again per rescan: access granted later shows, at a bounded cost. */
const PROBES_PER_RESCAN = 10;

/** Live caches of what the dashboard shows, scoped to what the user may list. */
export class ClusterState {
  readonly #opts: ClusterStateOptions;
  readonly #informers = new Map<string, Informer[]>();
  readonly #listeners = new Set<ChangeListener>();
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #namespaces: string[] = [];
  /** Namespace (or '' for the namespace list itself) -> the kinds the user may not list there. */
  readonly #denied = new Map<string, string[]>();
  #rescan: NodeJS.Timeout | undefined;
  /** The namespace rescan under way, if any: {@link stop} waits for it, so no informer it starts outlives the state. */
  #rescanning: Promise<void> | undefined;
  #stopped = false;
  #probeCursor = 0;

  constructor(opts: ClusterStateOptions) {
    this.#opts = opts;
  }

  /** Starts every informer the user's rights allow; resolves once they listed. */
  async start(): Promise<void> {
    for (const w of WATCHED) this.#informers.set(w.label, []);
    const clusterWide = await Promise.all(WATCHED.map((w) => this.#tryStart(w, undefined)));
    if (clusterWide.every(Boolean)) {
      this.#namespaces = ['*'];
      return;
    }
    const namespaces = await this.#listableNamespaces();
    this.#namespaces = namespaces;
    const perNamespace = WATCHED.filter((_, i) => !clusterWide[i]);
    await Promise.all(perNamespace.flatMap((w) => namespaces.map((ns) => this.#tryStart(w, ns))));
    if (!this.#denied.has('')) {
      this.#rescan = setInterval(() => {
        if (this.#rescanning) return;
        this.#rescanning = this.#watchNewNamespaces(perNamespace).then(() => this.#retryRefused())
          .catch((err: unknown) => this.#opts.onError?.(err))
          .finally(() => { this.#rescanning = undefined; });
      }, this.#opts.namespaceRescanMs ?? 30_000);
      this.#rescan.unref();
    }
  }

  /** Stops every informer, those a namespace rescan under way starts included. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#rescan);
    await this.#rescanning;
    await Promise.all([...this.#informers.values()].flat().map((i) => i.stop()));
  }

  /** Calls `listener` with each batch of changes; returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Every cached object of a watched kind (`Package`, `OCIRepository`, `GitRepository`, `Event`). */
  objects<T extends KubeObject>(label: string): T[] {
    return (this.#informers.get(label) ?? []).flatMap((i) => i.list() as T[]);
  }

  /** A cached Package. */
  package(namespace: string, name: string): Package | undefined {
    return this.objects<Package>('Package').find((p) => p.metadata.namespace === namespace && p.metadata.name === name);
  }

  /** A cached source. */
  source(kind: string, namespace: string, name: string): SourceObject | undefined {
    return this.objects<SourceObject>(kind).find((s) => s.metadata.namespace === namespace && s.metadata.name === name);
  }

  /** The cached Events about one Package, oldest first. */
  eventsOf(namespace: string, name: string): EventView[] {
    return this.objects<AnyEvent>('Event')
      .filter((e) => e.involvedObject?.name === name && (e.involvedObject.namespace ?? e.metadata?.namespace) === namespace)
      .map(eventView)
      .sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
  }

  /** The overview: all rows, sorted by namespace and name. */
  overview(): Overview {
    const lastEvents = new Map<string, EventView>();
    for (const e of this.objects<AnyEvent>('Event').map(eventView)) {
      const key = e.regarding.replace(/^Package\//, '');
      const seen = lastEvents.get(key);
      if (!seen || (seen.time ?? '') <= (e.time ?? '')) lastEvents.set(key, e);
    }
    const packages = this.objects<Package>('Package');
    const users = new Map<string, string[]>();
    for (const p of packages) {
      const ref = p.spec.sourceRef;
      const key = `${ref.kind}/${ref.namespace ?? p.metadata.namespace ?? ''}/${ref.name}`;
      users.set(key, [...(users.get(key) ?? []), keyOf(p)]);
    }
    const byKey = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number =>
      a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
    return {
      packages: packages.map((p) => packageRow(p, lastEvents.get(keyOf(p)))).sort(byKey),
      sources: SOURCE_KINDS.flatMap((kind) => this.objects<SourceObject>(kind)
        .map((s) => sourceRow(s, users.get(`${kind}/${keyOf(s)}`) ?? []))).sort(byKey),
      namespaces: [...this.#namespaces],
      denied: [...this.#denied].map(([ns, kinds]) => (ns === '' ? `namespaces: cannot list them (only ${this.#opts.defaultNamespace} is shown)`
        : `namespace ${ns}: cannot list ${[...kinds].sort((a, b) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b)).join(', ')}`)),
    };
  }

  async #listableNamespaces(): Promise<string[]> {
    try {
      const { items } = await this.#opts.client.list({ apiVersion: 'v1', kind: 'Namespace' });
      return items.map((n) => n.metadata?.name ?? '').filter((n) => n !== '').sort();
    } catch (err) {
      if (!isForbidden(err)) throw err;
      this.#denied.set('', ['Namespace']);
      return [this.#opts.defaultNamespace];
    }
  }

  /** Starts the per-namespace informers of namespaces that appeared since the last look. */
  async #watchNewNamespaces(kinds: readonly Watched[]): Promise<void> {
    const { items } = await this.#opts.client.list({ apiVersion: 'v1', kind: 'Namespace' });
    const fresh = items.map((n) => n.metadata?.name ?? '').filter((n) => n !== '' && !this.#namespaces.includes(n));
    if (fresh.length === 0) return;
    this.#namespaces.push(...fresh);
    this.#namespaces.sort();
    await Promise.all(kinds.flatMap((w) => fresh.map((ns) => this.#tryStart(w, ns))));
    for (const ns of fresh) this.#changed(`Namespace//${ns}`, undefined);
  }

  /** Asks again, for a few refused namespaces in turn, for the kinds that were refused there. */
  async #retryRefused(): Promise<void> {
    const refused = [...this.#denied.keys()].filter((ns) => ns !== '');
    if (refused.length === 0) return;
    const first = this.#probeCursor % refused.length;
    const batch = [...refused.slice(first), ...refused.slice(0, first)].slice(0, PROBES_PER_RESCAN);
    this.#probeCursor = first + batch.length;
    for (const ns of batch) {
      const kinds = this.#denied.get(ns) ?? [];
      this.#denied.delete(ns);
      const started = await Promise.all(WATCHED.filter((w) => kinds.includes(w.label)).map((w) => this.#tryStart(w, ns)));
      if (started.some(Boolean)) this.#changed(`Namespace//${ns}`, undefined);
    }
  }

  /** Starts one informer; false when the user may not list there. */
  async #tryStart(w: Watched, namespace: string | undefined): Promise<boolean> {
    const informer = new Informer(this.#opts.client, {
      ...w.type, ...(namespace ? { namespace } : {}), transform: stripManagedFields,
      ...(this.#opts.onError ? { onError: this.#opts.onError } : {}),
    });
    const changed = (obj: KubeObject): void => this.#changed(`${w.label}/${keyOf(obj)}`, w.label === 'Event' ? obj : undefined);
    informer.on({ add: changed, update: (_, obj) => changed(obj), delete: changed });
    try {
      await informer.start();
    } catch (err) {
      await informer.stop();
      if (err instanceof UnknownKindError) {
        throw new Error(`the cluster does not serve ${w.type.kind} (${w.type.apiVersion}): is Trellis installed? (trellis install)`);
      }
      if (!isForbidden(err)) throw err;
      if (namespace !== undefined) this.#denied.set(namespace, [...(this.#denied.get(namespace) ?? []), w.label]);
      return false;
    }
    // Started while the state was stopping (a namespace rescan under way): nobody would stop it later.
    if (this.#stopped) {
      await informer.stop();
      return false;
    }
    this.#informers.get(w.label)?.push(informer);
    return true;
  }

  #changed(key: string, event: AnyEvent | undefined): void {
    // An Event changes how its Package looks (the last event): report the Package.
    const about = event?.involvedObject;
    this.#pending.add(about ? `Package/${about.namespace ?? event.metadata?.namespace ?? ''}/${about.name ?? ''}` : key);
    this.#timer ??= setTimeout(() => this.#flush(), this.#opts.batchMs ?? 150);
  }

  #flush(): void {
    this.#timer = undefined;
    const changed = [...this.#pending];
    this.#pending.clear();
    for (const l of this.#listeners) l(changed);
  }
}
