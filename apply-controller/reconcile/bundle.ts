/**
 * Reading a Package's bundle with what the cluster knows: which kinds it serves
 * and whether they are namespaced (API discovery, cached for kinds that exist),
 * the values, the target namespace, and the tenancy restriction. The bundle
 * library asks which kinds it will need before it resolves scopes; only those not
 * known yet cost a discovery lookup.
 */
import { ResourceDiscovery } from '../../runtime/discovery.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { Package } from '../api.ts';
import { BundleValidationError } from '../bundle/problems.ts';
import { readBundle, type ReadBundleSuccess } from '../bundle/read.ts';
import type { Values } from '../bundle/values.ts';
import { renderingFor } from '../program/observe.ts';

/** Namespaced-or-not of the kinds the cluster serves, from API discovery. Kinds that exist are cached. */
export class KindScopes {
  readonly #discovery: ResourceDiscovery;
  readonly #known = new Map<string, boolean>();

  constructor(client: KubeClient) {
    this.#discovery = new ResourceDiscovery((req) => client.transport.json(req));
  }

  /** The cached answer: true/false when served, undefined when not known (yet). */
  cached(apiVersion: string, kind: string): boolean | undefined {
    return this.#known.get(`${apiVersion}/${kind}`);
  }

  /** Asks discovery about each kind not cached; a kind that is not served is asked again next time (a CRD may come). */
  async lookUp(kinds: Iterable<readonly [string, string]>): Promise<void> {
    await Promise.all([...kinds].map(async ([apiVersion, kind]) => {
      const key = `${apiVersion}/${kind}`;
      if (this.#known.has(key)) return;
      const found = await this.#discovery.find(apiVersion, kind, true);
      if (found) this.#known.set(key, found.namespaced);
    }));
  }
}

/** What shapes a Package's bundle besides its files. */
export interface BundleInputs {
  readonly values: Values | undefined;
  readonly valuesFrom: readonly Values[];
  /** Restrict objects to the Package's namespace (a tenant). */
  readonly restricted: boolean;
}

/**
 * Reads, resolves and validates the bundle at `spec.path` of the unpacked
 * artifact. Throws {@link BundleValidationError} with every problem when the
 * bundle must not be applied.
 */
export async function readPackageBundle(dir: string, pkg: Package, scopes: KindScopes, inputs: BundleInputs): Promise<ReadBundleSuccess> {
  const namespace = pkg.metadata.namespace ?? '';
  const subject = { namespace, name: pkg.metadata.name ?? '' }; // the Package its program renders are counted for
  const result = await renderingFor(subject, () => readBundle(dir, {
    isNamespaced: (apiVersion, kind) => scopes.cached(apiVersion, kind),
    lookUpKinds: (kinds) => scopes.lookUp(kinds),
    ...(pkg.spec.path === undefined ? {} : { path: pkg.spec.path }),
    ...(inputs.values === undefined ? {} : { values: inputs.values }),
    valuesFrom: inputs.valuesFrom,
    ...(pkg.spec.targetNamespace === undefined ? {} : { targetNamespace: pkg.spec.targetNamespace }),
    defaultNamespace: namespace,
    ...(inputs.restricted ? { restrictToNamespace: namespace } : {}),
  }));
  if (!result.ok) throw new BundleValidationError(result.errors);
  return result;
}
