// The same hand-over with two real apply controllers (the Package controller under
// a Manager, as main.ts runs it) sharing one Lease, while drift is made on their
// Packages' objects all along so the leader keeps writing. The old leader's lease
// requests hang through a faulting proxy; each controller reaches the apiserver
// through its own proxy, so both proxies' request logs (one clock, this process)
// show who wrote when. The old leader must write nothing once the new one has
// begun. Nothing asserts how fast anything is.
import anyTest from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPackageController, type PackageController } from '../../../apply-controller/reconcile/controller.ts';
import { createLogger } from '../../../runtime/logging.ts';
import { Manager } from '../../../runtime/manager.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { startFaultingProxy, type FaultingProxy, type ProxyLogEntry } from '../../support/faulting-proxy.ts';
import {
  adminClient, ArtifactPublisher, configMap, createPackage, createSource, isReadyAt, releasePackagesOnTeardown, runLabel, waitForPackage,
} from '../apply-controller/support.ts';
import { until } from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const LEASE = 'trellis-apply-handover';

/** Writes a controller sent through `proxy`, its Lease excluded. */
function writesOf(proxy: FaultingProxy): ProxyLogEntry[] {
  return proxy.log.filter((e) => e.method !== 'GET' && !e.path.includes(`/leases/${LEASE}`));
}

test('two apply controllers sharing a lease: the one whose renewals hang writes nothing once the other has begun', async (t) => {
  const cluster = await useCluster();
  const admin = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, admin, ns);
  const publisher = await ArtifactPublisher.start();
  const proxies = { old: await startFaultingProxy(cluster.kubeConfig), new: await startFaultingProxy(cluster.kubeConfig) };
  const logger = createLogger({ level: 'silent' });
  const running: { manager: Manager; packages: PackageController }[] = [];
  const start = async (id: 'old' | 'new'): Promise<Manager> => {
    const manager = new Manager({
      name: 'apply-handover', kubeConfig: proxies[id].kubeConfig, logger,
      leaderElection: { namespace: ns, identity: id, leaseDurationMs: 6_000, renewDeadlineMs: 3_000, retryPeriodMs: 200 },
    });
    const packages = createPackageController({
      client: manager.client, events: manager.events, logger, artifactCacheDir: scratchDir(`apply-${id}`), namespace: ns,
      watchLabelSelector: label.selector, healthPollIntervalMs: 200, concurrency: 4, driftRetryBaseMs: 200,
      queue: { backoffBaseMs: 200, backoffCapMs: 2_000 },
    });
    manager.add(packages.controller);
    manager.add({ kind: 'PackageRevision', start: () => packages.revisionCache.start(), stop: () => packages.revisionCache.stop() });
    running.push({ manager, packages });
    await manager.start();
    return manager;
  };
  let drifting = true;
  t.teardown(async () => {
    drifting = false;
    await Promise.all(Object.values(proxies).map((p) => p.stop()));
    await Promise.all(running.map(async ({ manager, packages }) => {
      await manager.stop();
      await packages.cache.stop();
    }));
    await publisher.stop();
  });

  const old = await start('old');
  const names = ['one', 'two', 'three'];
  for (const name of names) {
    const artifact = await publisher.publish(ns, name, { 'app.yaml': [configMap(`cm-${name}`, { k: 'v' })] });
    await createSource(admin, ns, name, artifact);
    await createPackage(admin, ns, name, label, { sourceRef: { kind: 'OCIRepository', name } });
    await waitForPackage(admin, ns, name, (p) => isReadyAt(p, artifact.revision));
  }
  // Drift on every object, all along: whoever leads keeps correcting it.
  const drift = (async () => {
    for (let n = 0; drifting; n++) {
      await Promise.all(names.map((name) => admin.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: `cm-${name}` },
        { data: { k: `drift-${n}` } }).catch(() => undefined)));
      await sleep(150);
    }
  })();
  const corrections = (proxy: FaultingProxy) => writesOf(proxy).filter((e) => e.path.includes('/configmaps/'));
  await until(() => corrections(proxies.old).length > 0, 30_000);
  await start('new');
  await sleep(500);
  t.deepEqual(writesOf(proxies.new), [], 'the standby writes nothing while the leader renews');

  proxies.old.inject({ path: new RegExp(`/leases/${LEASE}`), times: Infinity, fault: { kind: 'hang' } });
  await old.leadershipLost;
  await until(() => corrections(proxies.new).length > 0, 60_000);
  drifting = false;
  await drift;

  const begun = (writesOf(proxies.new)[0] as ProxyLogEntry).at;
  const overlapping = writesOf(proxies.old).filter((e) => e.at >= begun);
  t.deepEqual(overlapping.map((e) => `${e.method} ${e.path}`), [], 'no write of the old leader reached the apiserver after the new leader began');
  t.true(corrections(proxies.old).length > 0, 'the old leader was writing before');
});
