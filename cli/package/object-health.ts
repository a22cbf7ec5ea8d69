/**
 * The health of each object a Package manages, for `status`: every inventory
 * entry read from the cluster and judged by the apply controller's own health
 * rules (kstatus, the objects' `health.trellis.dev/*` annotations). The
 * Package's `spec.healthChecks` are not applied here, so a kind judged only by
 * them shows its default verdict.
 */
import { assessHealth, parseInventoryId, type HealthStatus, type InventoryEntry } from '../../apply-controller/index.ts';
import type { KubeClient } from '../../runtime/kube.ts';

/** One managed object and its health. */
export interface ObjectHealth {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly health: HealthStatus;
  readonly message: string;
}

/** Objects read at a time. */
const CONCURRENCY = 8;

async function readOne(client: KubeClient, entry: InventoryEntry): Promise<ObjectHealth> {
  let key;
  try {
    key = parseInventoryId(entry.id);
  } catch {
    return { kind: '?', namespace: '', name: entry.id, health: 'Unknown', message: 'not an inventory id this CLI can read' };
  }
  const apiVersion = key.group ? `${key.group}/${entry.v}` : entry.v;
  const kind = key.group ? `${key.kind}.${key.group}` : key.kind;
  const base = { kind, namespace: key.namespace, name: key.name };
  try {
    const obj = await client.get({ apiVersion, kind: key.kind, name: key.name, ...(key.namespace ? { namespace: key.namespace } : {}) });
    const health = assessHealth(obj as Record<string, unknown> | undefined);
    return { ...base, health: health.status, message: health.message };
  } catch (err) {
    return { ...base, health: 'Unknown', message: `cannot read it: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The health of the first `limit` objects of the inventory, in inventory order. */
export async function readObjectHealth(client: KubeClient, inventory: readonly InventoryEntry[], limit = 50): Promise<ObjectHealth[]> {
  const entries = inventory.slice(0, limit);
  const out: ObjectHealth[] = [];
  for (let i = 0; i < entries.length; i += CONCURRENCY) {
    out.push(...await Promise.all(entries.slice(i, i + CONCURRENCY).map((e) => readOne(client, e))));
  }
  return out;
}
