/**
 * Objects of others that deleting one of ours would take with it. Deleting a
 * Namespace deletes everything inside it; deleting a CRD deletes every custom
 * resource of its kinds. Before the engine prunes or uninstalls either, it
 * looks for objects that are not the Package's:
 *
 * - in a Namespace, every namespaced kind the apiserver serves (and lets the
 *   client list) is listed, page by page. An object counts as someone else's
 *   unless it carries the Package's labels or is one the cluster makes in every
 *   Namespace by itself (the `default` ServiceAccount and its token, the root CA
 *   ConfigMap, Events, the Endpoints of Services), or it is a dependent of
 *   another object (an owner reference: it goes with its owner);
 * - of a CRD, the custom resources in every namespace, listed in its served
 *   version: any without the Package's labels is someone else's.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject as ClusterObject } from '../../runtime/object.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { carriesLabels } from './options.ts';

interface DiscoveredResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs?: readonly string[];
}

interface ResourceList {
  readonly resources?: readonly DiscoveredResource[];
}

interface GroupList {
  readonly groups?: readonly { readonly preferredVersion?: { readonly groupVersion?: string } }[];
}

/** Kinds the cluster fills every Namespace with, or that only record what happened. */
const HOUSEKEEPING_KINDS = new Set(['Event', 'Endpoints', 'EndpointSlice']);

/** True for an object the cluster made by itself, or a dependent of another object. */
function isHousekeeping(obj: ClusterObject, kind: string): boolean {
  const name = obj.metadata?.name ?? '';
  if (HOUSEKEEPING_KINDS.has(kind)) return true;
  if ((obj.metadata?.ownerReferences ?? []).length > 0) return true;
  if (kind === 'ServiceAccount' && name === 'default') return true;
  if (kind === 'ConfigMap' && name === 'kube-root-ca.crt') return true;
  return kind === 'Secret' && (obj as { type?: string }).type === 'kubernetes.io/service-account-token';
}

/** The namespaced, listable resources the apiserver serves, one version per group (the preferred one). */
async function namespacedResources(client: KubeClient): Promise<{ path: string; kind: string }[]> {
  const groups = await client.raw<GroupList>('discovery', 'GET', '/apis');
  const versions = ['v1', ...(groups.groups ?? []).map((g) => g.preferredVersion?.groupVersion).filter((v): v is string => !!v)];
  const lists = await mapBounded(versions, 4, async (version) => {
    const base = version === 'v1' ? '/api/v1' : `/apis/${version}`;
    try {
      return { base, list: await client.raw<ResourceList>('discovery', 'GET', base) };
    } catch {
      const none: ResourceList = {};
      return { base, list: none }; // an aggregated API that is down hides nothing we could list anyway
    }
  });
  return lists.flatMap(({ base, list }) => (list.resources ?? [])
    .filter((r) => r.namespaced && !r.name.includes('/') && (r.verbs ?? []).includes('list'))
    .map((r) => ({ path: `${base}/namespaces/{ns}/${r.name}`, kind: r.kind })));
}

/** Objects of one kind in one Namespace matching `selector`, page by page, until `stop` says enough. */
async function eachPage(client: KubeClient, path: string, selector: string, visit: (items: ClusterObject[]) => boolean): Promise<void> {
  let token: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '500', labelSelector: selector, ...(token ? { continue: token } : {}) });
    const page = await client.raw<{ items?: ClusterObject[]; metadata?: { continue?: string } }>('list', 'GET', `${path}?${query.toString()}`);
    if (visit(page.items ?? [])) return;
    token = page.metadata?.continue || undefined;
  } while (token !== undefined);
}

/**
 * Up to `max` objects in `namespace` that are not the Package's (`labels`) and
 * that the cluster did not make by itself, as `Kind/name`. Kinds the client
 * may not list are reported in `unreadable` (an impersonated tenant sees only
 * what it may), so the caller can decide not to guess.
 */
export async function foreignObjectsIn(client: KubeClient, namespace: string, labels: Readonly<Record<string, string>>,
  max = 5): Promise<{ foreign: string[]; unreadable: string[] }> {
  const resources = (await namespacedResources(client)).filter((r) => !HOUSEKEEPING_KINDS.has(r.kind));
  // Label selectors only AND: "not this Package" is "another name" or "another namespace", two lists.
  const selectors = Object.entries(labels).map(([k, v]) => `${k}!=${v}`);
  const foreign: string[] = [];
  const unreadable: string[] = [];
  await mapBounded(resources, 8, async ({ path, kind }) => {
    const url = path.replace('{ns}', encodeURIComponent(namespace));
    for (const selector of selectors) {
      if (foreign.length >= max) return;
      try {
        await eachPage(client, url, selector, (items) => {
          for (const item of items) {
            if (foreign.length >= max) return true;
            if (!carriesLabels(item, labels) && !isHousekeeping(item, kind)) foreign.push(`${kind}/${item.metadata?.name ?? ''}`);
          }
          return foreign.length >= max;
        });
      } catch {
        unreadable.push(kind);
        return;
      }
    }
  });
  return { foreign, unreadable };
}

/** The parts of a CRD that name its custom resources. */
interface CrdShape {
  readonly spec?: {
    readonly group?: string;
    readonly names?: { readonly plural?: string; readonly kind?: string };
    readonly versions?: readonly { readonly name?: string; readonly served?: boolean }[];
  };
}

/**
 * Up to `max` custom resources of `crd` (the live CRD) that are not the
 * Package's, as `Kind namespace/name`. Throws when they cannot be listed: the
 * caller must not guess.
 */
export async function foreignCustomResources(client: KubeClient, crd: ClusterObject, labels: Readonly<Record<string, string>>,
  max = 5): Promise<string[]> {
  const { spec } = crd as ClusterObject & CrdShape;
  const version = spec?.versions?.find((v) => v.served)?.name;
  if (!spec?.group || !spec.names?.plural || !version) return [];
  const path = `/apis/${spec.group}/${version}/${spec.names.plural}`;
  const found: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    await eachPage(client, path, `${k}!=${v}`, (items) => {
      for (const item of items) {
        if (found.length >= max) return true;
        if (!carriesLabels(item, labels)) found.push(`${spec.names?.kind ?? 'object'} ${item.metadata?.namespace ? `${item.metadata.namespace}/` : ''}${item.metadata?.name ?? ''}`);
      }
      return found.length >= max;
    });
    if (found.length >= max) break;
  }
  return [...new Set(found)];
}
