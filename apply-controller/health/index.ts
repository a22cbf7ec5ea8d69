/**
 * The health library of the apply controller: kstatus-style health of one object
 * as read from the cluster. Pure; the waiting loop that polls objects lives with
 * the apply engine.
 */
export { assessHealth, genericHealth } from './assess.ts';
export { crdHealth, jobHealth, namespaceHealth, podHealth, pvcHealth, serviceHealth } from './core.ts';
export { condition, type ClusterObject, type Condition, type Health, type HealthStatus } from './status.ts';
export { daemonSetHealth, deploymentHealth, replicaSetHealth, statefulSetHealth } from './workloads.ts';
