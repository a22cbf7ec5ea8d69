/**
 * Whether a namespace is going away. A namespace being deleted refuses every
 * create, so a reconcile there neither records a new revision (a large
 * package's record is about a second of compression at 5,000 objects, wasted at
 * every wake-up), nor re-creates objects the namespace controller removes; and
 * an uninstall neither deletes the objects that go with the namespace one by
 * one nor fails over them.
 */
import { ConditionType, getCondition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { InventoryEntry, PackageStatus } from '../api.ts';
import { parseObjectId } from '../bundle/object-id.ts';

/**
 * True when the namespace is gone or has a deletion timestamp. A read that
 * fails answers false: the caller then goes on as if the namespace stays,
 * which is what it did before it asked.
 */
export async function namespaceTerminating(client: KubeClient, namespace: string): Promise<boolean> {
  try {
    const ns = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
    return ns === undefined || ns.metadata?.deletionTimestamp !== undefined;
  } catch {
    return false;
  }
}

/**
 * The namespaces of `inventory`'s namespaced objects that are being deleted or
 * are gone (one read per namespace). Their objects go with them: the namespace
 * controller removes everything in a namespace it deletes, so an uninstall
 * that deleted them one by one would only race it, with one request each.
 */
export async function namespacesGoing(client: KubeClient, inventory: readonly InventoryEntry[]): Promise<Set<string>> {
  const namespaces = new Set(inventory.map((e) => parseObjectId(e.id).namespace).filter((ns) => ns !== ''));
  const going = new Set<string>();
  for (const namespace of namespaces) {
    if (await namespaceTerminating(client, namespace)) going.add(namespace);
  }
  return going;
}

/**
 * True when the Package's last reconcile failed because a namespace it writes
 * to is being deleted: its objects' changes do not wake it (controller.ts), and
 * its retry reads the namespaces again before re-creating anything (steps.ts).
 */
export function failedOnTerminatingNamespace(status: PackageStatus | undefined): boolean {
  return getCondition(status?.conditions, ConditionType.Ready)?.reason === 'NamespaceTerminating';
}
