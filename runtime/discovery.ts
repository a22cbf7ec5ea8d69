/**
 * Maps `apiVersion` + `kind` to the REST resource (plural name, scope) through
 * the apiserver's discovery documents, cached per group-version. A kind that
 * is missing triggers one fresh lookup, because CRDs appear at runtime.
 */
import { isNotFound, type TransportRequest } from './kube-transport.ts';

/** The REST resource serving a kind. */
export interface ApiResource {
  readonly plural: string;
  readonly namespaced: boolean;
}

/** Thrown when the apiserver serves no resource for a kind (CRD not installed, typo). */
export class UnknownKindError extends Error {
  override readonly name = 'UnknownKindError';
}

interface ApiResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/** Caches discovery documents per group-version. */
export class ResourceDiscovery {
  readonly #fetch: (req: TransportRequest) => Promise<unknown>;
  readonly #cache = new Map<string, Promise<Map<string, ApiResource>>>();

  constructor(fetchJson: (req: TransportRequest) => Promise<unknown>) {
    this.#fetch = fetchJson;
  }

  /** The resource for `kind` in `apiVersion`; throws {@link UnknownKindError} when there is none. */
  async resolve(apiVersion: string, kind: string): Promise<ApiResource> {
    const found = await this.find(apiVersion, kind, true);
    if (!found) throw new UnknownKindError(`the server has no resource for kind ${kind} in ${apiVersion}`);
    return found;
  }

  /** The resource for `kind`, or undefined. With `useCache` a miss is retried once against a fresh document. */
  async find(apiVersion: string, kind: string, useCache: boolean): Promise<ApiResource | undefined> {
    if (useCache) {
      const cached = (await this.#load(apiVersion)).get(kind);
      if (cached) return cached;
    }
    this.#cache.delete(apiVersion);
    return (await this.#load(apiVersion)).get(kind);
  }

  #load(apiVersion: string): Promise<Map<string, ApiResource>> {
    let entry = this.#cache.get(apiVersion);
    if (!entry) {
      entry = this.#fetchDocument(apiVersion);
      this.#cache.set(apiVersion, entry);
      // A failed lookup must not be cached.
      entry.catch(() => this.#cache.delete(apiVersion));
    }
    return entry;
  }

  async #fetchDocument(apiVersion: string): Promise<Map<string, ApiResource>> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const byKind = new Map<string, ApiResource>();
    let list: ApiResourceList;
    try {
      list = (await this.#fetch({ verb: 'discovery', method: 'GET', path })) as ApiResourceList;
    } catch (err) {
      if (isNotFound(err)) return byKind;
      throw err;
    }
    for (const r of list.resources ?? []) {
      // Subresources (`deployments/status`) share the kind; only the main resource counts.
      if (r.name.includes('/')) continue;
      byKind.set(r.kind, { plural: r.name, namespaced: r.namespaced });
    }
    return byKind;
  }
}
