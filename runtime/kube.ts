/**
 * The one Kubernetes client the controllers use: named options instead of
 * client-node's positional arguments, server-side apply, status patches,
 * watches, impersonation of service accounts, and client-side flow control.
 * Works on any kind, built-in or custom, by discovering resource names.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject, ObjectList, ObjectRef, ResourceType } from './object.ts';
import { refOf } from './object.ts';
import { ApiRateLimiter, type ApiRateLimitOptions } from './rate-limit.ts';
import { isNotFound, KubeTransport, RequestCounter, type FrameDecoding, type TransportRequest, type Verb } from './kube-transport.ts';
import { decodeEnvelope, decodeWatchFrame, hasProtobufDecoder, isProtobufContentType, PROTOBUF_WATCH_ACCEPT } from './kube-protobuf.ts';
import { ResourceDiscovery, type ApiResource } from './discovery.ts';

/**
 * Options for {@link KubeClient}. Without `qps` and `burst` the client follows
 * the apiserver's API Priority and Fairness (see rate-limit.ts); either one
 * forces a fixed client-side limit, and `qps: 0` disables it.
 */
export interface KubeClientOptions extends ApiRateLimitOptions {
  /** Per-request timeout for non-watch requests (default 30 s). */
  readonly requestTimeoutMs?: number;
  readonly userAgent?: string;
  /** Attempts a throttled (429) request gets, the first included (default 10). */
  readonly throttleAttempts?: number;
}

/** Options for {@link KubeClient.apply}. */
export interface ApplyOptions {
  /** The field manager that owns what this apply sets, e.g. `trellis`. */
  readonly fieldManager: string;
  /** Take ownership of fields another manager owns (resolves conflicts). */
  readonly force?: boolean;
  /** Validate and compute the result without persisting it. */
  readonly dryRun?: boolean;
  /** Apply to a subresource (`status`). */
  readonly subresource?: string;
}

/** Options for {@link KubeClient.create} and {@link KubeClient.update}. */
export interface WriteOptions {
  readonly fieldManager?: string;
  readonly dryRun?: boolean;
  readonly subresource?: string;
}

/** Patch types the apiserver accepts besides apply. */
export type PatchType = 'merge' | 'json' | 'strategic';

/** Options for {@link KubeClient.patch}. */
export interface PatchOptions extends WriteOptions {
  /** Default `merge` (RFC 7386). */
  readonly type?: PatchType;
}

/** Options for {@link KubeClient.delete}. */
export interface DeleteOptions {
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  readonly gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid / resourceVersion. */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly dryRun?: boolean;
}

/** Options for {@link KubeClient.list} and {@link KubeClient.watch}. */
export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** Options for {@link KubeClient.watch}. */
export interface WatchOptions extends ListOptions {
  /** Start after this resourceVersion. */
  readonly resourceVersion?: string;
  /** Ask the server to end the watch after this many seconds. */
  readonly timeoutSeconds?: number;
  /** Receive BOOKMARK events that advance the resourceVersion (default true). */
  readonly allowWatchBookmarks?: boolean;
  /** Ends the watch. */
  readonly signal?: AbortSignal;
  /** Hand over objects without `metadata.managedFields` (a protobuf watch then does not decode them at all). */
  readonly withoutManagedFields?: boolean;
}

/** One watch event. ERROR events carry a metav1.Status as `object`. */
export interface WatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: T;
}

const PATCH_CONTENT_TYPES: Record<PatchType | 'apply', string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** A Kubernetes client for any kind, with named options. Cheap to {@link KubeClient.impersonate}. */
export class KubeClient {
  /** The transport (rate limiter, request counter) shared with impersonating clients. */
  readonly transport: KubeTransport;
  /** The user this client impersonates, if any. */
  readonly impersonating: string | undefined;
  private readonly discovery: ResourceDiscovery;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.transport = new KubeTransport(kubeConfig, {
      limiter: new ApiRateLimiter({ qps: options.qps, burst: options.burst }),
      counter: new RequestCounter(),
      requestTimeoutMs: options.requestTimeoutMs,
      userAgent: options.userAgent,
      throttleAttempts: options.throttleAttempts,
    });
    this.discovery = new ResourceDiscovery((req) => this.transport.json(req));
    this.headers = {};
    this.impersonating = undefined;
  }

  /** Requests made through this client and every client impersonating from it, by verb. */
  get requests(): RequestCounter {
    return this.transport.counter;
  }

  /**
   * A client that acts as `system:serviceaccount:<namespace>:<serviceAccount>`.
   * It shares this client's connections, rate limit, discovery cache and request
   * count. No `Impersonate-Group` is sent on purpose: for a service-account user
   * the apiserver adds the account's groups itself (`system:serviceaccounts`,
   * `system:serviceaccounts:<namespace>`, `system:authenticated`), so RoleBindings
   * to those groups apply, while naming groups would need `impersonate` on
   * `groups`, a right the apply controller does not hold.
   */
  impersonate(namespace: string, serviceAccount: string): KubeClient {
    if (!DNS_LABEL.test(namespace)) throw new Error(`invalid namespace "${namespace}"`);
    if (!DNS_SUBDOMAIN.test(serviceAccount)) throw new Error(`invalid service account name "${serviceAccount}"`);
    const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
    const copy = Object.create(KubeClient.prototype) as KubeClient;
    return Object.assign(copy, {
      transport: this.transport, discovery: this.discovery, impersonating: user, headers: { 'impersonate-user': user },
    });
  }

  /** The REST resource (plural, scope) serving `apiVersion`/`kind`, or undefined when the apiserver serves none. */
  async resourceOf(apiVersion: string, kind: string): Promise<ApiResource | undefined> {
    return this.discovery.find(apiVersion, kind, true);
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.sendJson<T>({ verb: 'get', method: 'GET', path: await this.pathOf(ref, ref.name) });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every object of a type (all pages), and the resourceVersion to watch from. */
  async list<T extends KubeObject>(type: ResourceType, options: ListOptions = {}): Promise<ObjectList<T>> {
    const path = await this.pathOf(type);
    const items: T[] = [];
    let next: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.sendJson<{ items: T[] | null; metadata: { resourceVersion: string; continue?: string } }>({
        verb: 'list', method: 'GET', path,
        query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: 500, continue: next },
      });
      // List items come without apiVersion/kind; fill them so objects look the same everywhere.
      for (const item of page.items ?? []) items.push({ apiVersion: type.apiVersion, kind: type.kind, ...item });
      resourceVersion = page.metadata.resourceVersion;
      next = page.metadata.continue || undefined;
    } while (next);
    return { items, resourceVersion };
  }

  /** Creates `obj`. */
  async create<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    const ref = refOf(obj);
    return this.sendJson<T>({
      verb: 'create', method: 'POST', path: await this.pathOf(ref), body: obj, dryRun: options.dryRun,
      query: { fieldManager: options.fieldManager, dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  /** Replaces `obj` (PUT). With `metadata.resourceVersion` set, fails with 409 if the object changed since. */
  async update<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    const ref = refOf(obj);
    return this.sendJson<T>({
      verb: 'update', method: 'PUT', path: await this.pathOf(ref, ref.name, options.subresource), body: obj,
      dryRun: options.dryRun, query: { fieldManager: options.fieldManager, dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  /** Server-side apply of `obj` (which must carry apiVersion, kind, metadata.name). */
  async apply<T extends KubeObject>(obj: T, options: ApplyOptions): Promise<T> {
    const ref = refOf(obj);
    return this.sendJson<T>({
      verb: 'apply', method: 'PATCH', path: await this.pathOf(ref, ref.name, options.subresource),
      body: obj, contentType: PATCH_CONTENT_TYPES.apply, dryRun: options.dryRun,
      query: { fieldManager: options.fieldManager, force: options.force ? true : undefined, dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  /** Patches an object (merge patch unless `type` says otherwise). */
  async patch<T extends KubeObject>(ref: ObjectRef, patch: unknown, options: PatchOptions = {}): Promise<T> {
    return this.sendJson<T>({
      verb: 'patch', method: 'PATCH', path: await this.pathOf(ref, ref.name, options.subresource),
      body: patch, contentType: PATCH_CONTENT_TYPES[options.type ?? 'merge'], dryRun: options.dryRun,
      query: { fieldManager: options.fieldManager, dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  /** Merge-patches `{status}` on the status subresource; spec and metadata are untouched. */
  async patchStatus<T extends KubeObject>(ref: ObjectRef, status: unknown, options: WriteOptions = {}): Promise<T> {
    return this.patch<T>(ref, { status }, { ...options, type: 'merge', subresource: 'status' });
  }

  /** Deletes an object; resolves false when it was already gone. */
  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.sendJson({
        verb: 'delete', method: 'DELETE', path: await this.pathOf(ref, ref.name), dryRun: options.dryRun,
        body: {
          kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: options.propagationPolicy,
          gracePeriodSeconds: options.gracePeriodSeconds, preconditions: options.preconditions,
          dryRun: options.dryRun ? ['All'] : undefined,
        },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Watches a type and calls `onEvent` for every event, in order. Resolves when
   * the server ends the watch or the signal aborts it; rejects on errors (a 410
   * is a {@link KubeApiError} for which `isExpired` is true). ConfigMaps and
   * Secrets are watched in protobuf, which costs the apiserver less, and handed
   * over exactly as JSON would have given them (runtime/kube-protobuf.ts).
   */
  async watch<T extends KubeObject>(type: ResourceType, options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void): Promise<void> {
    const timeout = options.timeoutSeconds ?? 300;
    const decodeOptions = { withoutManagedFields: options.withoutManagedFields ?? false };
    const frames: FrameDecoding | undefined = hasProtobufDecoder(type.apiVersion, type.kind)
      ? {
        accept: PROTOBUF_WATCH_ACCEPT, answeredIn: isProtobufContentType,
        decode: (frame) => decodeWatchFrame(frame, decodeOptions), error: (body) => decodeEnvelope(body),
      }
      : undefined;
    const deliver = options.withoutManagedFields
      ? (event: WatchEvent<T>) => {
        if (event.object.metadata?.managedFields) delete event.object.metadata.managedFields;
        onEvent(event);
      }
      : onEvent;
    await this.transport.stream({
      verb: 'watch', method: 'GET', path: await this.pathOf(type), headers: this.headers, signal: options.signal,
      query: {
        watch: 1, resourceVersion: options.resourceVersion, timeoutSeconds: timeout,
        allowWatchBookmarks: options.allowWatchBookmarks ?? true,
        labelSelector: options.labelSelector, fieldSelector: options.fieldSelector,
      },
    }, (event) => deliver(event as WatchEvent<T>), (timeout + 60) * 1000, frames);
  }

  /** A raw JSON request (for endpoints without a kind, e.g. `/version`). */
  async raw<T>(verb: Verb, method: TransportRequest['method'], path: string, body?: unknown): Promise<T> {
    return this.sendJson<T>({ verb, method, path, body });
  }

  /** Whether the apiserver serves `apiVersion`/`kind` (e.g. a CRD that may not be installed yet). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.discovery.find(apiVersion, kind, false)) !== undefined;
  }

  private async sendJson<T>(req: TransportRequest): Promise<T> {
    return this.transport.json<T>({ ...req, headers: { ...this.headers, ...req.headers } });
  }

  /** The URL path of a type, an object or an object's subresource. */
  private async pathOf(type: ResourceType, name?: string, subresource?: string): Promise<string> {
    const resource = await this.discovery.resolve(type.apiVersion, type.kind);
    const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
    let path = base;
    if (resource.namespaced && type.namespace) path += `/namespaces/${encodeURIComponent(type.namespace)}`;
    else if (resource.namespaced && name !== undefined) {
      throw new Error(`${type.kind} ${name} is namespaced: a namespace is required`);
    }
    path += `/${resource.plural}`;
    if (name !== undefined) path += `/${encodeURIComponent(name)}`;
    if (subresource !== undefined) path += `/${subresource}`;
    return path;
  }
}
