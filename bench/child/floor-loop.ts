/**
 * Child process of the design-floor tool (`bench/tools/design-floor.ts`): the
 * bench's bare SSA loop (the same ConfigMaps, 8 applies in flight, no
 * client-side limit) with, depending on the variant, the parts of Trellis's
 * design that cost something during the writes without being the reconcile's
 * own work:
 *
 * - `bare`    the loop as the cold-apply workload runs it;
 * - `labels`  every object also carries the two Package labels;
 * - `watch`   labels, and the managed-object cache's informer (cluster-wide,
 *             selected by the two labels, `managedFields` dropped) open in this
 *             process, the loop done only when it has seen every object;
 * - `floor`   the same as `watch`; the parent starts this one with the
 *             controllers' Node.js options.
 *
 * Timed inside the process from the first apply. Prints one JSON line.
 *
 * Usage: node bench/child/floor-loop.ts <kubeconfig> <namespace> <count> <variant>
 */
import { KubeClient } from '../../runtime/kube.ts';
import { loadKubeConfig } from '../../runtime/kubeconfig.ts';
import { Informer } from '../../runtime/informer.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { MANAGED_OBJECTS_SELECTOR } from '../../apply-controller/cache/managed-objects.ts';
import { packageLabels } from '../../apply-controller/ssa/options.ts';
import { configMaps } from '../workloads/support/packages.ts';
import { BARE_LOOP_CONCURRENCY } from '../workloads/cold-apply.ts';

const VARIANTS = ['bare', 'labels', 'watch', 'floor'] as const;

const [kubeconfig, namespace, countText, variant] = process.argv.slice(2);
const count = Number(countText);
if (!kubeconfig || !namespace || !Number.isInteger(count) || count < 1 || !VARIANTS.includes(variant as typeof VARIANTS[number])) {
  process.stderr.write(`usage: floor-loop.ts <kubeconfig> <namespace> <count> <${VARIANTS.join('|')}>\n`);
  process.exit(2);
}
const labelled = variant !== 'bare';
const watched = variant === 'watch' || variant === 'floor';
const client = new KubeClient(loadKubeConfig({ path: kubeconfig }), { qps: 0, userAgent: 'trellis-bench-floor' });
const labels = packageLabels('configmaps', namespace);
const objects: KubeObject[] = configMaps(count).map((o) => ({
  ...o, metadata: { ...o.metadata, namespace, ...(labelled ? { labels: { ...o.metadata?.labels, ...labels } } : {}) },
}));

let seen = 0;
let allSeen: (() => void) | undefined;
const everyObjectSeen = new Promise<void>((resolve) => { allSeen = resolve; });
const informer = watched
  ? new Informer(client, {
    apiVersion: 'v1', kind: 'ConfigMap', labelSelector: MANAGED_OBJECTS_SELECTOR, withoutManagedFields: true,
  })
  : undefined;
informer?.on({
  add: (o) => {
    if (o.metadata?.namespace === namespace && ++seen === count) allSeen?.();
  },
});
await informer?.start();

const t0 = performance.now();
await mapBounded(objects, BARE_LOOP_CONCURRENCY, (o) => client.apply(o, { fieldManager: 'bench-floor-loop', force: true }));
if (informer) await everyObjectSeen;
const ms = performance.now() - t0;
await informer?.stop();
process.stdout.write(`${JSON.stringify({ ms })}\n`);
process.exit(0);
