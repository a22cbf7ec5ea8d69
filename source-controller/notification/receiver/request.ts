/**
 * The work a verified request asks for: set the reconcile-request annotation
 * (`reconcile.trellis.dev/requestedAt`, the one `kubectl package reconcile`
 * sets) on each source the Receiver names, in the Receiver's own namespace.
 * The source controller's predicate passes on that annotation, so the source
 * is fetched at once instead of at its interval.
 */
import type { KubeClient } from '../../../runtime/kube.ts';
import { isNotFound } from '../../../runtime/kube-transport.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import { SOURCE_GROUP, SOURCE_VERSION } from '../../api.ts';
import { ociRepositoryPath } from './events.ts';
import type { ReceiverEntry } from './index-table.ts';

/** The field manager of the annotation writes. */
export const RECEIVER_FIELD_MANAGER = 'trellis-receiver';

/** What one request led to. */
export interface RequestOutcome {
  /** `Kind/name` of each source annotated. */
  readonly requested: string[];
  /** `Kind/name` of named sources that do not exist. */
  readonly missing: string[];
}

interface SourceLike extends KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name?: string; readonly namespace?: string };
  readonly spec?: { readonly url?: string };
}

/** `a=b,c=d` for a list's label selector. */
export function labelSelectorOf(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(',');
}

/** True when the source is one the registry event is about (no filter: always). */
function matchesRepositories(obj: SourceLike, repositories: ReadonlySet<string> | undefined): boolean {
  if (!repositories) return true;
  return obj.kind === 'OCIRepository' && typeof obj.spec?.url === 'string' && repositories.has(ociRepositoryPath(obj.spec.url));
}

/** The sources of `entry` that this request concerns (registry requests: only those whose URL was pushed to). */
async function targetsOf(client: KubeClient, entry: ReceiverEntry, repositories: ReadonlySet<string> | undefined,
  missing: string[]): Promise<SourceLike[]> {
  const apiVersion = `${SOURCE_GROUP}/${SOURCE_VERSION}`;
  const found = new Map<string, SourceLike>();
  for (const r of entry.resources) {
    if (r.name !== undefined) {
      // A name alone needs no read unless the registry filter must see the URL.
      const obj: SourceLike | undefined = repositories
        ? await client.get<SourceLike>({ apiVersion, kind: r.kind, namespace: entry.namespace, name: r.name })
        : { apiVersion, kind: r.kind, metadata: { name: r.name, namespace: entry.namespace } };
      if (!obj) missing.push(`${r.kind}/${r.name}`);
      else if (matchesRepositories(obj, repositories)) found.set(`${r.kind}/${r.name}`, obj);
      continue;
    }
    const list = await client.list<SourceLike>({ apiVersion, kind: r.kind, namespace: entry.namespace },
      { labelSelector: labelSelectorOf(r.matchLabels ?? {}) });
    for (const obj of list.items) {
      const kinded = { ...obj, apiVersion, kind: r.kind };
      if (matchesRepositories(kinded, repositories)) found.set(`${r.kind}/${obj.metadata.name ?? ''}`, kinded);
    }
  }
  return [...found.values()];
}

/** Annotates every source the request concerns with `requestedAt`. */
export async function requestReconciles(client: KubeClient, entry: ReceiverEntry, repositories: ReadonlySet<string> | undefined,
  requestedAt: string): Promise<RequestOutcome> {
  const missing: string[] = [];
  const requested: string[] = [];
  for (const obj of await targetsOf(client, entry, repositories, missing)) {
    const name = obj.metadata.name ?? '';
    const ref = { apiVersion: obj.apiVersion, kind: obj.kind, namespace: entry.namespace, name };
    try {
      await client.patch(ref, { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: requestedAt } } }, { fieldManager: RECEIVER_FIELD_MANAGER });
      requested.push(`${obj.kind}/${name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      missing.push(`${obj.kind}/${name}`);
    }
  }
  return { requested, missing };
}
